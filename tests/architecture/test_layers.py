"""The architecture, checked: imports point inward, and importing does no work."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STDLIB = set(sys.stdlib_module_names)
ENTRY_POINTS = {
    "interfaces/cli.py",
    "interfaces/http/asgi.py",
    "interfaces/http/serving.py",
    "interfaces/__main__.py",
}

ALLOWED = {
    "domain": {"domain"},
    "application": {"domain", "application", "structlog"},
    "interfaces": {
        "domain",
        "application",
        "interfaces",
        "fastapi",
        "starlette",
        "pydantic",
        "orjson",
        "structlog",
        "httpx",
        "uvicorn",
        "opentelemetry",  # its API, for the worker library's function spans
    },
}


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots - STDLIB


def modules(layer: str) -> list[Path]:
    return sorted(
        p for p in (ROOT / layer).rglob("*.py") if str(p.relative_to(ROOT)) not in ENTRY_POINTS
    )


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_layer_imports_point_inward(layer: str) -> None:
    violations = {
        str(path.relative_to(ROOT)): sorted(imported_roots(path) - ALLOWED[layer])
        for path in modules(layer)
        if imported_roots(path) - ALLOWED[layer]
    }
    assert violations == {}


def test_infrastructure_never_imports_interfaces() -> None:
    offenders = [
        str(p.relative_to(ROOT))
        for p in modules("infrastructure")
        if "interfaces" in imported_roots(p)
    ]
    assert offenders == []


def test_importing_everything_does_no_work(tmp_path: Path) -> None:
    """No engine, file, thread or seeding at import time."""
    names = [
        ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for layer in ("domain", "application", "infrastructure", "interfaces")
        for path in (ROOT / layer).rglob("*.py")
        if path.name != "__main__.py"
    ]
    script = (
        "import importlib, threading\n"
        f"for name in {names!r}:\n"
        "    importlib.import_module(name.removesuffix('.__init__'))\n"
        "print(threading.active_count())\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "1"
    assert list(tmp_path.iterdir()) == []


def test_migrations_never_import_live_code() -> None:
    """A migration runs against the code of its own day: it carries what it needs. (The
    environment, env.py, reads today's schema for autogenerate, and may.)"""
    project = {"domain", "application", "infrastructure", "interfaces", "tests"}
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_roots(path) & project)
        for path in sorted((ROOT / "migrations" / "versions").glob("*.py"))
        if imported_roots(path) & project
    }
    assert offenders == {}


def test_the_hash_chain_migration_chains_as_the_store_does() -> None:
    """Its frozen copy of the link agrees with the live one on awkward rows."""
    import importlib.util

    from infrastructure.sql import chain

    spec = importlib.util.spec_from_file_location(
        "hash_chain_migration", ROOT / "migrations" / "versions" / "0003_hash_chain.py"
    )
    assert spec is not None
    assert spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    rows = [
        (1, "task-a", 1, "TaskQueued", 2, '{"region": "eu-west", "note": "é\\n\\"x\\""}',
         "id-1", "corr", None, "api", "2026-12-04T23:00:00.000000+00:00"),
        (2, "pool-ü", 7, "PoolSlotClaimed", 1, "{}", "id-2", "c\u2028", "cause", "w", "t"),
    ]  # fmt: skip
    previous = migration.GENESIS
    assert previous == chain.GENESIS
    assert migration.ROW == chain.ROW
    for row in rows:
        assert migration.link(previous, row) == chain.link(previous, row)
        previous = chain.link(previous, row)
