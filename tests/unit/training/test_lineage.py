"""Where a version's commit comes from: the checkout's git, or, inside an image (no git
binary, no .git), what the image was built from."""

from __future__ import annotations

import subprocess

from pipelines.config.load import REPO_ROOT
from pipelines.training.lineage import git_state


def test_a_checkout_names_its_head_commit(monkeypatch):
    monkeypatch.delenv("CONVEYOR_GIT_COMMIT", raising=False)
    monkeypatch.delenv("CONVEYOR_GIT_DIRTY", raising=False)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True)
    assert git_state()["git_commit"] == head.stdout.strip()
    assert git_state()["git_dirty"] in ("true", "false")


def test_an_image_without_git_names_the_commit_it_was_built_from(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no git binary, as in the slim task image
    monkeypatch.setenv("CONVEYOR_GIT_COMMIT", "0123abcd")
    monkeypatch.setenv("CONVEYOR_GIT_DIRTY", "false")
    assert git_state() == {"git_commit": "0123abcd", "git_dirty": "false"}


def test_without_git_or_a_recorded_commit_lineage_says_unknown_rather_than_failing(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("CONVEYOR_GIT_COMMIT", raising=False)
    monkeypatch.delenv("CONVEYOR_GIT_DIRTY", raising=False)
    assert git_state() == {"git_commit": "unknown", "git_dirty": "unknown"}
