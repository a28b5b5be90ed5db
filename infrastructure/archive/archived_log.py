"""The archived events read back from the segments (ARCHIVE_DIR), for the reads that need
history before the hot log's start: the log after a position, a stream's first events.

Each segment is checked against its manifest as it is read (ArchiveDamaged otherwise). A
stream's events are found by reading the segments in turn; the streams each segment holds
are remembered once it has been read whole, so later look-ups read only the segments that
hold the stream."""

import threading
from collections.abc import Iterator
from pathlib import Path

from application.messages import RecordedEvent
from infrastructure.archive import segments
from infrastructure.archive.segments import Manifest, Row
from infrastructure.sql import stored_events

STORED = slice(0, 11)
"""A segment row's stored values (the rest is its chain hash)."""


class ArchivedLog:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._streams: dict[str, frozenset[str]] = {}
        """The streams each segment read whole holds, by the segment's stem."""

    def manifests(self) -> list[Manifest]:
        return segments.manifests(self.directory) if self.directory.is_dir() else []

    def rows(self, after: int, up_to: int) -> Iterator[Row]:
        """The archived rows at positions (after, up_to], in position order."""
        for manifest in self.manifests():
            if manifest.last_position <= after or manifest.first_position > up_to:
                continue
            for row in segments.read(self.directory, manifest):
                if row[0] > up_to:
                    return
                if row[0] > after:
                    yield row

    def recorded(self, after: int, up_to: int) -> Iterator[RecordedEvent]:
        for row in self.rows(after, up_to):
            yield stored_events.to_recorded(row[STORED])

    def stream(self, stream_id: str, before_version: int | None = None) -> list[RecordedEvent]:
        """The stream's archived events (those before `before_version`, if given)."""
        return [
            stored_events.to_recorded(row[STORED])
            for row in self.stream_rows(stream_id, before_version)
        ]

    def stream_rows(self, stream_id: str, before_version: int | None = None) -> list[Row]:
        """The stream's archived rows (those before `before_version`, if given)."""
        found: list[Row] = []
        for manifest in self.manifests():
            with self._lock:
                known = self._streams.get(manifest.stem)
            if known is not None and stream_id not in known:
                continue
            held: set[str] = set()
            for row in segments.read(self.directory, manifest):
                held.add(row[1])
                if row[1] == stream_id:
                    found.append(row)
            with self._lock:
                self._streams[manifest.stem] = frozenset(held)
        return [row for row in found if before_version is None or row[2] < before_version]

    def row_at(self, position: int) -> Row | None:
        """The archived row at `position` (None if the archive does not hold it)."""
        return next(iter(self.rows(position - 1, position)), None)

    def position_at(self, moment: str) -> int:
        """The newest archived position recorded at or before `moment` (fixed-width ISO
        text, as stored; 0 if none): the segment whose first event is the last at or
        before it, read up to it."""
        found = 0
        for manifest in self.manifests():
            first = next(iter(segments.read(self.directory, manifest)), None)
            if first is None or first[10] > moment:
                break
            found = manifest.first_position
        if not found:
            return 0
        last = found
        for row in self.rows(found - 1, 2**62):
            if row[10] > moment:
                break
            last = row[0]
        return last

    def recorded_since(self, up_to: int, since: str) -> list[RecordedEvent]:
        """The archived events at or before `up_to` recorded at or after `since`, in
        position order: the segments from the one holding `up_to` back, until one begins
        before `since`."""
        held: list[list[Row]] = []
        for manifest in reversed(self.manifests()):
            if manifest.first_position > up_to:
                continue
            rows = [row for row in segments.read(self.directory, manifest) if row[0] <= up_to]
            held.append(rows)
            if rows and rows[0][10] < since:
                break
        return [
            stored_events.to_recorded(row[STORED])
            for rows in reversed(held)
            for row in rows
            if row[10] >= since
        ]
