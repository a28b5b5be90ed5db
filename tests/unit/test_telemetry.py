"""Which exporter the OTEL_* variables ask for, leniently (a name this server lacks is
ignored, never a reason not to start), and tracing off importing neither OpenTelemetry's
SDK nor its instrumentations or exporters even with the whole app built (its API is
FastAPI's own dependency, imported by FastAPI)."""

import subprocess
import sys
from pathlib import Path

import pytest

from application.tracing import NO_TRACING, TraceParent
from infrastructure.settings import Settings
from infrastructure.telemetry import OpenTelemetryTracer, exporter_named, tracer_for


@pytest.mark.parametrize(
    ("setting", "exporter"),
    [
        ("none", "none"),
        ("otlp", "otlp"),
        ("CONSOLE", "console"),
        ("zipkin,console", "console"),
        ("otlp, console", "otlp"),
        ("zipkin", "none"),
        ("", "none"),
    ],
)
def test_the_exporter_is_the_first_named_that_this_server_has(setting: str, exporter: str) -> None:
    assert exporter_named(setting) == exporter


def test_tracing_is_off_unless_an_exporter_is_named_and_the_sdk_is_enabled() -> None:
    assert tracer_for("none", False, "taskrouterx") is NO_TRACING
    assert tracer_for("zipkin", False, "taskrouterx") is NO_TRACING
    assert tracer_for("console", True, "taskrouterx") is NO_TRACING
    assert isinstance(tracer_for("console", False, "taskrouterx"), OpenTelemetryTracer)
    assert Settings(otel_traces_exporter="zipkin,jaeger").otel_traces_exporter  # starts


def test_a_traceparent_header_is_read_and_written_back_alike() -> None:
    header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    parent = TraceParent.parse(header)
    assert parent == TraceParent("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7")
    assert parent.header() == header
    for wrong in (None, "", "00-" + "0" * 32 + "-00f067aa0ba902b7-01", "01-xyz", header + "-x"):
        assert TraceParent.parse(wrong) is None, wrong


def test_with_tracing_off_the_app_imports_no_sdk_instrumentation_or_exporter(
    tmp_path: Path,
) -> None:
    code = (
        "import sys\n"
        "from infrastructure.settings import Settings\n"
        "from interfaces.http.asgi import create\n"
        f"create(Settings(database_url='sqlite:///{tmp_path}/off.db', log_format='json'))\n"
        "parts = ('opentelemetry.sdk', 'opentelemetry.instrumentation', "
        "'opentelemetry.exporter')\n"
        "print(sorted(m for m in sys.modules if m.startswith(parts)))\n"
    )
    ran = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120)  # fmt: skip
    assert ran.stdout.strip().splitlines()[-1] == "[]"
