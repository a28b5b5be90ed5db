"""Scheduling: pure functions from a task and pool snapshots to a recorded Decision."""

from domain.scheduling.algorithms import ALGORITHM_VERSIONS, decide, rank_key_names
from domain.scheduling.decision import (
    Candidate,
    Decision,
    FilterReason,
    PoolSnapshot,
    TaskSnapshot,
)

__all__ = [
    "ALGORITHM_VERSIONS",
    "Candidate",
    "Decision",
    "FilterReason",
    "PoolSnapshot",
    "TaskSnapshot",
    "decide",
    "rank_key_names",
]
