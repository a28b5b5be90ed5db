"""The taskrouterx command line, run as a user would run it."""

import json
import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from typer.testing import CliRunner

from application.bus import InlineSender
from application.commands.submit_task import SubmitTask
from application.messages import MessageContext
from application.simulation.demo_pools import register_demo_pools
from domain.values import TaskType
from infrastructure.bootstrap import bootstrap
from infrastructure.settings import Settings
from infrastructure.sql import migrate
from interfaces.cli import app
from interfaces.http.middleware.auth import digest
from tests.fakes import FakeClock
from tests.histories import random_history
from tests.sqlite_support import sqlite_url


@dataclass(frozen=True)
class Ran:
    returncode: int
    stdout: str
    stderr: str


def run(tmp_path: Path, *args: str, **env: str) -> Ran:
    """The command as `taskrouterx` runs it, in this process (typer's runner: the same
    parsing, output and exit code, without a new interpreter each time)."""
    environment = {"TASKROUTERX_DATABASE_URL": sqlite_url(tmp_path), **env}
    result = CliRunner().invoke(app, list(args), env=environment)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Ran(result.exit_code, result.stdout, result.stderr)


def run_process(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The command in a process of its own, as the installed entry point runs it."""
    environment = {**os.environ, "TASKROUTERX_DATABASE_URL": sqlite_url(tmp_path), **env}
    return subprocess.run(
        [sys.executable, "-m", "interfaces", *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def populate(tmp_path: Path, tasks: int) -> None:
    router = bootstrap(Settings(database_url=sqlite_url(tmp_path)))
    migrate.upgrade(router.engines.write)
    sender = InlineSender(router.bus)
    register_demo_pools(router.store, sender)
    for index in range(tasks):
        sender.submit(
            SubmitTask(TaskType.ORDER, index % 10 + 1, 1.0, "us-east"), MessageContext("cli-test")
        ).result()
    router.engines.dispose()


def test_db_upgrade(tmp_path: Path) -> None:
    result = run_process(tmp_path, "db", "upgrade")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "database at revision 0012"
    assert (tmp_path / "taskrouterx.db").exists()


def test_projections_rebuild_reports_each_projection(tmp_path: Path) -> None:
    populate(tmp_path, 30)
    before = run(tmp_path, "events", "tail", "--last", "100")
    result = run(tmp_path, "projections", "rebuild")
    assert result.returncode == 0, result.stderr
    assert "tasks, pool_load, stats, tenants, snapshots: 38 events in" in result.stdout
    status = run(tmp_path, "projections", "status")
    assert [line.split()[-1] for line in status.stdout.splitlines()] == ["0"] * 5
    one = run(tmp_path, "projections", "rebuild", "pool_load")
    assert "pool_load: 38 events" in one.stdout
    assert "tasks:" not in one.stdout
    assert run(tmp_path, "events", "tail", "--last", "100").stdout == before.stdout


def test_unknown_projection_is_a_one_line_error(tmp_path: Path) -> None:
    result = run(tmp_path, "projections", "rebuild", "nope")
    assert result.returncode == 1
    assert (
        result.stderr.strip()
        == "error: no projection named 'nope'; known: tasks, pool_load, stats, tenants, snapshots"
    )


def test_events_tail_prints_json_lines(tmp_path: Path) -> None:
    populate(tmp_path, 3)
    result = run(tmp_path, "events", "tail", "--last", "2")
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [event["position"] for event in lines] == [10, 11]
    assert lines[-1]["type"] == "TaskQueued"
    after = run(tmp_path, "events", "tail", "--after", "9")
    assert len(after.stdout.splitlines()) == 2


def test_bad_settings_are_a_one_line_error(tmp_path: Path) -> None:
    result = run(tmp_path, "db", "upgrade", TASKROUTERX_SQLITE_SYNCHRONOUS="SOMETIMES")
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("error: invalid settings")


def test_unreachable_database_is_a_one_line_error(tmp_path: Path) -> None:
    result = run(
        tmp_path, "db", "upgrade", TASKROUTERX_DATABASE_URL="sqlite:////nonexistent-dir/x/y.db"
    )
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("error: ")


def test_inconsistent_latency_settings_are_rejected(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        "db",
        "upgrade",
        TASKROUTERX_SIM_MIN_LATENCY_S="3",
        TASKROUTERX_SIM_MAX_LATENCY_S="1",
    )
    assert result.returncode == 1
    assert "sim_min_latency_s must not exceed sim_max_latency_s" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_audit_verify_passes_a_clean_log_and_fails_a_tampered_one(tmp_path: Path) -> None:
    clock = FakeClock()
    router = bootstrap(Settings(database_url=sqlite_url(tmp_path)), clock=clock)
    migrate.upgrade(router.engines.write)
    random_history(router, clock, events=600, seed=4)
    head = router.store.head()
    router.store.close()
    router.engines.dispose()

    clean = run(tmp_path, "audit", "verify")
    assert clean.returncode == 0, clean.stderr
    first, second = clean.stdout.splitlines()
    assert first.startswith(f"{head} events, ")
    assert first.endswith(
        " snapshots checked: 0 mismatches, 0 invariant violations, 0 unreadable events"
    )
    assert second.startswith(f"hash chain intact over {head} events, head ")

    with sqlite3.connect(tmp_path / "taskrouterx.db") as db:
        db.execute("UPDATE events SET actor = 'mallory' WHERE position = 321")
    tampered = run(tmp_path, "audit", "verify")
    assert tampered.returncode == 1
    assert "hash chain broken at position 321: event at position 321 does not match" in (
        tampered.stdout
    )


def history_in(directory: Path, events: int) -> int:
    """A random history of about `events` events; returns the log head."""
    clock = FakeClock()
    router = bootstrap(Settings(database_url=sqlite_url(directory)), clock=clock)
    migrate.upgrade(router.engines.write)
    random_history(router, clock, events=events, seed=8)
    head = router.store.head()
    router.store.close()
    router.engines.dispose()
    return head


def projection_rows(directory: Path) -> dict[str, list[tuple[object, ...]]]:
    with sqlite3.connect(directory / "taskrouterx.db") as db:
        return {
            table: db.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()
            for table in ("tasks", "task_counts", "pool_load", "stats_counters", "checkpoints")
        }


def test_export_then_import_reproduces_the_log_and_its_read_models(tmp_path: Path) -> None:
    origin, copy = tmp_path / "origin", tmp_path / "copy"
    origin.mkdir()
    copy.mkdir()
    head = history_in(origin, 500)
    exported = run(origin, "events", "export", "--out", str(tmp_path / "log.jsonl"))
    assert exported.returncode == 0, exported.stderr
    lines = (tmp_path / "log.jsonl").read_bytes().splitlines()
    assert len(lines) == head
    first = json.loads(lines[0])
    assert first["specversion"] == "1.0"
    assert first["type"] == "dev.taskrouterx.WorkerPoolRegistered"
    assert first["subject"].startswith("pool-")
    assert {"id", "source", "time", "data", "position", "hash"} <= set(first)

    imported = run(copy, "events", "import", str(tmp_path / "log.jsonl"))
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.strip() == f"imported {head} events; projections rebuilt"
    assert run(copy, "audit", "verify").returncode == 0
    assert projection_rows(copy) == projection_rows(origin)
    with (
        sqlite3.connect(origin / "taskrouterx.db") as a,
        sqlite3.connect(copy / "taskrouterx.db") as b,
    ):
        query = "SELECT * FROM events ORDER BY position"
        assert a.execute(query).fetchall() == b.execute(query).fetchall()


def test_an_altered_export_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    origin, copy = tmp_path / "origin", tmp_path / "copy"
    origin.mkdir()
    copy.mkdir()
    history_in(origin, 200)
    export = tmp_path / "log.jsonl"
    run(origin, "events", "export", "--out", str(export))
    lines = export.read_bytes().splitlines(keepends=True)
    event = json.loads(lines[149])
    event["correlationid"] = "someone-else"
    lines[149] = json.dumps(event).encode() + b"\n"
    export.write_bytes(b"".join(lines))

    refused = run(copy, "events", "import", str(export))
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        "error: line 150: the event does not match its hash (altered after export?)"
    )
    with sqlite3.connect(copy / "taskrouterx.db") as db:
        assert db.execute("SELECT COUNT(*) FROM events").fetchone() == (0,)

    export.write_bytes(b"".join(lines[:10]) + b"not json\n")
    garbage = run(copy, "events", "import", str(export))
    assert garbage.stderr.strip() == "error: line 11: not JSON"


def test_replay_copies_a_prefix_into_a_new_database(tmp_path: Path) -> None:
    history_in(tmp_path, 400)
    target = tmp_path / "debug" / "at-250.db"
    target.parent.mkdir()
    result = run(tmp_path, "replay", "--to", "250", "--into", str(target))
    assert result.returncode == 0, result.stderr
    assert (
        result.stdout.strip() == f"copied 250 events into sqlite:///{target}; projections rebuilt"
    )
    verified = run(tmp_path, "audit", "verify", TASKROUTERX_DATABASE_URL=f"sqlite:///{target}")
    assert verified.returncode == 0, verified.stdout
    assert verified.stdout.startswith("250 events, ")
    again = run(tmp_path, "replay", "--to", "250", "--into", str(target))
    assert again.returncode == 1
    assert again.stderr.strip() == "error: the target database already holds events"


def test_replay_whatif_prints_both_sides(tmp_path: Path) -> None:
    head = history_in(tmp_path, 300)
    table = run(tmp_path, "replay", "whatif", "--algorithm", "priority")
    assert table.returncode == 0, table.stderr
    assert "what if priority" in table.stdout
    assert "mean wait, high priority (s)" in table.stdout
    as_json = run(tmp_path, "replay", "whatif", "--algorithm", "priority", "--json", "--to", "200")
    result = json.loads(as_json.stdout)
    assert result["window"] == {"from": 0, "to": 200}
    assert result["algorithm"] == "priority"
    bad = run(tmp_path, "replay", "whatif", "--algorithm", "priority", "--to", "5000")
    assert bad.returncode == 1
    assert bad.stderr.strip() == f"error: need --from <= --to <= the log head ({head})"


def test_serve_refuses_a_public_address_without_api_keys(tmp_path: Path) -> None:
    refused = run(tmp_path, "serve", "--host", "0.0.0.0", "--port", "1")
    assert refused.returncode == 1
    assert refused.stderr.startswith("error: refusing to serve on 0.0.0.0 without API keys")
    broken = run(tmp_path, "serve", "--port", "1", TASKROUTERX_API_KEYS="[{]")
    assert broken.returncode == 1
    assert broken.stderr.startswith("error: API keys:")


def test_keys_new_prints_a_key_and_only_its_hash_for_the_configuration(tmp_path: Path) -> None:
    made = run(tmp_path, "keys", "new", "--name", "ci", "--scope", "tasks:write")
    assert made.returncode == 0, made.stderr
    key_line, entry_line = made.stdout.splitlines()
    key = key_line.removeprefix("key:").strip()
    entry = json.loads(entry_line.removeprefix("entry:").strip())
    assert entry == {"name": "ci", "sha256": digest(key), "scopes": ["tasks:write"]}
    assert key not in entry_line
    bound = run(tmp_path, "keys", "new", "--name", "a", "--scope", "tasks:read", "--tenant", "t-a")
    assert json.loads(bound.stdout.splitlines()[1].removeprefix("entry:"))["tenant"] == "t-a"
    wrong = run(tmp_path, "keys", "new", "--name", "a", "--scope", "tasks:read", "--tenant", "T A")
    assert wrong.returncode != 0
    assert wrong.stderr.strip().startswith("error: --tenant must be")


def test_status_shows_the_head_lags_queue_pools_and_algorithm(tmp_path: Path) -> None:
    head = history_in(tmp_path, 300)
    with sqlite3.connect(tmp_path / "taskrouterx.db") as db:
        queued = db.execute("SELECT COUNT(*) FROM tasks WHERE status = 'queued'").fetchone()[0]
        (name, load, capacity) = db.execute(
            "SELECT name, current_load, capacity FROM pool_load ORDER BY registration LIMIT 1"
        ).fetchone()
    shown = run(tmp_path, "status")
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0].startswith(f"log head {head}   algorithm ")
    assert lines[1].startswith(f"queued {queued}   ")
    assert any(line.split()[:3] == ["tasks", str(head), "0"] for line in lines)
    pool = next(line for line in lines if line.strip().startswith(name))
    assert f"{load}/{capacity}" in pool


def test_audit_verify_reports_each_unreadable_row_with_its_position_and_goes_on(
    tmp_path: Path,
) -> None:
    populate(tmp_path, 10)
    with sqlite3.connect(tmp_path / "taskrouterx.db") as db:
        db.execute("UPDATE events SET recorded_at = 'yesterday' WHERE position = 9")
        db.execute("UPDATE events SET payload = '{not json' WHERE position = 12")
        db.execute("UPDATE events SET payload = '{}' WHERE position = 15")
    result = run(tmp_path, "audit", "verify")
    assert result.returncode == 1
    assert "error" not in result.stderr.lower(), result.stderr
    assert result.stdout.startswith("18 events, "), "it read on to the end"
    assert "3 unreadable events" in result.stdout
    lines = result.stdout.splitlines()
    assert any(line.startswith("  position 9 (") and "'yesterday' is not a time" in line
               for line in lines)  # fmt: skip
    assert any(line.startswith("  position 12 (") and "not JSON" in line for line in lines)
    assert any(line.startswith("  position 15 (") and "lacks the field" in line for line in lines)


def test_worker_help_states_the_heartbeat_interval_the_worker_uses(tmp_path: Path) -> None:
    from interfaces.worker.worker import HEARTBEATS_PER_LEASE

    result = run(tmp_path, "worker", "--help", COLUMNS="200")
    assert result.returncode == 0, result.stderr
    assert f"the lease / {HEARTBEATS_PER_LEASE}" in result.stdout
    assert "third" not in result.stdout


def test_database_reading_commands_take_database_url(tmp_path: Path) -> None:
    """--database-url wins over the environment, for every command that reads the log."""
    populate(tmp_path, 5)
    url = sqlite_url(tmp_path)
    elsewhere = {"TASKROUTERX_DATABASE_URL": f"sqlite:///{tmp_path / 'other.db'}"}
    for command in (
        ["audit", "verify"],
        ["projections", "status"],
        ["status"],
        ["events", "tail", "--last", "2"],
        ["events", "export"],
        ["replay", "whatif", "--algorithm", "fifo"],
    ):
        result = run(tmp_path, *command, "--database-url", url, **elsewhere)
        assert result.returncode == 0, (command, result.stderr)
    verified = run(tmp_path, "audit", "verify", "--database-url", url, **elsewhere)
    assert verified.stdout.startswith("13 events, ")
    assert not (tmp_path / "other.db").exists(), "the environment's database was not opened"


def test_status_can_ask_a_running_server_instead_of_the_database(tmp_path: Path) -> None:
    from tests.e2e.support import Server

    server = Server(tmp_path / "taskrouterx.db", tmp_path / "server.log",
                    TASKROUTERX_SIMULATOR="off", TASKROUTERX_SCHEDULER="off")  # fmt: skip
    try:
        for _ in range(3):
            server.client.post("/api/v1/tasks", json={"type": "order", "priority": 5,
                                                       "cost": 1, "region": "us-east"})  # fmt: skip
        elsewhere = {"TASKROUTERX_DATABASE_URL": f"sqlite:///{tmp_path / 'none.db'}"}
        asked = run(tmp_path, "status", "--url", server.url, **elsewhere)
        assert asked.returncode == 0, asked.stderr
        opened = run(tmp_path, "status")
        assert asked.stdout == opened.stdout, "the same picture either way"
        assert "queued 3" in asked.stdout
        assert not (tmp_path / "none.db").exists()
    finally:
        server.stop()
    gone = run(tmp_path, "status", "--url", server.url)
    assert gone.returncode == 1
    assert gone.stderr.startswith("error: cannot reach")


def test_archive_writes_segments_that_verification_reads_back(tmp_path: Path) -> None:
    populate(tmp_path, 20)
    archive = tmp_path / "archive"
    done = run(
        tmp_path, "archive", "--before", "15", "--to", str(archive), "--segment-events", "10"
    )
    assert done.returncode == 0, done.stderr
    archived, removed = done.stdout.splitlines()
    assert archived.startswith("archived 15 events into 2 segments (")
    assert archived.endswith("the archive holds positions 1..15")
    assert removed == (
        "removed 15 archived events from the database; the hot log starts after position 15"
    )
    assert len(list(archive.glob("*.jsonl.zst"))) == 2
    tail = run(tmp_path, "events", "tail", "--last", "100")
    positions = [json.loads(line)["position"] for line in tail.stdout.splitlines()]
    assert positions == list(range(16, 29))
    status = run(tmp_path, "status")
    size = sum(path.stat().st_size for path in archive.glob("*.jsonl.zst"))
    assert f"; archive: 2 segments, {size} bytes, up to 15" in status.stdout
    assert "hot log starts at 16 (moved " in status.stdout

    verified = run(tmp_path, "audit", "verify", "--from-archive", str(archive))
    assert verified.returncode == 0, verified.stdout
    assert "hash chain intact over 28 events" in verified.stdout
    assert verified.stdout.startswith("28 events, ")
    hot_only = run(tmp_path, "audit", "verify")
    assert hot_only.returncode == 0, hot_only.stdout
    assert hot_only.stdout.startswith("13 events, ")
    assert "hash chain intact over 28 events" in hot_only.stdout

    next(archive.glob("000000000001-*.jsonl.zst")).write_bytes(b"not zstd")
    damaged = run(tmp_path, "audit", "verify", "--from-archive", str(archive))
    assert damaged.returncode == 1
    assert "  segment 000000000001-000000000010.jsonl.zst, position 1: its size" in damaged.stdout


def test_a_full_store_is_restored_from_the_archive_and_the_hot_log_export(
    tmp_path: Path,
) -> None:
    populate(tmp_path, 20)
    archive = tmp_path / "archive"
    original = run(tmp_path, "audit", "verify")
    assert run(tmp_path, "archive", "--before", "15", "--to", str(archive)).returncode == 0
    exported = run(tmp_path, "events", "export", "--out", str(tmp_path / "hot.jsonl"))
    assert exported.returncode == 0, exported.stderr

    restored = tmp_path / "restored"
    restored.mkdir()
    hot_alone = run(restored, "events", "import", str(tmp_path / "hot.jsonl"))
    assert hot_alone.returncode == 1
    assert "line 1: position 16, expected 1" in hot_alone.stderr
    loaded = run(restored, "events", "import", str(tmp_path / "hot.jsonl"),
                 "--archive", str(archive))  # fmt: skip
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.startswith("imported 28 events")
    verified = run(restored, "audit", "verify")
    assert verified.returncode == 0, verified.stdout
    assert verified.stdout == original.stdout, "the same log, the same head hash"
    assert (
        run(restored, "status").stdout.split("\n")[1:]
        == (run(tmp_path, "status").stdout.split("\n")[2:])
    ), "the same tasks and pools (the original also names its hot log's start)"


def test_archive_keep_hot_writes_segments_and_removes_nothing(tmp_path: Path) -> None:
    populate(tmp_path, 5)
    done = run(tmp_path, "archive", "--before", "9", "--to", str(tmp_path / "a"), "--keep-hot")
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 1
    tail = run(tmp_path, "events", "tail", "--last", "100")
    assert json.loads(tail.stdout.splitlines()[0])["position"] == 1


def test_archive_refuses_a_cut_that_is_not_a_position_or_a_time(tmp_path: Path) -> None:
    populate(tmp_path, 2)
    refused = run(tmp_path, "archive", "--before", "yesterday", "--to", str(tmp_path / "a"))
    assert refused.returncode == 1
    assert refused.stderr.startswith("error: as_of must be a log position or an ISO 8601 time")
    assert not (tmp_path / "a").exists()


def test_archive_says_one_segment_in_the_singular(tmp_path: Path) -> None:
    populate(tmp_path, 1)
    done = run(tmp_path, "archive", "--before", "5", "--to", str(tmp_path / "archive"))
    assert done.stdout.startswith("archived 5 events into 1 segment (")
