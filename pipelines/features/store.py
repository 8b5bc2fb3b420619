"""Feast: declare the gold layer as features, materialize it, read it point-in-time.

Declarations live in ``feature_repo/<source>.py`` (a ``declare(gold_uri)`` function); this
module only binds them to the environment's registry and stores. Materialization always
takes an explicit window from the caller, never Feast's incremental watermark, so that
reruns and backfills driven by an orchestrator stay correct.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.config.load import REPO_ROOT
from pipelines.config.model import ModelConfig
from pipelines.config.platform import PlatformConfig
from pipelines.errors import ConfigError, MissingInputError
from pipelines.features.offline import entity_frame, offline_store_config, reshaped

if TYPE_CHECKING:
    import pandas as pd
    from feast import FeatureService, FeatureStore

    from pipelines.lakehouse.storage import Lakehouse

log = logging.getLogger("conveyor.features")
ENTITY_ID, EVENT_TIMESTAMP = "entity_id", "event_timestamp"
SQL_SCHEMES = ("postgresql", "mysql", "sqlite://")


def feature_repo_dir() -> Path:
    return Path(os.environ.get("CONVEYOR_FEATURE_REPO", REPO_ROOT / "feature_repo"))


def feature_store(platform: PlatformConfig) -> FeatureStore:
    """A Feast store on the platform's registry, offline store (over gold's files) and
    online store."""
    from feast import FeatureStore
    from feast.repo_config import RepoConfig

    online = platform.feast.online_store.model_dump(exclude_none=True)
    registry: str | dict[str, Any] = platform.feast.registry
    if platform.feast.registry.startswith(SQL_SCHEMES):
        # A database URL: Feast's SQL registry, shared by every container of the stack.
        registry = {"registry_type": "sql", "path": platform.feast.registry, "cache_ttl_seconds": 60}
    elif "://" not in platform.feast.registry:
        Path(platform.feast.registry).parent.mkdir(parents=True, exist_ok=True)
    if online.get("path"):
        Path(online["path"]).parent.mkdir(parents=True, exist_ok=True)
    config = RepoConfig(
        project=platform.feast.project,
        provider="local",
        registry=registry,
        offline_store=offline_store_config(platform.feast.offline_store),
        online_store=online,
        entity_key_serialization_version=3,
        repo_path=str(platform.home),
    )
    return FeatureStore(config=config)


def declarations(config: ModelConfig, lakehouse: Lakehouse) -> list[Any]:
    """The Feast objects of ``feature_repo/<source>.py``, bound to this lakehouse's gold."""
    path = feature_repo_dir() / f"{config.source.name}.py"
    if not path.is_file():
        raise ConfigError(f"no Feast declarations for source {config.source.name!r}: {path} is missing")
    spec = importlib.util.spec_from_file_location(f"feature_repo.{config.source.name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    objects: list[Any] = module.declare(f"{lakehouse.root_uri}/gold/{config.source.name}")
    return objects


def apply_features(store: FeatureStore, config: ModelConfig, lakehouse: Lakehouse) -> list[str]:
    """Register the source's entities, views and services; check the model's features exist.

    Raises ConfigError when the config's feature service is not declared, or names a
    feature the service does not serve.
    """
    objects = declarations(config, lakehouse)
    store.apply(objects)
    check_model_features(store, config)
    return sorted(obj.name for obj in objects)


def _service(store: FeatureStore, config: ModelConfig) -> FeatureService:
    from feast.errors import FeatureServiceNotFoundException

    try:
        return store.get_feature_service(config.features.feature_service)
    except FeatureServiceNotFoundException:
        raise ConfigError(
            f"feature service {config.features.feature_service!r} (features.feature_service of"
            f" {config.name}) is not registered; declare it in feature_repo/{config.source.name}.py"
            " and run `conveyor features apply`"
        ) from None


def served_features(store: FeatureStore, config: ModelConfig) -> list[str]:
    return list(_feature_types(_service(store, config)))


def _feature_types(service: FeatureService) -> dict[str, Any]:
    """Each feature the service serves, with its Feast type."""
    return {
        feature.name: feature.dtype
        for projection in service.feature_view_projections
        for feature in projection.features
    }


def check_model_features(store: FeatureStore, config: ModelConfig) -> None:
    served = served_features(store, config)
    features = config.features
    missing = [f for f in [*features.numeric, *features.categorical, *features.text] if f not in served]
    if missing:
        raise ConfigError(
            f"configs/models/{config.name}.yaml: features {missing} are not in feature service"
            f" {config.features.feature_service!r}, which serves {sorted(served)}"
        )


def _utc(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def materialize_window(config: ModelConfig, first_gold_day: date, last_gold_day: date) -> tuple[date, date]:
    """The target days ``[start, end)`` whose features the gold partitions of
    ``first_gold_day`` .. ``last_gold_day`` hold: gold of day d is for target day d + horizon."""
    horizon = timedelta(days=config.features.horizon_days)
    return first_gold_day + horizon, last_gold_day + horizon + timedelta(days=1)


def materialize_features(store: FeatureStore, config: ModelConfig, start: date, end: date) -> None:
    """Load gold rows with target days in [start, end) into the online store."""
    if end <= start:
        raise ConfigError(f"materialize window is empty: --end {end} is not after --start {start}")
    views = [p.name for p in _service(store, config).feature_view_projections]
    log.info("materializing %s for target days %s .. %s", ", ".join(views), start, end)
    store.materialize(start_date=_utc(start), end_date=_utc(end), feature_views=views)


def historical_features(store: FeatureStore, config: ModelConfig, entity_rows: pd.DataFrame) -> pd.DataFrame:
    """Join each entity row (``entity_id``, ``event_timestamp``, ...) with the feature values
    that were valid at its timestamp, point-in-time. Returned: the entity rows that found a
    gold row (the first of a repeated key), in their order, with the features; the same
    frame whichever offline store joined it (``pipelines/features/offline.py``)."""
    if entity_rows.empty:
        raise MissingInputError("no entity rows to fetch features for")
    service = _service(store, config)
    sent = entity_frame(entity_rows, [ENTITY_ID, EVENT_TIMESTAMP])
    job = store.get_historical_features(entity_df=sent, features=service)
    return reshaped(job.to_df(), sent, _feature_types(service))


def online_features(store: FeatureStore, config: ModelConfig, entity_ids: list[str]) -> dict[str, list[Any]]:
    rows = [{ENTITY_ID: entity_id} for entity_id in entity_ids]
    return store.get_online_features(features=_service(store, config), entity_rows=rows).to_dict()
