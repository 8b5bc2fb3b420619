from __future__ import annotations

from pathlib import Path

import pytest
import torch

from pipelines.errors import MissingInputError, PartitionConflictError
from pipelines.models.base_weights import init_base_weights, load_base_weights, weights_folder

WORDS = ["river", "mountain", "forest", "ocean", "Café", "e-mail", "guitar", "piano"]


def files(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def test_the_same_seed_and_words_write_the_same_bytes(tmp_path):
    first = init_base_weights(tmp_path / "a", WORDS, seed=3)
    again = init_base_weights(tmp_path / "b", list(reversed(WORDS)), seed=3)
    other = init_base_weights(tmp_path / "c", WORDS, seed=4)
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= set(files(first))
    assert files(first) == files(again)
    assert files(first)["model.safetensors"] != files(other)["model.safetensors"]


def test_an_existing_folder_is_kept_unless_overwrite_is_asked(tmp_path):
    folder = init_base_weights(tmp_path / "w", WORDS, seed=3)
    before = files(folder)
    assert init_base_weights(folder, WORDS, seed=3) == folder  # the same weights: a no-op
    with pytest.raises(PartitionConflictError, match="--overwrite"):
        init_base_weights(folder, WORDS, seed=4)
    assert files(folder) == before
    init_base_weights(folder, WORDS, seed=4, overwrite=True)
    assert files(folder) != before
    assert not list(tmp_path.glob(".*partial"))


def test_the_folder_loads_with_from_pretrained(tmp_path):
    from transformers import AutoModel, AutoTokenizer

    folder = init_base_weights(tmp_path / "w", WORDS, seed=3)
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    encoder = AutoModel.from_pretrained(folder, local_files_only=True)
    assert tokenizer.is_fast
    assert encoder.config.model_type == "electra"
    assert encoder.config.vocab_size == len(tokenizer)
    pair = tokenizer("River café", "zebra ocean", return_token_type_ids=True)
    tokens = tokenizer.convert_ids_to_tokens(pair["input_ids"])
    # Known words are one token; an unknown one falls back to characters, never [UNK].
    assert tokens[:4] == ["[CLS]", "river", "cafe", "[SEP]"]
    assert "[UNK]" not in tokens and tokens[4:6] == ["z", "##e"]
    assert pair["token_type_ids"] == [0] * 4 + [1] * (len(tokens) - 4)
    loaded_tokenizer, loaded = load_base_weights(folder)
    assert loaded_tokenizer("River café")["input_ids"] == tokenizer("River café")["input_ids"]
    for ours, theirs in zip(loaded.state_dict().values(), encoder.state_dict().values(), strict=True):
        assert torch.equal(ours, theirs)


def test_a_missing_folder_names_the_command_that_writes_it(tmp_path):
    with pytest.raises(MissingInputError, match="conveyor weights init"):
        load_base_weights(tmp_path / "weights" / "electra-tiny")


def test_base_weights_name_a_folder_under_home_or_an_absolute_path(tmp_path):
    assert weights_folder("electra-tiny", tmp_path) == tmp_path / "weights" / "electra-tiny"
    assert weights_folder(str(tmp_path / "mine"), Path("/elsewhere")) == tmp_path / "mine"
