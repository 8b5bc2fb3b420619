"""The MLflow model registry: versions, the ``challenger``, ``candidate`` and ``champion``
aliases, compare-and-set promotion, rollback, and the lineage every version carries.

``challenger``: the latest registered version. ``candidate``: a version that passed its
gates and now meets live traffic (canary or shadow) before the live results decide.
``champion``: the version serving."""

from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.errors import LockTimeoutError, MissingInputError, PromotionConflictError
from pipelines.release.locks import advisory_lock
from pipelines.training.lineage import LINEAGE_FIELDS, TAG, from_tags

if TYPE_CHECKING:
    from collections.abc import Iterator

    from mlflow import MlflowClient

    from pipelines.config.platform import PlatformConfig

log = logging.getLogger("conveyor.registry")
CHAMPION, CHALLENGER, CANDIDATE = "champion", "challenger", "candidate"
ALIASES = (CHAMPION, CANDIDATE, CHALLENGER)
CHAMPION_HISTORY = "champion-history.jsonl"
LOCK_TIMEOUT_SECONDS = 60


def alias_version(client: MlflowClient, model: str, alias: str) -> str | None:
    """The version ``alias`` points at; None when the model or the alias does not exist.

    Any other error (the registry's database unreachable) is raised: read as "no
    champion", an outage would make the gates judge a retrain as a first deploy."""
    from mlflow.exceptions import MlflowException
    from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE, RESOURCE_DOES_NOT_EXIST, ErrorCode

    absent = {ErrorCode.Name(RESOURCE_DOES_NOT_EXIST), ErrorCode.Name(INVALID_PARAMETER_VALUE)}
    try:
        return str(client.get_model_version_by_alias(model, alias).version)
    except MlflowException as error:
        if error.error_code in absent:  # the file store says INVALID_PARAMETER_VALUE
            return None
        raise


def register_version(
    client: MlflowClient,
    platform: PlatformConfig,
    model: str,
    model_uri: str,
    run_id: str,
    tags: dict[str, str],
) -> str:
    """Register the run's model as a new version with its lineage, and make it ``challenger``.

    The version is created with every tag at once, so no version exists without lineage.
    Idempotent: a retry after a failure (the registry went away after the version was
    created, before the alias moved) finds the run's version instead of adding another.
    The versions file (what the rollback form offers) lists it from then on.
    """
    from mlflow.exceptions import MlflowException

    try:
        client.get_registered_model(model)
    except MlflowException:
        client.create_registered_model(model, description=f"Conveyor model {model}")
    existing = client.search_model_versions(f"name='{model}' and run_id='{run_id}'")
    if existing:
        version = str(min(int(v.version) for v in existing))
        log.info("run %s is already %s version %s", run_id, model, version)
    else:
        # MLflow 3 logs models as `models:/<model id>`; a tracking server wants the id too.
        model_id = model_uri.removeprefix("models:/") if model_uri.startswith("models:/m-") else None
        created = client.create_model_version(model, model_uri, run_id=run_id, tags=tags, model_id=model_id)
        version = str(created.version)
    client.set_registered_model_alias(model, CHALLENGER, version)
    with alias_lock(platform, model):
        record_versions(client, platform, model)
    log.info("registered %s version %s as %s", model, version, CHALLENGER)
    return version


@contextmanager
def alias_lock(platform: PlatformConfig, model: str) -> Iterator[None]:
    """Serialises alias moves of one model, so compare-and-set is atomic: a PostgreSQL
    advisory lock where the platform names a lock database (workers on several hosts),
    else a file lock under the platform's home (one host)."""
    if platform.release_lock_url:
        with advisory_lock(platform.release_lock_url, f"conveyor.aliases.{model}", LOCK_TIMEOUT_SECONDS):
            yield
        return
    from filelock import FileLock, Timeout

    folder = Path(platform.home) / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    try:
        lock = FileLock(str(folder / f"{model}.aliases.lock")).acquire(timeout=LOCK_TIMEOUT_SECONDS)
    except Timeout:
        raise LockTimeoutError(f"{model}'s aliases were locked for over {LOCK_TIMEOUT_SECONDS} s") from None
    with lock:
        yield


@dataclass(frozen=True)
class AliasMove:
    model: str
    alias: str
    version: str
    previous: str | None


def record_champion_move(platform: PlatformConfig, move: AliasMove, action: str) -> None:
    """Append the move to ``reports/<model>/champion-history.jsonl``.

    MLflow keeps only where an alias points now, so this append-only file is the history of
    champion changes. The time is when the alias moved (an audit record, not a step's input).
    """
    import json
    from datetime import UTC, datetime

    import fsspec

    entry = {"at": datetime.now(UTC).isoformat(timespec="seconds"), "action": action,
             "version": move.version, "previous": move.previous}  # fmt: skip
    with fsspec.open(f"{platform.reports_uri}/{move.model}/{CHAMPION_HISTORY}", "a", auto_mkdir=True) as out:
        out.write(json.dumps(entry) + "\n")


def move_champion(
    client: MlflowClient,
    platform: PlatformConfig,
    model: str,
    version: str,
    *,
    expected_champion: str | None,
    action: str = "promote",
) -> AliasMove:
    """Move ``champion`` to ``version``, only if it still points at ``expected_champion``
    (the version the gate compared against; None for a first deploy). ``action`` is what
    the champion history records (``promote``, ``canary passed``, ...).

    Raises PromotionConflictError, changing nothing, when the champion moved meanwhile.
    """
    with alias_lock(platform, model):
        current = alias_version(client, model, CHAMPION)
        if current == version:
            log.info("%s: version %s is already the champion", model, version)
            return AliasMove(model, CHAMPION, version, current)
        if current != expected_champion:
            raise PromotionConflictError(
                f"{model}: champion is version {current}, but version {version} was evaluated"
                f" against {expected_champion or 'no champion'}; nothing changed. Evaluate"
                " again against the current champion."
            )
        client.set_registered_model_alias(model, CHAMPION, version)
        client.set_model_version_tag(model, version, "conveyor.promoted_from", str(current))
        for alias in (CHALLENGER, CANDIDATE):  # no longer a challenger, nor a candidate
            if alias_version(client, model, alias) == version:
                client.delete_registered_model_alias(model, alias)
        move = AliasMove(model, CHAMPION, version, current)
        record_champion_move(platform, move, action)
        record_versions(client, platform, model)
    log.info("%s: champion %s -> %s", model, current, version)
    return move


def move_candidate(
    client: MlflowClient,
    platform: PlatformConfig,
    model: str,
    version: str,
    *,
    expected_champion: str | None,
    strategy: str,
    share: float = 0.2,
) -> AliasMove:
    """Point ``candidate`` at ``version`` (released as ``strategy``, canary or shadow, on
    ``share`` of the entities: recorded on the version, which serving reads), only
    if the champion is still the version its gate compared against. A candidate already in
    release is replaced; its version records that it was superseded."""
    with alias_lock(platform, model):
        current = alias_version(client, model, CHAMPION)
        if current != expected_champion:
            raise PromotionConflictError(
                f"{model}: champion is version {current}, but version {version} was evaluated"
                f" against {expected_champion or 'no champion'}; nothing changed. Evaluate"
                " again against the current champion."
            )
        previous = alias_version(client, model, CANDIDATE)
        if previous == version:
            return AliasMove(model, CANDIDATE, version, previous)
        if previous is not None:
            client.set_model_version_tag(model, previous, f"{TAG}release.decision", "superseded")
            client.set_model_version_tag(
                model, previous, f"{TAG}release.reason", f"version {version} replaced it"
            )
        release = {
            "strategy": strategy,
            "share": str(share),
            "champion_version": str(current),
            "decision": "pending",
        }
        for key, value in release.items():
            client.set_model_version_tag(model, version, f"{TAG}release.{key}", value)
        client.set_registered_model_alias(model, CANDIDATE, version)
        record_versions(client, platform, model)
    log.info("%s: version %s is the %s candidate (champion %s stays)", model, version, strategy, current)
    return AliasMove(model, CANDIDATE, version, previous)


def end_candidate(
    client: MlflowClient, platform: PlatformConfig, model: str, version: str, *, decision: str, reason: str
) -> AliasMove | None:
    """Roll the candidate ``version`` back (``decision`` ``rolled back`` or ``aborted``):
    the alias removed, so serving sends its traffic back to the champion; the version
    records why. None, changing nothing, when ``version`` is no longer the candidate."""
    with alias_lock(platform, model):
        if alias_version(client, model, CANDIDATE) != version:
            return None
        client.delete_registered_model_alias(model, CANDIDATE)
        client.set_model_version_tag(model, version, f"{TAG}release.decision", decision)
        client.set_model_version_tag(model, version, f"{TAG}release.reason", reason[:4000])
        record_versions(client, platform, model)
    log.info("%s: candidate %s %s: %s", model, version, decision, reason)
    return AliasMove(model, CANDIDATE, version, None)


def versions_file(home: Path, model: str) -> Path:
    """Where the versions of ``model`` are listed for readers that must not open the
    registry: the rollback DAG's form offers them, and a DAG file parses with no I/O to a
    database (conveyor.forms.registered_versions)."""
    return home / "registry" / f"{model}.versions.json"


def record_versions(client: MlflowClient, platform: PlatformConfig, model: str) -> None:
    """Write the registered versions of ``model`` and its champion to ``versions_file``;
    called under the alias lock each time a version is registered or the champion moves."""
    import json

    versions = sorted((str(v.version) for v in client.search_model_versions(f"name='{model}'")), key=int)
    path = versions_file(Path(platform.home), model)
    path.parent.mkdir(parents=True, exist_ok=True)
    staged = path.with_suffix(".tmp")  # renamed into place: a reader never sees half a file
    aliases = {alias: alias_version(client, model, alias) for alias in (CHAMPION, CANDIDATE)}
    staged.write_text(json.dumps({"versions": versions, **aliases}))
    staged.replace(path)


def resolve_reference(client: MlflowClient, reference: str) -> tuple[str, str]:
    """``name@alias`` or ``name@version`` -> (name, version)."""
    name, sep, which = reference.partition("@")
    if not sep or not which:
        raise MissingInputError(
            f"{reference!r} is not a model reference; use <model>@champion or <model>@<version>"
        )
    if which.isdigit():
        return name, which
    version = alias_version(client, name, which)
    if version is None:
        raise MissingInputError(f"{name} has no version with alias {which!r}")
    return name, version


def read_lineage(client: MlflowClient, reference: str) -> dict[str, Any]:
    """Everything recorded about a version: lineage, metrics, gate decision, aliases."""
    name, version = resolve_reference(client, reference)
    found = client.get_model_version(name, version)
    fields = from_tags(dict(found.tags))
    run = client.get_run(str(found.run_id))
    aliases = [alias for alias in ALIASES if alias_version(client, name, alias) == version]
    return {
        "model": name,
        "version": version,
        "aliases": aliases,
        "run_id": found.run_id,
        "source": found.source,
        "lineage": {key: fields.get(key, "") for key in LINEAGE_FIELDS},
        "gate": {k.removeprefix("gate."): v for k, v in fields.items() if k.startswith("gate.")},
        "release": {k.removeprefix("release."): v for k, v in fields.items() if k.startswith("release.")},
        "metrics": {k: v for k, v in run.data.metrics.items() if not k.startswith("slice.")},
        "slice_metrics": {k: v for k, v in run.data.metrics.items() if k.startswith("slice.")},
        "params": dict(run.data.params),
    }


def referenced_datasets(client: MlflowClient, model: str) -> set[str]:
    """Every dataset URI a registered version of ``model``, or one of its training runs
    still running, refers to."""
    uris: set[str] = set()
    for version in client.search_model_versions(f"name='{model}'"):
        fields = from_tags(dict(version.tags))
        uris |= {fields[k] for k in fields if k.endswith("_dataset_uri")}
    experiment = client.get_experiment_by_name(model)
    if experiment is not None:
        for run in client.search_runs([experiment.experiment_id], "attributes.status = 'RUNNING'"):
            fields = from_tags(dict(run.data.tags))
            uris |= {fields[k] for k in fields if k.endswith("_dataset_uri")}
    return uris
