"""The entity key every layer after silver joins on."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

    import pandas as pd

SEPARATOR = ">"


def entity_id(rows: pd.DataFrame, keys: list[str]) -> pd.Series:
    """One string key per entity (e.g. ``NOR-01>SOU-02``), the join key the feature store uses."""
    joined = rows[keys[0]].astype("string")
    for key in keys[1:]:
        joined = joined + SEPARATOR + rows[key].astype("string")
    return joined


def entity_key(values: Iterable[str]) -> str:
    """The entity id of one entity's key values, in the config's key order."""
    return SEPARATOR.join(values)
