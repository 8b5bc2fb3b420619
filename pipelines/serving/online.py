"""Reading a request's features from Feast's online store; a 503 with Retry-After while it is down."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from fastapi import HTTPException
from starlette.concurrency import run_in_threadpool

from pipelines.features.datasets import feature_columns
from pipelines.features.store import ENTITY_ID, feature_store

log = logging.getLogger("conveyor.serving")

if TYPE_CHECKING:
    from pipelines.config.model import ModelConfig
    from pipelines.config.platform import PlatformConfig


class OnlineFeatures:
    """The model's feature service in the online store, resolved on first use: a fresh stack's
    service starts (and says it is not ready) before the first training registers it."""

    def __init__(self, platform: PlatformConfig, config: ModelConfig) -> None:
        self.store = feature_store(platform)
        self.service_name = config.features.feature_service
        self.columns = feature_columns(config)
        self._service: Any = None

    @property
    def service(self) -> Any:
        if self._service is None:
            self._service = self.store.get_feature_service(self.service_name)
        return self._service

    def read(self, entity_ids: list[str]) -> dict[str, tuple[dict[str, Any], date | None]]:
        """Per entity: its features and the target day they are for (None when the store has
        no row for it, or only one older than the view's TTL)."""
        from feast.online_response import TIMESTAMP_POSTFIX

        response = self.store.get_online_features(
            features=self.service, entity_rows=[{ENTITY_ID: e} for e in entity_ids]
        ).to_dict(include_event_timestamps=True)
        found: dict[str, tuple[dict[str, Any], date | None]] = {}
        for position, entity in enumerate(response[ENTITY_ID]):
            features = {column: response[column][position] for column in self.columns}
            # Seconds since the epoch per feature; 0 where the store had nothing (or too old).
            stamps = [
                v[position] for k, v in response.items() if k.endswith(TIMESTAMP_POSTFIX) and v[position]
            ]
            found[entity] = (features, datetime.fromtimestamp(max(stamps), UTC).date() if stamps else None)
        return found


async def read_online(
    online: OnlineFeatures, entity_ids: list[str]
) -> dict[str, tuple[dict[str, Any], date | None]]:
    """The online store's rows for ``entity_ids``; a 503 with Retry-After when it is down."""
    try:
        return await run_in_threadpool(online.read, entity_ids)  # blocking I/O off the loop
    except Exception as error:  # the store is down or restarting: say so, keep serving
        log.warning("online store unreachable: %s", error)
        raise HTTPException(
            503,
            f"the online feature store is unreachable ({type(error).__name__}); retry"
            " shortly, or send the features inline",
            headers={"Retry-After": "5"},
        ) from error
