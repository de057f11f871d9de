"""The command an http template's step runs: one HTTP request, judged as Argo's agent does.

It reads the request from the environment variable TRAINYARD_HTTP_REQUEST (JSON, written
by the controller with Secret header values filled in: environment values are never
written to disk), prints the response body to stdout (so that it becomes `outputs.result`)
and a line about the exchange to stderr. Header values are never printed.

Exit codes: 0 the request succeeded; 1 the response was judged a failure (not 2xx, or
`successCondition` false); 2 no response (connection refused, timeout, bad URL). On
failure the last stderr line says why; the supervisor makes it the node's message.
"""

from __future__ import annotations

import base64
import json
import os
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

from trainyard.core.errors import ExpressionError
from trainyard.spec.expr import evaluate

REQUEST_VARIABLE = "TRAINYARD_HTTP_REQUEST"
SUCCEEDED, JUDGED_FAILED, NO_RESPONSE = 0, 1, 2


@dataclass(frozen=True)
class HttpRequest:
    """What to send, and how to judge the answer."""

    url: str
    method: str = "GET"
    headers: list[tuple[str, str]] = field(default_factory=list)
    # Names of the headers whose values came from Secrets: left out of `request.headers`.
    secret_headers: frozenset[str] = frozenset()
    body: bytes = b""
    body_text: str = ""
    timeout: float = 30.0
    insecure: bool = False
    success_condition: str = ""

    def to_json(self) -> str:
        """This request as the JSON the controller passes in the environment."""
        return json.dumps(
            {
                "url": self.url,
                "method": self.method,
                "headers": [list(h) for h in self.headers],
                "secretHeaders": sorted(self.secret_headers),
                "body": base64.b64encode(self.body).decode(),
                "bodyText": self.body_text,
                "timeout": self.timeout,
                "insecure": self.insecure,
                "successCondition": self.success_condition,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> HttpRequest:
        """The request `to_json` wrote."""
        data = json.loads(text)
        return cls(
            url=str(data["url"]),
            method=str(data.get("method") or "GET"),
            headers=[(str(n), str(v)) for n, v in data.get("headers") or []],
            secret_headers=frozenset(data.get("secretHeaders") or []),
            body=base64.b64decode(data.get("body") or ""),
            body_text=str(data.get("bodyText") or ""),
            timeout=float(data.get("timeout") or 30.0),
            insecure=bool(data.get("insecure")),
            success_condition=str(data.get("successCondition") or ""),
        )


@dataclass(frozen=True)
class HttpResponse:
    """What came back."""

    status: int
    reason: str
    headers: dict[str, list[str]]
    body: bytes


class NoResponse(Exception):
    """The request got no HTTP response; the message says why."""


def canonical(name: str) -> str:
    """A header name as Go writes it (`content-type` -> `Content-Type`)."""
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))


def shown_url(url: str) -> str:
    """`url` without a password, for messages."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


def _header_map(message: Message) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, value in message.items():
        out.setdefault(canonical(name), []).append(value)
    return out


def send(request: HttpRequest) -> HttpResponse:
    """Send `request`; NoResponse when no HTTP response came back in time."""
    shown = f'{request.method} "{shown_url(request.url)}"'
    try:
        req = urllib.request.Request(request.url, data=request.body or None, method=request.method)
    except ValueError as exc:
        raise NoResponse(f"{shown}: {exc}") from exc
    for name, value in request.headers:
        req.add_header(name, value)
    context = None
    if request.insecure:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    try:
        with urllib.request.urlopen(req, timeout=request.timeout, context=context) as answer:
            return _response(answer.status, answer.reason, answer.headers, answer.read())
    except urllib.error.HTTPError as error:
        # A response all the same (4xx, 5xx): judged below like any other.
        with error:
            return _response(error.code, error.reason, error.headers, error.read())
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, TimeoutError) or isinstance(exc, TimeoutError):
            raise NoResponse(f"{shown}: no response within {request.timeout:g}s") from exc
        raise NoResponse(f"{shown}: {reason}") from exc


def _response(status: int, reason: str, headers: Message, body: bytes) -> HttpResponse:
    return HttpResponse(status, str(reason or ""), _header_map(headers), body)


def verdict(request: HttpRequest, response: HttpResponse) -> str | None:
    """Why the response counts as a failure, or None when it is a success.

    Without `successCondition`, any 2xx status succeeds. With one, the expression decides,
    over `request.*` and `response.statusCode`, `response.body`, `response.headers`.
    """
    if not request.success_condition:
        if 200 <= response.status < 300:
            return None
        return f"received non-2xx response code: {response.status}"
    env = condition_env(request, response)
    try:
        result = evaluate(request.success_condition, env)
    except ExpressionError as exc:
        return f"successCondition: {exc}"
    if not isinstance(result, bool):
        return (
            f"successCondition '{request.success_condition}' must be true or false, not {result!r}"
        )
    if result:
        return None
    return f"successCondition '{request.success_condition}' evaluated false"


def condition_env(request: HttpRequest, response: HttpResponse) -> dict[str, Any]:
    """The variables a successCondition reads (Secret header values left out)."""
    headers: dict[str, list[str]] = {}
    for name, value in request.headers:
        if name not in request.secret_headers:
            headers.setdefault(name, []).append(value)
    return {
        "request": {
            "method": request.method,
            "url": request.url,
            "body": request.body_text,
            "headers": headers,
        },
        "response": {
            "statusCode": response.status,
            "body": response.body.decode(errors="replace"),
            "headers": response.headers,
        },
    }


def main(environ: Mapping[str, str]) -> int:
    """Run the request described in `environ`; returns the exit code."""
    text = environ.get(REQUEST_VARIABLE)
    if not text:
        print(f"http: {REQUEST_VARIABLE} is not set", file=sys.stderr)
        return NO_RESPONSE
    request = HttpRequest.from_json(text)
    try:
        response = send(request)
    except NoResponse as exc:
        print(str(exc), file=sys.stderr)
        return NO_RESPONSE
    # One newline more than the body: the engine drops one from stdout, so `result` is exact.
    sys.stdout.buffer.write(response.body + b"\n")
    sys.stdout.flush()
    print(
        f"{request.method} {shown_url(request.url)}: {response.status} {response.reason}".rstrip(),
        file=sys.stderr,
    )
    failure = verdict(request, response)
    if failure is None:
        return SUCCEEDED
    print(failure, file=sys.stderr)
    return JUDGED_FAILED


if __name__ == "__main__":
    sys.exit(main(os.environ))
