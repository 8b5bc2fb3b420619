"""Every registered version has a model card: each section of Mitchell et al.'s model
cards, a Hugging Face header whose figures equal the registry's, and an HTML page."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from pipelines.config.load import load_model_config, load_platform_config
from pipelines.features.datasets import read_dataset
from pipelines.training.tracking import mlflow_client
from pipelines.ui.card import CARD_TAG, write_model_card

SECTIONS = ("Model details", "Intended use", "Limitations", "Factors", "Metrics",
            "Training and evaluation data", "Gate decision", "Live results")  # fmt: skip


def test_the_champions_card_has_every_section_and_the_registrys_figures(served_home):
    platform, config = load_platform_config(), load_model_config("freight_volume")
    client = mlflow_client(platform)
    uri = write_model_card(platform, config, client, "1")
    version = client.get_model_version("freight_volume", "1")
    assert version.tags[CARD_TAG] == uri
    card = Path(uri).read_text()
    header, body = card.split("---\n")[1], card.split("---\n", 2)[2]
    for section in SECTIONS:
        assert f"\n## {section}\n" in body, section
    assert config.card.intended_use in body and config.card.limitations in body
    assert "Aliases now: champion" in body and version.tags["conveyor.git_commit"] in body

    registry = client.get_run(version.run_id).data.metrics
    index = yaml.safe_load(header)["model-index"][0]["results"][0]
    figures = {m["type"]: m["value"] for m in index["metrics"]}
    assert figures["rmse"] == round(registry["rmse"], 6), "the card's RMSE is the registry's"
    assert figures["mae"] == round(registry["mae"], 6)
    for region in ("north", "south"):
        row = next(line for line in body.splitlines() if line.startswith(f"| region={region} |"))
        shown = float(re.search(r"\| ([\d.]+) \[", row).group(1))
        assert abs(shown - registry[f"slice.region.{region}.rmse"]) < 5e-4, row
    test_set = read_dataset(version.tags["conveyor.test_dataset_uri"])
    assert f"- test: {len(test_set)} rows" in body
    html = Path(uri.replace(".md", ".html")).read_text()
    assert "<h2>Intended use</h2>" in html and "<svg" in html and "<table>" in html
