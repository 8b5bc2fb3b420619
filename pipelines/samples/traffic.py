"""Traffic from the generator's data: the requests a service would get for a range of
target days, with the features gold computed for them. The demo, the tests and the
serving benchmark replay these."""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from pipelines.features.datasets import feature_columns
from pipelines.lakehouse.storage import PartitionKey

if TYPE_CHECKING:
    from pipelines.config.model import ModelConfig
    from pipelines.lakehouse.storage import Lakehouse


class Poster(Protocol):
    def post(self, url: str, *, json: Any) -> Any: ...


def gold_instances(
    lakehouse: Lakehouse, config: ModelConfig, first: date, last: date
) -> list[dict[str, Any]]:
    """One request instance per route and target day in [first, last], features inline."""
    horizon = timedelta(days=config.features.horizon_days)
    columns = feature_columns(config)
    instances = []
    for as_of in lakehouse.logical_dates("gold", config.source.name):
        if not first <= as_of + horizon <= last:
            continue
        gold = lakehouse.read_frame(PartitionKey("gold", config.source.name, as_of))
        for row in gold[list(dict.fromkeys([*config.entity_keys, *columns]))].to_dict("records"):
            features = {c: _plain(row[c]) for c in columns}
            instances.append(
                {k: row[k] for k in config.entity_keys}
                | {config.timestamp_column: (as_of + horizon).isoformat(), "features": features}
            )
    return instances


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalar
        value = value.item()
    return None if isinstance(value, float) and math.isnan(value) else value


def send(client: Poster, instances: list[dict[str, Any]], batch_size: int) -> list[dict[str, Any]]:
    """POST the instances in batches; every response must be a success."""
    answers = []
    for start in range(0, len(instances), batch_size):
        response = client.post("/predict", json={"instances": instances[start : start + batch_size]})
        response.raise_for_status()
        answers.append(response.json())
    return answers
