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


class CrossEncoderParams(BaseModel):
    """A pretrained text encoder over (query, document) + numeric features -> one relevance score."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_weights: str = Field(
        default="electra-tiny",
        min_length=1,
        description="A folder under the platform home's weights/, or an absolute path; never a hub name.",
    )
    # Room for [CLS] query [SEP] document [SEP]; the encoder's position table bounds it above.
    max_length: int = Field(default=128, ge=8)
    epochs: int = Field(default=3, gt=0)
    batch_size: int = Field(default=32, gt=0)
    learning_rate: float = Field(default=5e-5, gt=0)
    weight_decay: float = Field(default=0.01, ge=0)
    warmup_ratio: float = Field(default=0.1, ge=0, lt=1)
    dataloader_workers: int = Field(default=0, ge=0)
    bf16: bool = Field(default=True, description="bf16 autocast; used only on CUDA.")
    bucket_by_length: bool = Field(
        default=True, description="Batch pairs of similar token length together, so less padding."
    )


PARAMS_BY_TYPE: dict[str, type[BaseModel]] = {
    "torch_mlp": TorchMLPParams,
    "cross_encoder": CrossEncoderParams,
}
