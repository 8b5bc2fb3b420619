"""The ``cross_encoder`` model type: a pretrained text encoder reads ``[CLS] query [SEP] document
[SEP]``; a regression head over its [CLS] vector and the standardised numeric features predicts
the graded relevance. Scores are kept raw (not clipped to the grades): they rank.

The same tokenization and padding (``text_pairs``) serve training, prediction and serving; the
training loop is ``fine_tune``: seeded, checkpointed every epoch and resumable, like ``torch_mlp``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from pipelines.config.params import CrossEncoderParams
from pipelines.errors import ConfigError, MissingInputError
from pipelines.models.base_weights import load_base_weights
from pipelines.models.fine_tune import fine_tune
from pipelines.models.preprocessing import Preprocessor
from pipelines.models.text_pairs import PairBatches, batches_by_length, encode_pairs, text_values
from pipelines.models.torch_mlp import pick_device, seed_everything

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    import pandas as pd
    from transformers import PreTrainedModel, PreTrainedTokenizerFast

    from pipelines.models import EpochHook

PREDICT_BATCH = 256


class CrossEncoderNet(nn.Module):
    def __init__(self, encoder: PreTrainedModel, numeric: int) -> None:
        super().__init__()
        self.encoder = encoder
        width = encoder.config.hidden_size
        self.head = nn.Sequential(nn.Linear(width + numeric, width), nn.GELU(), nn.Linear(width, 1))

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        hidden = self.encoder(
            input_ids=batch["input_ids"],
            token_type_ids=batch["token_type_ids"],
            attention_mask=batch["attention_mask"],
        ).last_hidden_state
        return self.head(torch.cat([hidden[:, 0].float(), batch["numeric"]], dim=1)).squeeze(1)


@dataclass
class TrainedCrossEncoder:
    tokenizer: PreTrainedTokenizerFast
    network: CrossEncoderNet
    preprocessor: Preprocessor
    text_columns: list[str]
    params: CrossEncoderParams
    history: list[dict[str, float]]
    resumed_from_epoch: int | None = None

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Relevance scores on the grades' scale (not clipped), one a row."""
        query, document = self.text_columns
        numeric = self.preprocessor.numeric_matrix(frame)
        return self._score(text_values(frame[query]), text_values(frame[document]), numeric)

    def predict_records(self, rows: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """The same as :meth:`predict`, from one dict of features a row (serving's path)."""
        query, document = self.text_columns
        numeric = self.preprocessor.numeric_rows(rows)
        return self._score(
            text_values(r[query] for r in rows), text_values(r[document] for r in rows), numeric
        )

    def _score(self, queries: list[str], documents: list[str], numeric: np.ndarray) -> np.ndarray:
        encoded = encode_pairs(self.tokenizer, queries, documents, self.params.max_length)
        batches = PairBatches(encoded, numeric, None, self.tokenizer.pad_token_id)
        return self.preprocessor.unscale_target(score_pairs(self.network, batches))

    def save(self, path: Path) -> None:
        """One file: the encoder's config and weights, the tokenizer, scaler, params, history."""
        special_tokens = {k: v for k, v in self.tokenizer.special_tokens_map.items() if isinstance(v, str)}
        bundle = {
            "model_type": "cross_encoder",
            "encoder_config": json.loads(self.network.encoder.config.to_json_string()),
            "state_dict": {k: v.cpu() for k, v in self.network.state_dict().items()},
            "tokenizer": self.tokenizer.backend_tokenizer.to_str(),
            "special_tokens": special_tokens,
            "preprocessor": self.preprocessor.to_dict(),
            "text_columns": self.text_columns,
            "params": self.params.model_dump(),
            "history": self.history,
        }
        torch.save(bundle, path)

    @classmethod
    def load(cls, path: Path) -> TrainedCrossEncoder:
        """Rebuild from :meth:`save`'s file alone: no base weights folder, no hub, no network."""
        from tokenizers import Tokenizer
        from transformers import AutoConfig, AutoModel, PreTrainedTokenizerFast

        bundle = torch.load(path, map_location="cpu", weights_only=True)
        tokenizer = PreTrainedTokenizerFast(
            tokenizer_object=Tokenizer.from_str(bundle["tokenizer"]), **bundle["special_tokens"]
        )
        with torch.random.fork_rng(devices=[]):  # the throwaway initial weights leave no trace
            encoder = AutoModel.from_config(AutoConfig.for_model(**bundle["encoder_config"]))
        preprocessor = Preprocessor.from_dict(bundle["preprocessor"])
        network = CrossEncoderNet(encoder, len(preprocessor.numeric))
        network.load_state_dict(bundle["state_dict"])
        params = CrossEncoderParams(**bundle["params"])
        return cls(tokenizer, network.eval(), preprocessor, bundle["text_columns"], params, bundle["history"])


@torch.no_grad()
def score_pairs(
    network: CrossEncoderNet, batches: PairBatches, batch_size: int = PREDICT_BATCH
) -> np.ndarray:
    """The network's outputs for every pair, in input order; eval mode, no gradients."""
    device = next(network.parameters()).device
    network.eval()
    scores = np.zeros(len(batches.encoded), dtype="float32")
    for rows in batches_by_length(batches.encoded.lengths(), batch_size):
        batch = {name: tensor.to(device) for name, tensor in batches(rows).items()}
        scores[rows] = network(batch).float().cpu().numpy()
    return scores


def fit_cross_encoder(
    train: pd.DataFrame,
    text_columns: list[str],
    numeric: list[str],
    target: str,
    params: CrossEncoderParams,
    seed: int,
    checkpoints: Path,
    weights_folder: Path,
    device: torch.device | None = None,
    on_epoch: EpochHook | None = None,
) -> TrainedCrossEncoder:
    """Fine-tune the encoder in ``weights_folder`` with a fresh head on ``train``; resumes from the
    newest checkpoint in ``checkpoints``.

    ``text_columns`` is ``[query, document]``. Raises MissingInputError for an empty training set
    or a missing weights folder, ConfigError for text columns or a max_length the encoder can't take.
    """
    if train.empty:
        raise MissingInputError("the training set is empty; build datasets from more history")
    if len(text_columns) != 2:
        raise ConfigError(f"a cross_encoder reads two text features, query and document; got {text_columns}")
    device = device or pick_device()
    tokenizer, encoder = load_base_weights(weights_folder)
    if params.max_length > encoder.config.max_position_embeddings:
        raise ConfigError(
            f"max_length {params.max_length} is longer than the encoder in {weights_folder} "
            f"takes ({encoder.config.max_position_embeddings} positions)"
        )
    preprocessor = Preprocessor.fit(train, numeric, [], target)
    query, document = text_columns
    batches = PairBatches(
        encode_pairs(tokenizer, text_values(train[query]), text_values(train[document]), params.max_length),
        preprocessor.numeric_matrix(train),
        preprocessor.scale_target(train[target]),
        tokenizer.pad_token_id,
    )
    seed_everything(seed)
    network = CrossEncoderNet(encoder, len(numeric)).to(device)

    def scored(epoch: int) -> None:
        assert on_epoch is not None
        on_epoch(TrainedCrossEncoder(tokenizer, network, preprocessor, text_columns, params, []), epoch)

    state = fine_tune(network, batches, params, seed, checkpoints, device, scored if on_epoch else None)
    return TrainedCrossEncoder(
        tokenizer, network.cpu().eval(), preprocessor, text_columns, params, state.history, state.resumed_from
    )
