"""A stub Argo Server on 127.0.0.1 that answers as Argo does, each exchange checked by the swagger.

It serves the operations ArgoClient uses, wants `Authorization: Bearer <token>` as Argo with
`--auth-mode=client` does (tokens in `read_only` may only read), answers errors in
grpc-gateway's `{"code", "message", "details"}` shape, and streams watch events and logs as
newline-delimited `{"result": ...}` objects, or as server-sent events when asked for
`text/event-stream`. Every request goes through `SwaggerCheck` before it is served, and every
answer after; the violations are in `stub.check.violations`.
"""

from __future__ import annotations

import json
import queue
import re
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from tests.client.stub_cluster import JSON, ArgoFault, Cluster, stamp
from tests.client.stub_query import SelectorError, continue_token, pick_fields, read_continue
from tests.client.swagger_check import Operation, SwaggerCheck

UNAUTHENTICATED = "token not valid. see https://argo-workflows.readthedocs.io/en/latest/faq/"
VERSION = {
    "version": "v4.1.2",
    "buildDate": "2026-08-21T00:00:00Z",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTag": "v4.1.2",
    "gitTreeState": "clean",
    "goVersion": "go1.24.0",
    "compiler": "gc",
    "platform": "linux/amd64",
}


class Request:
    """One request as the handlers see it: operation, path parameters, query and body."""

    def __init__(self, op: Operation, path: str, query: list[tuple[str, str]], body: bytes):
        match = op.pattern.fullmatch(path)
        assert match is not None
        self.op = op
        self.path_params = {k: unquote(v) for k, v in match.groupdict().items()}
        self.query = dict(query)
        try:
            self.body: JSON = json.loads(body) if body.strip() else {}
        except ValueError as exc:
            raise ArgoFault(3, f"invalid JSON body: {exc}") from exc

    @property
    def ns(self) -> str:
        """The namespace of the path."""
        return self.path_params.get("namespace", "")

    @property
    def name(self) -> str:
        """The object name of the path."""
        return self.path_params.get("name", "")


Stream = Iterator[JSON | None]
"""What a streaming handler yields: result documents, or None for "nothing yet" (keep-alive)."""


class StubArgo:
    """The stub server: start() it, use `url`, stop() it (or use it as a context manager)."""

    def __init__(
        self,
        token: str = "stub-token",
        read_only: tuple[str, ...] = ("viewer-token",),
        step_seconds: float | None = 0.2,
        keepalive: float = 15.0,
    ) -> None:
        self.tokens = {token}
        self.read_only = set(read_only)
        self.keepalive = keepalive
        self.cluster = Cluster(step_seconds)
        self.check = SwaggerCheck()
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.stub = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        """Where it listens."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> StubArgo:
        """Serve in a thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """End streams, stop serving, free the port."""
        self.cluster.close()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> StubArgo:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    # -- serving ---------------------------------------------------------------------------
    def authorize(self, headers: Any, request: Request) -> None:
        """Raise Argo's 401/403 unless the bearer token may do what `request` asks."""
        given = str(headers.get("Authorization", ""))
        token = given.removeprefix("Bearer ") if given.startswith("Bearer ") else None
        if token not in self.tokens | self.read_only:
            raise ArgoFault(16, UNAUTHENTICATED)
        op = request.op
        if token in self.read_only and op.method != "get" and "Lint" not in op.operation_id:
            verb = {"post": "create", "put": "update", "delete": "delete"}[op.method]
            raise ArgoFault(
                7,
                'workflows.argoproj.io is forbidden: User "system:serviceaccount:argo:viewer" '
                f'cannot {verb} resource "workflows" in API group "argoproj.io" in the '
                f'namespace "{request.ns}"',
            )

    def answer(self, request: Request) -> JSON | Stream:
        """The document (or stream) that answers `request`."""
        handler = HANDLERS.get(request.op.operation_id)
        if handler is None:
            raise ArgoFault(12, f"{request.op.operation_id} is not implemented by the stub")
        return handler(self, request)


def _bool(value: str | None) -> bool:
    return value == "true"


def _list_page(stub: StubArgo, items: list[JSON], query: dict[str, str]) -> JSON:
    offset = read_continue(query["listOptions.continue"]) if "listOptions.continue" in query else 0
    limit = int(query.get("listOptions.limit") or 0)
    end = offset + limit if limit > 0 else len(items)
    meta: JSON = {"resourceVersion": stub.cluster.snapshot()}
    if end < len(items):
        meta["continue"] = continue_token(end, meta["resourceVersion"])
        meta["remainingItemCount"] = len(items) - end
    return {"metadata": meta, "items": items[offset:end]}


def _fields(doc: JSON, request: Request) -> JSON:
    fields = request.query.get("fields")
    picked: JSON = pick_fields(doc, fields) if fields else doc
    return picked


def version(stub: StubArgo, request: Request) -> JSON:
    """GET /api/v1/version."""
    return dict(VERSION)


def userinfo(stub: StubArgo, request: Request) -> JSON:
    """GET /api/v1/userinfo: who a client-mode token is."""
    return {
        "subject": "system:serviceaccount:argo:ci",
        "issuer": "kubernetes/serviceaccount",
        "serviceAccountName": "ci",
        "serviceAccountNamespace": "argo",
    }


def create(stub: StubArgo, request: Request) -> JSON:
    """POST /api/v1/workflows/{namespace}."""
    dry = bool(request.body.get("serverDryRun"))
    return stub.cluster.create(request.ns, request.body.get("workflow") or {}, dry_run=dry)


def lint(stub: StubArgo, request: Request) -> JSON:
    """POST /api/v1/workflows/{namespace}/lint."""
    return stub.cluster.check(request.ns, request.body.get("workflow") or {})


def get(stub: StubArgo, request: Request) -> JSON:
    """GET /api/v1/workflows/{namespace}/{name}."""
    return _fields(stub.cluster.get(request.ns, request.name), request)


def list_workflows(stub: StubArgo, request: Request) -> JSON:
    """GET /api/v1/workflows/{namespace}: a page, newest first."""
    q = request.query
    items = stub.cluster.list_workflows(
        request.ns, q.get("listOptions.labelSelector"), q.get("listOptions.fieldSelector")
    )
    name_filter = q.get("nameFilter")
    if name_filter:
        items = [wf for wf in items if name_filter in wf["metadata"]["name"]]
    return _fields(_list_page(stub, items, q), request)


def delete(stub: StubArgo, request: Request) -> JSON:
    """DELETE /api/v1/workflows/{namespace}/{name}."""
    stub.cluster.delete(request.ns, request.name)
    return {}


def act(verb: str) -> Callable[[StubArgo, Request], JSON]:
    """PUT /api/v1/workflows/{namespace}/{name}/{verb}."""

    def handle(stub: StubArgo, request: Request) -> JSON:
        cluster, ns, name, body = stub.cluster, request.ns, request.name, request.body
        if verb in ("stop", "terminate"):
            strategy = "Stop" if verb == "stop" else "Terminate"
            return cluster.stop(ns, name, strategy, body.get("message"))
        if verb == "suspend":
            return cluster.suspend(ns, name)
        if verb == "resume":
            return cluster.resume(ns, name)
        if verb == "retry":
            return cluster.retry(ns, name, list(body.get("parameters") or []))
        if verb == "resubmit":
            return cluster.resubmit(ns, name, list(body.get("parameters") or []))
        return cluster.set_node(ns, name, body.get("nodeFieldSelector") or "", body)

    return handle


def submit(stub: StubArgo, request: Request) -> JSON:
    """POST /api/v1/workflows/{namespace}/submit."""
    body = request.body
    options = body.get("submitOptions") or {}
    return stub.cluster.submit(
        request.ns, body.get("resourceKind") or "", body.get("resourceName") or "", options
    )


def watch(stub: StubArgo, request: Request) -> Stream:
    """GET /api/v1/workflow-events/{namespace}: ADDED for what is there, then every change."""
    q = request.query
    labels, fields = q.get("listOptions.labelSelector"), q.get("listOptions.fieldSelector")
    watcher = stub.cluster.subscribe()
    try:
        existing = stub.cluster.list_workflows(request.ns, labels, fields)
    except SelectorError:
        stub.cluster.unsubscribe(watcher)
        raise
    wanted = {wf["metadata"]["uid"] for wf in existing}
    return _events(stub, request, watcher, existing, wanted)


def _events(
    stub: StubArgo,
    request: Request,
    watcher: queue.Queue[JSON | None],
    existing: list[JSON],
    wanted: set[str],
) -> Stream:
    q = request.query
    labels, fields = q.get("listOptions.labelSelector"), q.get("listOptions.fieldSelector")
    deadline = time.monotonic() + float(q.get("listOptions.timeoutSeconds") or 1e9)
    try:
        for wf in existing:
            yield {"result": {"type": "ADDED", "object": _fields(wf, request)}}
        while time.monotonic() < deadline:
            try:
                event = watcher.get(
                    timeout=max(0.0, min(stub.keepalive, deadline - time.monotonic()))
                )
            except queue.Empty:
                yield None
                continue
            if event is None:
                return
            wf = event["object"]
            if wf["metadata"].get("namespace") != request.ns:
                continue
            if event["type"] != "DELETED" and _matches(stub, request.ns, wf, labels, fields):
                wanted.add(wf["metadata"]["uid"])
            elif wf["metadata"]["uid"] not in wanted:
                continue
            yield {"result": {"type": event["type"], "object": _fields(wf, request)}}
    finally:
        stub.cluster.unsubscribe(watcher)


def _matches(stub: StubArgo, ns: str, wf: JSON, labels: str | None, fields: str | None) -> bool:
    found = stub.cluster.list_workflows(ns, labels, fields)
    return any(other["metadata"]["uid"] == wf["metadata"]["uid"] for other in found)


def logs(stub: StubArgo, request: Request) -> Stream:
    """GET /api/v1/workflows/{namespace}/{name}/log: each pod's lines, then more with follow."""
    stub.cluster.log_lines_of(request.ns, request.name)  # not found: an error before the stream
    return _log_lines(stub, request)


def _log_lines(stub: StubArgo, request: Request) -> Stream:
    q = request.query
    pod, grep = q.get("podName"), q.get("grep")
    tail = int(q["logOptions.tailLines"]) if "logOptions.tailLines" in q else None
    sent: set[tuple[str, int]] = set()
    first = True
    while True:
        try:
            lines, finished = stub.cluster.log_lines_of(request.ns, request.name)
        except ArgoFault as fault:
            yield fault.stream_body()
            return
        numbered = _numbered(lines)
        if first and tail is not None:
            numbered = _tail(numbered, tail)
        first = False
        for name, index, line in numbered:
            if (name, index) in sent or (pod and pod != name):
                continue
            sent.add((name, index))
            if grep and not re.search(grep, line):
                continue
            content = stamp(line, index) if _bool(q.get("logOptions.timestamps")) else line
            yield {"result": {"podName": name, "content": content}}
        if finished or not _bool(q.get("logOptions.follow")):
            return
        with stub.cluster.lock:
            stub.cluster.lock.wait(timeout=min(stub.keepalive, 0.1))
        if stub.cluster.closed:
            return
        yield None


def _numbered(lines: list[tuple[str, str]]) -> list[tuple[str, int, str]]:
    counts: dict[str, int] = {}
    numbered = []
    for pod, line in lines:
        numbered.append((pod, counts.get(pod, 0), line))
        counts[pod] = counts.get(pod, 0) + 1
    return numbered


def _tail(numbered: list[tuple[str, int, str]], count: int) -> list[tuple[str, int, str]]:
    kept: list[tuple[str, int, str]] = []
    for pod in dict.fromkeys(name for name, _, _ in numbered):
        kept.extend([entry for entry in numbered if entry[0] == pod][-count:] if count else [])
    return kept


def create_template(stub: StubArgo, request: Request) -> JSON:
    """POST /api/v1/workflow-templates/{namespace}."""
    return stub.cluster.create_template(request.ns, request.body.get("template") or {})


def get_template(stub: StubArgo, request: Request) -> JSON:
    """GET /api/v1/workflow-templates/{namespace}/{name}."""
    return stub.cluster.get_template(request.ns, request.name)


def list_templates(stub: StubArgo, request: Request) -> JSON:
    """GET /api/v1/workflow-templates/{namespace}."""
    items = stub.cluster.list_templates(request.ns, request.query.get("listOptions.labelSelector"))
    return _list_page(stub, items, request.query)


def delete_template(stub: StubArgo, request: Request) -> JSON:
    """DELETE /api/v1/workflow-templates/{namespace}/{name}."""
    stub.cluster.delete_template(request.ns, request.name)
    return {}


HANDLERS: dict[str, Callable[[StubArgo, Request], JSON | Stream]] = {
    "InfoService_GetVersion": version,
    "InfoService_GetUserInfo": userinfo,
    "WorkflowService_CreateWorkflow": create,
    "WorkflowService_LintWorkflow": lint,
    "WorkflowService_GetWorkflow": get,
    "WorkflowService_ListWorkflows": list_workflows,
    "WorkflowService_DeleteWorkflow": delete,
    "WorkflowService_SubmitWorkflow": submit,
    "WorkflowService_WatchWorkflows": watch,
    "WorkflowService_WorkflowLogs": logs,
    "WorkflowTemplateService_CreateWorkflowTemplate": create_template,
    "WorkflowTemplateService_GetWorkflowTemplate": get_template,
    "WorkflowTemplateService_ListWorkflowTemplates": list_templates,
    "WorkflowTemplateService_DeleteWorkflowTemplate": delete_template,
    **{
        f"WorkflowService_{verb.capitalize()}Workflow": act(verb)
        for verb in ("stop", "terminate", "suspend", "resume", "retry", "resubmit", "set")
    },
}


class _Handler(BaseHTTPRequestHandler):
    """HTTP/1.1 plumbing: check, authorize, answer (whole or chunked), check the answer."""

    protocol_version = "HTTP/1.1"
    server: Any

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def _serve(self) -> None:
        stub: StubArgo = self.server.stub
        url = urlsplit(self.path)
        query = parse_qsl(url.query, keep_blank_values=True)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        stub.requests.append((self.command, url.path, dict(query)))
        op = stub.check.check_request(self.command, url.path, query, body)
        if op is None:
            self._send(404, ArgoFault(5, "Not Found").body())
            return
        try:
            request = Request(op, url.path, query, body)
            stub.authorize(self.headers, request)
            answer = stub.answer(request)
        except ArgoFault as fault:
            self._fail(op, fault)
            return
        except ValueError as exc:  # SelectorError, or a query value grpc-gateway cannot parse
            self._fail(op, ArgoFault(3, str(exc)))
            return
        if isinstance(answer, dict):
            stub.check.check_answer_document(op, 200, answer, partial="fields" in dict(query))
            self._send(200, answer)
        else:
            self._stream(stub, op, answer)

    def _fail(self, op: Operation, fault: ArgoFault) -> None:
        body = fault.stream_body() if op.streams else fault.body()
        self.server.stub.check.check_answer_document(op, fault.status, body)
        self._send(fault.status, body)

    def _send(self, status: int, document: JSON) -> None:
        data = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, stub: StubArgo, op: Operation, items: Stream) -> None:
        events = "text/event-stream" in self.headers.get("Accept", "")
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream" if events else "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for item in items:
                if item is None:
                    if events:
                        self._chunk(b": keep-alive\n\n")
                    continue
                stub.check.check_answer_document(op, 200, item)
                line = json.dumps(item).encode()
                self._chunk(b"data: " + line + b"\n\n" if events else line + b"\n")
            self._chunk(b"")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        finally:
            if hasattr(items, "close"):
                items.close()

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()
