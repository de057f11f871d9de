"""An http template as a step: our own request command, run and supervised like any pod.

Argo runs http templates in its agent; here the request is a step whose command is
`python -m trainyard.executors.httpcall`, so it is queued, logged, retried, timed out and
re-adopted like every other step. Header values from Secrets travel in the step's
environment only (launch.json keeps variable names, never values).
"""

from __future__ import annotations

import base64
import binascii
import os
import sys
from pathlib import Path
from typing import Any

from trainyard.controller.secrets import SecretSource
from trainyard.core.errors import UserError
from trainyard.engine.actions import PodRequest
from trainyard.executors import httpcall
from trainyard.executors.base import Mount, PathMap, StepLaunch
from trainyard.executors.httpcall import NO_RESPONSE, REQUEST_VARIABLE, HttpRequest
from trainyard.spec.models.http import HTTP

HTTPCALL_MODULE = "trainyard.executors.httpcall"
PACKAGE_ROOT = Path(httpcall.__file__).resolve().parents[2]


def http_launch(
    pod: PodRequest,
    secrets: SecretSource,
    key: str,
    env: dict[str, str],
    engine_paths: list[Mount],
) -> StepLaunch:
    """The StepLaunch of the http template of `pod`; `env` is the step's base environment."""
    spec = pod.template.http
    assert spec is not None
    request = http_request(pod, spec, secrets)
    step_env = {**env, REQUEST_VARIABLE: request.to_json()}
    # The step imports the very trainyard the controller runs, wherever that came from.
    step_env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(PACKAGE_ROOT), env.get("PYTHONPATH", "")) if p
    )
    return StepLaunch(
        key=key,
        command=[sys.executable, "-m", HTTPCALL_MODULE],
        env=step_env,
        working_dir="/tmp",
        mounts=list(engine_paths),
        deadline_seconds=pod.deadline_seconds,
        collect=_collect,
        stderr_message=True,
    )


def http_request(pod: PodRequest, spec: HTTP, secrets: SecretSource) -> HttpRequest:
    """The request `spec` describes, with Secret header values read from the store."""
    if not spec.url:
        raise UserError(f"http template {pod.template.name!r} has no url")
    headers: list[tuple[str, str]] = []
    secret_names: set[str] = set()
    for header in spec.headers:
        ref = header.value_from.secret_key_ref if header.value_from is not None else None
        if ref is None:
            headers.append((header.name, header.value or ""))
            continue
        value = secrets.value("Secret", pod.namespace, ref)
        secret_names.add(header.name)
        if value is not None:
            headers.append((header.name, value))
    return HttpRequest(
        url=spec.url,
        method=(spec.method or "GET").upper(),
        headers=headers,
        secret_headers=frozenset(secret_names),
        body=_body(pod, spec),
        body_text=spec.body or "",
        timeout=spec.timeout(),
        insecure=bool(spec.insecure_skip_verify),
        success_condition=spec.success_condition or "",
    )


def _body(pod: PodRequest, spec: HTTP) -> bytes:
    if spec.body_from is not None:
        try:
            return base64.b64decode(spec.body_from.bytes_ or "", validate=True)
        except (binascii.Error, ValueError) as exc:
            raise UserError(
                f"http template {pod.template.name!r}: bodyFrom.bytes is not base64"
            ) from exc
    return (spec.body or "").encode()


def _collect(paths: PathMap, exit_code: int) -> dict[str, Any]:
    """The step's outputs: `result` (the response body, taken from stdout) when it got one."""
    return {} if exit_code == NO_RESPONSE else {"result": ""}
