"""Request bodies before routing: at most 3 MiB (413 beyond), and YAML turned into JSON."""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from trainyard.api.errors import error_response
from trainyard.core.errors import UserError
from trainyard.spec.source import parse_text

MAX_BODY = 3 * 1024 * 1024
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")


class _TooLarge(Exception):
    """The body went past the limit while it was being read."""


class BodyLimit:
    """ASGI middleware: refuses bodies over `limit` bytes; rewrites YAML bodies as JSON."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length", b"").decode("latin-1").strip()
        if declared.isdigit() and int(declared) > self.limit:
            await self._refuse(scope, receive, send)
            return
        content_type = headers.get(b"content-type", b"").decode("latin-1").split(";")[0]
        content_type = content_type.strip().lower()
        if content_type in YAML_TYPES:
            await self._yaml(scope, receive, send)
            return
        if content_type != "application/json" and scope.get("method") in ("POST", "PUT"):
            # As grpc-gateway does, a body of any other type is read as JSON.
            scope = {**scope, "headers": _as_json(scope.get("headers") or [])}
        state = {"total": 0, "too_large": False, "answered": False}

        async def counted() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                state["total"] += len(message.get("body", b""))
                if state["total"] > self.limit:
                    state["too_large"] = True
                    raise _TooLarge
            return message

        async def answer(message: Message) -> None:
            # Whatever the app makes of an unfinished body, the client is told it was too large.
            if state["too_large"]:
                if message["type"] == "http.response.start" and not state["answered"]:
                    state["answered"] = True
                    await self._refuse(scope, receive, send)
                return
            state["answered"] = state["answered"] or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, answer)
        except _TooLarge:
            if not state["answered"]:
                await self._refuse(scope, receive, send)

    async def _yaml(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = b""
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.limit:
                await self._refuse(scope, receive, send)
                return
        try:
            converted = _yaml_to_json(body)
        except (UserError, UnicodeDecodeError) as error:
            await error_response(400, f"invalid YAML body: {error}")(scope, receive, send)
            return
        dropped = (b"content-type", b"content-length")
        headers = [(k, v) for k, v in scope.get("headers") or [] if k not in dropped]
        headers += [
            (b"content-type", b"application/json"),
            (b"content-length", b"%d" % len(converted)),
        ]
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": converted, "more_body": False}

        await self.app({**scope, "headers": headers}, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = f"the request body is larger than {self.limit // (1024 * 1024)} MiB"
        await error_response(413, message)(scope, receive, send)


def _as_json(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    kept = [(k, v) for k, v in headers if k != b"content-type"]
    return [*kept, (b"content-type", b"application/json")]


def _yaml_to_json(body: bytes) -> bytes:
    documents = parse_text(body.decode("utf-8"), "body")
    if len(documents) != 1:
        raise UserError(f"expected one YAML document, found {len(documents)}")
    data: Any = documents[0].data
    return json.dumps(data).encode()
