"""ArgoClient: Argo Server's REST API over httpx, for a trainyard server or a real Argo server."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import quote

import httpx

from trainyard.client.errors import error_for, not_json, stream_error
from trainyard.core.errors import EnvironmentError_

JSON = dict[str, Any]
DEFAULT_TIMEOUT = 30.0
SSE = "text/event-stream"
SSE_FIELDS = ("event:", "id:", "retry:")
ACTIONS: dict[str, frozenset[str]] = {
    "stop": frozenset({"message", "nodeFieldSelector"}),
    "terminate": frozenset(),
    "suspend": frozenset(),
    "resume": frozenset({"nodeFieldSelector"}),
    "retry": frozenset({"parameters", "restartSuccessful", "nodeFieldSelector"}),
    "resubmit": frozenset({"parameters", "memoized"}),
    "set": frozenset({"message", "nodeFieldSelector", "outputParameters", "phase"}),
}
"""Each PUT verb on a workflow and the body fields its Argo request type has besides name and
namespace (Argo drops any other field without a word, so the client refuses them)."""


def stream_documents(lines: Iterable[str]) -> Iterator[str]:
    """The JSON texts of a stream: server-sent events (`data:` lines, comments, keep-alives,
    a blank line after each event) or newline-delimited JSON, as the server chose."""
    data: list[str] = []
    for line in lines:
        if not line.strip():
            if data:
                yield "\n".join(data)
                data = []
        elif line.startswith("data:"):
            data.append(line.removeprefix("data:").removeprefix(" "))
        elif line.startswith(":") or line.startswith(SSE_FIELDS):
            continue
        else:
            if data:
                yield "\n".join(data)
                data = []
            yield line
    if data:
        yield "\n".join(data)


class ArgoClient:
    """One server, one namespace by default; every method raises trainyard's errors."""

    def __init__(
        self,
        server: str,
        token: str | None = None,
        namespace: str = "default",
        verify: bool | str = True,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.server = server.rstrip("/")
        self.namespace = namespace
        self._timeout = timeout
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = token if token.startswith("Bearer ") else f"Bearer {token}"
        self._http = httpx.Client(
            base_url=self.server, headers=headers, verify=verify, timeout=timeout
        )

    def close(self) -> None:
        """Close the connections."""
        self._http.close()

    # -- plumbing ---------------------------------------------------------------------------
    def _ns(self, namespace: str | None) -> str:
        return quote(namespace or self.namespace, safe="")

    def _call(self, method: str, path: str, **kwargs: Any) -> JSON:
        try:
            answer = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise self._unreachable(exc) from exc
        if answer.status_code >= 400:
            raise error_for(answer.status_code, answer.content, self.server)
        if not answer.content.strip():
            return {}
        try:
            data = answer.json()
        except ValueError as exc:
            raise not_json(self.server, f"{method} {path}", answer.text) from exc
        if not isinstance(data, dict):
            raise not_json(self.server, f"{method} {path}", answer.text)
        return data

    def _unreachable(self, exc: Exception) -> EnvironmentError_:
        return EnvironmentError_(
            f"cannot reach the server at {self.server}: {exc} "
            "(is `trainyard server` running there, and is --server right?)"
        )

    def _stream(self, path: str, params: dict[str, str]) -> Iterator[JSON]:
        """The `result` objects of a streaming endpoint, as they come. It asks for server-sent
        events, as Argo's own clients do (their keep-alives get through proxies that cut idle
        connections), and reads newline-delimited JSON too; no read timeout, as a watch may
        rightly stay quiet for hours."""
        timeout = httpx.Timeout(self._timeout, read=None)
        headers = {"Accept": SSE}
        try:
            with self._http.stream(
                "GET", path, params=params, headers=headers, timeout=timeout
            ) as answer:
                if answer.status_code >= 400:
                    raise error_for(answer.status_code, answer.read(), self.server)
                for text in stream_documents(answer.iter_lines()):
                    yield from self._results(path, text)
        except httpx.HTTPError as exc:
            raise self._unreachable(exc) from exc

    def _results(self, path: str, text: str) -> Iterator[JSON]:
        try:
            item = json.loads(text)
        except ValueError as exc:
            raise not_json(self.server, f"GET {path}", text) from exc
        if not isinstance(item, dict):
            raise not_json(self.server, f"GET {path}", text)
        if item.get("error") and not item.get("result"):
            raise stream_error(item["error"], self.server)
        if isinstance(item.get("result"), dict):
            yield item["result"]

    # -- info ---------------------------------------------------------------------------------
    def version(self) -> JSON:
        """The server's version (`/api/v1/version`)."""
        return self._call("GET", "/api/v1/version")

    def userinfo(self) -> JSON:
        """Who the server thinks the caller is."""
        return self._call("GET", "/api/v1/userinfo")

    # -- workflows ------------------------------------------------------------------------------
    def create_workflow(self, workflow: JSON, namespace: str | None = None) -> JSON:
        """Submit a Workflow object; returns it as stored (name filled in)."""
        ns = namespace or workflow.get("metadata", {}).get("namespace") or self.namespace
        body = {"namespace": ns, "workflow": workflow}
        return self._call("POST", f"/api/v1/workflows/{self._ns(ns)}", json=body)

    def lint_workflow(self, workflow: JSON, namespace: str | None = None) -> JSON:
        """Ask the server to check a Workflow without submitting it."""
        ns = namespace or self.namespace
        body = {"namespace": ns, "workflow": workflow}
        return self._call("POST", f"/api/v1/workflows/{self._ns(ns)}/lint", json=body)

    def get_workflow(
        self, name: str, namespace: str | None = None, fields: str | None = None
    ) -> JSON:
        """One workflow (optionally only `fields`, Argo's comma list)."""
        params = {"fields": fields} if fields else None
        path = f"/api/v1/workflows/{self._ns(namespace)}/{quote(name, safe='')}"
        return self._call("GET", path, params=params)

    def list_workflows(
        self,
        namespace: str | None = None,
        label_selector: str | None = None,
        limit: int | None = None,
        continue_token: str | None = None,
        fields: str | None = None,
    ) -> JSON:
        """A page of workflows: `items` and `metadata.continue` for the next page."""
        params: dict[str, str] = {}
        if label_selector:
            params["listOptions.labelSelector"] = label_selector
        if limit:
            params["listOptions.limit"] = str(limit)
        if continue_token:
            params["listOptions.continue"] = continue_token
        if fields:
            params["fields"] = fields
        return self._call("GET", f"/api/v1/workflows/{self._ns(namespace)}", params=params)

    def delete_workflow(self, name: str, namespace: str | None = None) -> None:
        """Delete a workflow."""
        self._call("DELETE", f"/api/v1/workflows/{self._ns(namespace)}/{quote(name, safe='')}")

    def act(self, verb: str, name: str, namespace: str | None = None, **body: Any) -> JSON:
        """stop, terminate, suspend, resume, retry, resubmit or set a workflow; `body` holds
        the verb's other fields (`parameters=[...]`, `message=...`, see ACTIONS)."""
        allowed = ACTIONS.get(verb)
        if allowed is None:
            raise ValueError(f"unknown workflow action {verb!r}: one of {', '.join(ACTIONS)}")
        unknown = sorted(set(body) - allowed)
        if unknown:
            raise ValueError(f"{verb} takes no {', '.join(unknown)} (Argo would ignore it)")
        ns = namespace or self.namespace
        payload = {"name": name, "namespace": ns, **body}
        path = f"/api/v1/workflows/{self._ns(ns)}/{quote(name, safe='')}/{verb}"
        return self._call("PUT", path, json=payload)

    def submit_from(
        self,
        kind: str,
        name: str,
        parameters: list[str],
        namespace: str | None = None,
        entry_point: str | None = None,
        workflow_name: str | None = None,
    ) -> JSON:
        """Start a Workflow from a WorkflowTemplate, ClusterWorkflowTemplate or CronWorkflow."""
        ns = namespace or self.namespace
        options: JSON = {"parameters": parameters}
        if entry_point:
            options["entryPoint"] = entry_point
        if workflow_name:
            options["name"] = workflow_name
        body = {
            "namespace": ns,
            "resourceKind": kind,
            "resourceName": name,
            "submitOptions": options,
        }
        return self._call("POST", f"/api/v1/workflows/{self._ns(ns)}/submit", json=body)

    def watch_workflow(self, name: str, namespace: str | None = None) -> Iterator[JSON]:
        """Events (`{"type", "object"}`) of one workflow as the server sends them."""
        params = {"listOptions.fieldSelector": f"metadata.name={name}"}
        return self._stream(f"/api/v1/workflow-events/{self._ns(namespace)}", params)

    def logs(
        self,
        name: str,
        namespace: str | None = None,
        pod_name: str | None = None,
        follow: bool = False,
        grep: str | None = None,
        tail_lines: int | None = None,
        timestamps: bool = False,
    ) -> Iterator[JSON]:
        """Log entries (`{"podName", "content"}`) of a workflow's pods."""
        params = {"logOptions.container": "main"}
        if pod_name:
            params["podName"] = pod_name
        if follow:
            params["logOptions.follow"] = "true"
        if grep:
            params["grep"] = grep
        if tail_lines is not None:
            params["logOptions.tailLines"] = str(tail_lines)
        if timestamps:
            params["logOptions.timestamps"] = "true"
        path = f"/api/v1/workflows/{self._ns(namespace)}/{quote(name, safe='')}/log"
        return self._stream(path, params)

    # -- workflow templates ---------------------------------------------------------------------
    def create_template(self, template: JSON, namespace: str | None = None) -> JSON:
        """Store a WorkflowTemplate; returns it as stored."""
        ns = namespace or template.get("metadata", {}).get("namespace") or self.namespace
        body = {"namespace": ns, "template": template}
        return self._call("POST", f"/api/v1/workflow-templates/{self._ns(ns)}", json=body)

    def get_template(self, name: str, namespace: str | None = None) -> JSON:
        """One WorkflowTemplate."""
        path = f"/api/v1/workflow-templates/{self._ns(namespace)}/{quote(name, safe='')}"
        return self._call("GET", path)

    def list_templates(
        self, namespace: str | None = None, label_selector: str | None = None
    ) -> list[JSON]:
        """Every WorkflowTemplate of the namespace (all pages)."""
        items: list[JSON] = []
        params: dict[str, str] = {}
        if label_selector:
            params["listOptions.labelSelector"] = label_selector
        while True:
            page = self._call(
                "GET", f"/api/v1/workflow-templates/{self._ns(namespace)}", params=params
            )
            items.extend(page.get("items") or [])
            token = (page.get("metadata") or {}).get("continue")
            if not token:
                return items
            params["listOptions.continue"] = token

    def delete_template(self, name: str, namespace: str | None = None) -> None:
        """Delete a WorkflowTemplate."""
        path = f"/api/v1/workflow-templates/{self._ns(namespace)}/{quote(name, safe='')}"
        self._call("DELETE", path)
