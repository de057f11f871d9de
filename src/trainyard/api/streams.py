"""Streams as Argo sends them: server-sent events with keep-alives, or newline-delimited JSON."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from trainyard.api.encoding import dumps
from trainyard.api.errors import stream_error
from trainyard.core.errors import TrainyardError

SSE = "text/event-stream"
NDJSON = "application/json"
KEEPALIVE = b": keep-alive\n\n"


def wants_events(request: Request) -> bool:
    """Whether the client asked for server-sent events."""
    return SSE in request.headers.get("accept", "")


def stream(
    request: Request,
    read: Callable[[], list[dict[str, Any]]],
    finished: Callable[[], bool],
    *,
    interval: float,
    keepalive: float,
    timeout: float | None = None,
    shape: Callable[[dict[str, Any]], dict[str, Any]] = lambda result: {"result": result},
) -> StreamingResponse:
    """A response that calls `read` (in a worker thread) every `interval` seconds and sends
    what it returns, until `finished()`, `timeout` seconds, or the client leaves."""
    events = wants_events(request)

    def frame(value: dict[str, Any]) -> bytes:
        return b"data: " + dumps(value) + b"\n\n" if events else dumps(value) + b"\n"

    async def chunks() -> AsyncIterator[bytes]:
        start = last_sent = time.monotonic()
        while True:
            try:
                results = await run_in_threadpool(read)
            except TrainyardError as error:
                yield frame({"error": stream_error(error)})
                return
            if results:
                yield b"".join(frame(shape(r)) for r in results)
                last_sent = time.monotonic()
            if finished():
                return
            now = time.monotonic()
            if timeout is not None and now - start >= timeout:
                return
            if events and now - last_sent >= keepalive:
                yield KEEPALIVE
                last_sent = now
            await asyncio.sleep(interval)

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(chunks(), media_type=SSE if events else NDJSON, headers=headers)
