"""Weights commands: the base weights a pretrained text encoder starts from, in a local folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pipelines.cli.common import JsonOption, ModelOption, app, emit
from pipelines.errors import ConfigError

weights_app = typer.Typer(help="Base weights of text encoders: local folders, never a hub.")
app.add_typer(weights_app, name="weights")


@weights_app.command("init")
def init(
    model: ModelOption,
    overwrite: Annotated[bool, typer.Option(help="Replace a folder that holds other weights.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Write a small ELECTRA encoder, initialised with the model's seed, and a WordPiece
    tokenizer over its source's sample vocabulary, to the folder its params.base_weights
    names (under <home>/weights/). The same seed and words give the same files."""
    from pipelines.config.load import load_model_config, load_platform_config
    from pipelines.config.params import CrossEncoderParams
    from pipelines.models.base_weights import init_base_weights, weights_folder
    from pipelines.samples.generate import SAMPLE_SOURCES

    platform, config = load_platform_config(), load_model_config(model)
    if config.model.type != "cross_encoder":
        raise ConfigError(f"{model} is a {config.model.type} model: it starts from no base weights")
    sample = SAMPLE_SOURCES.get(config.source.name)
    if sample is None or sample.vocabulary is None:
        raise ConfigError(
            f"source {config.source.name!r} has no sample vocabulary to build a tokenizer from;"
            " put pretrained weights (a local from_pretrained folder) where params.base_weights points"
        )
    params = CrossEncoderParams(**config.model.params)
    folder = weights_folder(params.base_weights, Path(platform.home))
    init_base_weights(folder, sample.vocabulary(), config.model.seed, overwrite=overwrite)
    emit({"weights": str(folder)}, as_json, f"base weights: {folder}")
