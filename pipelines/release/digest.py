"""Only the model that was judged is served: registration records a digest of the model's
files, and every load of a registered version (serving, the gates' champion) checks its
files against it before unpickling them. MLflow loads pickles without such a check."""

from __future__ import annotations

import hashlib
import logging
import tempfile
from pathlib import Path

from pipelines.errors import ArtifactChangedError
from pipelines.training.lineage import TAG

log = logging.getLogger("conveyor.release.digest")
DIGEST_TAG = f"{TAG}artifact_digest"
_CHUNK = 1 << 20


def folder_digest(folder: Path) -> str:
    """SHA-256 over every file's relative path and contents, in path order; without the
    file MLflow adds to a registered version's download (its name and version)."""
    from mlflow.store.artifact.models_artifact_repo import REGISTERED_MODEL_META_FILE_NAME

    digest = hashlib.sha256()
    added = folder / REGISTERED_MODEL_META_FILE_NAME
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p != added):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
        with path.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
        digest.update(b"\0")
    return digest.hexdigest()


def model_digest(model_uri: str) -> str:
    """The digest of the files at ``model_uri`` (any URI MLflow downloads)."""
    import mlflow

    with tempfile.TemporaryDirectory() as folder:
        return folder_digest(
            Path(mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=folder))
        )


def verified_copy(name: str, version: str, recorded: str | None, folder: Path) -> Path:
    """Download version ``version`` of ``name`` into ``folder`` and return its path, once its
    files match the digest ``recorded`` at registration; ArtifactChangedError otherwise.
    The model is then loaded from this copy, so what was checked is what is loaded."""
    import mlflow

    local = Path(
        mlflow.artifacts.download_artifacts(artifact_uri=f"models:/{name}/{version}", dst_path=str(folder))
    )
    if recorded is None:
        # Registered before digests were recorded: nothing to check against.
        log.warning("%s version %s has no recorded artifact digest; loaded unverified", name, version)
        return local
    found = folder_digest(local)
    if found != recorded:
        raise ArtifactChangedError(
            f"{name} version {version}'s files changed since it was registered (digest {found[:12]},"
            f" recorded {recorded[:12]}); it is not loaded. Register the model again from its run, or"
            " roll back to another version."
        )
    return local


def load_verified(name: str, version: str, recorded: str | None) -> object:
    """The pyfunc model of a registered version, loaded from a copy whose digest matched."""
    import mlflow

    with tempfile.TemporaryDirectory() as folder:
        return mlflow.pyfunc.load_model(str(verified_copy(name, version, recorded, Path(folder))))
