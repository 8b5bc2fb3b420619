from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
import torch

from pipelines.config.params import CrossEncoderParams
from pipelines.errors import ConfigError, MissingInputError
from pipelines.models import cross_encoder
from pipelines.models.base_weights import init_base_weights
from pipelines.models.cross_encoder import TrainedCrossEncoder, fit_cross_encoder
from pipelines.models.text_pairs import PairBatches

WORDS = [
    "river", "mountain", "forest", "ocean", "desert", "city", "village", "bridge", "castle",
    "garden", "train", "plane", "ship", "engine", "music", "guitar", "piano", "violin", "coffee",
    "bread", "cheese", "apple", "orange", "lemon", "doctor", "nurse", "teacher", "farmer",
]  # fmt: skip
TEXT, NUMERIC, TARGET = ["query", "document"], ["ctr_28d", "doc_age_days"], "relevance"


def pairs(rows: int, seed: int) -> pd.DataFrame:
    """Relevance 0-3: query words found in the document (0-2), plus one for a high click rate."""
    rng = np.random.default_rng(seed)
    records = []
    for _ in range(rows):
        query = list(rng.choice(WORDS, 2, replace=False))
        overlap = int(rng.integers(0, 3))
        others = [word for word in WORDS if word not in query]
        document = query[:overlap] + list(rng.choice(others, 4 - overlap, replace=False))
        rng.shuffle(document)
        ctr = float(rng.random())
        records.append(
            {
                "query": " ".join(query),
                "document": " ".join(document),
                "ctr_28d": ctr,
                "doc_age_days": float(rng.integers(0, 900)),
                "overlap": overlap,
                TARGET: overlap + int(ctr > 0.5),
            }
        )
    return pd.DataFrame(records)


TRAIN, HELD_OUT = pairs(240, seed=0), pairs(200, seed=1)
PARAMS = CrossEncoderParams(max_length=32, epochs=3, batch_size=16, learning_rate=2e-3)


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    return init_base_weights(tmp_path_factory.mktemp("weights") / "electra-tiny", WORDS, seed=7)


def fit(weights, checkpoints, epochs: int = 3, train: pd.DataFrame = TRAIN) -> TrainedCrossEncoder:
    params = PARAMS.model_copy(update={"epochs": epochs, "base_weights": str(weights)})
    return fit_cross_encoder(
        train, TEXT, NUMERIC, TARGET, params, 7, checkpoints, weights, device=torch.device("cpu")
    )


@pytest.fixture(scope="module")
def trained(weights, tmp_path_factory):
    return fit(weights, tmp_path_factory.mktemp("checkpoints"))


def concordance(scores: np.ndarray, labels: np.ndarray) -> float:
    """Share of pairs with different labels that the scores put in the labels' order."""
    higher = labels[:, None] > labels[None, :]
    return float(((scores[:, None] > scores[None, :]) & higher).sum() / higher.sum())


def test_training_lowers_the_loss_and_ranks_better_than_chance(trained, weights):
    from transformers import AutoModel

    losses = [entry["loss"] for entry in trained.history]
    assert losses[-1] < losses[0]
    assert [entry["epoch"] for entry in trained.history] == [1, 2, 3]
    assert all(entry["tokens_per_second"] > entry["samples_per_second"] > 0 for entry in trained.history)
    assert concordance(trained.predict(HELD_OUT), HELD_OUT[TARGET].to_numpy()) > 0.6
    # The encoder is fine-tuned, not frozen. (Word matching itself takes a random-init encoder
    # more epochs than a unit test can afford; a pretrained one starts from it.)
    base = AutoModel.from_pretrained(weights, local_files_only=True).state_dict()
    tuned, name = trained.network.encoder.state_dict(), "encoder.layer.0.attention.self.query.weight"
    assert not torch.equal(tuned[name], base[name])


def test_predict_records_and_a_saved_model_give_the_same_scores(trained, tmp_path):
    scores = trained.predict(HELD_OUT)
    assert scores.shape == (len(HELD_OUT),)
    np.testing.assert_array_equal(trained.predict_records(HELD_OUT.to_dict("records")), scores)
    trained.save(tmp_path / "model.pt")
    loaded = TrainedCrossEncoder.load(tmp_path / "model.pt")
    np.testing.assert_array_equal(loaded.predict(HELD_OUT), scores)
    np.testing.assert_array_equal(loaded.predict_records(HELD_OUT.to_dict("records")), scores)
    assert loaded.history == trained.history
    assert torch.load(tmp_path / "model.pt", weights_only=True)["model_type"] == "cross_encoder"


def test_training_and_prediction_feed_the_model_the_same_tokens(weights, tmp_path, monkeypatch):
    seen: dict[str, dict[int, list[int]]] = {"train": {}, "predict": {}}

    class RecordingBatches(PairBatches):
        def __call__(self, rows):
            batch = super().__call__(rows)
            phase = "predict" if self.target is None else "train"
            for position, row in enumerate(rows):
                kept = batch["attention_mask"][position].bool()
                seen[phase][int(row)] = batch["input_ids"][position][kept].tolist()
            return batch

    monkeypatch.setattr(cross_encoder, "PairBatches", RecordingBatches)
    few = TRAIN.head(40)
    fit(weights, tmp_path, epochs=1, train=few).predict(few)
    assert len(seen["train"]) == len(few)
    assert seen["train"] == seen["predict"]


def test_a_killed_run_resumes_from_its_last_checkpoint_to_the_same_weights(
    weights, trained, tmp_path, caplog
):
    fit(weights, tmp_path)
    (tmp_path / "epoch-0003.pt").unlink()  # as if the task died during its third epoch
    with caplog.at_level(logging.INFO, logger="conveyor.train"):
        resumed = fit(weights, tmp_path)
    assert resumed.resumed_from_epoch == 2
    assert "resuming from epoch-0002.pt" in caplog.text
    assert [entry["epoch"] for entry in resumed.history] == [1, 2, 3]
    assert trained.resumed_from_epoch is None
    straight = trained.network.state_dict()
    for name, tensor in resumed.network.state_dict().items():
        assert torch.equal(tensor, straight[name]), name


def test_missing_weights_and_bad_settings_are_refused(weights, tmp_path):
    with pytest.raises(MissingInputError, match="conveyor weights init"):
        fit(tmp_path / "weights" / "electra-tiny", tmp_path / "checkpoints")
    with pytest.raises(MissingInputError, match="empty"):
        fit(weights, tmp_path / "checkpoints", train=TRAIN.head(0))
    with pytest.raises(ConfigError, match="positions"):
        fit_cross_encoder(
            TRAIN, TEXT, NUMERIC, TARGET, PARAMS.model_copy(update={"max_length": 512}), 7, tmp_path, weights
        )


def test_dataloader_workers_collate_the_same_batches(weights, tmp_path):
    def one_epoch(workers: int) -> dict[str, torch.Tensor]:
        params = PARAMS.model_copy(update={"epochs": 1, "dataloader_workers": workers})
        model = fit_cross_encoder(
            TRAIN.head(64),
            TEXT,
            NUMERIC,
            TARGET,
            params,
            7,
            tmp_path / str(workers),
            weights,
            torch.device("cpu"),
        )
        return model.network.state_dict()

    in_process, in_workers = one_epoch(0), one_epoch(2)
    assert all(torch.equal(in_process[name], in_workers[name]) for name in in_process)


def test_any_local_bert_style_checkpoint_serves_as_base_weights(tmp_path):
    from transformers import BertConfig, BertModel, BertTokenizer

    folder = tmp_path / "bert-tiny"
    vocabulary = {token: i for i, token in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS])}
    BertTokenizer(vocab=vocabulary).save_pretrained(folder)
    size = {"hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 64}
    BertModel(BertConfig(vocab_size=len(vocabulary), max_position_embeddings=64, **size)).save_pretrained(
        folder
    )
    model = fit(folder, tmp_path / "checkpoints", epochs=1, train=TRAIN.head(64))
    model.save(tmp_path / "model.pt")
    np.testing.assert_array_equal(
        TrainedCrossEncoder.load(tmp_path / "model.pt").predict(HELD_OUT), model.predict(HELD_OUT)
    )
