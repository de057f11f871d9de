"""`run|submit --debug`: start Python steps under debugpy and write VS Code's attach settings."""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import socket
import subprocess
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
import yaml

from trainyard.cli.output import err
from trainyard.controller.launch import SCRIPT_PATH
from trainyard.core.errors import UserError
from trainyard.spec.models import Workflow

DEBUG_OPTION = typer.Option(
    False,
    "--debug",
    help="Start the workflow's Python steps under debugpy, each waiting for a debugger "
    "(VS Code: the attach configurations written to .vscode/launch.json).",
)
DEBUG_STEP_OPTION = typer.Option(
    [],
    "--debug-step",
    help="Debug only this step, task or template (repeatable); implies --debug.",
)

CLUSTER_PORT = 5678
"""Where debugpy listens inside a cluster pod (and the first local port forwarded to it)."""

LAUNCH_JSON = Path(".vscode") / "launch.json"
CONFIG_PREFIX = "trainyard: "
_PYTHON = re.compile(r"python(\d+(\.\d+)*)?$")
_OPTIONS_WITH_VALUE = {"-W", "-X", "--check-hash-based-pycs"}
_HAS_DEBUGPY = "import importlib.util, sys; sys.exit(importlib.util.find_spec('debugpy') is None)"


@dataclass(frozen=True)
class DebugStep:
    """A template chosen for debugging, under the step name the user knows it by."""

    name: str
    template: str
    python: str
    env: dict[str, str]
    working_dir: str | None


@dataclass(frozen=True)
class Listener:
    """Where one debugged step's debugpy listens, and where a debugger on this machine connects."""

    step: DebugStep
    listen: str
    local_port: int


# --- the rewrite: pure functions over the workflow document ---------------------------------


def program_start(argv: list[str]) -> int | None:
    """Index in `argv` of what python runs (`-m`, `-c` or a script), after interpreter
    options; None when `argv` does not run a Python program."""
    if not argv or not _PYTHON.match(os.path.basename(argv[0])):
        return None
    i = 1
    while i < len(argv):
        token = argv[i]
        if token in ("-m", "-c") or not token.startswith("-") or token == "-":
            break
        i += 2 if token in _OPTIONS_WITH_VALUE else 1
    if i >= len(argv) or argv[i] == "-" or (argv[i] in ("-m", "-c") and i + 1 >= len(argv)):
        return None  # a REPL or a program from stdin: nothing for debugpy to start
    if argv[i : i + 2] == ["-m", "debugpy"]:
        return None  # it starts debugpy itself
    return i


def _argv(template: dict[str, Any]) -> tuple[dict[str, Any], list[str]] | None:
    """The main container of a container/script template and the command line it runs."""
    if isinstance(template.get("script"), dict):
        script = template["script"]
        return script, [*script.get("command", []), *script.get("args", []), SCRIPT_PATH]
    if isinstance(template.get("container"), dict):
        container = template["container"]
        return container, [*container.get("command", []), *container.get("args", [])]
    return None


def runs_python(template: dict[str, Any]) -> bool:
    """Whether the template's main container starts a Python program debugpy can start."""
    found = _argv(template)
    return found is not None and program_start(found[1]) is not None


def debug_container(container: dict[str, Any], listen: str, script: bool) -> dict[str, Any]:
    """`container` with `python ... <program>` turned into
    `python ... -m debugpy --listen LISTEN --wait-for-client <program>`.

    The words go into `command` or `args`, wherever the program starts, so each field keeps
    its role; a script template's source file (appended by the executor) follows them."""
    command = list(container.get("command", []))
    args = list(container.get("args", []))
    start = program_start([*command, *args, *([SCRIPT_PATH] if script else [])])
    if start is None:
        raise UserError(f"container {container.get('name', 'main')!r} does not run Python")
    debugpy = ["-m", "debugpy", "--listen", listen, "--wait-for-client"]
    if start <= len(command):
        command[start:start] = debugpy
    else:
        at = start - len(command)
        args[at:at] = debugpy
    changed = {**container, "command": command}
    if args:
        changed["args"] = args
    return changed


def step_names(doc: dict[str, Any]) -> dict[str, list[str]]:
    """Template name -> names of the steps and DAG tasks that call it, in document order."""
    names: dict[str, list[str]] = {}
    for template in _templates(doc):
        calls = [s for group in template.get("steps") or [] for s in group or []]
        calls += (template.get("dag") or {}).get("tasks") or []
        for call in calls:
            target, name = call.get("template"), call.get("name")
            if (
                isinstance(target, str)
                and isinstance(name, str)
                and name not in names.get(target, [])
            ):
                names.setdefault(target, []).append(name)
    return names


def _templates(doc: dict[str, Any]) -> list[dict[str, Any]]:
    templates = (doc.get("spec") or {}).get("templates") or []
    return [t for t in templates if isinstance(t, dict)]


def choose(doc: dict[str, Any], wanted: list[str]) -> list[DebugStep]:
    """The templates to debug: those `wanted` names (a template, step or task name) call,
    or every Python template when none is named. UserError for a name that fits nothing."""
    templates = {str(t.get("name")): t for t in _templates(doc)}
    callers = step_names(doc)
    python = [name for name, t in templates.items() if runs_python(t)]
    chosen: dict[str, str] = {}  # template -> name shown for it
    for name in wanted:
        hits = [t for t in templates if t == name or name in callers.get(t, [])]
        if not hits:
            known = ", ".join(_label(t, callers) for t in python) or "none"
            raise UserError(
                f"--debug-step {name!r} names no step or template; Python steps: {known}"
            )
        if not any(t in python for t in hits):
            found = _argv(templates[hits[0]])
            what = " ".join(found[1]) if found else f"a {_kind(templates[hits[0]])} template"
            raise UserError(
                f"--debug-step {name!r}: template {hits[0]!r} does not start Python "
                f"(it runs {what}); only python/python3 [-m module | script] can be debugged"
            )
        for template in (t for t in hits if t in python):
            chosen.setdefault(template, name if name != template else _label(template, callers))
    if not wanted:
        chosen = {t: _label(t, callers) for t in python}
    if not chosen:
        raise UserError("--debug: the workflow has no step that runs python or python3")
    labels = list(chosen.values())
    return [
        _debug_step(t, templates[t], label if labels.count(label) == 1 else t)
        for t, label in chosen.items()
    ]


def _label(template: str, callers: dict[str, list[str]]) -> str:
    names = callers.get(template, [])
    return names[0] if len(names) == 1 else template


def _kind(template: dict[str, Any]) -> str:
    kinds = ("steps", "dag", "suspend", "resource", "data", "http", "containerSet", "plugin")
    return next((k for k in kinds if k in template), "non-container")


def _debug_step(name: str, template: dict[str, Any], label: str) -> DebugStep:
    found = _argv(template)
    assert found is not None, "chosen templates run Python"
    container, argv = found
    env = {
        str(e["name"]): str(e["value"])
        for e in container.get("env") or []
        if isinstance(e, dict) and "name" in e and isinstance(e.get("value"), str)
    }
    return DebugStep(label, name, argv[0], env, container.get("workingDir"))


def rewrite(doc: dict[str, Any], listeners: list[Listener], cluster: bool) -> dict[str, Any]:
    """A copy of `doc` whose chosen templates start under debugpy; on a cluster each also
    exposes debugpy's port on its main container (podSpecPatch)."""
    by_template = {listener.step.template: listener for listener in listeners}
    changed = copy.deepcopy(doc)
    for template in _templates(changed):
        listener = by_template.get(str(template.get("name")))
        if listener is None:
            continue
        kind = "script" if isinstance(template.get("script"), dict) else "container"
        template[kind] = debug_container(template[kind], listener.listen, kind == "script")
        if cluster:
            template["podSpecPatch"] = pod_spec_patch(template.get("podSpecPatch"), template)
    return changed


def pod_spec_patch(existing: Any, template: dict[str, Any]) -> str:
    """`existing` podSpecPatch (JSON or YAML text) plus debugpy's port on the main container."""
    patch: Any = {}
    if existing:
        try:
            patch = yaml.safe_load(str(existing))
        except yaml.YAMLError:
            patch = None
        if not isinstance(patch, dict):
            raise UserError(
                f"template {template.get('name')!r}: its podSpecPatch is not a YAML/JSON "
                "mapping trainyard can add debugpy's port to; remove it to debug this step"
            )
    containers = patch.setdefault("containers", [])
    main = next((c for c in containers if isinstance(c, dict) and c.get("name") == "main"), None)
    if main is None:
        main = {"name": "main"}
        containers.append(main)
    port = {"name": "debugpy", "containerPort": CLUSTER_PORT, "hostPort": CLUSTER_PORT}
    main["ports"] = [*(p for p in main.get("ports") or [] if p.get("name") != "debugpy"), port]
    return json.dumps(patch, separators=(",", ":"))


# --- ports, debugpy, launch.json: the edges ---------------------------------------------------


def free_ports(count: int) -> list[int]:
    """`count` distinct TCP ports free on 127.0.0.1 now (held open together while picking)."""
    with ExitStack() as stack:
        ports = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind(("127.0.0.1", 0))
            ports.append(int(sock.getsockname()[1]))
        return ports


def check_debugpy(steps: list[DebugStep]) -> None:
    """UserError, naming the step and the interpreter, when a step's python has no debugpy."""
    checked: set[tuple[str, str]] = set()
    for step in steps:
        env = {**os.environ, **step.env}
        if "{{" in step.python or (step.python, env.get("PYTHONPATH", "")) in checked:
            continue
        checked.add((step.python, env.get("PYTHONPATH", "")))
        python = shutil.which(step.python, path=env.get("PATH"))
        if python is None:
            raise UserError(
                f"step {step.name}: {step.python} is not on PATH, so it cannot run under debugpy"
            )
        found = subprocess.run(
            [python, "-c", _HAS_DEBUGPY], env=env, capture_output=True, check=False, timeout=60
        )
        if found.returncode != 0:
            raise UserError(
                f"step {step.name}: {python} cannot import debugpy; install it where the step "
                f"runs: {python} -m pip install 'debugpy>=1.8'"
            )


def launch_configuration(listener: Listener, local_root: str, remote_root: str) -> dict[str, Any]:
    """VS Code's attach configuration for one debugged step."""
    return {
        "name": CONFIG_PREFIX + listener.step.name,
        "type": "debugpy",
        "request": "attach",
        "connect": {"host": "127.0.0.1", "port": listener.local_port},
        "pathMappings": [{"localRoot": local_root, "remoteRoot": remote_root}],
        "justMyCode": False,
    }


def strip_jsonc(text: str) -> str:
    """JSON with comments (VS Code's launch.json) as plain JSON: `//` and `/* */` comments
    and trailing commas removed, lines kept where they were (for error positions)."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == '"':
            end = _string_end(text, i)
            out.append(text[i:end])
            i = end
        elif text.startswith("//", i):
            newline = text.find("\n", i)
            i = n if newline < 0 else newline
        elif text.startswith("/*", i):
            close = text.find("*/", i + 2)
            end = n if close < 0 else close + 2
            out.append("\n" * text.count("\n", i, end))
            i = end
        else:
            out.append(c)
            i += 1
    return _drop_trailing_commas("".join(out))


def _string_end(text: str, start: int) -> int:
    i = start + 1
    while i < len(text) and text[i] != '"':
        i += 2 if text[i] == "\\" else 1
    return i + 1


def _drop_trailing_commas(text: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(text):
        if text[i] == '"':
            end = _string_end(text, i)
            out.append(text[i:end])
            i = end
            continue
        if text[i] == ",":
            rest = text[i + 1 :].lstrip()
            if rest[:1] in ("}", "]"):
                i += 1
                continue
        out.append(text[i])
        i += 1
    return "".join(out)


def merge_launch(text: str | None, configs: list[dict[str, Any]], where: str) -> dict[str, Any]:
    """launch.json's content (`text`, None when there is none) with `configs` put in:
    a configuration of the same name is replaced in place, every other one is kept."""
    data: Any = {"version": "0.2.0", "configurations": []}
    if text is not None and text.strip():
        try:
            data = json.loads(strip_jsonc(text))
        except json.JSONDecodeError as exc:
            raise UserError(
                f"{where}:{exc.lineno}:{exc.colno}: cannot read it as JSON with comments "
                f"({exc.msg}); fix it, or move it away and run again"
            ) from None
        if not isinstance(data, dict) or not isinstance(data.get("configurations", []), list):
            raise UserError(f"{where}: expected an object with a `configurations` list")
    mine = {c["name"]: c for c in configs}
    kept = []
    for config in data.get("configurations", []):
        name = config.get("name") if isinstance(config, dict) else None
        kept.append(mine.pop(name) if name in mine else config)
    data = {"version": data.get("version", "0.2.0"), **data}
    data["configurations"] = [*kept, *mine.values()]
    return dict(data)


def write_launch(directory: Path, configs: list[dict[str, Any]]) -> Path:
    """Write `configs` into `directory`/.vscode/launch.json, keeping its other configurations."""
    path = directory / LAUNCH_JSON
    text = path.read_text() if path.exists() else None
    data = merge_launch(text, configs, str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(data, indent=4) + "\n")
    partial.replace(path)
    if text is not None and strip_jsonc(text) != text:
        err.print(f"{path}: its comments were not kept", highlight=False)
    return path


# --- what run and submit call -----------------------------------------------------------------


def _wanted(debug: bool, steps: list[str]) -> bool:
    return debug or bool(steps)


def debug_local(wf: Workflow, file: Path, debug: bool, steps: list[str]) -> Workflow:
    """With --debug: `wf` with its chosen Python steps waiting for a debugger on free ports
    of 127.0.0.1, launch.json written, and where to attach printed on stderr."""
    if not _wanted(debug, steps):
        return wf
    doc = wf.dump()
    chosen = choose(doc, steps)
    check_debugpy(chosen)
    ports = free_ports(len(chosen))
    listeners = [Listener(s, f"127.0.0.1:{p}", p) for s, p in zip(chosen, ports, strict=True)]
    # A local step sees this machine's files at their own paths (only /tmp and declared
    # artifact paths are private), so the sources map onto themselves.
    source = str(file.resolve().parent)
    configs = [launch_configuration(lis, source, source) for lis in listeners]
    path = write_launch(Path.cwd(), configs)
    for listener in listeners:
        err.print(
            f"step {listener.step.name} waits for a debugger on 127.0.0.1:{listener.local_port}",
            highlight=False,
        )
    err.print(f"attach with {_names(listeners)} in {path}", highlight=False)
    return Workflow.model_validate(rewrite(doc, listeners, cluster=False))


def debug_remote(
    doc: dict[str, Any], file: Path, debug: bool, steps: list[str], namespace: str
) -> dict[str, Any]:
    """With --debug on a cluster: the chosen Python steps listen on 0.0.0.0:5678 in their
    pods, launch.json expects them forwarded to 127.0.0.1:5678, 5679, ...; hints on stderr."""
    if not _wanted(debug, steps):
        return doc
    chosen = choose(doc, steps)
    listen = f"0.0.0.0:{CLUSTER_PORT}"
    listeners = [Listener(s, listen, CLUSTER_PORT + i) for i, s in enumerate(chosen)]
    source = str(file.resolve().parent)
    # Without a workingDir the image's WORKDIR is the step's, which only the image knows:
    # "." is debugpy's name for the debuggee's working directory.
    configs = [launch_configuration(lis, source, lis.step.working_dir or ".") for lis in listeners]
    path = write_launch(Path.cwd(), configs)
    for listener in listeners:
        err.print(
            f"step {listener.step.name} waits for a debugger on port {CLUSTER_PORT} of its pod; "
            f"once it runs: kubectl port-forward -n {namespace} pod/<pod> "
            f"{listener.local_port}:{CLUSTER_PORT}  (<pod>: its PODNAME in `trainyard get`)",
            highlight=False,
        )
    err.print(f"then attach with {_names(listeners)} in {path}", highlight=False)
    return rewrite(doc, listeners, cluster=True)


def _names(listeners: list[Listener]) -> str:
    return ", ".join(f'"{CONFIG_PREFIX}{lis.step.name}"' for lis in listeners)
