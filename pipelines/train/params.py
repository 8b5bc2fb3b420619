"""Hyperparameters per model type: pydantic only, so configs validate without torch."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class TorchMLPParams(BaseModel):
    """An MLP over standardised numeric features and embedded categorical ones."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    hidden_sizes: list[int] = Field(default=[64, 32], min_length=1)
    embedding_dim: int = Field(default=8, gt=0)
    epochs: int = Field(default=20, gt=0)
    batch_size: int = Field(default=256, gt=0)
    learning_rate: float = Field(default=3e-3, gt=0)
    weight_decay: float = Field(default=0.0, ge=0)


PARAMS_BY_TYPE: dict[str, type[BaseModel]] = {"torch_mlp": TorchMLPParams}
