"""Archive segments written from a real log: consecutive, chained, each checked against its
manifest when read; a run goes on from the last complete segment, cleans up after an
interrupted one, and verification from the archive reads the segments for the positions
they hold and reports a damaged or missing one with its file and position."""

import hashlib
import itertools
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
import zstandard

from infrastructure.archive import archiver, segments
from infrastructure.bootstrap import TaskRouter
from infrastructure.sql import chain
from infrastructure.sql.db import reading
from tests.fakes import FakeClock
from tests.history_copies import HistoryCopies


@pytest.fixture
def history(
    history_copies: HistoryCopies, tmp_path: Path, clock: FakeClock
) -> Iterator[TaskRouter]:
    """A copy of a random history of 1,500 events in a SQLite file."""
    with history_copies.router("sqlite", 1500, 7, tmp_path, clock) as router:
        yield router


def hot_rows(router: TaskRouter, up_to: int) -> list[tuple[object, ...]]:
    with reading(router.engines.read) as db:
        return [tuple(row) for row in db.execute(archiver.ROWS, (0, up_to))]


def archived_rows(directory: Path) -> list[tuple[object, ...]]:
    return [
        row
        for manifest in segments.manifests(directory)
        for row in segments.read(directory, manifest)
    ]


def test_segments_hold_the_log_up_to_the_cut_chained_and_consecutive(
    history: TaskRouter, tmp_path: Path
) -> None:
    directory = tmp_path / "archive"
    run = archiver.archive(history.engines.read, directory, 1234, segment_events=500)
    assert (run.up_to, run.events) == (1234, 1234)
    found = segments.manifests(directory)
    assert [(m.first_position, m.last_position) for m in found] == [
        (1, 500), (501, 1000), (1001, 1234)
    ]  # fmt: skip
    assert found[0].hash_before == chain.GENESIS
    assert all(b.hash_before == a.hash_after for a, b in itertools.pairwise(found))
    assert archived_rows(directory) == hot_rows(history, 1234)
    assert found[-1].hash_after == hot_rows(history, 1234)[-1][-1]
    assert run.bytes < sum(len(str(row)) for row in hot_rows(history, 1234)) / 4


def test_a_run_goes_on_from_the_last_segment_and_cleans_up_an_interrupted_one(
    history: TaskRouter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = tmp_path / "archive"
    archiver.archive(history.engines.read, directory, 600, segment_events=500)
    written = segments.write

    def crash_on_the_second(*args: object, **kwargs: object) -> segments.Manifest:
        if len(segments.manifests(directory)) == 3:
            (directory / "writing.jsonl.zst.tmp").write_bytes(b"half a segment")
            (directory / f"{1101:012d}-{1500:012d}.jsonl.zst").write_bytes(b"no manifest")
            raise OSError("the process died here")
        return written(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(segments, "write", crash_on_the_second)
    with pytest.raises(OSError, match="died"):
        archiver.archive(history.engines.read, directory, 1500, segment_events=500)
    monkeypatch.setattr(segments, "write", written)
    run = archiver.archive(history.engines.read, directory, 1500, segment_events=500)
    assert sorted(run.removed) == [f"{1101:012d}-{1500:012d}.jsonl.zst", "writing.jsonl.zst.tmp"]
    assert [(m.first_position, m.last_position) for m in segments.manifests(directory)] == [
        (1, 500), (501, 600), (601, 1100), (1101, 1500)
    ]  # fmt: skip
    assert archived_rows(directory) == hot_rows(history, 1500)
    again = archiver.archive(history.engines.read, directory, 1500, segment_events=500)
    assert (again.events, again.up_to) == (0, 1500), "nothing archived twice"


def test_verification_from_the_archive_reads_the_segments_and_names_a_damaged_one(
    history: TaskRouter, tmp_path: Path
) -> None:
    directory = tmp_path / "archive"
    archiver.archive(history.engines.read, directory, 1200, segment_events=400)
    hot = history.audit()
    clean, problems = history.audit_from_archive(directory)
    assert problems == []
    assert clean == hot
    assert clean.ok

    middle = segments.manifests(directory)[1]
    path = directory / f"{middle.stem}{segments.SEGMENT_SUFFIX}"
    plain = zstandard.ZstdDecompressor().decompressobj().decompress(path.read_bytes())
    lines = plain.splitlines(keepends=True)
    lines[5] = lines[5].replace(b'"actor":"', b'"actor":"x')
    path.write_bytes(zstandard.ZstdCompressor().compress(b"".join(lines)))
    report, problems = history.audit_from_archive(directory)
    assert [(p.file, p.position) for p in problems] == [(path.name, 401)]
    assert "SHA-256" in problems[0].problem or "size" in problems[0].problem
    assert report.chain is not None
    assert report.chain.first_broken == 401

    path.unlink()
    (directory / f"{middle.stem}{segments.MANIFEST_SUFFIX}").unlink()
    report, problems = history.audit_from_archive(directory)
    assert [(p.position, p.problem) for p in problems] == [
        (401, "positions 401..800 are in no segment")
    ]
    assert report.chain is not None
    assert (report.chain.first_broken, report.chain.problem) == (401, "position 401 is missing")


def test_a_segment_rewritten_with_a_matching_manifest_is_caught_by_its_hash_after(
    history: TaskRouter, tmp_path: Path
) -> None:
    """An edit whose file size and SHA-256 were written into the manifest too: the events no
    longer hash to the manifest's hash after, nor to the next segment's hash before."""
    directory = tmp_path / "archive"
    archiver.archive(history.engines.read, directory, 900, segment_events=300)
    first = segments.manifests(directory)[0]
    path = directory / f"{first.stem}{segments.SEGMENT_SUFFIX}"
    plain = zstandard.ZstdDecompressor().decompressobj().decompress(path.read_bytes())
    edited = zstandard.ZstdCompressor().compress(plain.replace(b'"actor":"', b'"actor":"x', 1))
    path.write_bytes(edited)
    manifest = directory / f"{first.stem}{segments.MANIFEST_SUFFIX}"
    fields = orjson.loads(manifest.read_bytes())
    fields.update(sha256=hashlib.sha256(edited).hexdigest(), bytes=len(edited))
    manifest.write_bytes(orjson.dumps(fields))
    report, problems = history.audit_from_archive(directory)
    assert [(p.file, p.position, p.problem) for p in problems] == [
        (path.name, 1, "its events do not hash to the manifest's hash after")
    ]
    assert report.chain is not None
    assert report.chain.first_broken == 301, "the next segment does not follow"
