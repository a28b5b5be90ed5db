"""Runs the app under uvicorn, announcing the server's closing the moment it is told to
exit, so that open event streams and long polls end instead of holding the shutdown."""

from types import FrameType

import uvicorn
from fastapi import FastAPI

from interfaces.http.closing import Closing


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, closing: Closing) -> None:
        super().__init__(config)
        self._closing = closing

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self._closing.announce()
        super().handle_exit(sig, frame)


def run(app: FastAPI, host: str, port: int) -> None:
    config = uvicorn.Config(app, host=host, port=port, log_level="warning")
    _Server(config, app.state.closing).run()
