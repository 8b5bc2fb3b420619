from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from pipelines.errors import MissingInputError, PartitionConflictError
from pipelines.lakehouse.storage import Lakehouse, PartitionKey, frame_hash

DAY = date(2024, 3, 1)
KEY = PartitionKey("silver", "freight", DAY)


def publish(lakehouse: Lakehouse, content: bytes, key: PartitionKey = KEY):
    return lakehouse.publish(key, {"data.bin": content}, content_hash=content.hex(), rows=1)


def test_publish_then_read_back(lakehouse):
    published = publish(lakehouse, b"abc")
    assert published.written
    assert lakehouse.read_bytes(KEY, "data.bin") == b"abc"
    assert lakehouse.manifest(KEY).rows == 1
    assert Path(published.uri).name == "logical_date=2024-03-01"


def test_publishing_the_same_content_again_is_a_no_op(lakehouse):
    publish(lakehouse, b"abc")
    manifest_file = Path(lakehouse.uri(KEY, "_manifest.json"))
    before = manifest_file.stat().st_mtime_ns
    again = publish(lakehouse, b"abc")
    assert not again.written
    assert manifest_file.stat().st_mtime_ns == before


def test_different_content_is_refused_and_the_original_kept(lakehouse):
    publish(lakehouse, b"abc")
    with pytest.raises(PartitionConflictError, match="already published with different content"):
        publish(lakehouse, b"xyz")
    assert lakehouse.read_bytes(KEY, "data.bin") == b"abc"


def test_a_partition_without_manifest_does_not_exist(lakehouse):
    # A writer that died after its data files but before its manifest left nothing visible.
    folder = Path(lakehouse.uri(KEY))
    folder.mkdir(parents=True)
    (folder / "data.bin").write_bytes(b"half")
    assert lakehouse.manifest(KEY) is None
    assert lakehouse.logical_dates("silver", "freight") == []
    with pytest.raises(MissingInputError, match="does not exist"):
        lakehouse.read_bytes(KEY, "data.bin")
    assert publish(lakehouse, b"whole").written
    assert lakehouse.read_bytes(KEY, "data.bin") == b"whole"


def test_losing_a_publish_race_is_a_conflict_not_a_silent_overwrite(lakehouse, monkeypatch):
    publish(lakehouse, b"first")
    # Our existence check runs before the other writer's commit lands: it sees nothing.
    real_manifest = lakehouse.manifest
    answers = iter([None])
    monkeypatch.setattr(lakehouse, "manifest", lambda key: next(answers, None) or real_manifest(key))
    with pytest.raises(PartitionConflictError):
        publish(lakehouse, b"second")
    assert lakehouse.read_bytes(KEY, "data.bin") == b"first"
    assert lakehouse.manifest(KEY).content_hash == b"first".hex()


def test_writes_leave_no_temporary_files(lakehouse):
    publish(lakehouse, b"abc")
    names = sorted(p.name for p in Path(lakehouse.uri(KEY)).iterdir())
    assert names == ["_manifest.json", Path(lakehouse.uri(KEY, "data.bin")).name]
    assert names[1].startswith("data-") and names[1].endswith(".bin")


def test_batches_are_listed_in_arrival_order(lakehouse):
    for sequence, batch in [(2, "bbb"), (1, "aaa")]:
        key = PartitionKey("bronze", "freight", DAY, batch=batch)
        lakehouse.publish(
            key, {"batch.csv": batch.encode()}, content_hash=batch, details={"sequence": sequence}
        )
    assert [m.key.rsplit("=", 1)[1] for m in lakehouse.batches("bronze", "freight", DAY)] == [
        "aaa",
        "bbb",
    ]
    assert lakehouse.logical_dates("bronze", "freight") == [DAY]


def test_frame_hash_follows_values_and_types_not_storage():
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    assert frame_hash(frame) == frame_hash(frame.copy())
    assert frame_hash(frame) != frame_hash(frame.assign(a=[1, 3]))
    assert frame_hash(frame) != frame_hash(frame.astype({"a": "float64"}))
    roundtrip = pd.read_parquet(pd.io.common.BytesIO(frame.to_parquet(index=False)))
    assert frame_hash(roundtrip) == frame_hash(frame)
