"""Lineage: what every model version records, so it can be traced, reproduced, rolled back."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from typing import TYPE_CHECKING

import yaml

from pipelines.config.load import REPO_ROOT

if TYPE_CHECKING:
    from pipelines.config.model import ModelConfig

TAG = "conveyor."
# Every field a registered version carries; `conveyor lineage` prints them all.
LINEAGE_FIELDS = (
    "git_commit",
    "git_dirty",
    "config_hash",
    "config_source_hash",
    "seed",
    "as_of",
    "feature_service",
    "train_dataset_uri",
    "train_dataset_digest",
    "test_dataset_uri",
    "test_dataset_digest",
    "predictions_dataset_uri",
    "predictions_dataset_digest",
    "validation_results",
    "validation_results_digest",
    "tuning",
    "trigger_reason",
    "dag_run_id",
    "training_run_id",
)


def git_state() -> dict[str, str]:
    """The commit the code came from, and whether the tree had uncommitted changes: what an
    image was built from (``CONVEYOR_GIT_COMMIT``, ``CONVEYOR_GIT_DIRTY``), else the checkout's
    git; "unknown" where neither tells (no git binary, no .git)."""

    def git(*args: str) -> str:
        try:
            done = subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True)
        except OSError:  # no git binary, as in a slim image
            return ""
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = os.environ.get("CONVEYOR_GIT_COMMIT") or git("rev-parse", "HEAD") or "unknown"
    dirty = os.environ.get("CONVEYOR_GIT_DIRTY")
    if not dirty:
        dirty = "unknown" if commit == "unknown" else str(bool(git("status", "--porcelain"))).lower()
    return {"git_commit": commit, "git_dirty": dirty}


def config_snapshot(config: ModelConfig) -> str:
    """The config as YAML, exactly as training used it (overrides applied)."""
    return yaml.safe_dump(config.model_dump(mode="json", by_alias=True), sort_keys=True)


def config_hash(config: ModelConfig) -> str:
    """The hash of the config as training used it (``config_hash``, overrides applied), or,
    given the config as loaded, of the repository's file (``config_source_hash``)."""
    return hashlib.sha256(config_snapshot(config).encode()).hexdigest()


def config_diff(old: str, new: str, old_name: str, new_name: str) -> str:
    """A unified diff of two config snapshots."""
    import difflib

    lines = difflib.unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True), old_name, new_name
    )
    return "".join(lines)


def digest_of(values: list[str]) -> str:
    return hashlib.sha256(json.dumps(sorted(values)).encode()).hexdigest()


def as_tags(fields: dict[str, str]) -> dict[str, str]:
    return {f"{TAG}{key}": str(value) for key, value in fields.items()}


def from_tags(tags: dict[str, str]) -> dict[str, str]:
    return {key[len(TAG) :]: value for key, value in tags.items() if key.startswith(TAG)}
