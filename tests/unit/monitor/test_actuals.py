from __future__ import annotations

from datetime import date

import pytest

from pipelines.errors import MissingInputError
from pipelines.monitor.actuals import from_file


def test_an_actuals_file_without_the_needed_columns_or_with_bad_rows_loads_nothing(tmp_path, freight_config):
    missing = tmp_path / "missing.csv"
    missing.write_text("date,origin,volume\n2024-05-01,NOR-01,3\n")
    with pytest.raises(MissingInputError, match=r"lacks columns \['destination'\]"):
        from_file(str(missing), freight_config)
    bad = tmp_path / "bad.csv"
    bad.write_text("date,origin,destination,volume\n2024-05-01,NOR-01,SOU-01,3\nsoon,NOR-01,SOU-01,x\n")
    with pytest.raises(MissingInputError, match="1 rows have no number"):
        from_file(str(bad), freight_config)
    good = tmp_path / "good.csv"
    good.write_text("date,origin,destination,volume\n2024-05-01,NOR-01,SOU-01,3\n")
    assert from_file(str(good), freight_config).to_dict("records") == [
        {"entity_id": "NOR-01>SOU-01", "target_date": date(2024, 5, 1), "actual": 3}
    ]
