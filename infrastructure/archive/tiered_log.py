"""The log as verification reads it from the archive: positions the segments hold come
from them (each segment checked against its manifest as it is read), the rest from the hot
store. A damaged or missing segment is recorded in `problems` with its file and position
and its positions pass unread, so the chain walk reports the break there and verification
reads on."""

from collections.abc import Iterator
from pathlib import Path

from application.audit.snapshot_check import CheckedSnapshot
from domain.events import DomainEvent
from infrastructure.archive import segments
from infrastructure.archive.segments import ArchiveDamaged, Manifest, Row
from infrastructure.codec import decode
from infrastructure.sql.stored_events import CheckedPage
from infrastructure.sql.verify_in_parts import LogReader


class TieredLog:
    def __init__(self, directory: Path, hot: LogReader) -> None:
        self._directory = directory
        self._hot = hot
        self._manifests = segments.manifests(directory)
        self.archived = self._manifests[-1].last_position if self._manifests else 0
        """The last position the archive holds (0: none)."""
        self.problems: list[ArchiveDamaged] = []
        self._kept: dict[str, list[Row]] = {
            snapshot.stream_id: []
            for snapshot in hot.snapshots(0, self.archived)
            if snapshot.stream_id.startswith("task-")
        }
        """The archived rows of each task stream with a snapshot standing in the archive's
        positions (verification folds such a stream again to check its snapshot), kept
        as they are read."""
        self._rows: Iterator[Row] | None = None
        self._next = 0
        """The position `_rows` yields next."""
        self._gaps()

    def head(self) -> int:
        return max(self._hot.head(), self.archived)

    def read_checked(
        self,
        after_position: int,
        limit: int,
        up_to: int | None = None,
        types: frozenset[str] | None = None,
    ) -> CheckedPage:
        if after_position >= self.archived:
            return self._hot.read_checked(after_position, limit, up_to, types)
        last = self.archived if up_to is None else min(up_to, self.archived)
        if self._rows is None or self._next != after_position + 1:
            self._rows, self._next = self._from(after_position + 1), after_position + 1
        rows: list[Row] = []
        while len(rows) < limit and self._next <= last:
            row = next(self._rows, None)
            if row is None:
                break
            self._next = row[0] + 1
            if types is None or row[3] in types:
                rows.append(row)
        if not rows and (up_to is None or up_to > self.archived):
            # the rest of the archive could not be read: on with the hot log after it
            return self._hot.read_checked(self.archived, limit, up_to, types)
        return CheckedPage(rows)

    def snapshots(self, after_position: int, up_to: int) -> list[CheckedSnapshot]:
        return self._hot.snapshots(after_position, up_to)

    def stream_events(self, stream_id: str, up_to_version: int) -> list[DomainEvent]:
        kept = self._kept.get(stream_id)
        if not kept:
            return self._hot.stream_events(stream_id, up_to_version)
        # a snapshot standing in the archive's positions stands for archived events only
        return [decode(row[3], row[4], row[5]) for row in kept if row[2] <= up_to_version]

    def _from(self, position: int) -> Iterator[Row]:
        """Every archived row from `position` on, segment after segment."""
        for manifest in self._manifests:
            if manifest.last_position < position:
                continue
            try:
                for row in segments.read(self._directory, manifest):
                    if row[0] >= position:
                        if (kept := self._kept.get(row[1])) is not None:
                            kept.append(row)
                        yield row
            except ArchiveDamaged as damaged:
                self._record(damaged)

    def _record(self, damaged: ArchiveDamaged) -> None:
        if all(str(p) != str(damaged) for p in self.problems):
            self.problems.append(damaged)

    def _gaps(self) -> None:
        """Segments must follow each other: no positions missing, no chain hash changed."""
        previous: Manifest | None = None
        for manifest in self._manifests:
            expected = 1 if previous is None else previous.last_position + 1
            name = f"{manifest.stem}{segments.SEGMENT_SUFFIX}"
            if manifest.first_position != expected:
                self._record(
                    ArchiveDamaged(
                        name, expected, f"positions {expected}..{manifest.first_position - 1} "
                        "are in no segment",
                    )
                )  # fmt: skip
            elif previous is not None and manifest.hash_before != previous.hash_after:
                self._record(
                    ArchiveDamaged(name, expected, "its hash before is not the last segment's")
                )
            previous = manifest
