"""Reading a request's features from Feast's online store."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from pipelines.datasets import feature_columns
from pipelines.features import ENTITY_ID, feature_store

if TYPE_CHECKING:
    from pipelines.config import ModelConfig, PlatformConfig


class OnlineFeatures:
    """The model's feature service in the online store, resolved once at start-up."""

    def __init__(self, platform: PlatformConfig, config: ModelConfig) -> None:
        self.store = feature_store(platform)
        self.service = self.store.get_feature_service(config.features.feature_service)
        self.columns = feature_columns(config)

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
