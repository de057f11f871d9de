"""What stands behind the stub Argo Server: objects in memory and a timer as controller.

A created workflow has no status until the "controller" picks it up; then, every `step_seconds`,
it moves on: Running (every pod started, half of its log written) and Succeeded (every pod
done, all of its log). Stop and terminate end it at once, as Failed; suspend holds it where it
is until resume. Errors are `ArgoFault`s that carry Argo's grpc code and message.
"""

from __future__ import annotations

import copy
import json
import queue
import random
import string
import threading
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.client.stub_query import field_matcher, label_matcher

JSON = dict[str, Any]
PHASE_LABEL = "workflows.argoproj.io/phase"
COMPLETED_LABEL = "workflows.argoproj.io/completed"
TEMPLATE_LABEL = "workflows.argoproj.io/workflow-template"
FINISHED = ("Succeeded", "Failed", "Error")
GRPC_HTTP = {2: 500, 3: 400, 5: 404, 6: 409, 7: 403, 9: 400, 12: 501, 16: 401}
HTTP_TEXT = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found"}
LOG = ["starting", "epoch 1 loss=0.50", "epoch 2 loss=0.25", "done: accuracy=0.98"]


class ArgoFault(Exception):
    """An error answer: a grpc code (3, 5, 6, 7, 9, 16, ...) and Argo's message."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def status(self) -> int:
        """The HTTP status grpc-gateway gives the code."""
        return GRPC_HTTP.get(self.code, 500)

    def body(self) -> JSON:
        """grpc-gateway's error shape."""
        return {"code": self.code, "message": self.message, "details": []}

    def stream_body(self) -> JSON:
        """grpc-gateway's error line of a stream."""
        error = {
            "grpc_code": self.code,
            "http_code": self.status,
            "message": self.message,
            "http_status": HTTP_TEXT.get(self.status, "Internal Server Error"),
            "details": [],
        }
        return {"error": error}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def not_found(kind: str, name: str) -> ArgoFault:
    """Kubernetes' not-found message for a `kind` (plural) named `name`."""
    return ArgoFault(5, f'{kind}.argoproj.io "{name}" not found')


class Cluster:
    """The API server's objects and a controller that moves workflows along on a timer."""

    def __init__(self, step_seconds: float | None = 0.2, log_lines: list[str] | None = None):
        self.step_seconds = step_seconds
        self.log_lines = list(log_lines or LOG)
        self.lock = threading.Condition()
        self.workflows: dict[tuple[str, str], JSON] = {}
        self.templates: dict[tuple[str, str], JSON] = {}
        self._rv = 1000
        self._watchers: list[queue.Queue[JSON | None]] = []
        self._timers: list[threading.Timer] = []
        self.closed = False

    # -- bookkeeping ---------------------------------------------------------------------
    def _bump(self, obj: JSON) -> None:
        self._rv += 1
        obj["metadata"]["resourceVersion"] = str(self._rv)

    def _publish(self, kind: str, wf: JSON) -> None:
        for watcher in self._watchers:
            watcher.put({"type": kind, "object": copy.deepcopy(wf)})
        self.lock.notify_all()

    def subscribe(self) -> queue.Queue[JSON | None]:
        """A queue that gets every workflow event from now on (None when the stub closes)."""
        with self.lock:
            watcher: queue.Queue[JSON | None] = queue.Queue()
            self._watchers.append(watcher)
            return watcher

    def unsubscribe(self, watcher: queue.Queue[JSON | None]) -> None:
        """Stop sending events to `watcher`."""
        with self.lock:
            if watcher in self._watchers:
                self._watchers.remove(watcher)

    def close(self) -> None:
        """Stop the controller's timers and end every watch."""
        with self.lock:
            self.closed = True
            for timer in self._timers:
                timer.cancel()
            for watcher in self._watchers:
                watcher.put(None)
            self.lock.notify_all()

    def _find(self, ns: str, name: str) -> JSON:
        wf = self.workflows.get((ns, name))
        if wf is None:
            raise not_found("workflows", name)
        return wf

    # -- workflows -----------------------------------------------------------------------
    def check(self, ns: str, wf: JSON) -> JSON:
        """The workflow as the server would lint it; ArgoFault(3) when it is invalid."""
        if not isinstance(wf, dict) or not isinstance(wf.get("spec"), dict):
            raise ArgoFault(3, "workflow: spec is required")
        meta = wf.get("metadata") or {}
        if not meta.get("name") and not meta.get("generateName"):
            raise ArgoFault(3, "workflow: metadata.name or metadata.generateName is required")
        self._spec_of(ns, wf["spec"])
        checked = copy.deepcopy(wf)
        checked["metadata"] = {**meta, "namespace": ns}
        return checked

    def _spec_of(self, ns: str, spec: JSON) -> JSON:
        """The spec that runs: the workflow's own, or its WorkflowTemplate's with its arguments."""
        ref = spec.get("workflowTemplateRef")
        if ref:
            key = ("" if ref.get("clusterScope") else ns, ref.get("name", ""))
            template = self.templates.get(key)
            if template is None:
                raise not_found("workflowtemplates", ref.get("name", ""))
            own = {k: v for k, v in spec.items() if k != "workflowTemplateRef"}
            return {**template["spec"], **own}
        templates = {t.get("name"): t for t in spec.get("templates") or []}
        entry = spec.get("entrypoint")
        if entry not in templates:
            raise ArgoFault(3, f'spec.entrypoint: template "{entry}" is not defined')
        for tmpl in templates.values():
            for step in _steps_of(tmpl):
                if step.get("template") not in templates:
                    raise ArgoFault(
                        3,
                        f"templates.{tmpl['name']}.{step.get('name')}: "
                        f'template "{step.get("template")}" is not defined',
                    )
        return spec

    def create(self, ns: str, wf: JSON, dry_run: bool = False) -> JSON:
        """Store a new workflow (named from generateName if need be) and start its clock."""
        with self.lock:
            checked = self.check(ns, wf)
            meta = checked["metadata"]
            if not meta.get("name"):
                suffix = "".join(random.choices(string.ascii_lowercase + string.digits, k=5))
                meta["name"] = meta["generateName"] + suffix
            if (ns, meta["name"]) in self.workflows:
                raise ArgoFault(6, f'workflows.argoproj.io "{meta["name"]}" already exists')
            meta["uid"] = f"{random.getrandbits(64):016x}"
            meta["creationTimestamp"] = _now()
            checked.setdefault("apiVersion", "argoproj.io/v1alpha1")
            checked.setdefault("kind", "Workflow")
            checked.pop("status", None)
            self._bump(checked)
            if dry_run:
                return checked
            self.workflows[(ns, meta["name"])] = checked
            self._publish("ADDED", checked)
            self._schedule(ns, meta["name"])
            return copy.deepcopy(checked)

    def get(self, ns: str, name: str) -> JSON:
        """One workflow."""
        with self.lock:
            return copy.deepcopy(self._find(ns, name))

    def list_workflows(
        self, ns: str, labels: str | None = None, fields: str | None = None
    ) -> list[JSON]:
        """The namespace's workflows that match the selectors, newest first."""
        with self.lock:
            found = [wf for (n, _), wf in self.workflows.items() if n == ns]
            if labels:
                matches = label_matcher(labels)
                found = [wf for wf in found if matches(wf["metadata"].get("labels") or {})]
            if fields:
                matches_fields = field_matcher(fields)
                found = [wf for wf in found if matches_fields(wf)]
            found.sort(key=lambda wf: int(wf["metadata"]["resourceVersion"]))
            found.sort(key=lambda wf: wf["metadata"]["creationTimestamp"], reverse=True)
            return copy.deepcopy(found)

    def snapshot(self) -> str:
        """The resource version the data is at now."""
        with self.lock:
            return str(self._rv)

    def delete(self, ns: str, name: str) -> None:
        """Remove a workflow."""
        with self.lock:
            wf = self.workflows.pop((ns, self._find(ns, name)["metadata"]["name"]))
            self._publish("DELETED", wf)

    def _change(self, ns: str, name: str, change: Any) -> JSON:
        with self.lock:
            wf = self._find(ns, name)
            change(wf)
            self._bump(wf)
            self._label(wf)
            self._publish("MODIFIED", wf)
            return copy.deepcopy(wf)

    def stop(self, ns: str, name: str, strategy: str, message: str | None = None) -> JSON:
        """Stop (exit handlers run) or Terminate: the workflow ends as Failed."""

        def change(wf: JSON) -> None:
            if _phase(wf) in FINISHED:
                raise ArgoFault(9, f"cannot shutdown a completed workflow: {name}")
            wf["spec"]["shutdown"] = strategy
            text = message or f"Stopped with strategy '{strategy}'"
            self._finish(wf, "Failed", text)

        return self._change(ns, name, change)

    def suspend(self, ns: str, name: str) -> JSON:
        """Hold a workflow where it is."""

        def change(wf: JSON) -> None:
            if _phase(wf) in FINISHED:
                raise ArgoFault(9, f"cannot suspend completed workflow {name}")
            wf["spec"]["suspend"] = True

        return self._change(ns, name, change)

    def resume(self, ns: str, name: str) -> JSON:
        """Let a suspended workflow go on."""

        def change(wf: JSON) -> None:
            if not wf["spec"].get("suspend"):
                raise ArgoFault(9, f"workflow {name} is not suspended")
            del wf["spec"]["suspend"]
            self._schedule(ns, name)

        return self._change(ns, name, change)

    def retry(self, ns: str, name: str, parameters: list[str]) -> JSON:
        """Run a Failed or Errored workflow again."""

        def change(wf: JSON) -> None:
            if _phase(wf) not in ("Failed", "Error"):
                raise ArgoFault(9, f"workflow must be Failed/Error to retry: {name}")
            wf["spec"].pop("shutdown", None)
            _set_parameters(wf["spec"], parameters)
            self._start(wf)
            self._schedule(ns, name)

        return self._change(ns, name, change)

    def resubmit(self, ns: str, name: str, parameters: list[str]) -> JSON:
        """A new workflow with the spec of `name` (and other parameter values)."""
        with self.lock:
            old = self._find(ns, name)
            spec = copy.deepcopy(old["spec"])
            for key in ("shutdown", "suspend"):
                spec.pop(key, None)
            _set_parameters(spec, parameters)
            labels = {k: v for k, v in (old["metadata"].get("labels") or {}).items()}
            for key in (PHASE_LABEL, COMPLETED_LABEL):
                labels.pop(key, None)
            labels["workflows.argoproj.io/resubmitted-from-workflow"] = name
            meta = {"generateName": f"{name}-", "labels": labels}
            return self.create(ns, {"metadata": meta, "spec": spec})

    def set_node(self, ns: str, name: str, selector: str, values: JSON) -> JSON:
        """Set phase, message or output parameters of the nodes `selector` picks."""

        def change(wf: JSON) -> None:
            nodes = (wf.get("status") or {}).get("nodes") or {}
            matches = field_matcher(selector)
            picked = [node for node in nodes.values() if matches(node)]
            if not picked:
                raise ArgoFault(3, f"nodeFieldSelector {selector!r} matched no node of {name}")
            for node in picked:
                if values.get("phase"):
                    node["phase"] = values["phase"]
                if values.get("message"):
                    node["message"] = values["message"]
                if values.get("outputParameters"):
                    given = json.loads(values["outputParameters"])
                    params = [{"name": k, "value": str(v)} for k, v in given.items()]
                    node.setdefault("outputs", {})["parameters"] = params

        return self._change(ns, name, change)

    def submit(self, ns: str, kind: str, name: str, options: JSON) -> JSON:
        """A Workflow made from a WorkflowTemplate or ClusterWorkflowTemplate."""
        cluster = kind.lower() in ("clusterworkflowtemplate", "cwftmpl")
        if not cluster and kind.lower() not in ("workflowtemplate", "wftmpl"):
            raise ArgoFault(3, f"resourceKind {kind!r} is not supported")
        with self.lock:
            if ("" if cluster else ns, name) not in self.templates:
                plural = "clusterworkflowtemplates" if cluster else "workflowtemplates"
                raise not_found(plural, name)
            ref: JSON = {"name": name, **({"clusterScope": True} if cluster else {})}
            spec: JSON = {"workflowTemplateRef": ref}
            _set_parameters(spec, list(options.get("parameters") or []))
            if options.get("entryPoint"):
                spec["entrypoint"] = options["entryPoint"]
            meta: JSON = {"generateName": options.get("generateName") or f"{name}-"}
            if options.get("name"):
                meta["name"] = options["name"]
            meta["labels"] = {TEMPLATE_LABEL: name}
            return self.create(ns, {"metadata": meta, "spec": spec})

    # -- templates -------------------------------------------------------------------------
    def create_template(self, ns: str, template: JSON) -> JSON:
        """Store a WorkflowTemplate (ns "" for a ClusterWorkflowTemplate)."""
        with self.lock:
            meta = dict(template.get("metadata") or {})
            name = meta.get("name")
            if not name:
                raise ArgoFault(3, "workflow template: metadata.name is required")
            if (ns, name) in self.templates:
                raise ArgoFault(6, f'workflowtemplates.argoproj.io "{name}" already exists')
            stored = {**copy.deepcopy(template), "metadata": meta}
            self._spec_of(ns, stored.get("spec") or {})
            meta.update(uid=f"{random.getrandbits(64):016x}", creationTimestamp=_now())
            if ns:
                meta["namespace"] = ns
            self._bump(stored)
            self.templates[(ns, name)] = stored
            return copy.deepcopy(stored)

    def get_template(self, ns: str, name: str) -> JSON:
        """One template."""
        with self.lock:
            if (ns, name) not in self.templates:
                raise not_found("workflowtemplates", name)
            return copy.deepcopy(self.templates[(ns, name)])

    def list_templates(self, ns: str, labels: str | None = None) -> list[JSON]:
        """The namespace's templates, by name."""
        with self.lock:
            found = [t for (n, _), t in sorted(self.templates.items()) if n == ns]
            if labels:
                matches = label_matcher(labels)
                found = [t for t in found if matches(t["metadata"].get("labels") or {})]
            return copy.deepcopy(found)

    def delete_template(self, ns: str, name: str) -> None:
        """Remove a template."""
        with self.lock:
            if self.templates.pop((ns, name), None) is None:
                raise not_found("workflowtemplates", name)

    # -- the controller --------------------------------------------------------------------
    def _schedule(self, ns: str, name: str) -> None:
        if self.step_seconds is None or self.closed:
            return
        uid = self.workflows[(ns, name)]["metadata"]["uid"]
        timer = threading.Timer(self.step_seconds, self._advance, (ns, name, uid))
        timer.daemon = True
        self._timers.append(timer)
        timer.start()

    def _advance(self, ns: str, name: str, uid: str) -> None:
        with self.lock:
            wf = self.workflows.get((ns, name))
            if self.closed or wf is None or wf["metadata"]["uid"] != uid:
                return
            if wf["spec"].get("suspend") or _phase(wf) in FINISHED:
                return
            if _phase(wf) == "Running":
                self._finish(wf, "Succeeded", None)
            else:
                self._start(wf)
                self._schedule(ns, name)
            self._bump(wf)
            self._label(wf)
            self._publish("MODIFIED", wf)

    def advance(self, ns: str, name: str) -> JSON:
        """One controller step now (for a stub made with step_seconds=None)."""
        with self.lock:
            uid = self._find(ns, name)["metadata"]["uid"]
        self._advance(ns, name, uid)
        return self.get(ns, name)

    def _start(self, wf: JSON) -> None:
        spec = self._spec_of(wf["metadata"]["namespace"], wf["spec"])
        now = _now()
        nodes = _nodes(wf["metadata"]["name"], spec, now)
        wf["status"] = {
            "phase": "Running",
            "startedAt": now,
            "progress": f"0/{sum(1 for n in nodes.values() if n['type'] == 'Pod')}",
            "nodes": nodes,
        }

    def _finish(self, wf: JSON, phase: str, message: str | None) -> None:
        now = _now()
        status = wf.setdefault("status", {})
        status.setdefault("startedAt", now)
        status.update(phase=phase, finishedAt=now)
        if message:
            status["message"] = message
        pods = 0
        for node in (status.get("nodes") or {}).values():
            if node["phase"] not in FINISHED:
                node.update(phase=phase, finishedAt=now)
                if message:
                    node["message"] = message
            if node["type"] == "Pod" and node["phase"] == "Succeeded":
                node["outputs"] = {"exitCode": "0"}
                pods += 1
        total = sum(1 for n in (status.get("nodes") or {}).values() if n["type"] == "Pod")
        status["progress"] = f"{pods}/{total}"

    def _label(self, wf: JSON) -> None:
        labels = wf["metadata"].setdefault("labels", {})
        phase = _phase(wf)
        if phase:
            labels[PHASE_LABEL] = phase
        if phase in FINISHED:
            labels[COMPLETED_LABEL] = "true"
        else:
            labels.pop(COMPLETED_LABEL, None)

    # -- logs ------------------------------------------------------------------------------
    def log_lines_of(self, ns: str, name: str) -> tuple[list[tuple[str, str]], bool]:
        """(pod, line) pairs written so far, and whether the workflow has finished."""
        with self.lock:
            wf = self._find(ns, name)
            lines: list[tuple[str, str]] = []
            for node in ((wf.get("status") or {}).get("nodes") or {}).values():
                if node["type"] != "Pod":
                    continue
                done = node["phase"] in FINISHED
                count = len(self.log_lines) if done else (len(self.log_lines) + 1) // 2
                pod = _pod_name(wf["metadata"]["name"], node)
                lines.extend((pod, line) for line in self.log_lines[:count])
            return lines, _phase(wf) in FINISHED


def _phase(wf: JSON) -> str | None:
    phase = (wf.get("status") or {}).get("phase")
    return str(phase) if phase else None


def _steps_of(template: JSON) -> list[JSON]:
    if "steps" in template:
        return [step for group in template["steps"] or [] for step in group or []]
    return list((template.get("dag") or {}).get("tasks") or [])


def _set_parameters(spec: JSON, pairs: list[str]) -> None:
    arguments = spec.setdefault("arguments", {})
    params = arguments.setdefault("parameters", [])
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise ArgoFault(3, f"expected parameter of the form: NAME=VALUE. Received: {pair}")
        found = next((p for p in params if p.get("name") == name), None)
        if found is None:
            params.append({"name": name, "value": value})
        else:
            found["value"] = value


def _hash(text: str) -> str:
    return str(zlib.crc32(text.encode()))


def _pod_name(workflow: str, node: JSON) -> str:
    return f"{workflow}-{node['templateName']}-{node['id'].rsplit('-', 1)[-1]}"


def _nodes(workflow: str, spec: JSON, now: str) -> dict[str, JSON]:
    templates = {t["name"]: t for t in spec.get("templates") or []}
    entry = templates[spec["entrypoint"]]
    kind = "Steps" if "steps" in entry else "DAG" if "dag" in entry else "Pod"
    root: JSON = {
        "id": workflow,
        "name": workflow,
        "displayName": workflow,
        "type": kind,
        "templateName": entry["name"],
        "phase": "Running",
        "startedAt": now,
    }
    nodes = {workflow: root}
    if kind == "Pod":
        return nodes
    children = []
    for index, step in enumerate(_steps_of(entry)):
        where = f"[{index}]" if kind == "Steps" else ""
        full = f"{workflow}{where}.{step['name']}"
        node_id = f"{workflow}-{_hash(full)}"
        nodes[node_id] = {
            "id": node_id,
            "name": full,
            "displayName": step["name"],
            "type": "Pod",
            "templateName": step["template"],
            "phase": "Running",
            "startedAt": now,
            "boundaryID": workflow,
        }
        children.append(node_id)
    root["children"] = children
    return nodes


def stamp(line: str, index: int) -> str:
    """A log line as Kubernetes writes it with timestamps on."""
    moment = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(milliseconds=index)
    return f"{moment.strftime('%Y-%m-%dT%H:%M:%S.%f')}000Z {line}"
