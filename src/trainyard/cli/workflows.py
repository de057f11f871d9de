"""Workflow commands: run, submit, wait, get, list, delete, stop, terminate, retry, ..."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import typer
from rich.live import Live

from trainyard.cli import remote
from trainyard.cli.apply import parse_from, workflow_from
from trainyard.cli.debug import DEBUG_OPTION, DEBUG_STEP_OPTION, debug_local, debug_remote
from trainyard.cli.engine import Driver, ensure_engine
from trainyard.cli.output import OUTPUT_OPTION, Format, emit, err, is_structured, out
from trainyard.cli.prepare import load_workflow, remote_workflow, stamp
from trainyard.cli.remote import Remote
from trainyard.cli.render import list_table, show_workflow, workflow_view
from trainyard.cli.services import State
from trainyard.controller import cleanup
from trainyard.controller.launch import EXECUTOR_ANNOTATION, executor_annotations
from trainyard.core.clock import SystemClock
from trainyard.core.config import load_config
from trainyard.core.errors import UserError
from trainyard.core.ids import generated_name
from trainyard.engine import operations
from trainyard.spec.models import Workflow
from trainyard.spec.params import merge_cli, parse_pairs

app = typer.Typer()
KIND = "Workflow"
NAMESPACE_OPTION = typer.Option(None, "--namespace", "-n", help="Namespace (default: default).")
PARAM_OPTION = typer.Option([], "--parameter", "-p", help="Workflow parameter NAME=VALUE.")
PARAMS_OPTION = typer.Option(None, "--params", help="Parameters as JSON: '{\"batch_size\": 2}'.")
EXECUTOR_OPTION = typer.Option(
    None,
    "--executor",
    help="process: steps run as host processes; container: in podman/docker containers "
    "(default: the config's `executor:`, else process).",
)


def _namespace(value: str | None) -> str:
    return value or State.services().settings.namespace


def exit_code(wf: Workflow) -> int:
    """0 when the workflow Succeeded, 1 otherwise."""
    return 0 if wf.status is not None and wf.status.phase == "Succeeded" else 1


@app.command()
def run(
    file: Path = typer.Argument(..., help="Workflow YAML or JSON file."),
    parameter: list[str] = PARAM_OPTION,
    params: str | None = PARAMS_OPTION,
    entrypoint: str | None = typer.Option(None, "--entrypoint", help="Template to start from."),
    name: str | None = typer.Option(None, "--name", help="Workflow name (default: generated)."),
    namespace: str | None = NAMESPACE_OPTION,
    label: list[str] = typer.Option([], "--label", "-l", help="Label KEY=VALUE."),
    debug: bool = DEBUG_OPTION,
    debug_step: list[str] = DEBUG_STEP_OPTION,
    executor: str | None = EXECUTOR_OPTION,
    output: Format = OUTPUT_OPTION,
) -> None:
    """Run a workflow and wait for it; exit 0 if it Succeeded, 1 if not."""
    code = _submit_file(
        file,
        parameter,
        params,
        entrypoint,
        name,
        namespace,
        label,
        debug,
        debug_step,
        executor,
        True,
        output,
    )
    raise typer.Exit(code)


@app.command()
def submit(
    file: Path | None = typer.Argument(None, help="Workflow YAML or JSON file."),
    from_: str | None = typer.Option(
        None,
        "--from",
        help="Run a stored template instead of a file: workflowtemplate/NAME, "
        "clusterworkflowtemplate/NAME or cronworkflow/NAME.",
    ),
    parameter: list[str] = PARAM_OPTION,
    params: str | None = PARAMS_OPTION,
    entrypoint: str | None = typer.Option(None, "--entrypoint", help="Template to start from."),
    name: str | None = typer.Option(None, "--name", help="Workflow name (default: generated)."),
    namespace: str | None = NAMESPACE_OPTION,
    label: list[str] = typer.Option([], "--label", "-l", help="Label KEY=VALUE."),
    wait: bool = typer.Option(
        False, "--wait", "--watch", "-w", help="Wait until it finishes (a live tree on a terminal)."
    ),
    debug: bool = DEBUG_OPTION,
    debug_step: list[str] = DEBUG_STEP_OPTION,
    executor: str | None = EXECUTOR_OPTION,
    output: Format = OUTPUT_OPTION,
) -> None:
    """Queue a workflow (on this machine, or on --server); with --wait, like `run`."""
    if (file is None) == (from_ is None):
        raise UserError("give a workflow FILE, or --from workflowtemplate/NAME (one of them)")
    if from_ is not None:
        raise typer.Exit(
            _submit_from(from_, parameter, params, entrypoint, name, namespace, wait, output)
        )
    assert file is not None
    code = _submit_file(
        file,
        parameter,
        params,
        entrypoint,
        name,
        namespace,
        label,
        debug,
        debug_step,
        executor,
        wait,
        output,
    )
    raise typer.Exit(code)


def _submit_file(
    file: Path,
    parameter: list[str],
    params: str | None,
    entrypoint: str | None,
    name: str | None,
    namespace: str | None,
    label: list[str],
    debug: bool,
    debug_step: list[str],
    executor: str | None,
    wait: bool,
    output: Format,
) -> int:
    """Submit the workflow in `file` (to --server, or here); with `wait`, like `run`."""
    if Remote.active():
        ns = Remote.namespace(namespace)
        doc = remote_workflow(
            file, parameter, params, entrypoint, name, ns, label, Remote.target.context
        )
        doc = debug_remote(doc, file, debug, debug_step, ns)
        return remote.submit(doc, ns, wait, output)
    chosen = _executor(executor)
    wf = load_workflow(
        file, parameter, params, entrypoint, name, _namespace(namespace), label,
        store=State.services().store, containers=_boxed(chosen),
    )  # fmt: skip
    wf = _annotated(debug_local(wf, file, debug, debug_step), chosen)
    if wait:
        return _run_and_wait(wf, output)
    services = State.services()
    stored = Workflow.model_validate(services.store.create(KIND, wf.dump()))
    ensure_engine(services)
    show_workflow(stored, output, brief=True)
    return 0


def _submit_from(
    ref: str,
    parameter: list[str],
    params: str | None,
    entrypoint: str | None,
    name: str | None,
    namespace: str | None,
    wait: bool,
    output: Format,
) -> int:
    kind, source = parse_from(ref)
    values = [f"{k}={v}" for k, v in merge_cli(parameter, params).items()]
    if Remote.active():
        ns = Remote.namespace(namespace)
        created = Remote.client().submit_from(kind, source, values, ns, entrypoint, name)
        if wait:
            return remote.wait_for(created["metadata"]["name"], ns, output)
        show_workflow(Workflow.model_validate(created), output, brief=True)
        return 0
    services = State.services()
    ns = _namespace(namespace)
    text = workflow_from(services, kind, source, ns)
    wf = load_workflow(Path(ref), values, None, entrypoint, name, ns, [], services.store, text=text)
    if wait:
        return _run_and_wait(wf, output)
    stored = Workflow.model_validate(services.store.create(KIND, wf.dump()))
    ensure_engine(services)
    show_workflow(stored, output, brief=True)
    return 0


def _executor(executor: str | None) -> dict[str, str]:
    """The annotations that run a workflow's steps as --executor (or the config) says."""
    return executor_annotations(executor, load_config(State.services().settings.home, Path.cwd()))


def _boxed(annotations: dict[str, str]) -> bool:
    """Whether the steps run in containers."""
    return annotations.get(EXECUTOR_ANNOTATION) == "container"


def _annotated(wf: Workflow, extra: dict[str, str]) -> Workflow:
    """`wf` with the executor's annotations."""
    if not extra:
        return wf
    annotations = {**(wf.metadata.annotations or {}), **extra}
    meta = wf.metadata.model_copy(update={"annotations": annotations})
    return wf.model_copy(update={"metadata": meta})


def _run_and_wait(wf: Workflow, output: Format) -> int:
    services = State.services()
    live_view = sys.stdout.isatty() and not is_structured(output)
    live = Live(workflow_view(wf), console=out, auto_refresh=False) if live_view else None

    def changed(current: Workflow) -> None:
        if live is not None:
            live.update(workflow_view(current), refresh=True)

    driver = Driver(services, changed)
    interrupts = _Interrupts()
    try:
        stored = driver.submit(wf)
        namespace, name = stored.metadata.namespace or "default", stored.metadata.name or ""
        if not is_structured(output) and live is None:
            err.print(f"Workflow {name} submitted", highlight=False)
        if live is not None:
            live.start()
        final = _wait(driver, namespace, name, interrupts)
    finally:
        if live is not None:
            live.stop()
        interrupts.restore()
        driver.close()
    if live is None:
        show_workflow(final, output)
    return exit_code(final)


class _Interrupts:
    """Ctrl-C once: stop the workflow (exit handlers run). Twice: leave at once."""

    def __init__(self) -> None:
        self.count = 0
        self.told = False
        self._old = signal.signal(signal.SIGINT, self._handle)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.count += 1
        if self.count >= 2:
            raise KeyboardInterrupt

    def restore(self) -> None:
        signal.signal(signal.SIGINT, self._old)


def _wait(driver: Driver, namespace: str, name: str, interrupts: _Interrupts) -> Workflow:
    def interrupted() -> bool:
        if interrupts.count == 1 and not interrupts.told:
            interrupts.told = True
            err.print("Stopping the workflow (Ctrl-C again to leave it running)...")
        return interrupts.count > 0

    try:
        return driver.wait(namespace, name, interrupted)
    except KeyboardInterrupt:
        err.print(f"Left workflow {name} running; see it with `trainyard get {name}`.")
        raise typer.Exit(130) from None


@app.command()
def get(
    name: str = typer.Argument(..., help="Workflow name."),
    namespace: str | None = NAMESPACE_OPTION,
    output: Format = OUTPUT_OPTION,
) -> None:
    """Show a workflow and its nodes."""
    if Remote.active():
        remote.get(name, Remote.namespace(namespace), output)
        return
    services = State.services()
    ensure_engine(services)
    doc = services.store.get(KIND, _namespace(namespace), name)
    show_workflow(Workflow.model_validate(doc), output)


@app.command(name="wait")
def wait_cmd(
    name: str = typer.Argument(..., help="Workflow name."),
    namespace: str | None = NAMESPACE_OPTION,
    output: Format = OUTPUT_OPTION,
) -> None:
    """Wait for a workflow to finish; exit 0 if it Succeeded, 1 if not."""
    if Remote.active():
        raise typer.Exit(remote.wait_for(name, Remote.namespace(namespace), output))
    services = State.services()
    driver = Driver(services, lambda wf: None)
    try:
        final = driver.wait(_namespace(namespace), name)
    finally:
        driver.close()
    show_workflow(final, output)
    raise typer.Exit(exit_code(final))


@app.command(name="list")
def list_cmd(
    namespace: str | None = NAMESPACE_OPTION,
    all_namespaces: bool = typer.Option(False, "--all-namespaces", "-A"),
    status: list[str] = typer.Option([], "--status", help="Only these phases."),
    running: bool = typer.Option(False, "--running", help="Only unfinished workflows."),
    completed: bool = typer.Option(False, "--completed", help="Only finished workflows."),
    output: Format = OUTPUT_OPTION,
) -> None:
    """List workflows, newest first."""
    if Remote.active():
        ns = None if all_namespaces else Remote.namespace(namespace)
        selector = remote.phase_selector(status, running, completed)
        remote.list_workflows(ns, selector, output)
        return
    services = State.services()
    ensure_engine(services)
    phases = list(status) or None
    if running:
        phases = ["", "Pending", "Running"]
    if completed:
        phases = ["Succeeded", "Failed", "Error"]
    ns = None if all_namespaces else _namespace(namespace)
    docs = services.store.list(KIND, namespace=ns, phases=phases)
    workflows = [Workflow.model_validate(d) for d in reversed(docs)]
    if is_structured(output):
        emit({"items": [w.dump() for w in workflows]}, output)
    elif output == Format.name:
        for wf in workflows:
            out.print(wf.metadata.name or "")
    else:
        out.print(list_table(workflows, wide=output == Format.wide))


def _retry(wf: Workflow) -> Workflow:
    retried = operations.retry(wf)
    cleanup.forget_dropped(State.services().executor, wf, retried)
    return retried


# verb -> (what it does to the stored workflow, past tense, help)
EDITS: dict[str, tuple[Callable[[Workflow], Workflow], str, str]] = {
    "stop": (operations.stop, "stopped", "Stop a workflow: running steps end, exit handlers run."),
    "terminate": (operations.terminate, "terminated", "End a workflow at once: no exit handler."),
    "suspend": (operations.suspend, "suspended", "Start no new steps until resumed."),
    "resume": (
        lambda wf: operations.resume(wf, SystemClock().now()),
        "resumed",
        "Resume a suspended workflow (and end waiting suspend steps).",
    ),
    "retry": (_retry, "retried", "Run the failed parts of a Failed/Error workflow again."),
}


def edit_workflow(
    name: str,
    namespace: str | None,
    verb: str,
    output: Format,
    change: Callable[[Workflow], Workflow] | None = None,
    **remote_body: Any,
) -> None:
    """Apply `verb` (one of EDITS, or `change` instead) to a stored workflow, or ask the server
    to (with `remote_body` as the request's other fields)."""
    if Remote.active():
        past = EDITS[verb][1] if verb in EDITS else f"{verb} done"
        remote.edit(verb, past, name, Remote.namespace(namespace), output, **remote_body)
        return
    services = State.services()
    ns = _namespace(namespace)
    edit = change or EDITS[verb][0]
    wf = edit(Workflow.model_validate(services.store.get(KIND, ns, name)))
    stored = Workflow.model_validate(services.store.update(KIND, wf.dump()))
    ensure_engine(services)
    if is_structured(output):
        emit(stored.dump(), output)
    else:
        done = EDITS[verb][1] if verb in EDITS else f"{verb} done"
        out.print(f"workflow {name} {done}", highlight=False)


def _edit_command(verb: str) -> None:
    def command(
        name: str = typer.Argument(..., help="Workflow name."),
        namespace: str | None = NAMESPACE_OPTION,
        output: Format = OUTPUT_OPTION,
    ) -> None:
        edit_workflow(name, namespace, verb, output)

    app.command(name=verb, help=EDITS[verb][2])(command)


for _verb in EDITS:
    if _verb != "resume":  # cli/nodes_cmd.py has it, with --node
        _edit_command(_verb)


@app.command()
def resubmit(
    name: str,
    namespace: str | None = NAMESPACE_OPTION,
    parameter: list[str] = PARAM_OPTION,
    wait: bool = typer.Option(False, "--wait", "-w", help="Wait until it finishes."),
    memoized: bool = typer.Option(
        False, "--memoized", help="Keep what succeeded (a Failed/Error workflow): rerun the rest."
    ),
    output: Format = OUTPUT_OPTION,
) -> None:
    """Submit a copy of a workflow (optionally with other parameters)."""
    if Remote.active():
        ns = Remote.namespace(namespace)
        raise typer.Exit(remote.resubmit(name, ns, parameter, wait, output, memoized))
    services = State.services()
    ns = _namespace(namespace)
    old = Workflow.model_validate(services.store.get(KIND, ns, name))
    if memoized:
        base = old.metadata.generate_name or f"{old.metadata.name}-"
        copy = operations.resubmit_memoized(old, generated_name(base), parse_pairs(parameter))
        new = stamp(copy, copy.metadata.name, ns, []).model_copy(update={"status": copy.status})
    else:
        new = stamp(operations.resubmit(old, parse_pairs(parameter)), None, ns, [])
    if wait:
        raise typer.Exit(_run_and_wait(new, output))
    stored = Workflow.model_validate(services.store.create(KIND, new.dump()))
    ensure_engine(services)
    show_workflow(stored, output, brief=True)


@app.command()
def delete(
    names: list[str] = typer.Argument(..., help="Workflow names."),
    namespace: str | None = NAMESPACE_OPTION,
    with_artifacts: bool = typer.Option(
        False, "--with-artifacts", help="Also delete the artifacts its steps stored."
    ),
) -> None:
    """Delete workflows (a running one is terminated first)."""
    if Remote.active():
        remote.delete(names, Remote.namespace(namespace))
        return
    services = State.services()
    ns = _namespace(namespace)
    for name in names:
        wf = Workflow.model_validate(services.store.get(KIND, ns, name))
        phase = wf.status.phase if wf.status else None
        if phase not in ("Succeeded", "Failed", "Error"):
            services.store.update(KIND, operations.terminate(wf).dump())
            driver = Driver(services, lambda w: None)
            try:
                driver.wait(ns, name)
            finally:
                driver.close()
            wf = Workflow.model_validate(services.store.get(KIND, ns, name))
        services.store.delete(KIND, ns, name)
        cleanup.remove(
            services.executor, services.repositories, services.volumes_dir, wf, with_artifacts
        )
        out.print(f"workflow {name} deleted", highlight=False)
