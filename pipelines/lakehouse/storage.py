"""The lakehouse: immutable, atomically published partitions under one fsspec root.

Layout (``<root>`` is the platform's ``lakehouse_uri``)::

    <root>/bronze/<source>/logical_date=YYYY-MM-DD/batch=<id>/   raw batches, append-only
    <root>/silver/<source>/logical_date=YYYY-MM-DD/              typed, deduplicated, validated
    <root>/gold/<source>/logical_date=YYYY-MM-DD/                features as of that date
    <root>/validations/<source>/logical_date=.../batch=<id>/     every validation result
    <root>/quarantine/<source>/logical_date=.../batch=<id>/      rejected batches + why

A partition exists once its ``_manifest.json`` exists; data files are written first and the
manifest last, so a reader never sees half a partition. Data files carry their content hash
in their name (``data-<sha12>.parquet``), so two writers racing for one partition never
overwrite each other's files. A published partition is never changed: publishing identical
content again is a no-op, different content is refused.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import IO, TYPE_CHECKING, Any, Literal

import fsspec
from fsspec.implementations.local import LocalFileSystem

from pipelines.errors import MissingInputError, PartitionConflictError

if TYPE_CHECKING:
    from pathlib import Path

    import pandas as pd

Layer = Literal["bronze", "silver", "gold", "validations", "quarantine"]
MANIFEST = "_manifest.json"
FRAME_FILE = "data.parquet"
COPY_CHUNK = 8 << 20  # bytes per read when a file is copied or hashed as a stream


@dataclass(frozen=True)
class FileSource:
    """A file to publish by streaming it, never holding it whole in memory: where it is
    (a local path or any fsspec URI) and its sha256, computed by whoever produced it."""

    uri: str
    digest: str


@dataclass(frozen=True)
class PartitionKey:
    layer: Layer
    source: str
    logical_date: date
    batch: str | None = None

    @property
    def relative_path(self) -> str:
        path = f"{self.layer}/{self.source}/logical_date={self.logical_date.isoformat()}"
        return f"{path}/batch={self.batch}" if self.batch else path

    def __str__(self) -> str:
        return self.relative_path


@dataclass(frozen=True)
class Manifest:
    """What a partition holds: its content hash, files, row count and where it came from."""

    key: str
    content_hash: str
    files: dict[str, str]
    rows: int | None = None
    inputs: dict[str, str] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), indent=2, sort_keys=True, default=str).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        return cls(**json.loads(data))


@dataclass(frozen=True)
class Published:
    """The outcome of a publish: where, which content, and whether this call wrote it."""

    uri: str
    content_hash: str
    written: bool


def stored_name(name: str, digest: str) -> str:
    """The file name on storage of logical file ``name`` with content hash ``digest``."""
    stem, dot, suffix = name.rpartition(".")
    return f"{stem}-{digest[:12]}.{suffix}" if dot else f"{name}-{digest[:12]}"


def _temporary_name(path: str) -> str:
    # A leading dot hides the file from Parquet dataset readers (Feast, dask, pyarrow) while
    # it is being written.
    folder, _, name = path.rpartition("/")
    return f"{folder}/.{name}.tmp-{uuid.uuid4().hex}"


def write_atomic(fs: Any, path: str, data: bytes | FileSource) -> None:
    """Write ``path`` so that a reader sees all of it or none of it (temporary + rename);
    a FileSource is copied a chunk at a time."""
    temporary = _temporary_name(path)
    with fs.open(temporary, "wb") as handle:
        if isinstance(data, FileSource):
            with fsspec.open(data.uri, "rb") as source:
                shutil.copyfileobj(source, handle, COPY_CHUNK)
        else:
            handle.write(data)
    fs.mv(temporary, path)


def bytes_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def copy_and_hash(source: IO[bytes], target: IO[bytes]) -> tuple[str, int]:
    """Copy ``source`` to ``target`` a chunk at a time; the sha256 and size of what was copied."""
    digest, size = hashlib.sha256(), 0
    while chunk := source.read(COPY_CHUNK):
        digest.update(chunk)
        target.write(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def frame_hash(frame: pd.DataFrame) -> str:
    """Hash of a frame's schema and values, independent of the file format it is stored in."""
    hasher = FrameHasher()
    hasher.update(frame)
    return hasher.hexdigest()


class FrameHasher:
    """``frame_hash`` of a frame given in consecutive pieces: the same hash as of the whole
    (each row hashes on its own), for a frame too large to hold at once."""

    def __init__(self) -> None:
        self._digest = hashlib.sha256()
        self._dtypes: str | None = None

    def update(self, piece: pd.DataFrame) -> None:
        import pandas as pd

        dtypes = json.dumps([(str(c), str(t)) for c, t in piece.dtypes.items()])
        if self._dtypes is None:
            self._dtypes = dtypes
            self._digest.update(dtypes.encode())
        elif dtypes != self._dtypes:
            raise ValueError(f"a piece of the frame has other columns or types: {dtypes}")
        self._digest.update(pd.util.hash_pandas_object(piece, index=False).to_numpy().tobytes())

    def hexdigest(self) -> str:
        return self._digest.hexdigest()


def frame_to_parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def pieces_to_parquet(pieces: Iterable[pd.DataFrame], path: Path) -> tuple[FileSource, str, int]:
    """Consecutive pieces of one frame written to a local Parquet file a piece at a time, so
    that only one piece is held. Returns the file, the frame's ``frame_hash`` (as of the
    whole frame, which reads back from the file as ``frame_to_parquet``'s would) and its rows.
    At least one piece, empty or not, gives the file its columns."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    hasher, rows = FrameHasher(), 0
    writer: pq.ParquetWriter | None = None
    try:
        for piece in pieces:
            hasher.update(piece)
            table = pa.Table.from_pandas(piece, preserve_index=False)
            writer = writer or pq.ParquetWriter(path, table.schema)
            writer.write_table(table)
            rows += len(piece)
    finally:
        if writer is not None:
            writer.close()
    if writer is None:
        raise ValueError("no piece to write: a frame needs at least one (possibly empty) piece")
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return FileSource(str(path), digest.hexdigest()), hasher.hexdigest(), rows


class Lakehouse:
    """Immutable partitions under ``root_uri`` (a local folder or any fsspec URI)."""

    def __init__(self, root_uri: str) -> None:
        self.root_uri = root_uri
        self.fs, self.root = fsspec.core.url_to_fs(root_uri)

    def uri(self, key: PartitionKey, name: str | None = None) -> str:
        """URI of a partition, or of one of its published files."""
        path = f"{self.root}/{key.relative_path}"
        if name is not None and name != MANIFEST:
            manifest = self.require_manifest(key, "it has not been published")
            name = stored_name(name, manifest.files[name])
        path = f"{path}/{name}" if name else path
        return path if isinstance(self.fs, LocalFileSystem) else self.fs.unstrip_protocol(path)

    def _path(self, key: PartitionKey, name: str) -> str:
        return f"{self.root}/{key.relative_path}/{name}"

    # --- reading ------------------------------------------------------------------------

    def manifest(self, key: PartitionKey) -> Manifest | None:
        path = self._path(key, MANIFEST)
        if not self.fs.exists(path):
            return None
        return Manifest.from_json(self.fs.cat_file(path))

    def require_manifest(self, key: PartitionKey, hint: str) -> Manifest:
        manifest = self.manifest(key)
        if manifest is None:
            raise MissingInputError(f"{self.uri(key)} does not exist; {hint}")
        return manifest

    def read_bytes(self, key: PartitionKey, name: str) -> bytes:
        manifest = self.require_manifest(key, "it has not been published")
        if name not in manifest.files:
            raise MissingInputError(f"{self.uri(key)} has no file {name!r}")
        return bytes(self.fs.cat_file(self._path(key, stored_name(name, manifest.files[name]))))

    def open(self, key: PartitionKey, name: str) -> IO[bytes]:
        """A published file, opened for reading as a stream (close it, or use ``with``)."""
        manifest = self.require_manifest(key, "it has not been published")
        if name not in manifest.files:
            raise MissingInputError(f"{self.uri(key)} has no file {name!r}")
        return self.fs.open(self._path(key, stored_name(name, manifest.files[name])), "rb")

    def file_source(self, key: PartitionKey, name: str) -> FileSource:
        """A published file as a FileSource, to publish it elsewhere without reading it whole."""
        manifest = self.require_manifest(key, "it has not been published")
        return FileSource(self.uri(key, name), manifest.files[name])

    def read_frame(self, key: PartitionKey) -> pd.DataFrame:
        import pandas as pd

        return pd.read_parquet(io.BytesIO(self.read_bytes(key, FRAME_FILE)))

    def logical_dates(self, layer: Layer, source: str) -> list[date]:
        """Logical dates that have at least one published partition in ``layer``."""
        pattern = f"{self.root}/{layer}/{source}/logical_date=*/**/{MANIFEST}"
        found = set()
        for path in self.fs.glob(pattern):
            part = next(p for p in path.split("/") if p.startswith("logical_date="))
            found.add(date.fromisoformat(part.removeprefix("logical_date=")))
        return sorted(found)

    def batches(self, layer: Layer, source: str, logical_date: date) -> list[Manifest]:
        """Published batches of one logical date, oldest first."""
        base = PartitionKey(layer, source, logical_date)
        pattern = f"{self.root}/{base.relative_path}/batch=*/{MANIFEST}"
        manifests = [Manifest.from_json(self.fs.cat_file(p)) for p in self.fs.glob(pattern)]
        return sorted(manifests, key=lambda m: m.details.get("sequence", 0))

    # --- writing ------------------------------------------------------------------------

    def publish(
        self,
        key: PartitionKey,
        files: Mapping[str, bytes | FileSource],
        *,
        content_hash: str,
        rows: int | None = None,
        inputs: Mapping[str, str] | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> Published:
        """Publish ``files`` as partition ``key``, once. A FileSource is streamed in, under
        the digest it names.

        Raises PartitionConflictError when the partition already holds other content.
        """
        existing = self.manifest(key)
        if existing is not None:
            return self._same_or_conflict(key, existing, content_hash)
        self.fs.makedirs(f"{self.root}/{key.relative_path}", exist_ok=True)
        digests = {
            name: data.digest if isinstance(data, FileSource) else bytes_hash(data)
            for name, data in files.items()
        }
        for name, data in files.items():
            write_atomic(self.fs, self._path(key, stored_name(name, digests[name])), data)
        manifest = Manifest(
            key=key.relative_path,
            content_hash=content_hash,
            files=digests,
            rows=rows,
            inputs=dict(inputs or {}),
            details=dict(details or {}),
        )
        if not self._commit(self._path(key, MANIFEST), manifest.to_json()):
            # Another writer published the partition between our check and our commit.
            return self._same_or_conflict(key, self.require_manifest(key, "race"), content_hash)
        return Published(self.uri(key), content_hash, written=True)

    def _same_or_conflict(self, key: PartitionKey, existing: Manifest, content_hash: str) -> Published:
        if existing.content_hash == content_hash:
            return Published(self.uri(key), content_hash, written=False)
        raise PartitionConflictError(
            f"{self.uri(key)} is already published with different content"
            f" (hash {existing.content_hash[:12]}, new {content_hash[:12]}); published data is"
            " never rewritten. Send a correction as a batch with a later logical date, or"
            " start from a fresh CONVEYOR_HOME."
        )

    def _commit(self, path: str, data: bytes) -> bool:
        """Write ``path`` only if it does not exist yet; False if someone else won."""
        if isinstance(self.fs, LocalFileSystem):
            temporary = _temporary_name(path)
            with open(temporary, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            try:
                os.link(temporary, path)  # atomic, and fails if path exists
            except FileExistsError:
                return False
            finally:
                os.unlink(temporary)
            return True
        # Object stores have no no-clobber rename; a single PUT is atomic, the check is not.
        if self.fs.exists(path):
            return False
        write_atomic(self.fs, path, data)
        return True
