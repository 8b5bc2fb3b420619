"""Following the registry's ``champion`` and ``candidate`` aliases: load the versions they
point at, watch them, and swap to new ones without a failed request.

New versions are loaded in a background thread while the old ones keep answering; the
swap is one reference assignment (a :class:`Lineup`), and a request reads that reference
once, so every answer comes from the versions its response names. A candidate that
fails to load is left out (the champion answers everything) and the reason is kept.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pipelines.errors import ArtifactChangedError
from pipelines.release.digest import DIGEST_TAG, load_verified
from pipelines.release.registry import CANDIDATE, CHAMPION, alias_version

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
    """Load a registered version from the registry, never from anywhere else, once its
    files match the digest its registration recorded (ArtifactChangedError otherwise)."""
    import mlflow
    import pandas as pd

    recorded = mlflow.MlflowClient().get_model_version(name, version).tags.get(DIGEST_TAG)
    model: Any = load_verified(name, version, recorded)
    # Requests are validated against the model's features before they get here, so call
    # the Python model directly rather than through pyfunc's per-call schema enforcement,
    # and without a DataFrame where the model type scores records.
    python_model: Any = model.unwrap_python_model()
    if hasattr(python_model, "predict_records"):
        return LoadedModel(name, version, python_model.predict_records)
    return LoadedModel(
        name, version, lambda rows: python_model.predict(None, pd.DataFrame.from_records(rows))
    )


@dataclass(frozen=True)
class Lineup:
    """What answers now: the champion, and a candidate in release with its strategy
    (``canary`` or ``shadow``, on ``share`` of the entities), or none (``direct``)."""

    champion: LoadedModel | None = None
    candidate: LoadedModel | None = None
    strategy: str = "direct"
    share: float = 0.0


class ChampionFollower:
    """Holds the loaded champion and candidate of ``name`` (a :class:`Lineup`) and follows
    both aliases every ``poll_seconds``."""

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
        self.lineup = Lineup()
        self.last_error: str | None = None
        self.candidate_error: str | None = None
        self._refused_candidate: str | None = None  # a version that failed to load: not retried
        self._refused_champion: str | None = None  # a champion whose files changed: not retried
        # Called with (alias, version, reason) when a version's files changed since registration.
        self.on_refused: Callable[[str, str, str], None] = lambda alias, version, reason: None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="champion-follower", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    @property
    def current(self) -> LoadedModel | None:
        """The champion serving now."""
        return self.lineup.champion

    def refresh(self) -> bool:
        """Load the versions the aliases point at where they are not the ones serving;
        True if the lineup changed."""
        version = alias_version(self.client, self.name, CHAMPION)
        if version is None:
            self.last_error = f"{self.name} has no champion in the registry yet"
            return False
        before = self.lineup
        champion = before.champion
        if version == self._refused_champion:
            return False
        if champion is None or champion.version != version:
            log.info("%s: loading champion version %s", self.name, version)
            try:
                champion = self.loader(self.name, version)
            except ArtifactChangedError as refused:
                self._refused_champion = version
                kept = before.champion.version if before.champion else "none"
                self.last_error = f"champion version {version} refused: {refused}; still serving {kept}"
                log.error("%s: %s", self.name, self.last_error)
                self.on_refused(CHAMPION, version, str(refused))
                return False
            log.info("%s: now serving version %s (was %s)", self.name, version,
                     before.champion.version if before.champion else "none")  # fmt: skip
        self.last_error = None
        self.lineup = self._with_candidate(champion, before)
        return self.lineup != before

    def _with_candidate(self, champion: LoadedModel, before: Lineup) -> Lineup:
        version = alias_version(self.client, self.name, CANDIDATE)
        if version is None or version == champion.version:
            self.candidate_error = None
            return Lineup(champion)
        if version == self._refused_candidate:
            return Lineup(champion)
        # Read each time: the same version may be released again with another strategy or share.
        release = self.client.get_model_version(self.name, version).tags
        strategy = release.get("conveyor.release.strategy", "canary")
        share = float(release.get("conveyor.release.share", "0.2"))
        if before.candidate is not None and before.candidate.version == version:
            return Lineup(champion, before.candidate, strategy, share)
        try:
            candidate = self.loader(self.name, version)
        except Exception as error:  # a broken candidate never touches the champion's answers
            self._refused_candidate = version
            self.candidate_error = f"candidate version {version} failed to load: {error}"
            log.error("%s: %s; the champion answers everything", self.name, self.candidate_error)
            if isinstance(error, ArtifactChangedError):
                self.on_refused(CANDIDATE, version, str(error))
            return Lineup(champion)
        self.candidate_error = None
        log.info("%s: candidate version %s in %s release on %.0f%% (champion %s)",
                 self.name, version, strategy, share * 100, champion.version)  # fmt: skip
        return Lineup(champion, candidate, strategy, share)

    def _run(self) -> None:
        while True:
            try:
                self.refresh()
            except Exception as error:  # the registry may be down; keep serving what we have
                self.last_error = f"could not follow the champion: {error}"
                log.warning("%s: %s", self.name, self.last_error)
            if self._stop.wait(self.poll_seconds):
                return
