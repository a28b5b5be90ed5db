"""structlog set-up: JSON lines, or a readable console format in a terminal."""

import logging
import sys
from typing import TextIO, cast

import structlog


def configure_logging(format: str = "auto", level: str = "INFO") -> None:
    use_console = format == "console" or (format == "auto" and sys.stderr.isatty())
    renderer: structlog.typing.Processor = (
        structlog.dev.ConsoleRenderer() if use_console else structlog.processors.JSONRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
        ),
        logger_factory=structlog.PrintLoggerFactory(cast(TextIO, CurrentStderr())),
        cache_logger_on_first_use=False,
    )


class CurrentStderr:
    """Whatever `sys.stderr` is when a line is written, not when logging was set up: a
    command run inside another program (a test runner, an embedding tool) may swap it."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()
