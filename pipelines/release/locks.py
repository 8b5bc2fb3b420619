"""A lock that holds across hosts: PostgreSQL's session advisory lock, taken on a
connection of its own and released when the block ends (or when the connection drops, so
a killed holder never leaves it taken)."""

from __future__ import annotations

import hashlib
from contextlib import contextmanager
from typing import TYPE_CHECKING

from pipelines.errors import LockTimeoutError

if TYPE_CHECKING:
    from collections.abc import Iterator


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for ``name`` (advisory locks are keyed by a bigint)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


@contextmanager
def advisory_lock(database_url: str, name: str, timeout_seconds: int) -> Iterator[None]:
    """Hold the advisory lock ``name`` in the database at ``database_url`` for the block,
    waiting for it at most ``timeout_seconds`` (then LockTimeoutError)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.pool import NullPool

    key = {"key": lock_key(name)}
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            connection.execute(text(f"SET lock_timeout = '{int(timeout_seconds)}s'"))
            try:
                connection.execute(text("SELECT pg_advisory_lock(:key)"), key)
            except OperationalError as error:
                if "lock timeout" not in str(error):
                    raise
                raise LockTimeoutError(f"{name} was held elsewhere for over {timeout_seconds} s") from None
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), key)
                connection.commit()
    finally:
        engine.dispose()
