"""Training: model types keyed by the config's ``model.type``, and the bundle they produce.

A bundle is everything inference needs: the fitted preprocessing (and tokenizer), the
architecture's parameters and the weights. It is saved as one file, names its model type,
and is wrapped as an MLflow pyfunc. Types: ``torch_mlp`` (:class:`TrainedModel`, tabular)
and ``cross_encoder`` (``cross_encoder.TrainedCrossEncoder``, text pairs).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.config.params import PARAMS_BY_TYPE, CrossEncoderParams, TorchMLPParams
from pipelines.errors import MissingInputError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    import numpy as np
    import pandas as pd
    from pydantic import BaseModel

    from pipelines.config.model import ModelConfig
    from pipelines.models.cross_encoder import TrainedCrossEncoder
    from pipelines.models.torch_mlp import TabularMLP

log = logging.getLogger("conveyor.train")

# Called after each epoch with the model as it stands (anything with ``predict(frame)``) and
# the epoch's number: tuning scores the validation split there and may stop the trial.
EpochHook = Callable[[Any, int], None]


@dataclass
class TrainedModel:
    preprocessor: Any
    network: TabularMLP
    params: TorchMLPParams
    history: list[dict[str, float]]
    resumed_from_epoch: int | None = None

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Predictions on the original scale, never below zero."""
        from pipelines.models.torch_mlp import predict

        pre = self.preprocessor
        scaled = predict(self.network, pre.numeric_matrix(frame), pre.category_matrix(frame))
        return pre.unscale_target(scaled).clip(min=0.0)

    def predict_records(self, rows: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """The same as :meth:`predict`, from one dict of features a row (serving's path)."""
        from pipelines.models.torch_mlp import predict

        pre = self.preprocessor
        scaled = predict(self.network, pre.numeric_rows(rows), pre.category_rows(rows))
        return pre.unscale_target(scaled).clip(min=0.0)

    def save(self, path: Path) -> None:
        import torch

        bundle = {
            "model_type": "torch_mlp",
            "preprocessor": self.preprocessor.to_dict(),
            "params": self.params.model_dump(),
            "state_dict": {k: v.cpu() for k, v in self.network.state_dict().items()},
            "history": self.history,
        }
        torch.save(bundle, path)

    @classmethod
    def load(cls, path: Path) -> TrainedModel:
        import torch

        from pipelines.models.preprocessing import Preprocessor
        from pipelines.models.torch_mlp import TabularMLP

        bundle = torch.load(path, map_location="cpu", weights_only=True)
        preprocessor = Preprocessor.from_dict(bundle["preprocessor"])
        params = TorchMLPParams(**bundle["params"])
        network = TabularMLP(len(preprocessor.numeric), preprocessor.cardinalities(), params)
        network.load_state_dict(bundle["state_dict"])
        return cls(preprocessor, network, params, bundle["history"])


def load_trained(path: Path) -> TrainedModel | TrainedCrossEncoder:
    """A saved bundle of any model type, as its type's class."""
    import torch

    model_type = torch.load(path, map_location="cpu", weights_only=True)["model_type"]
    if model_type == "cross_encoder":
        from pipelines.models.cross_encoder import TrainedCrossEncoder

        return TrainedCrossEncoder.load(path)
    return TrainedModel.load(path)


def resolve_params(config: ModelConfig, overrides: dict[str, Any] | None = None) -> BaseModel:
    """The config's parameters for its model type, with ``overrides``; raises pydantic's
    ValidationError on one the type does not take."""
    return PARAMS_BY_TYPE[config.model.type](**{**config.model.params, **(overrides or {})})


def run_key(config: ModelConfig, params: BaseModel, train_digest: str) -> str:
    """Identity of a training run: a retried task with the same key resumes its checkpoints."""
    features = config.features
    identity = {
        "model": config.name,
        "type": config.model.type,
        "seed": config.model.seed,
        "params": params.model_dump(),
        "features": [features.numeric, features.categorical, *([features.text] if features.text else [])],
        "train": train_digest,
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]


def fit_model(
    config: ModelConfig,
    train: pd.DataFrame,
    checkpoints: Path,
    params: BaseModel,
    *,
    home: Path | None = None,
    on_epoch: EpochHook | None = None,
) -> TrainedModel | TrainedCrossEncoder:
    """Fit the config's model type on ``train``; resumes from ``checkpoints``. ``home`` is
    the platform home, under which a pretrained encoder's ``weights/`` live; ``on_epoch`` is
    called after each epoch with the model so far.

    Raises MissingInputError for an empty training set (or missing base weights).
    """
    if train.empty:
        raise MissingInputError("the training set is empty; build datasets from more history")
    features = config.features
    if isinstance(params, CrossEncoderParams):
        from pipelines.config.load import conveyor_home
        from pipelines.models.base_weights import weights_folder
        from pipelines.models.cross_encoder import fit_cross_encoder

        folder = weights_folder(params.base_weights, home or conveyor_home())
        return fit_cross_encoder(
            train,
            features.text,
            features.numeric,
            config.target,
            params,
            config.model.seed,
            checkpoints,
            folder,
            on_epoch=on_epoch,
        )
    assert isinstance(params, TorchMLPParams)
    return train_tabular(config, train, checkpoints, params, on_epoch)


def train_tabular(
    config: ModelConfig,
    train: pd.DataFrame,
    checkpoints: Path,
    params: TorchMLPParams,
    on_epoch: EpochHook | None = None,
) -> TrainedModel:
    """Fit preprocessing and the MLP on ``train``."""
    from pipelines.models.preprocessing import Preprocessor
    from pipelines.models.torch_mlp import fit

    features = config.features
    preprocessor = Preprocessor.fit(train, features.numeric, features.categorical, config.target)
    network, state = fit(
        preprocessor.numeric_matrix(train),
        preprocessor.category_matrix(train),
        preprocessor.scale_target(train[config.target]),
        preprocessor.cardinalities(),
        params,
        config.model.seed,
        checkpoints,
        on_epoch=(lambda network, epoch: on_epoch(TrainedModel(preprocessor, network, params, []), epoch))
        if on_epoch
        else None,
    )
    return TrainedModel(preprocessor, network.cpu(), params, state.history, state.resumed_from)
