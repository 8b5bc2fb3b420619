"""Request and response bodies, built from the model's config: a request names the
entity keys and the day to forecast, and may carry the features inline."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, create_model

if TYPE_CHECKING:
    from pipelines.config.model import ModelConfig

_STRICT = ConfigDict(extra="forbid")


def request_model(config: ModelConfig, max_rows: int) -> type[BaseModel]:
    """``{"instances": [{<entity keys>, <timestamp column>, "features": {...}?}, ...]}``."""
    numeric: dict[str, Any] = {name: (float | None, ...) for name in config.features.numeric}
    categorical: dict[str, Any] = {name: (str | int, ...) for name in config.features.categorical}
    text: dict[str, Any] = {name: (str, ...) for name in config.features.text}
    features = create_model(f"{config.name}_features", __config__=_STRICT, **numeric, **categorical, **text)
    keys: dict[str, Any] = {key: (str, Field(min_length=1)) for key in config.entity_keys}
    instance = create_model(  # type: ignore[call-overload]
        f"{config.name}_instance",
        __config__=_STRICT,
        **keys,
        **{config.timestamp_column: (date, ...)},
        features=(features | None, Field(default=None, description="Inline; else from the online store.")),
    )
    return create_model(
        f"{config.name}_request",
        __config__=_STRICT,
        instances=(list[instance], Field(min_length=1, max_length=max_rows)),
    )


class Prediction(BaseModel):
    entity_id: str
    date: date
    prediction: float
    features_from: str
    version: str = Field(
        description="The version that answered this row (a canary's candidate, or the champion)."
    )


class PredictResponse(BaseModel):
    model: str
    version: str = Field(description="The champion's version.")
    request_id: str
    predictions: list[Prediction]
