"""The prediction log: every served prediction with the version and features behind it,
and the actuals that arrive days later. One SQL database (SQLite embedded, PostgreSQL in
production) through SQLAlchemy, so monitoring joins the two with one query.

Requests never wait on the database: :class:`BufferedLog` keeps rows in memory and a
background thread writes them every ``flush_seconds``; closing it writes what is left,
so a clean shutdown (SIGTERM) loses nothing that was acknowledged.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    Column,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    event,
    func,
    select,
)
from sqlalchemy.engine import make_url

if TYPE_CHECKING:
    import pandas as pd
    from sqlalchemy.engine import Engine

log = logging.getLogger("conveyor.serving.log")

metadata = MetaData()
predictions = Table(
    "predictions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("request_id", String(64), nullable=False),
    Column("logged_at", DateTime(timezone=True), nullable=False),
    Column("model", String(128), nullable=False),
    Column("model_version", String(32), nullable=False),
    # Which alias's version scored the row, and whether its score was the answer (served)
    # or was scored beside it for a release decision (shadow).
    Column("alias", String(16), nullable=False, server_default="champion"),
    Column("variant", String(16), nullable=False, server_default="served"),
    Column("entity_id", String(256), nullable=False),
    Column("target_date", Date, nullable=False),
    Column("features", JSON, nullable=False),
    Column("prediction", Float, nullable=False),
    Index("ix_predictions_model_target_date", "model", "target_date"),
)
actuals = Table(
    "actuals",
    metadata,
    Column("model", String(128), primary_key=True),
    Column("entity_id", String(256), primary_key=True),
    Column("target_date", Date, primary_key=True),
    Column("actual", Float, nullable=False),
    Column("reported_on", Date, nullable=False),
)
_FETCH_CHUNK = 5_000


def log_engine(url: str) -> Engine:
    """An engine on the log database, its tables created if missing."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, pool_pre_ping=True)
    if parsed.get_backend_name() == "sqlite":

        @event.listens_for(engine, "connect")
        def _concurrent_readers(connection: Any, _: Any) -> None:
            # WAL lets monitoring read while the service writes; wait rather than fail on a lock.
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA busy_timeout=30000")

    metadata.create_all(engine)
    _add_missing_columns(engine)
    return engine


def _add_missing_columns(engine: Engine) -> None:
    """A log written before the release columns existed gets them, with their defaults
    (every earlier row was the champion's answer)."""
    from sqlalchemy import inspect, text

    present = {column["name"] for column in inspect(engine).get_columns("predictions")}
    with engine.begin() as connection:
        for column in predictions.columns:
            if column.name not in present and column.server_default is not None:
                default = column.server_default.arg  # type: ignore[attr-defined]
                connection.execute(text(
                    f"ALTER TABLE predictions ADD COLUMN {column.name} VARCHAR({column.type.length})"  # type: ignore[attr-defined]
                    f" NOT NULL DEFAULT '{default}'"
                ))  # fmt: skip


class PredictionLog:
    """Reads and writes of the log database."""

    def __init__(self, url: str) -> None:
        self.engine = log_engine(url)

    def append(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            with self.engine.begin() as connection:
                connection.execute(predictions.insert(), rows)

    def count(self, model: str, *, answers_only: bool = True) -> int:
        """How many rows were answered (or, ``answers_only=False``, scored at all)."""
        query = select(func.count()).select_from(predictions).where(predictions.c.model == model)
        if answers_only:
            query = query.where(predictions.c.variant == "served")
        with self.engine.connect() as connection:
            return int(connection.execute(query).scalar_one())

    def served_days(self, model: str, version: str) -> list[date]:
        """The target days ``version`` of ``model`` scored rows for, in order."""
        query = (
            select(predictions.c.target_date)
            .where((predictions.c.model == model) & (predictions.c.model_version == version))
            .distinct()
            .order_by(predictions.c.target_date)
        )
        with self.engine.connect() as connection:
            return list(connection.execute(query).scalars().all())

    def upsert_actuals(self, model: str, rows: pd.DataFrame, reported_on: date) -> int:
        """Insert or correct actuals (``entity_id``, ``target_date``, ``actual``); a later
        report of the same day replaces the earlier one."""
        records = [
            {"model": model, "entity_id": e, "target_date": d, "actual": float(a), "reported_on": reported_on}
            for e, d, a in zip(rows["entity_id"], rows["target_date"], rows["actual"], strict=True)
        ]
        if not records:
            return 0
        if self.engine.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
        statement = insert(actuals)
        statement = statement.on_conflict_do_update(
            index_elements=["model", "entity_id", "target_date"],
            set_={"actual": statement.excluded.actual, "reported_on": statement.excluded.reported_on},
        )
        with self.engine.begin() as connection:
            for start in range(0, len(records), _FETCH_CHUNK):
                connection.execute(statement, records[start : start + _FETCH_CHUNK])
        return len(records)

    def served(
        self,
        model: str,
        first: date,
        last: date,
        *,
        max_rows: int | None = None,
        seed: int = 0,
        versions: list[str] | None = None,
        answers_only: bool = True,
    ) -> pd.DataFrame:
        """Predictions for target days in [first, last], features as columns, with the
        actual where one has arrived: the answers the service gave, or with
        ``answers_only=False`` also the scores of a release's shadow rows; of ``versions``
        only, when given. More than ``max_rows`` are sampled with ``seed``: only the ids of
        the whole window are read, then the sampled rows."""
        import numpy as np
        import pandas as pd

        window = (predictions.c.model == model) & predictions.c.target_date.between(first, last)
        if answers_only:
            window &= predictions.c.variant == "served"
        if versions is not None:
            window &= predictions.c.model_version.in_(versions)
        with self.engine.connect() as connection:
            ids = np.asarray(connection.execute(select(predictions.c.id).where(window)).scalars().all())
            if max_rows is not None and len(ids) > max_rows:
                ids = np.sort(np.random.default_rng(seed).choice(ids, size=max_rows, replace=False))
            query = (
                select(predictions, actuals.c.actual)
                .join(
                    actuals,
                    (actuals.c.model == predictions.c.model)
                    & (actuals.c.entity_id == predictions.c.entity_id)
                    & (actuals.c.target_date == predictions.c.target_date),
                    isouter=True,
                )
                .order_by(predictions.c.id)
            )
            rows: list[Any] = []
            for start in range(0, len(ids), _FETCH_CHUNK):
                chunk = [int(i) for i in ids[start : start + _FETCH_CHUNK]]
                rows += connection.execute(query.where(predictions.c.id.in_(chunk))).mappings().all()
        frame = pd.DataFrame([{k: v for k, v in row.items() if k != "features"} for row in rows])
        if frame.empty:
            return frame
        features = pd.DataFrame.from_records([row["features"] for row in rows])
        return pd.concat([frame, features.drop(columns=frame.columns, errors="ignore")], axis=1)


class BufferedLog:
    """Rows wait in memory and are written in batches by a background thread."""

    def __init__(self, target: PredictionLog, flush_seconds: float) -> None:
        self.target = target
        self.flush_seconds = flush_seconds
        self._pending: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="prediction-log-flush", daemon=True)
        self._thread.start()

    def submit(self, rows: list[dict[str, Any]]) -> None:
        with self._lock:
            self._pending.extend(rows)

    @property
    def pending(self) -> int:
        return len(self._pending)

    def flush(self) -> int:
        with self._lock:
            rows, self._pending = self._pending, []
        try:
            self.target.append(rows)
        except Exception:
            # Keep them for the next attempt (the database may be restarting).
            log.exception("could not write %d predictions to the log; will retry", len(rows))
            with self._lock:
                self._pending[:0] = rows
            return 0
        return len(rows)

    def _run(self) -> None:
        while not self._stop.wait(self.flush_seconds):
            self.flush()

    def close(self) -> None:
        """Stop the thread and write everything still pending."""
        self._stop.set()
        self._thread.join()
        written = self.flush()
        with self._lock:
            left = len(self._pending)
        if left:
            log.error("%d predictions could not be written to the log at shutdown", left)
        log.info("prediction log closed; wrote the last %d rows", written)


def now() -> datetime:
    return datetime.now(UTC)
