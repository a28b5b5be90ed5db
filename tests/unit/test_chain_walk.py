"""The hash chain walked event by event: the first break stands, with what broke it."""

import hashlib
from dataclasses import dataclass

from application.audit.chain import GENESIS, ChainWalk


@dataclass(frozen=True)
class Row:
    position: int
    value: str
    hash: str

    def link(self, previous: str) -> str:
        return hashlib.sha256(f"{previous}{self.position}{self.value}".encode()).hexdigest()


def chained(values: list[str]) -> list[Row]:
    rows, previous = [], GENESIS
    for position, value in enumerate(values, start=1):
        row = Row(position, value, "")
        row = Row(position, value, row.link(previous))
        rows.append(row)
        previous = row.hash
    return rows


def walked(rows: list[Row], walk: ChainWalk | None = None) -> ChainWalk:
    walk = walk or ChainWalk()
    for row in rows:
        walk.step(row)
    return walk


def test_an_intact_chain_is_walked_to_its_head() -> None:
    rows = chained(["a", "b", "c"])
    report = walked(rows).report
    assert (report.checked, report.head_hash, report.first_broken) == (3, rows[-1].hash, None)


def test_an_altered_event_breaks_the_chain_there_and_the_rest_passes_unchecked() -> None:
    rows = chained(["a", "b", "c", "d"])
    rows[1] = Row(2, "B", rows[1].hash)
    report = walked(rows).report
    assert (report.checked, report.head_hash, report.first_broken) == (1, rows[0].hash, 2)
    assert report.problem is not None
    assert "does not match its hash" in report.problem


def test_a_deleted_event_is_named_as_missing() -> None:
    rows = chained(["a", "b", "c"])
    report = walked([rows[0], rows[2]]).report
    assert (report.first_broken, report.problem) == (2, "position 2 is missing")


def test_a_walk_goes_on_from_where_an_earlier_one_stopped() -> None:
    rows = chained(["a", "b", "c", "d"])
    first = walked(rows[:2]).report
    report = walked(rows[2:], ChainWalk(first.checked, first.head_hash)).report
    assert (report.checked, report.head_hash, report.first_broken) == (4, rows[-1].hash, None)
