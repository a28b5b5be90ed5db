"""Projection status and background rebuilds for the HTTP API."""

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import structlog

from application.errors import RebuildRunning, UnknownProjection
from application.ports import ReadModel
from infrastructure.metrics import Metrics
from infrastructure.single_writer import SingleWriter
from infrastructure.sql.projections.runner import ProjectionRunner

T = TypeVar("T")

REBUILD_BATCH = 500
"""Events per rebuild transaction on a running server: commands queued behind one batch
wait milliseconds, and the transaction is still amortised."""

log = structlog.get_logger(__name__)


class ProjectionAdmin:
    def __init__(
        self,
        runner: ProjectionRunner,
        read_model: ReadModel,
        writer: SingleWriter,
        metrics: Metrics | None = None,
    ) -> None:
        self._metrics = metrics or Metrics()
        self._runner = runner
        self._read_model = read_model
        self._writer = writer
        self._jobs: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def names(self) -> list[str]:
        return self._runner.names

    def rebuilding(self) -> list[str]:
        """Projections a background rebuild is running for."""
        with self._lock:
            return [name for name, job in self._jobs.items() if job["status"] == "running"]

    def status(self) -> list[dict[str, Any]]:
        positions, head = self._read_model.projection_positions()
        with self._lock:
            jobs = {name: dict(job) for name, job in self._jobs.items()}
        return [
            {
                "name": name,
                "checkpoint": positions.get(name, 0),
                "head": head,
                "lag": head - positions.get(name, 0),
                "rebuild": jobs.get(name),
            }
            for name in self._runner.names
        ]

    def start_rebuild(self, name: str) -> dict[str, Any]:
        if name not in self._runner.names:
            raise UnknownProjection(name, self._runner.names)
        with self._lock:
            job = self._jobs.get(name)
            if job is not None and job["status"] == "running":
                raise RebuildRunning(name)
            job = {
                "name": name,
                "status": "running",
                "checkpoint": 0,
                "head": None,
                "events_applied": 0,
                "seconds": None,
                "error": None,
            }
            self._jobs[name] = job
        threading.Thread(target=self._rebuild, args=(name,), daemon=True).start()
        return dict(job)

    def _on_writer(self, job: Callable[[], T]) -> T:
        """Each batch is one job on the single writer, in turn with the commands."""
        return self._writer.run(job).result()

    def _rebuild(self, name: str) -> None:
        started = time.perf_counter()

        def progress(checkpoint: int, head: int) -> None:
            with self._lock:
                self._jobs[name].update(checkpoint=checkpoint, head=head)

        try:
            with self._metrics.rebuilding(name):
                applied = self._runner.rebuild([name], progress, self._on_writer, REBUILD_BATCH)
            outcome: dict[str, Any] = {"status": "completed", "events_applied": applied}
        except Exception as error:
            log.exception("projection.rebuild_failed", projection=name)
            outcome = {"status": "failed", "error": str(error)}
        with self._lock:
            self._jobs[name].update(outcome, seconds=round(time.perf_counter() - started, 3))
        log.info("projection.rebuilt", projection=name, **outcome)
