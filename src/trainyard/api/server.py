"""Serving the app with uvicorn: one process, access log without query strings or headers."""

from __future__ import annotations

import logging

import uvicorn
from fastapi import FastAPI

ACCESS_LOGGER = "uvicorn.access"


class _PathOnly(logging.Filter):
    """Drops the query string from access log lines: nothing secret may reach a log file."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            record.args = (args[0], args[1], args[2].split("?", 1)[0], args[3], args[4])
        return True


def serve(app: FastAPI, host: str, port: int, *, access_log: bool = True) -> None:
    """Run `app` on host:port until SIGINT or SIGTERM."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        access_log=access_log,
        log_level="info",
        timeout_keep_alive=30,
        timeout_graceful_shutdown=5,
        server_header=False,
    )
    server = uvicorn.Server(config)
    logging.getLogger(ACCESS_LOGGER).addFilter(_PathOnly())
    server.run()
