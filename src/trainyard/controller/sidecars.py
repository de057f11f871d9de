"""A template's init containers, sidecars and daemon readinessProbe, as its supervisor runs them.

Every container of the step sees the same files: the step's private /tmp and paths, and
the union of all containers' volume mounts (so `mirrorVolumeMounts` always holds).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from trainyard.core.errors import UserError
from trainyard.engine.actions import PodRequest
from trainyard.executors.base import Probe, SideContainer
from trainyard.spec.models import Container, Template

CommandOf = Callable[[Container], list[str]]
"""The command line of a container (its `command`, else its image's known entrypoint)."""
EnvOf = Callable[[Container], dict[str, str]]
"""A container's own `env`, with secret and configMap references read."""


class SideContainerError(UserError):
    """An init container, sidecar or readinessProbe that the local engine cannot run."""


def side_models(tmpl: Template) -> list[Container]:
    """The template's init containers, then its sidecars, as Container models."""
    items = [*(tmpl.init_containers or []), *(tmpl.sidecars or [])]
    return [Container.model_validate(item) for item in items]


def refuse_in_containers(tmpl: Template) -> None:
    """The container executor runs one container per step: say so for what needs more."""
    for field, what in (
        ("init_containers", "initContainers"),
        ("sidecars", "sidecars"),
        ("daemon", "daemon: true"),
    ):
        if getattr(tmpl, field):
            raise SideContainerError(
                f"template {tmpl.name!r} uses {what}, which --executor container does not "
                "run yet; run it with --executor process"
            )


def side_containers(
    pod: PodRequest,
    items: list[dict[str, Any]] | None,
    kind: str,
    common_env: dict[str, str],
    env_of: EnvOf,
    command_of: CommandOf,
) -> list[SideContainer]:
    """The init containers or sidecars (`kind`) of `pod`, each with its environment."""
    sides = []
    for index, item in enumerate(items or []):
        model = Container.model_validate(item)
        name = model.name or f"{kind.replace(' ', '-')}-{index}"
        try:
            command = command_of(model)
        except UserError:
            command = []
        if not command:
            raise SideContainerError(
                f"template {pod.template.name!r}: {kind} {name!r} has no `command`: the local "
                f"engine runs host processes and cannot use the entrypoint of image "
                f"{model.image or '?'!r}; add `command:`"
            )
        env = {**common_env, "ARGO_CONTAINER_NAME": name, **env_of(model)}
        sides.append(SideContainer(name, command, env))
    return sides


def readiness_probe(main: Container) -> Probe | None:
    """The main container's readinessProbe, or None when it has none."""
    spec = (main.model_extra or {}).get("readinessProbe")
    if not isinstance(spec, dict):
        return None
    timing = Probe(
        "",
        initial_delay=float(spec.get("initialDelaySeconds") or 0),
        period=float(spec.get("periodSeconds") or 10),
        timeout=float(spec.get("timeoutSeconds") or 1),
        success_threshold=int(spec.get("successThreshold") or 1),
    )
    if isinstance(spec.get("exec"), dict):
        command = [str(part) for part in spec["exec"].get("command") or []]
        if not command:
            raise SideContainerError("readinessProbe.exec has no command")
        return replace(timing, kind="exec", command=tuple(command))
    for key, kind in (("httpGet", "http"), ("tcpSocket", "tcp")):
        action = spec.get(key)
        if isinstance(action, dict):
            port = _port(main, action.get("port"))
            path = str(action.get("path") or "/")
            scheme = str(action.get("scheme") or "http")
            return replace(timing, kind=kind, port=port, path=path, scheme=scheme)
    kinds = ", ".join(k for k in spec if not k[0].isupper() and not k.endswith("Seconds"))
    raise SideContainerError(
        f"readinessProbe ({kinds or 'empty'}): the local engine runs exec, httpGet and "
        "tcpSocket probes"
    )


def _port(main: Container, value: object) -> int:
    """A probe's port: a number, or the name of one of the container's `ports`."""
    if isinstance(value, int):
        return value
    text = str(value or "")
    if text.isdigit():
        return int(text)
    for port in (main.model_extra or {}).get("ports") or []:
        if isinstance(port, dict) and port.get("name") == text:
            return int(port.get("containerPort") or 0)
    raise SideContainerError(f"readinessProbe port {text!r} is not a number or a named port")
