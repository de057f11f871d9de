"""Conformance of the local engine against Argo's own examples: which run, and how they end.

Usage: python scripts/argo_conformance.py [--timeout S] [--jobs N] [--only NAME ...]

Reads `examples/*.yaml` from a clone of argoproj/argo-workflows (default: the mirror at
/work/.mirror/argoproj+argo-workflows/repo; env TRAINYARD_ARGO_REPO overrides) with
`git ls-tree`/`git show HEAD:...`, so nothing is copied into this repository. Each Workflow
document that uses only what the local engine runs (container/script/steps/dag/suspend with a
duration, loops, retries, conditionals, exit handlers, parameters, artifacts on the default
repository, volumes) and only sh/bash/python/coreutils commands is run with
`python -m trainyard run FILE -o json` under a fresh TRAINYARD_HOME, with a timeout. Images are
ignored. Prints a JSON report: counts of eligible examples and outcomes, and per example its
outcome, the outcome expected (see EXPECTED) and why it was not run or did not succeed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

DEFAULT_REPO = "/work/.mirror/argoproj+argo-workflows/repo"
DEFAULT_TIMEOUT = 60.0

EXPECTED: dict[str, tuple[str, ...]] = {
    # Argo's examples designed not to succeed: file -> the phases they may end in.
    "dag-continue-on-fail.yaml": ("Failed",),  # E fails and nothing lets G's branch go on
    "dag-disable-failFast.yaml": ("Failed",),  # a task fails; failFast off lets the others run
    "exit-handlers.yaml": ("Failed",),  # `intentional-fail`; the exit handler reports it
    "pod-gc-strategy.yaml": ("Failed",),  # one of its two steps exits 1
    "pod-gc-strategy-with-label-selector.yaml": ("Failed",),  # likewise
    "timeouts-step.yaml": ("Failed",),  # activeDeadlineSeconds kills a `sleep 1d`
    "step-level-timeout.yaml": ("Failed",),  # `timeout` ends a retried sleeping step
    "dag-task-level-timeout.yaml": ("Failed",),  # `timeout` ends a DAG task
    "loops-arbitrary-sequential-steps.yaml": ("Failed",),  # item 3 exits 1; failFast stops
    # Examples that fail at random by design (random.choice of exit codes):
    "custom-metrics.yaml": ("Succeeded", "Failed"),  # `flakey` fails 2 times in 3
    "resubmit.yaml": ("Succeeded", "Failed"),  # steps exit 1 one time in three, no retries
    "retry-on-error.yaml": ("Succeeded", "Failed"),  # 2 retries of a 4-in-5 failure
    "template-defaults.yaml": ("Succeeded", "Failed"),  # 2 retries of a 2-in-3 failure
    "retry-backoff.yaml": ("Succeeded", "Failed"),  # backoff capped by maxDuration 1m
    "retry-with-steps.yaml": ("Succeeded", "Failed"),  # 10 retries each: fails ~3% of runs
    "retry-container.yaml": ("Succeeded", "Failed"),  # 10 retries: fails ~1% of runs
    "retry-script.yaml": ("Succeeded", "Failed"),  # likewise
}
"""Every eligible example not listed here is expected to end Succeeded."""

LONG = {
    "forever.yaml": "long: prints for 1000 s by design",
    "colored-logs.yaml": "long: prints for 100 s by design",
    "parallelism-nested-dag.yaml": "long: 10 s steps, two at a time, over 60 s in all",
    "parallelism-nested-workflow.yaml": "long: 10 s steps, two at a time, over 60 s in all",
}
"""Examples that run for over a minute by design (their steps sleep): not run."""

ENVIRONMENT = {
    "artifact-disable-archive.yaml": "environment: saves the image's /etc as an artifact",
    "exit-handler-with-artifacts.yaml": "environment: writes result.txt in the image's "
    "WORKDIR (/) and saves /result.txt",
}
"""Examples that rely on what the image's filesystem provides: not run."""

_ALLOWED_COMMANDS = """
    sh bash python python3 echo cat sleep true false printf test [ env date ls mkdir cp mv rm
    touch head tail wc sort uniq seq tr cut tee basename dirname expr yes pwd id whoami uname
    stat du df ln chmod md5sum sha256sum base64 od shuf split paste nl fold nproc timeout
    grep sed awk find xargs
"""
ALLOWED_COMMANDS = frozenset(_ALLOWED_COMMANDS.split())
"""Programs a bare Linux box has: a shell, Python, coreutils, and grep/sed/awk/find, which
every base image (Debian's Essential set, busybox, alpine) carries too."""

_SHELL_WORDS = """
    if then else elif fi for while until do done case esac in function select ! { } [[ ]]
    export set unset local read exit return shift cd trap wait source . eval exec : break
    continue let declare readonly umask ulimit type command printf echo test [ true false
"""
SHELL_WORDS = frozenset(_SHELL_WORDS.split())
"""Shell keywords and builtins: not programs, never a reason to skip a script."""

TEMPLATE_KINDS = {
    "resource": "a resource template",
    "http": "an http template",
    "data": "a data template",
    "containerSet": "a containerSet template",
    "plugin": "a plugin template",
}
TEMPLATE_FIELDS = {
    "synchronization": "synchronization",
    "memoize": "memoize",
    "daemon": "a daemon step",
    "sidecars": "sidecars",
    "initContainers": "init containers",
    "archiveLocation": "an archiveLocation",
}
WORKFLOW_FIELDS = {
    "workflowTemplateRef": "workflowTemplateRef",
    "synchronization": "synchronization",
    "artifactRepositoryRef": "artifactRepositoryRef",
    "executor": "an executor plugin",
}
ARTIFACT_LOCATIONS = (
    "s3",
    "gcs",
    "oss",
    "azure",
    "hdfs",
    "git",
    "http",
    "artifactory",
    "webhdfs",
    "plugin",
)
VOLUME_KINDS = frozenset({"name", "emptyDir", "persistentVolumeClaim", "hostPath"})
VALUE_FROM_OK = frozenset({"path", "parameter", "default"})
NO_COMMAND = "no command"

_SHELL_SPLIT = re.compile(r"\$\(|`|&&|\|\||[;&|()\n]|\bthen\b|\bdo\b|\belse\b")
_PY_IMPORT = re.compile(r"^\s*(?:from\s+(\w+)|import\s+([\w, ]+))", re.MULTILINE)


# -- reading the examples -------------------------------------------------------------------
def argo_repo() -> Path:
    """The Argo clone to read (TRAINYARD_ARGO_REPO or the default mirror)."""
    return Path(os.environ.get("TRAINYARD_ARGO_REPO", DEFAULT_REPO))


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout


def example_files(repo: Path) -> list[str]:
    """Paths of `examples/*.yaml` at HEAD (top level only)."""
    names = _git(repo, "ls-tree", "--name-only", "HEAD", "examples/").split("\n")
    return sorted(n for n in names if n.endswith(".yaml"))


def read_example(repo: Path, path: str) -> str:
    """The text of `path` at HEAD."""
    return _git(repo, "show", f"HEAD:{path}")


# -- eligibility -----------------------------------------------------------------------------
@dataclass
class Example:
    """One Workflow document of an Argo example file, and why it is not run (if it is not)."""

    file: str
    text: str
    skip: str | None = None
    expected: tuple[str, ...] = ("Succeeded",)


def examples(repo: Path | None = None) -> list[Example]:
    """Every Workflow document of the Argo examples, each judged for the local engine."""
    repo = repo or argo_repo()
    found: list[Example] = []
    for path in example_files(repo):
        text = read_example(repo, path)
        name = path.removeprefix("examples/")
        try:
            docs = [d for d in yaml.safe_load_all(text) if isinstance(d, dict)]
        except yaml.YAMLError as exc:
            found.append(Example(name, text, f"unreadable YAML: {exc}"))
            continue
        workflows = [d for d in docs if d.get("kind") == "Workflow"]
        if not workflows:
            kinds = ", ".join(sorted({str(d.get("kind")) for d in docs})) or "nothing"
            found.append(Example(name, text, f"not a Workflow ({kinds})"))
            continue
        for index, doc in enumerate(workflows):
            label = name if len(workflows) == 1 else f"{name}#{index}"
            body = yaml.safe_dump(doc, sort_keys=False)
            skip = LONG.get(name) or ENVIRONMENT.get(name) or why_not(doc)
            found.append(Example(label, body, skip, EXPECTED.get(name, ("Succeeded",))))
    return found


def why_not(doc: dict[str, Any]) -> str | None:
    """Why the local engine cannot run `doc` as written; None when it can."""
    spec = doc.get("spec") or {}
    if "{{=" in json.dumps(doc):
        return "uses {{=...}} expression tags"
    for key, what in WORKFLOW_FIELDS.items():
        if key in spec:
            return f"uses {what}"
    for hook in spec.get("hooks") or {}:
        if hook != "exit":
            return "uses lifecycle hooks other than exit"
    problem = _volumes_problem(spec.get("volumes"))
    problem = problem or _parameters_problem((spec.get("arguments") or {}).get("parameters"))
    problem = problem or _artifacts_problem((spec.get("arguments") or {}).get("artifacts"))
    if problem:
        return problem
    no_command = None
    for tmpl in spec.get("templates") or []:
        problem = _template_problem(tmpl)
        if problem == NO_COMMAND:
            no_command = f"{NO_COMMAND}: template {tmpl.get('name')!r} relies on its image"
        elif problem:
            return f"template {tmpl.get('name')!r}: {problem}"
    return no_command


def _template_problem(tmpl: dict[str, Any]) -> str | None:
    for key, what in TEMPLATE_KINDS.items():
        if key in tmpl:
            return f"is {what}"
    for key, what in TEMPLATE_FIELDS.items():
        if key in tmpl:
            return f"uses {what}"
    suspend = tmpl.get("suspend")
    if suspend is not None and not (suspend or {}).get("duration"):
        return "waits for a manual resume"
    if "expression" in (tmpl.get("retryStrategy") or {}):
        return "uses retryStrategy.expression"
    for step in _invocations(tmpl):
        if "templateRef" in step:
            return "uses templateRef"
        if any(h != "exit" for h in (step.get("hooks") or {})):
            return "uses lifecycle hooks other than exit"
        if step.get("inline"):
            problem = _template_problem(step["inline"])
            if problem:
                return problem
    inputs, outputs = tmpl.get("inputs") or {}, tmpl.get("outputs") or {}
    problem = (
        _volumes_problem(tmpl.get("volumes"))
        or _parameters_problem(inputs.get("parameters"))
        or _parameters_problem(outputs.get("parameters"))
        or _artifacts_problem(inputs.get("artifacts"))
        or _artifacts_problem(outputs.get("artifacts"))
    )
    if problem:
        return problem
    if "container" in tmpl:
        return _container_problem(tmpl["container"], None)
    if "script" in tmpl:
        return _container_problem(tmpl["script"], tmpl["script"].get("source") or "")
    return None


def _invocations(tmpl: dict[str, Any]) -> list[dict[str, Any]]:
    steps = [s for group in tmpl.get("steps") or [] for s in group or []]
    return steps + list((tmpl.get("dag") or {}).get("tasks") or [])


def _volumes_problem(volumes: list[dict[str, Any]] | None) -> str | None:
    for volume in volumes or []:
        extra = set(volume) - VOLUME_KINDS
        if extra:
            return f"uses a {sorted(extra)[0]} volume"
    return None


def _parameters_problem(params: list[dict[str, Any]] | None) -> str | None:
    for param in params or []:
        extra = set(param.get("valueFrom") or {}) - VALUE_FROM_OK
        if extra:
            return f"parameter {param.get('name')!r} uses valueFrom.{sorted(extra)[0]}"
    return None


def _artifacts_problem(artifacts: list[dict[str, Any]] | None) -> str | None:
    for art in artifacts or []:
        for key in ARTIFACT_LOCATIONS:
            if key in art:
                return f"artifact {art.get('name')!r} is stored in {key}"
        if "artifactGC" in art:
            return f"artifact {art.get('name')!r} uses artifactGC"
        if "fromExpression" in art:
            return f"artifact {art.get('name')!r} uses fromExpression"
    return None


def _container_problem(container: dict[str, Any], source: str | None) -> str | None:
    for env in container.get("env") or []:
        if "valueFrom" in env:
            return f"env {env.get('name')!r} comes from a secret or configmap"
    command = [str(w) for w in container.get("command") or []]
    if _is_argosay(container) and (not command or command[0].endswith("argosay")):
        return None  # trainyard brings its own argosay
    if not command:
        return NO_COMMAND
    program = command[0].rsplit("/", 1)[-1]
    if program not in ALLOWED_COMMANDS:
        return f"runs {program!r}"
    args = [str(w) for w in container.get("args") or []]
    if program in ("sh", "bash"):
        script = source if source is not None else _shell_text(command[1:] + args)
        return _shell_problem(script)
    if program.startswith("python"):
        code = source if source is not None else " ".join(command[1:] + args)
        return _python_problem(code)
    return None


def _is_argosay(container: dict[str, Any]) -> bool:
    """Whether the container runs Argo's test image argoproj/argosay."""
    image = str(container.get("image") or "").split("@")[0].rsplit(":", 1)[0]
    return image.endswith("argoproj/argosay")


def _shell_text(words: list[str]) -> str:
    """The script of `sh -c SCRIPT ...` (the words after an option that ends in c)."""
    for index, word in enumerate(words):
        if word.startswith("-") and word.endswith("c"):
            return words[index + 1] if index + 1 < len(words) else ""
    return ""


def _shell_problem(script: str) -> str | None:
    for part in _SHELL_SPLIT.split(script):
        words = [w for w in part.split() if not re.match(r"^\w+=", w)]
        while words and words[0] in ("then", "do", "else", "if", "while", "until", "!", "{"):
            words = words[1:]
        if not words or words[0] in SHELL_WORDS or words[0].startswith(("{{", "$", "#", '"')):
            continue
        program = words[0].rsplit("/", 1)[-1]
        if program not in ALLOWED_COMMANDS and re.fullmatch(r"[A-Za-z][\w.-]*", program):
            return f"its shell script runs {program!r}"
    return None


def _python_problem(code: str) -> str | None:
    for match in _PY_IMPORT.finditer(code):
        names = [match.group(1)] if match.group(1) else match.group(2).split(",")
        for name in (n.strip().split(" ")[0].split(".")[0] for n in names):
            if name and name not in sys.stdlib_module_names:
                return f"its Python code imports {name!r}"
    return None


# -- running ---------------------------------------------------------------------------------
@dataclass
class Outcome:
    """How one example ended locally."""

    file: str
    outcome: str
    expected: tuple[str, ...]
    seconds: float
    reason: str | None = None
    failed_nodes: list[str] = field(default_factory=list)

    @property
    def as_expected(self) -> bool:
        """Whether it ended as EXPECTED says."""
        return self.outcome in self.expected


def run_example(example: Example, timeout: float = DEFAULT_TIMEOUT) -> Outcome:
    """Run one eligible example with the real CLI under a fresh home; never raises."""
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="argo-example-") as tmp:
        home, wf_file = Path(tmp) / "home", Path(tmp) / "workflow.yaml"
        wf_file.write_text(example.text)
        name = "ex-" + re.sub(r"[^a-z0-9]+", "-", example.file.lower()).strip("-")[:40]
        env = {**os.environ, "TRAINYARD_HOME": str(home)}
        command = [sys.executable, "-m", "trainyard", "run", str(wf_file), "-o", "json"]
        proc = subprocess.Popen(
            [*command, "--name", name],
            cwd=tmp,  # steps without workingDir may write relative paths: keep them here
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _stop(proc, env, name)
            took = time.monotonic() - began
            return Outcome(example.file, "timeout", example.expected, took, f"over {timeout:g} s")
    took = time.monotonic() - began
    return _outcome(example, proc.returncode, stdout, stderr, took)


def _stop(proc: subprocess.Popen[str], env: dict[str, str], name: str) -> None:
    """Stop a run that took too long: Ctrl-C (the workflow stops), then terminate it."""
    proc.send_signal(signal.SIGINT)
    try:
        proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        cli = [sys.executable, "-m", "trainyard"]
        subprocess.run([*cli, "terminate", name], env=env, capture_output=True, check=False)
        subprocess.run([*cli, "wait", name], env=env, capture_output=True, check=False, timeout=30)


def _outcome(example: Example, code: int, stdout: str, stderr: str, took: float) -> Outcome:
    if code == 2:
        reason = _last_lines(stderr)
        return Outcome(example.file, "rejected", example.expected, took, reason)
    try:
        wf = json.loads(stdout)
    except ValueError:
        reason = f"exit {code}: {_last_lines(stderr)}"
        return Outcome(example.file, "crashed", example.expected, took, reason)
    status = wf.get("status") or {}
    phase = str(status.get("phase") or "?")
    failed = [
        f"{n.get('displayName')}: {n.get('phase')}: {n.get('message') or ''}".strip()
        for n in (status.get("nodes") or {}).values()
        if n.get("phase") in ("Failed", "Error") and n.get("type") in ("Pod", "Skipped")
    ]
    reason = status.get("message") if phase != "Succeeded" else None
    return Outcome(example.file, phase, example.expected, took, reason, failed)


def _last_lines(text: str, count: int = 3) -> str:
    return " | ".join(text.strip().splitlines()[-count:])


# -- the report ------------------------------------------------------------------------------
def report(found: list[Example], outcomes: list[Outcome]) -> dict[str, Any]:
    """The JSON report: counts, then every example's outcome or why it was skipped."""
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome.outcome] = counts.get(outcome.outcome, 0) + 1
    skipped = [e for e in found if e.skip]
    no_command = [e for e in skipped if e.skip and e.skip.startswith(NO_COMMAND)]
    return {
        "workflows": len(found),
        "eligible": len(outcomes),
        "outcomes": dict(sorted(counts.items())),
        "as_expected": sum(o.as_expected for o in outcomes),
        "not_as_expected": [o.file for o in outcomes if not o.as_expected],
        "no_command": len(no_command),
        "not_eligible": len(skipped) - len(no_command),
        "results": [asdict(o) for o in outcomes],
        "skipped": [{"file": e.file, "reason": e.skip} for e in skipped],
    }


def main(argv: list[str] | None = None) -> int:
    """Run the eligible examples and print the report; exit 1 if any ended unexpectedly."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="per example (s)")
    parser.add_argument("--jobs", type=int, default=4, help="examples run at once")
    parser.add_argument("--only", nargs="*", default=None, help="file names to run")
    opts = parser.parse_args(argv)
    repo = argo_repo()
    if not (repo / "HEAD").exists() and not (repo / ".git").exists():
        print(f"no Argo clone at {repo} (set TRAINYARD_ARGO_REPO)", file=sys.stderr)
        return 2
    found = examples(repo)
    chosen = [e for e in found if e.skip is None]
    if opts.only:
        chosen = [e for e in chosen if e.file in opts.only]
    with ThreadPoolExecutor(max_workers=max(1, opts.jobs)) as pool:
        outcomes = list(pool.map(lambda e: run_example(e, opts.timeout), chosen))
    result = report(found, outcomes)
    print(json.dumps(result, indent=2))
    return 0 if not result["not_as_expected"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
