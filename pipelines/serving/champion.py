"""Following the registry's ``champion`` alias: load the version it points at, watch it,
and swap to a new one without a failed request.

The new version is loaded in a background thread while the old one keeps answering; the
swap is one reference assignment, and a request reads that reference once, so every
request is answered entirely by one version (the one its response names).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pipelines.release.registry import CHAMPION, alias_version

if TYPE_CHECKING:
    from collections.abc import Callable

    import numpy as np
    from mlflow import MlflowClient

log = logging.getLogger("conveyor.serving.champion")


@dataclass(frozen=True)
class LoadedModel:
    name: str
    version: str
    predict: Callable[[list[dict[str, Any]]], np.ndarray]  # one dict of features a row


def load_version(name: str, version: str) -> LoadedModel:
    """Load a registered version from the registry, never from anywhere else."""
    import mlflow
    import pandas as pd

    model = mlflow.pyfunc.load_model(f"models:/{name}/{version}")
    # Requests are validated against the model's features before they get here, so call
    # the Python model directly rather than through pyfunc's per-call schema enforcement,
    # and without a DataFrame where the model type scores records.
    python_model: Any = model.unwrap_python_model()
    if hasattr(python_model, "predict_records"):
        return LoadedModel(name, version, python_model.predict_records)
    return LoadedModel(
        name, version, lambda rows: python_model.predict(None, pd.DataFrame.from_records(rows))
    )


class ChampionFollower:
    """Holds the loaded champion of ``name`` and follows the alias every ``poll_seconds``."""

    def __init__(
        self,
        client: MlflowClient,
        name: str,
        poll_seconds: float,
        loader: Callable[[str, str], LoadedModel] = load_version,
    ) -> None:
        self.client = client
        self.name = name
        self.poll_seconds = poll_seconds
        self.loader = loader
        self.current: LoadedModel | None = None
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="champion-follower", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def refresh(self) -> bool:
        """Load the version the alias points at if it is not the one serving; True if swapped."""
        version = alias_version(self.client, self.name, CHAMPION)
        if version is None:
            self.last_error = f"{self.name} has no champion in the registry yet"
            return False
        if self.current is not None and self.current.version == version:
            return False
        log.info("%s: loading champion version %s", self.name, version)
        loaded = self.loader(self.name, version)
        previous, self.current = self.current, loaded
        self.last_error = None
        log.info("%s: now serving version %s (was %s)", self.name, version,
                 previous.version if previous else "none")  # fmt: skip
        return True

    def _run(self) -> None:
        while True:
            try:
                self.refresh()
            except Exception as error:  # the registry may be down; keep serving what we have
                self.last_error = f"could not follow the champion: {error}"
                log.warning("%s: %s", self.name, self.last_error)
            if self._stop.wait(self.poll_seconds):
                return
