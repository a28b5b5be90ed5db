"""The `taskrouterx` command line."""

import contextlib
import ipaddress
import logging
import re
import secrets
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypeVar

import httpx
import orjson
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from application.audit.verify import AuditReport
from application.audit.whatif import TenantOverride, compare
from application.errors import HistoryArchived, UnknownProjection
from domain.tenant import MAX_LIMIT, MAX_WEIGHT
from domain.tenant import NAME as TENANT_NAME
from domain.values import Algorithm
from infrastructure.archive import archiver, segments
from infrastructure.archive.removal import Removal
from infrastructure.archive.segments import ArchiveDamaged
from infrastructure.bootstrap import TaskRouter, bootstrap
from infrastructure.replication.postgres_nodes import current_leader
from infrastructure.settings import Settings
from infrastructure.sql import migrate, stored_events, transfer
from infrastructure.sql.db import reading, writing
from infrastructure.structured_logging import configure_logging
from interfaces.http.as_of import InvalidTime, position_of
from interfaces.http.middleware.auth import (
    KEY_NAME,
    InvalidKeyConfiguration,
    KeyRing,
    Permission,
    digest,
)
from interfaces.worker.worker import HEARTBEATS_PER_LEASE

app = typer.Typer(help="TaskRouterX: event-sourced task routing.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
projections_app = typer.Typer(help="Read models built from the event log.", no_args_is_help=True)
events_app = typer.Typer(help="The event log.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(projections_app, name="projections")
app.add_typer(events_app, name="events")
audit_app = typer.Typer(
    help="Verify the log: decisions, invariants, tampering.", no_args_is_help=True
)
app.add_typer(audit_app, name="audit")
keys_app = typer.Typer(help="API keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
replay_app = typer.Typer(
    help="Reproduce history: copy a prefix of the log into a new database.",
    invoke_without_command=True,
)
app.add_typer(replay_app, name="replay")

T = TypeVar("T")


class Refused(ValueError):
    """A request the command cannot carry out; reported in one line."""


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(1)


DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="the database (a SQLAlchemy URL); default TASKROUTERX_DATABASE_URL, else "
        "./taskrouterx.db",
        show_default=False,
    ),
]


def _settings(database_url: str | None = None) -> Settings:
    try:
        settings = Settings()
        if database_url is not None:
            settings = settings.model_copy(update={"database_url": database_url})
        return settings
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in item['loc']) or 'settings'}: {item['msg']}"
            for item in error.errors()
        )
        raise _fail(f"invalid settings: {problems}") from None


def _with_router(action: Callable[[TaskRouter], T], database_url: str | None = None) -> T:
    """Build the system (nothing started), run one action, report errors in one line."""
    settings = _settings(database_url)
    configure_logging(settings.log_format, "WARNING")
    router = bootstrap(settings)
    try:
        return action(router)
    except (
        UnknownProjection, HistoryArchived, ArchiveDamaged, transfer.InvalidImport, Refused,
    ) as error:  # fmt: skip
        raise _fail(str(error)) from None
    except Exception as error:
        raise _fail(f"{type(error).__name__}: {error}".splitlines()[0]) from None
    finally:
        router.engines.dispose()


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    demo_pools: Annotated[
        bool, typer.Option("--demo-pools/--no-demo-pools", help="Register the 8 demo pools.")
    ] = True,
    processes: Annotated[
        int | None,
        typer.Option(
            min=1, max=2, help="1: all in one process; 2: HTTP apart from the writer and scheduler."
        ),
    ] = None,
) -> None:
    """Run the HTTP API, the scheduler and the simulated workers."""
    from interfaces.http import serving

    settings = _settings()
    overrides: dict[str, object] = {"demo_pools": demo_pools and settings.demo_pools}
    if host is not None:
        overrides["host"] = host
    if port is not None:
        overrides["port"] = port
    if processes is not None:
        overrides["processes"] = processes
    settings = settings.model_copy(update=overrides)
    try:
        keys = KeyRing.load(settings.api_keys, settings.api_keys_file)
    except InvalidKeyConfiguration as error:
        raise _fail(str(error)) from None
    if keys.empty and not _is_loopback(settings.host):
        raise _fail(
            f"refusing to serve on {settings.host} without API keys: anyone who can reach it "
            "could use it. Set TASKROUTERX_API_KEYS or TASKROUTERX_API_KEYS_FILE "
            "(see `taskrouterx keys new`), or bind to 127.0.0.1"
        )
    typer.echo(
        f"TaskRouterX on http://{settings.host}:{settings.port} (dashboard at /, API docs at "
        f"/docs), database {settings.database_url}"
    )
    if settings.allowed_hosts is None and settings.host in ("0.0.0.0", "::"):
        typer.echo(
            "note: answering only requests whose Host is localhost, 127.0.0.1 or ::1; set "
            "TASKROUTERX_ALLOWED_HOSTS to the names clients use to reach this server"
        )
    serving.serve(settings, typer.echo)


@app.command()
def worker(
    command: Annotated[
        list[str],
        typer.Argument(help="the command run for each task (after --); its stdin is the task"),
    ],
    pool: Annotated[str, typer.Option(help="the external worker pool's id or name")],
    concurrency: Annotated[int, typer.Option(min=1, max=256, help="tasks run at once")] = 1,
    url: Annotated[
        str, typer.Option(envvar="TASKROUTERX_URL", help="the service's base URL")
    ] = "http://127.0.0.1:8000",
    api_key: Annotated[
        str | None,
        typer.Option(
            envvar="TASKROUTERX_API_KEY",
            help="a key with tasks:work (and tasks:read to name the pool rather than give its id)",
        ),
    ] = None,
    worker_id: Annotated[str | None, typer.Option(help="default: <host>-<pid>")] = None,
    grace_s: Annotated[
        float, typer.Option(min=0, help="on SIGTERM, let running tasks finish this long")
    ] = 30.0,
    heartbeat_s: Annotated[
        float | None,
        typer.Option(
            min=0.1,
            help=f"seconds between heartbeats (default: the lease / {HEARTBEATS_PER_LEASE})",
        ),
    ] = None,
) -> None:
    """Run tasks of an external pool: lease them, run COMMAND per task with the task's JSON
    on stdin, heartbeat while it runs; exit status 0 completes the task, anything else
    fails it with the tail of stderr. SIGTERM finishes or releases what runs."""
    from interfaces.worker import Worker, WorkerError
    from interfaces.worker.command import command_function

    settings = _settings()
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(message)s"
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per request
    runner = Worker(
        pool, url, api_key, concurrency=concurrency, worker_id=worker_id, grace_s=grace_s,
        heartbeat_s=heartbeat_s,
    )  # fmt: skip
    runner.task()(command_function(command))
    try:
        runner.run()
    except WorkerError as error:
        raise _fail(str(error)) from None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@keys_app.command("new")
def keys_new(
    name: Annotated[str, typer.Option(help="Who or what will use the key.")],
    scope: Annotated[list[Permission], typer.Option("--scope", help="Repeat for several scopes.")],
    tenant: Annotated[
        str | None,
        typer.Option(help="Bind the key to one tenant: it submits and sees that tenant's tasks."),
    ] = None,
) -> None:
    """Make a random API key. Prints the key (give it to its user; it is not kept) and
    the entry to add to TASKROUTERX_API_KEYS or the keys file (only its hash)."""
    if not re.fullmatch(KEY_NAME, name):
        raise _fail("--name must be 1 to 64 letters, digits, '.', '_' or '-'")
    if tenant is not None and not TENANT_NAME.fullmatch(tenant):
        raise _fail("--tenant must be 1 to 63 lowercase letters, digits, '.', '_' or '-'")
    key = "trx_" + secrets.token_urlsafe(32)
    entry: dict[str, object] = {
        "name": name,
        "sha256": digest(key),
        "scopes": sorted(str(s) for s in scope),
    }
    if tenant is not None:
        entry["tenant"] = tenant
    typer.echo(f"key:   {key}")
    typer.echo(f"entry: {orjson.dumps(entry).decode()}")


@db_app.command("upgrade")
def db_upgrade(database_url: DatabaseUrl = None) -> None:
    """Upgrade the schema to the latest revision."""
    revision = _with_router(lambda router: migrate.upgrade(router.engines.write), database_url)
    typer.echo(f"database at revision {revision}")


@projections_app.command("rebuild")
def projections_rebuild(
    name: Annotated[str | None, typer.Argument(help="One projection; all when omitted.")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Empty projections and rebuild them from the whole event log, in one transaction of
    set-based SQL. Meant for a stopped server; a running one rebuilds over HTTP."""

    def rebuild(router: TaskRouter) -> None:
        migrate.upgrade(router.engines.write)
        names = [name] if name is not None else router.runner.names
        for projection in names:
            if projection not in router.runner.names:
                raise UnknownProjection(projection, router.runner.names)
        head = router.store.head()
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
        )
        with Progress(*columns, transient=False) as progress:
            task = progress.add_task(", ".join(names), total=head or 1)

            def advance(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total or 1)

            started = time.perf_counter()
            applied = router.runner.rebuild_at_once(names, advance)
            progress.update(task, completed=head or 1)
            seconds = time.perf_counter() - started
            rate = f" ({applied / seconds:,.0f} events/s)" if seconds and applied else ""
            progress.console.print(f"{', '.join(names)}: {applied} events in {seconds:.2f}s{rate}")

    _with_router(rebuild, database_url)


@dataclass(frozen=True)
class Picture:
    """What `status` shows, from the database or from a running server."""

    head: int
    algorithm: str
    counts: dict[str, int]
    checkpoints: dict[str, int]
    pools: list[dict[str, Any]]
    leader: str | None = None
    on_postgres: bool = False
    log: dict[str, Any] | None = None
    """The hot log's start and the archive (see NodeHealth.log_state)."""


@app.command()
def status(
    database_url: DatabaseUrl = None,
    url: Annotated[
        str | None,
        typer.Option(help="ask this running server (its API) instead of opening the database"),
    ] = None,
    api_key: Annotated[
        str | None, typer.Option(envvar="TASKROUTERX_API_KEY", help="with --url: a tasks:read key")
    ] = None,
) -> None:
    """The picture an operator wants first: log head, projection lags, tasks waiting and
    running, each pool's load, and the active algorithm."""
    if url is not None:
        _show(_picture_from_server(url, api_key))
        return

    def read(router: TaskRouter) -> Picture:
        read_model = router.read_model
        positions, head = read_model.projection_positions()
        on_postgres = router.leadership is not None
        return Picture(
            head,
            str(read_model.active_algorithm()),
            read_model.status_counts(),
            {name: positions.get(name, 0) for name in router.runner.names},
            read_model.list_pools(),
            current_leader(router.settings.database_url) if on_postgres else None,
            on_postgres,
            router.node_health.log_state(),
        )

    _show(_with_router(read, database_url))


def _picture_from_server(url: str, api_key: str | None) -> Picture:
    headers = {"X-API-Key": api_key} if api_key else {}
    try:
        with httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=10) as client:

            def get(path: str) -> Any:
                response = client.get(path)
                if response.status_code != 200:
                    detail = response.json().get("detail", "") if response.content else ""
                    raise Refused(f"GET {path}: {response.status_code} {detail}".strip())
                return response.json()

            health = get("/api/v1/health")
            stats = get("/api/v1/system/stats")
            projections = get("/api/v1/projections")["projections"]
            pools = get("/api/v1/workers")["worker_pools"]
    except httpx.HTTPError as error:
        raise _fail(f"cannot reach {url}: {error}") from None
    except Refused as error:
        raise _fail(str(error)) from None
    counts = {
        "queued": stats["tasks_pending"],
        "delayed": stats["tasks_delayed"],
        "processing": stats["tasks_processing"],
        "failed": stats["tasks_failed"],
    }
    return Picture(
        max((item["head"] for item in projections), default=0),
        stats["scheduler_stats"]["algorithm"],
        counts,
        {item["name"]: item["checkpoint"] for item in projections},
        pools,
        health.get("leader_node"),
        health.get("leader") is not None,
        health.get("log"),
    )


def _show(picture: Picture) -> None:
    console = Console(highlight=False)
    console.print(f"log head {picture.head}   algorithm {picture.algorithm}")
    if picture.on_postgres:
        leader = picture.leader
        console.print(f"scheduling on {leader}" if leader else "no node is scheduling")
    if picture.log is not None and picture.log["start"]:
        log = picture.log
        console.print(
            f"hot log starts at {log['first_position']} (moved {log['moved_at']}); archive: "
            f"{_counted(log['segments'], 'segment')}, {log['bytes']} bytes, up to "
            f"{log['newest_cut']}",
            soft_wrap=True,
        )
    if picture.log is not None and (last := picture.log["retention"].get("last_run")):
        console.print(
            f"retention: last batch {last['at']}, {last['archived']} archived, "
            f"{last['removed']} removed" + (f", failed: {last['error']}" if last["error"] else ""),
            soft_wrap=True,
        )
    counts = picture.counts
    console.print(
        f"queued {counts.get('queued', 0)}   delayed {counts.get('delayed', 0)}   "
        f"processing {counts.get('processing', 0)}   failed {counts.get('failed', 0)}"
    )
    lags = Table("projection", "checkpoint", "lag", box=None)
    for name, checkpoint in picture.checkpoints.items():
        lags.add_row(name, str(checkpoint), str(picture.head - checkpoint))
    console.print(lags)
    pools = Table("pool", "region", "type", "runs in", "load", "", box=None)
    for pool in picture.pools:
        state = " draining" if pool["draining"] else ""
        pools.add_row(
            pool["name"],
            pool["region"],
            pool["resource_type"],
            pool["execution"] + state,
            f"{pool['current_load']}/{pool['capacity']}",
            _load_bar(pool["current_load"], pool["capacity"]),
        )
    console.print(pools)


def _load_bar(load: int, capacity: int, width: int = 10) -> str:
    filled = round(width * load / capacity) if capacity else 0
    return "█" * min(filled, width) + "·" * (width - min(filled, width))


@projections_app.command("status")
def projections_status(database_url: DatabaseUrl = None) -> None:
    """Each projection's checkpoint and lag behind the log head."""

    def status(router: TaskRouter) -> None:
        for item in router.projections.status():
            typer.echo(f"{item['name']:<10} checkpoint {item['checkpoint']:>10}  lag {item['lag']}")

    _with_router(status, database_url)


@events_app.command("tail")
def events_tail(
    after: Annotated[int | None, typer.Option(help="Start after this position.")] = None,
    last: Annotated[int, typer.Option(help="Without --after, show the last N events.")] = 20,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new events.")
    ] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Print events as JSON lines."""

    def tail(router: TaskRouter) -> None:
        position = after if after is not None else max(router.store.head() - last, 0)
        if after is None:
            try:
                router.read_model.check_after(position)
            except HistoryArchived as archived:  # the last N of the hot log
                position = archived.start
        while True:
            page, _ = router.read_model.events_page(position, 500, None, None)
            for event in page:
                sys.stdout.write(orjson.dumps(event).decode() + "\n")
                position = event["position"]
            sys.stdout.flush()
            if not follow:
                return
            if not page:
                time.sleep(0.5)

    with contextlib.suppress(KeyboardInterrupt):
        _with_router(tail, database_url)


@audit_app.command("verify")
def audit_verify(
    database_url: DatabaseUrl = None,
    from_archive: Annotated[
        Path | None,
        typer.Option(
            "--from-archive",
            help="read the positions this archive directory holds from its segments "
            "(each checked against its manifest), the rest from the database",
        ),
    ] = None,
) -> None:
    """Recompute every recorded decision, check the domain invariants from position 0 and
    walk the hash chain. Exits 1 when anything is wrong."""
    problems: list[ArchiveDamaged] = []

    def verify(router: TaskRouter) -> AuditReport:
        with _progress() as progress:
            bars: dict[str, TaskID] = {}

            def advance(phase: str, done: int, total: int) -> None:
                if phase not in bars:
                    bars[phase] = progress.add_task(phase, total=total or 1)
                progress.update(bars[phase], completed=done)

            if from_archive is None:
                return router.audit(advance)
            if not from_archive.is_dir():
                raise Refused(f"no archive directory at {from_archive}")
            report, found = router.audit_from_archive(from_archive, advance)
            problems.extend(found)
            return report

    report = _with_router(verify, database_url)
    chain = report.chain
    assert chain is not None
    typer.echo(
        f"{report.events_checked} events, {report.decisions_checked} decisions and "
        f"{report.preemptions_checked} preemptions recomputed, "
        f"{report.snapshots_checked} snapshots checked: "
        f"{report.mismatch_count} mismatches, {report.violation_count} invariant violations, "
        f"{report.corrupt_count} unreadable events"
    )
    if chain.first_broken is None:
        typer.echo(f"hash chain intact over {chain.checked} events, head {chain.head_hash}")
    else:
        typer.echo(f"hash chain broken at position {chain.first_broken}: {chain.problem}")
    for finding in [*report.corrupt, *report.mismatches, *report.violations]:
        typer.echo(f"  position {finding.position} ({finding.stream_id}): {finding.detail}")
    for problem in problems:
        typer.echo(f"  segment {problem.file}, position {problem.position}: {problem.problem}")
    if not report.ok or problems:
        raise typer.Exit(1)


@app.command("archive")
def archive_command(
    before: Annotated[
        str,
        typer.Option(
            "--before",
            help="the cut: a log position, or an ISO 8601 time (the newest event at or before "
            "it); every event at or before it is archived",
        ),
    ],
    to: Annotated[Path, typer.Option("--to", help="the archive directory")],
    segment_events: Annotated[
        int, typer.Option(min=1, help="events a segment holds at most")
    ] = archiver.SEGMENT_EVENTS,
    keep_hot: Annotated[
        bool,
        typer.Option(
            "--keep-hot", help="only write the segments: remove nothing from the database"
        ),
    ] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Move the log's events up to a cut into archive segments (zstd-compressed CloudEvents
    JSON Lines, each with a manifest), on from the archive's last segment, then remove them
    from the database: the hot log then starts after the cut."""

    def run(router: TaskRouter) -> tuple[archiver.ArchiveRun, Removal | None]:
        try:
            cut = position_of(router.time_travel, before)
        except InvalidTime as error:
            raise Refused(str(error)) from None
        with _progress() as progress:
            bars: dict[str, TaskID] = {}

            def advance(phase: str, done: int) -> None:
                if phase not in bars:
                    bars[phase] = progress.add_task(phase, total=cut or 1)
                progress.update(bars[phase], completed=done)

            return router.archive(to, cut, segment_events, advance, keep_hot)

    result, removed = _with_router(run, database_url)
    for name in result.removed:
        typer.echo(f"removed {name}, left by an interrupted run")
    per_event = result.bytes / result.events if result.events else 0.0
    typer.echo(
        f"archived {result.events} events into {_counted(len(result.written), 'segment')} "
        f"({result.bytes} bytes, {per_event:.0f} per event); the archive holds positions "
        f"1..{result.up_to}"
    )
    if removed is not None:
        typer.echo(
            f"removed {removed.events} archived events from the database; "
            f"the hot log starts after position {removed.start}"
        )


def _counted(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _progress() -> Progress:
    """Progress bars on standard error, gone when done, shown only on a terminal."""
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    console = Console(stderr=True)
    return Progress(*columns, transient=True, console=console, disable=not console.is_terminal)


@contextlib.contextmanager
def _bar(description: str, total: int) -> Iterator[Callable[[int], None]]:
    """One progress bar; yields the function that advances it."""
    with _progress() as progress:
        task = progress.add_task(description, total=total or 1)
        yield lambda done: progress.update(task, completed=done)


@events_app.command("export")
def events_export(
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="File to write; standard output if omitted.")
    ] = None,
    to: Annotated[int | None, typer.Option(min=0, help="Last position to export.")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Write the log as JSON Lines, one CloudEvents 1.0 event per line."""

    def export(router: TaskRouter) -> int:
        with reading(router.engines.read, transaction=True) as db:
            head = stored_events.head(db)
            last = head if to is None else min(to, head)
            sink = out.open("wb") if out is not None else sys.stdout.buffer
            try:
                with _bar("exporting", last) as advance:
                    for line in transfer.export_lines(db, last, advance):
                        sink.write(line)
            finally:
                if out is not None:
                    sink.close()
            return last

    exported = _with_router(export, database_url)
    if out is not None:
        typer.echo(f"exported {exported} events to {out}")


@events_app.command("import")
def events_import(
    source: Annotated[Path, typer.Argument(help="A file written by `events export`.")],
    archive: Annotated[
        Path | None,
        typer.Option(
            "--archive",
            help="the archive directory of the exported store: its segments are loaded "
            "first, then the file (the export of the hot log)",
        ),
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Load an exported log into an empty store, checking its hash chain line by line
    (nothing is written if any line fails), then build the projections from it. With
    `--archive`, the archived events come first, from the segments (each checked against
    its manifest): a full store is restored from the archive and the hot log's export."""
    if not source.is_file():
        raise _fail(f"no such file: {source}")
    if archive is not None and not archive.is_dir():
        raise _fail(f"no archive directory at {archive}")

    def load(router: TaskRouter) -> int:
        migrate.upgrade(router.engines.write)
        if (held := router.store.head()) > 0:
            raise transfer.InvalidImport(
                f"the store already holds {held} events; import needs an empty one"
            )
        manifests = [] if archive is None else segments.manifests(archive)
        with source.open("rb") as counted:
            lines = sum(1 for _ in counted) + sum(m.events for m in manifests)
        archived = (
            row
            for manifest in manifests
            for row in segments.read(archive, manifest)  # type: ignore[arg-type]
        )
        with (
            source.open("rb") as lines_in,
            _bar("importing", lines) as advance,
            writing(router.engines.write) as db,
        ):
            count = transfer.import_lines(db, lines_in, advance, archived)
        router.runner.rebuild_at_once(router.runner.names)
        return count

    typer.echo(f"imported {_with_router(load, database_url)} events; projections rebuilt")


@replay_app.callback()
def replay(
    context: typer.Context,
    to: Annotated[int | None, typer.Option(min=0, help="Last position to copy.")] = None,
    into: Annotated[
        str | None, typer.Option(help="New database: a SQLite file path or a database URL.")
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Copy the history up to a position into a new database and build its projections
    there: a reproducible copy for debugging."""
    if context.invoked_subcommand is not None:
        return
    if to is None or into is None:
        raise _fail("replay needs --to POSITION and --into DATABASE")
    target_url = into if "://" in into else f"sqlite:///{Path(into).resolve()}"

    def copy(router: TaskRouter) -> int:
        target = bootstrap(router.settings.model_copy(update={"database_url": target_url}))
        try:
            migrate.upgrade(target.engines.write)
            with reading(router.engines.read, transaction=True) as db:
                last = min(to, stored_events.head(db))
                with _bar("copying", last) as advance, writing(target.engines.write) as written:
                    copied = transfer.copy_log(db, written, last, advance)
            target.runner.rebuild_at_once(target.runner.names)
        finally:
            target.engines.dispose()
        return copied

    copied = _with_router(copy, database_url)
    typer.echo(f"copied {copied} events into {target_url}; projections rebuilt")


@replay_app.command("whatif")
def replay_whatif(
    algorithm: Annotated[Algorithm, typer.Option(help="The algorithm to replay under.")],
    start: Annotated[
        int, typer.Option("--from", min=0, help="Compare tasks queued after this position.")
    ] = 0,
    to: Annotated[int | None, typer.Option(min=0, help="Replay up to this position.")] = None,
    weight: Annotated[
        list[str] | None,
        typer.Option(help="Another weight for a tenant, as NAME=WEIGHT (repeatable)."),
    ] = None,
    quota: Annotated[
        list[str] | None,
        typer.Option(help="Another quota, as NAME:cpu=N or NAME:gpu=N; N none: no limit."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Replay the recorded arrivals under another algorithm (and other tenant weights or
    quotas), side by side with what actually happened (deterministic: same log, same
    answer)."""
    overrides = _overrides(weight or [], quota or [])

    def replay(router: TaskRouter) -> dict[str, Any]:
        head = router.replays.head()
        last = head if to is None else to
        if last > head or start > last:
            raise Refused(f"need --from <= --to <= the log head ({head})")
        result = compare(router.replays.up_to(last), algorithm, start, overrides)
        return {**result, "window": {"from": start, "to": last}}

    result = _with_router(replay, database_url)
    if as_json:
        typer.echo(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())
        return
    table = Table(title=f"what if {algorithm} (positions {result['window']['from']}"
                        f"..{result['window']['to']}, {result['tasks']} tasks)")  # fmt: skip
    table.add_column("metric")
    table.add_column("actual (" + ", ".join(result["algorithms_used"]) + ")", justify="right")
    table.add_column(f"what if {algorithm}", justify="right")
    actual, what_if = result["actual"], result["what_if"]
    rows = [(label, actual[name], what_if[name]) for label, name in (
        ("total cost", "total_cost"), ("cross-region placements", "cross_region"),
        ("mean wait (s)", "mean_wait_s"), ("p95 wait (s)", "p95_wait_s"))]  # fmt: skip
    bands, busy = "mean_wait_by_priority_band_s", "pool_utilization_pct"
    rows += [(f"mean wait, {band} priority (s)", actual[bands][band], what_if[bands][band])
             for band in actual[bands]]  # fmt: skip
    rows += [(f"{pool} busy %", actual[busy][pool], what_if[busy][pool]) for pool in actual[busy]]
    for label, was, would in rows:
        table.add_row(label, f"{was:,.3f}", f"{would:,.3f}")
    Console(width=max(Console().width, 100)).print(table)
    typer.echo(
        f"placements changed: {result['placements_changed']}; "
        f"not replayed (never started): {result['not_replayed']}; "
        f"left waiting by the replay: {result['still_waiting']}"
    )
    tenants = result["tenants"]
    if len(tenants["actual"]) > 1 or overrides:
        for name, was in tenants["actual"].items():
            would = tenants["what_if"][name]
            typer.echo(
                f"tenant {name}: mean wait {was['mean_wait_s']:,.3f} -> "
                f"{would['mean_wait_s']:,.3f} s, p95 {was['p95_wait_s']:,.3f} -> "
                f"{would['p95_wait_s']:,.3f} s, preemptions {was['preemptions']} -> "
                f"{would['preemptions']}"
            )


def _overrides(weights: list[str], quotas: list[str]) -> dict[str, TenantOverride]:
    """--weight NAME=W and --quota NAME:TYPE=N as each tenant's override."""
    given: dict[str, dict[str, Any]] = {}
    try:
        for text in weights:
            name, value = text.split("=", 1)
            given.setdefault(name, {})["weight"] = float(value)
        for text in quotas:
            name, rest = text.split(":", 1)
            kind, value = rest.split("=", 1)
            if kind not in ("cpu", "gpu"):
                raise ValueError(f"no resource type {kind}")
            limit = None if value == "none" else int(value)
            given.setdefault(name, {}).setdefault("quota", {})[kind] = limit
    except ValueError as error:
        raise _fail(f"--weight NAME=WEIGHT, --quota NAME:cpu=N or NAME:gpu=N ({error})") from None
    for name, settings in given.items():
        weight = settings.get("weight")
        if weight is not None and not 0 < weight <= MAX_WEIGHT:
            raise _fail(f"the weight of {name} must be above 0 and at most {MAX_WEIGHT:g}")
        if any(
            v is not None and not 0 <= v <= MAX_LIMIT for v in settings.get("quota", {}).values()
        ):
            raise _fail(f"a quota of {name} must be between 0 and {MAX_LIMIT:,}")
    return {name: TenantOverride(s.get("weight"), s.get("quota")) for name, s in given.items()}


def main() -> None:
    app()
