"""Base weights for text models: a local folder in Hugging Face's ``save_pretrained`` layout.

Never a hub: models load with ``local_files_only=True`` from ``<home>/weights/<name>`` (or an
absolute path), so training and serving run with no network. ``init_base_weights`` writes a
small ELECTRA-discriminator-sized encoder and a WordPiece tokenizer over a given vocabulary,
seeded, for a platform with no pretrained checkpoint at hand; any local BERT/ELECTRA-style
checkpoint folder loads the same way.
"""

from __future__ import annotations

import shutil
import string
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.errors import MissingInputError, PartitionConflictError

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerFast

SPECIAL_TOKENS = {
    "pad_token": "[PAD]",
    "unk_token": "[UNK]",
    "cls_token": "[CLS]",
    "sep_token": "[SEP]",
    "mask_token": "[MASK]",
}
# A fixed alphabet, so a word outside the vocabulary still tokenizes into pieces, not [UNK].
ALPHABET = string.ascii_lowercase + string.digits + string.punctuation
ENCODER_SIZE: dict[str, Any] = {
    "embedding_size": 64,
    "hidden_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 128,
    "max_position_embeddings": 128,
}
INIT_COMMAND = "conveyor weights init"


def weights_folder(base_weights: str, home: Path) -> Path:
    """Where ``params.base_weights`` points: an absolute path as is, else ``<home>/weights/<name>``."""
    path = Path(base_weights)
    return path if path.is_absolute() else home / "weights" / base_weights


def build_tokenizer(words: Iterable[str]) -> PreTrainedTokenizerFast:
    """A fast, lower-casing WordPiece tokenizer: special tokens, the alphabet, its ``##`` pieces, words."""
    from tokenizers import Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordPiece
    from transformers import PreTrainedTokenizerFast

    normalizer, splitter = normalizers.BertNormalizer(lowercase=True), pre_tokenizers.BertPreTokenizer()
    # Words as the tokenizer will see them (lower case, no accents, punctuation split off).
    pieces = {
        piece for word in words for piece, _ in splitter.pre_tokenize_str(normalizer.normalize_str(word))
    }
    characters = sorted(set(ALPHABET) | {character for piece in pieces for character in piece})
    tokens = [
        *SPECIAL_TOKENS.values(),
        *characters,
        *(f"##{character}" for character in characters),
        *sorted(pieces - set(characters)),
    ]
    vocabulary = {token: index for index, token in enumerate(tokens)}
    backend = Tokenizer(WordPiece(vocabulary, unk_token=SPECIAL_TOKENS["unk_token"]))
    backend.normalizer, backend.pre_tokenizer = normalizer, splitter
    backend.decoder = decoders.WordPiece()
    cls, sep = SPECIAL_TOKENS["cls_token"], SPECIAL_TOKENS["sep_token"]
    backend.post_processor = processors.TemplateProcessing(
        single=f"{cls}:0 $A:0 {sep}:0",
        pair=f"{cls}:0 $A:0 {sep}:0 $B:1 {sep}:1",
        special_tokens=[(cls, vocabulary[cls]), (sep, vocabulary[sep])],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        model_max_length=ENCODER_SIZE["max_position_embeddings"],
        model_input_names=["input_ids", "token_type_ids", "attention_mask"],
        **SPECIAL_TOKENS,
    )


def init_base_weights(folder: Path, words: Iterable[str], seed: int, overwrite: bool = False) -> Path:
    """Write a seeded small ELECTRA encoder and its tokenizer to ``folder``; returns ``folder``.

    The same seed and words give byte-identical files, so running it again is a no-op.
    Raises PartitionConflictError when ``folder`` holds something else, unless ``overwrite``.
    """
    import torch
    from transformers import ElectraConfig, ElectraModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # a progress bar per file is noise in a task's log
    tokenizer = build_tokenizer(words)
    config = ElectraConfig(vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id, **ENCODER_SIZE)
    with torch.random.fork_rng(devices=[]):  # seeded without disturbing the caller's RNG
        torch.manual_seed(seed)
        encoder = ElectraModel(config)
    staging = folder.with_name(f".{folder.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    encoder.save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    if folder.exists():
        if _same_files(staging, folder):
            shutil.rmtree(staging)
            return folder
        if not overwrite:
            shutil.rmtree(staging)
            raise PartitionConflictError(
                f"{folder} already holds other base weights, and models trained on them would "
                f"change meaning; choose another folder or overwrite it ({INIT_COMMAND} --overwrite)"
            )
        shutil.rmtree(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging.replace(folder)  # a kill never leaves a half-written weights folder
    return folder


def _same_files(first: Path, second: Path) -> bool:
    names = sorted(path.name for path in first.iterdir())
    if names != sorted(path.name for path in second.iterdir()):
        return False
    return all((first / name).read_bytes() == (second / name).read_bytes() for name in names)


def load_base_weights(folder: Path) -> tuple[PreTrainedTokenizerFast, PreTrainedModel]:
    """The tokenizer and encoder in ``folder``, read from disk only.

    Raises MissingInputError when the folder (or its config.json) is not there.
    """
    if not (folder / "config.json").is_file():
        raise MissingInputError(
            f"no base weights at {folder}: write them with `{INIT_COMMAND}` "
            "(or point params.base_weights at a local checkpoint folder)"
        )
    from transformers import AutoModel, AutoTokenizer, PreTrainedTokenizerFast
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    if not isinstance(tokenizer, PreTrainedTokenizerFast):
        raise MissingInputError(f"{folder} has no fast tokenizer (tokenizer.json); it is needed")
    # float32 whatever the checkpoint's dtype: training keeps master weights in full precision.
    encoder = AutoModel.from_pretrained(folder, local_files_only=True).float()
    return tokenizer, encoder
