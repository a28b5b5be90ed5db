"""Scheduling: pure functions from a task and pool snapshots to a Decision, and the
DecisionRecord the log keeps of it."""

from domain.scheduling.algorithms import ALGORITHM_VERSIONS, decide, rank_key_names
from domain.scheduling.decision import (
    Candidate,
    Decision,
    FilterReason,
    PoolSnapshot,
    TaskSnapshot,
)
from domain.scheduling.record import DecisionRecord, input_digest, record_of

__all__ = [
    "ALGORITHM_VERSIONS",
    "Candidate",
    "Decision",
    "DecisionRecord",
    "FilterReason",
    "PoolSnapshot",
    "TaskSnapshot",
    "decide",
    "input_digest",
    "rank_key_names",
    "record_of",
]
