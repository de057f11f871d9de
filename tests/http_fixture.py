"""A real HTTP server on 127.0.0.1 for tests of http templates: it records what it got."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass
class Received:
    """One request the server got."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Server:
    """The server's address and what it received; `flaky` paths fail this many times first."""

    url: str
    received: list[Received] = field(default_factory=list)
    flaky: dict[str, int] = field(default_factory=dict)

    def got(self, path: str) -> list[Received]:
        """The requests for `path`."""
        return [r for r in self.received if r.path == path]


def _handler(server: Server) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            server.received.append(
                Received(self.command, self.path, dict(self.headers.items()), body)
            )
            status, reply = self._route(body)
            self.send_response(status)
            self.send_header("X-Kind", "test")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def _route(self, body: bytes) -> tuple[int, bytes]:
            if self.path == "/slow":
                time.sleep(3)
            if self.path == "/missing":
                return 404, b"no such thing\n"
            if self.path == "/created":
                return 201, b"made it"
            if self.path == "/private":
                token = self.headers.get("Authorization")
                return (200, b"welcome") if token == "Bearer t0p-s3cret" else (401, b"who?")
            left = server.flaky.get(self.path, 0)
            if left:
                server.flaky[self.path] = left - 1
                return 503, b"try again"
            echo = {"method": self.command, "path": self.path, "body": body.decode()}
            return 200, json.dumps(echo).encode()

        def do_GET(self) -> None:
            self._answer()

        def do_POST(self) -> None:
            self._answer()

        def log_message(self, format: str, *args: object) -> None:
            return

    return Handler


@pytest.fixture
def http_server() -> Iterator[Server]:
    """A server on a free port of 127.0.0.1, for the duration of the test."""
    server = Server(url="")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(server))
    httpd.daemon_threads = True
    server.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()
