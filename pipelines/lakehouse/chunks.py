"""A CSV batch read a chunk at a time, each chunk typed as validation has always seen a batch.

pyarrow's streaming reader reads every column as text; ``typed_chunk`` then gives each chunk
the types ``pandas.read_csv`` gave the whole batch (the schema's text and date columns as
text, other columns inferred as nullable integers, floats or text), so a retyped column
still shows up as a type failure rather than a crash.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from pipelines.config.model import ModelConfig

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

BLOCK_SIZE = 8 << 20  # bytes of CSV per chunk: about 250k rows of a freight batch
# The strings pandas.read_csv reads as missing, so that a chunk has the nulls a whole read had.
NA_VALUES = [
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
]  # fmt: skip


class UnreadableBatch(Exception):
    """The batch could not be read as a table at all; GX never sees it."""


@dataclass(frozen=True)
class BatchShape:
    """What a cheap pass over the bytes tells: size, line count, whether anything is there."""

    size: int
    lines: int
    blank: bool


def scan_shape(handle: IO[bytes]) -> BatchShape:
    size = lines = 0
    blank = True
    while chunk := handle.read(BLOCK_SIZE):
        size += len(chunk)
        lines += chunk.count(b"\n")
        blank = blank and not chunk.strip()
    return BatchShape(size, lines, blank)


def check_shape(shape: BatchShape, config: ModelConfig) -> None:
    """Refuse an empty batch, and a huge one before parsing it."""
    if shape.blank:
        raise UnreadableBatch(f"the batch file is empty ({shape.size} bytes)")
    rows, limit = shape.lines - 1, config.source.max_rows_per_batch
    if rows > limit:
        raise UnreadableBatch(
            f"the batch has about {rows} rows; the limit is {limit} (source.max_rows_per_batch)"
        )


def read_header(handle: IO[bytes]) -> list[str]:
    line = handle.readline()
    try:
        return next(csv.reader([line.decode("utf-8")]))
    except (UnicodeDecodeError, StopIteration, csv.Error) as exc:
        raise UnreadableBatch(f"the batch is not valid CSV: {exc}") from None


def text_chunks(handle: IO[bytes], columns: list[str], block_size: int = BLOCK_SIZE) -> Iterator[pa.Table]:
    """The batch's rows as tables of text columns, ``block_size`` bytes of CSV at a time; at
    least one table (an empty one for a header-only batch). Raises UnreadableBatch."""
    import pyarrow as pa
    import pyarrow.csv

    bad_rows: list[Any] = []

    def refuse(row: Any) -> str:
        bad_rows.append(row)
        return "error"

    options = {
        "read_options": pyarrow.csv.ReadOptions(block_size=block_size),
        "parse_options": pyarrow.csv.ParseOptions(invalid_row_handler=refuse),
        "convert_options": pyarrow.csv.ConvertOptions(
            column_types={c: pa.string() for c in columns},
            null_values=NA_VALUES,
            strings_can_be_null=True,
        ),
    }
    try:
        reader = pyarrow.csv.open_csv(handle, **options)
        empty = True
        for batch in reader:
            empty = False
            yield pa.Table.from_batches([batch])
    except pa.ArrowInvalid as exc:
        raise _unreadable(exc, bad_rows) from None
    if empty:
        yield reader.schema.empty_table()


def _unreadable(error: Exception, bad_rows: list[Any]) -> UnreadableBatch:
    if not bad_rows:
        return UnreadableBatch(f"the batch is not valid CSV: {error}")
    row = bad_rows[0]
    return UnreadableBatch(
        "the batch is not valid CSV: Error tokenizing data. Expected"
        f" {row.expected_columns} fields, saw {row.actual_columns}: {row.text[:80]!r}"
    )


def _inferred(column: pa.ChunkedArray) -> pd.api.extensions.ExtensionArray:
    """A text column as pandas would infer it: integers, else floats, else text."""
    import pandas as pd
    import pyarrow as pa

    for arrow_type, pandas_type in ((pa.int64(), pd.Int64Dtype()), (pa.float64(), pd.Float64Dtype())):
        try:
            return pd.array(column.cast(arrow_type).to_pandas(), dtype=pandas_type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
    return pd.array(column.to_pandas(), dtype="string")


def typed_chunk(table: pa.Table, config: ModelConfig, first_row: int = 0) -> pd.DataFrame:
    """A chunk of text columns typed as ``parse_batch`` types a whole batch, its index
    starting at ``first_row`` (the chunk's first row in the batch)."""
    import pandas as pd

    schema = config.source.schema_
    columns = {}
    for name, column in zip(table.column_names, table.columns, strict=True):
        if schema.get(name) in ("string", "date"):
            columns[name] = pd.array(column.to_pandas(), dtype="string")
        else:
            columns[name] = _inferred(column)
    frame = pd.DataFrame(columns, index=pd.RangeIndex(first_row, first_row + table.num_rows))
    for column, kind in schema.items():
        if kind == "date" and column in frame:
            frame[column] = pd.to_datetime(frame[column], format="%Y-%m-%d", errors="coerce")
    return frame
