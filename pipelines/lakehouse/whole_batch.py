"""What needs the whole batch, out of core: exact duplicate rows, the row count, repeated
keys, and the batch in silver's order. The rows are staged as text in a DuckDB database on
local disk, so memory stays flat however large the batch (DuckDB spills past ``MEMORY_LIMIT``).

Chosen over Polars by a standalone measurement on the ingest benchmark's batches (load the
rows as text, find duplicate rows and repeated keys, read them back sorted; 2 cores):
DuckDB 2.1 s and 395 MiB peak at 1M rows, 22 s and 644 MiB at 10M; Polars (streaming
engine, rows staged as Parquet) 3.1 s and 592 MiB at 1M, 22 s and 2,444 MiB at 10M: its
group-by and sort held most of the batch in memory, DuckDB's stayed within its limit.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

MEMORY_LIMIT = "256MB"  # DuckDB's own buffer; it spills to its folder past this
POSITION = "__position"  # a row's place in the batch as it arrived


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class RepeatedKeys:
    """Rows that share a key with another (distinct) row, as GX's compound-uniqueness counts
    them: every row of a repeated key, rows whose key is all missing aside."""

    unexpected_count: int
    missing_count: int
    examples: list[dict[str, Any]] = field(default_factory=list)
    counts: list[tuple[tuple[Any, ...], int]] = field(default_factory=list)


class StagedBatch:
    """A batch's rows as text, appended a chunk at a time, in ``folder``. ``key`` is the
    suite's unique key when it has one (exact duplicates share it, so only rows of a repeated
    key are compared whole); ``types`` the schema's column types."""

    def __init__(self, folder: Path, columns: list[str], types: Mapping[str, str], key: list[str]) -> None:
        import duckdb

        self.columns, self.types, self.key = columns, types, key or columns
        self.rows = 0
        self._con = duckdb.connect(
            str(folder / "batch.duckdb"),
            config={"memory_limit": MEMORY_LIMIT, "temp_directory": str(folder / "spill")},
        )
        text = ", ".join(f"{_quoted(c)} VARCHAR" for c in columns)
        self._con.execute(f"CREATE TABLE raw ({POSITION} BIGINT, {text})")
        self._dropped: np.ndarray | None = None

    def close(self) -> None:
        self._con.close()

    def append(self, chunk: pa.Table) -> None:
        import numpy as np
        import pyarrow as pa

        positions = pa.array(np.arange(self.rows, self.rows + chunk.num_rows, dtype="int64"))
        self._con.register("chunk", chunk.add_column(0, POSITION, positions))
        self._con.execute("INSERT INTO raw SELECT * FROM chunk")
        self._con.unregister("chunk")
        self.rows += chunk.num_rows

    def _typed(self, column: str) -> str:
        """SQL for ``column`` compared as its schema type, as pandas compared it after parsing."""
        kind, name = self.types.get(column), _quoted(column)
        if kind == "date":
            return f"try_strptime({name}, '%Y-%m-%d')"
        return {"int": f"TRY_CAST({name} AS BIGINT)", "float": f"TRY_CAST({name} AS DOUBLE)"}.get(
            kind or "", name
        )

    def _stage_candidates(self, key: list[str]) -> None:
        """Rows whose key (by hash, so a superset) occurs more than once: the only rows that can
        be exact duplicates or share a key. Usually none, and then nothing else is scanned."""
        hashed = f"hash({', '.join(self._typed(c) for c in key)})"
        self._con.execute(
            f"CREATE OR REPLACE TEMP TABLE candidates AS SELECT * FROM raw WHERE {hashed} IN"
            f" (SELECT {hashed} FROM raw GROUP BY ALL HAVING count(*) > 1)"
        )
        everything = ", ".join(_quoted(c) for c in self.columns)
        self._con.execute(
            "CREATE OR REPLACE TEMP TABLE dropped AS SELECT position FROM (SELECT"
            f" {POSITION} AS position, row_number() OVER (PARTITION BY {everything}"
            f" ORDER BY {POSITION}) AS nth FROM candidates) WHERE nth > 1 ORDER BY position"
        )

    def duplicate_rows(self) -> np.ndarray:
        """Positions of rows equal in every column to an earlier row (``drop_duplicates``)."""
        if self._dropped is None:
            self._stage_candidates(self.key)
            self._dropped = self._con.sql("SELECT position FROM dropped").to_arrow_table()[0].to_numpy()
        return self._dropped

    def distinct_rows(self) -> int:
        return self.rows - len(self.duplicate_rows())

    def repeated_keys(self, examples: int = 20) -> RepeatedKeys:
        """GX's ``expect_compound_columns_to_be_unique`` on ``key`` over the deduplicated batch."""
        key = self.key
        self.duplicate_rows()
        typed = ", ".join(f"{self._typed(c)} AS {_quoted(c)}" for c in key)
        names = ", ".join(_quoted(c) for c in key)
        missing = " AND ".join(f"{_quoted(c)} IS NULL" for c in key)
        kept = f"FROM candidates WHERE {POSITION} NOT IN (SELECT position FROM dropped)"
        self._con.execute(
            f"CREATE OR REPLACE TEMP TABLE repeated AS SELECT {names}, count(*) AS n FROM"
            f" (SELECT {typed} {kept}) WHERE NOT ({missing}) GROUP BY ALL HAVING count(*) > 1"
        )
        unexpected = self._con.sql("SELECT coalesce(sum(n), 0) FROM repeated").fetchall()[0][0]
        rows = self._con.sql(
            f"SELECT {names} FROM (SELECT {POSITION}, {typed} {kept}) JOIN repeated USING ({names})"
            f" ORDER BY {POSITION} LIMIT {examples}"
        ).fetchall()
        counts = self._con.sql(
            f"SELECT {names}, n FROM repeated ORDER BY n DESC, {names} LIMIT {examples}"
        ).fetchall()
        all_missing = self._con.sql(
            f"SELECT count(*) FROM raw WHERE {missing} AND {POSITION} NOT IN (SELECT position FROM dropped)"
        ).fetchall()[0][0]
        return RepeatedKeys(
            unexpected_count=int(unexpected),
            missing_count=int(all_missing),
            examples=[dict(zip(key, row, strict=True)) for row in rows],
            counts=[(tuple(row[:-1]), int(row[-1])) for row in counts],
        )

    def in_order(self, order: list[str], chunk_rows: int) -> Iterator[pa.RecordBatch]:
        """The deduplicated rows sorted by ``order`` (typed), ties in arrival order: the order
        a stable whole-frame sort gives, ``chunk_rows`` at a time."""
        self.duplicate_rows()
        keys = ", ".join([*(self._typed(c) for c in order), POSITION])
        names = ", ".join(_quoted(c) for c in self.columns)
        query = (
            f"SELECT {names} FROM raw WHERE {POSITION} NOT IN (SELECT position FROM dropped) ORDER BY {keys}"
        )
        yield from self._con.sql(query).to_arrow_reader(chunk_rows)
