"""Archive segments: a run of consecutive events as CloudEvents JSON Lines (the export's
format, every stored value travels), compressed with zstd, and beside it a manifest: first
and last position, event count, the chain hash before the first event and after the last,
the file's size and SHA-256.

JSON Lines keep one format for exports, imports and the archive, readable with standard
tools (`zstd -dc | jq`); zstd compresses the repetitive envelopes and streams both ways, so
neither writing nor reading a segment holds it in memory. A line carries no chain hash (the
export's lines do): 32 random bytes an event that no compressor can shrink, and each one is
recomputed on reading from the manifest's hash before; the manifest's hash after then checks
the whole segment, the next segment's hash before (or the hot log's first event) the link.
That halves a segment (about 44 bytes an event against 87 with the hashes).

Writing is crash-safe: the segment is written to a temporary name, flushed to disk and
renamed, then its manifest the same way, then the directory is flushed. A manifest is the
mark of a complete segment; a segment file without one is what an interrupted run left,
and is removed and written again."""

import hashlib
import os
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import orjson
import zstandard

from infrastructure.sql import chain
from infrastructure.sql.transfer import InvalidImport, cloud_event, row_of

FORMAT = "taskrouterx-segment/1"
ENCODING = "CloudEvents 1.0 JSON Lines, zstd"
SEGMENT_SUFFIX = ".jsonl.zst"
MANIFEST_SUFFIX = ".manifest.json"
LEVEL = 3
"""zstd level (6 saves 15% more, at two thirds of the speed)."""
THREADS = -1
"""zstd compresses on worker threads (as many as cores), beside the reading and encoding."""

Row = tuple[Any, ...]
NEWLINE = orjson.OPT_APPEND_NEWLINE


class ArchiveDamaged(Exception):
    """A segment is missing, altered, truncated or out of order."""

    def __init__(self, file: str, position: int, problem: str) -> None:
        super().__init__(f"{file}: {problem} (at position {position})")
        self.file = file
        self.position = position
        self.problem = problem


@dataclass(frozen=True)
class Manifest:
    first_position: int
    last_position: int
    events: int
    hash_before: str
    hash_after: str
    sha256: str
    bytes: int
    format: str = FORMAT
    encoding: str = ENCODING

    @property
    def stem(self) -> str:
        return f"{self.first_position:012d}-{self.last_position:012d}"


def manifests(directory: Path) -> list[Manifest]:
    """Every complete segment's manifest, in position order; ArchiveDamaged for one that
    cannot be read."""
    found = []
    for path in sorted(directory.glob(f"*{MANIFEST_SUFFIX}")):
        try:
            found.append(Manifest(**orjson.loads(path.read_bytes())))
        except (orjson.JSONDecodeError, TypeError) as error:
            raise ArchiveDamaged(path.name, 0, f"the manifest cannot be read: {error}") from None
    return sorted(found, key=lambda manifest: manifest.first_position)


def write(directory: Path, rows: Iterable[Row], hash_before: str) -> Manifest:
    """One segment of `rows` (consecutive stored rows: the chained values and the hash) and
    its manifest, crash-safe. The rows' chain is checked as they are written: a row that
    does not follow from the hash before it refuses the segment (ValueError)."""
    directory.mkdir(parents=True, exist_ok=True)
    temporary = directory / f"writing{SEGMENT_SUFFIX}.tmp"
    digest = hashlib.sha256()
    previous, first, last, count = hash_before, 0, 0, 0
    with temporary.open("wb") as raw:
        hashed = _Hashing(raw, digest)
        compressor = zstandard.ZstdCompressor(level=LEVEL, threads=THREADS)
        with compressor.stream_writer(hashed, closefd=False) as out:  # type: ignore[arg-type]
            for row in rows:
                position, stored = row[0], row[-1]
                if chain.link(previous, row[:-1]) != stored:
                    raise ValueError(f"position {position} does not follow from the chain")
                if count and position != last + 1:
                    raise ValueError(f"position {position} follows {last}")
                first, last, count, previous = first or position, position, count + 1, stored
                out.write(orjson.dumps(cloud_event(row, with_hash=False), option=NEWLINE))
        raw.flush()
        os.fsync(raw.fileno())
    if count == 0:
        temporary.unlink()
        raise ValueError("a segment needs at least one event")
    manifest = Manifest(
        first, last, count, hash_before, previous, digest.hexdigest(), temporary.stat().st_size
    )
    temporary.rename(directory / f"{manifest.stem}{SEGMENT_SUFFIX}")
    _write_durably(directory / f"{manifest.stem}{MANIFEST_SUFFIX}", orjson.dumps(asdict(manifest)))
    _sync_directory(directory)
    return manifest


def remove_incomplete(directory: Path) -> list[str]:
    """Remove what an interrupted run left (segments without a manifest, temporary
    files); return their names."""
    if not directory.exists():
        return []
    complete = {manifest.stem for manifest in manifests(directory)}
    removed = []
    for path in directory.iterdir():
        stem = path.name.removesuffix(SEGMENT_SUFFIX)
        if path.name.endswith(".tmp") or (
            path.name.endswith(SEGMENT_SUFFIX) and stem not in complete
        ):
            path.unlink()
            removed.append(path.name)
    if removed:
        _sync_directory(directory)
    return removed


def read(directory: Path, manifest: Manifest) -> Iterator[Row]:
    """The segment's rows (the chained values and the hash, recomputed from the manifest's
    hash before), checked against its manifest as they are read: the file's size and
    SHA-256, consecutive positions from the first, the count, the hash after the last.
    ArchiveDamaged names the file and the position where it fails."""
    name = f"{manifest.stem}{SEGMENT_SUFFIX}"
    path = directory / name
    if not path.exists():
        raise ArchiveDamaged(name, manifest.first_position, "the segment file is missing")
    if path.stat().st_size != manifest.bytes:
        raise ArchiveDamaged(name, manifest.first_position, "its size is not the manifest's")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != manifest.sha256:
        raise ArchiveDamaged(name, manifest.first_position, "its SHA-256 is not the manifest's")
    expected, previous = manifest.first_position, manifest.hash_before
    with path.open("rb") as raw:
        lines = zstandard.ZstdDecompressor().stream_reader(raw)
        for number, line in enumerate(_lines(lines), start=1):
            try:
                row, _ = row_of(number, line, claims_hash=False)
            except InvalidImport as error:
                raise ArchiveDamaged(name, expected, str(error)) from None
            if row[0] != expected:
                raise ArchiveDamaged(name, expected, f"line {number} holds position {row[0]}")
            previous = chain.link(previous, row)
            yield (*row, previous)
            expected += 1
    if expected != manifest.last_position + 1:
        raise ArchiveDamaged(name, expected, f"it ends before position {manifest.last_position}")
    if previous != manifest.hash_after:
        raise ArchiveDamaged(
            name, manifest.first_position, "its events do not hash to the manifest's hash after"
        )


def _lines(stream: Any) -> Iterator[bytes]:
    pending = b""
    while chunk := stream.read(1 << 20):
        pending += chunk
        *complete, pending = pending.split(b"\n")
        yield from (line for line in complete if line)
    if pending:
        yield pending


class _Hashing:
    """A file that hashes what is written to it."""

    def __init__(self, raw: Any, digest: Any) -> None:
        self._raw, self._digest = raw, digest

    def write(self, data: bytes) -> int:
        self._digest.update(data)
        return int(self._raw.write(data))

    def flush(self) -> None:
        self._raw.flush()


def _write_durably(path: Path, content: bytes) -> None:
    temporary = path.with_name(path.name + ".tmp")
    with temporary.open("wb") as file:
        file.write(content)
        file.flush()
        os.fsync(file.fileno())
    temporary.rename(path)


def _sync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
