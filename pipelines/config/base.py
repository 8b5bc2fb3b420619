"""What every config model shares: strict, frozen models and the field types they use."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints

Identifier = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]


ColumnType = Literal["date", "string", "int", "float"]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


MetricName = Literal["rmse", "mae", "mape", "ndcg_at_10", "mrr"]
RANKING_METRICS = ("ndcg_at_10", "mrr")  # higher is better; the rest are errors
