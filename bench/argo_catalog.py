"""What trainyard knows about Argo's own examples: which need more than this machine, and
which Argo designed to end otherwise than Succeeded. Used by bench/argo_examples.py and by
tests/e2e/test_argo_examples.py; the examples themselves are never copied here.

Each Workflow is classified:
- `needs-cluster`: the Kubernetes API (resource templates, executor or artifact plugins);
- `needs-network`: artifacts in git/http/gcs... or an S3 bucket of their own (a key alone is
  in the default repository), http templates;
- `needs-binaries`: programs beyond sh/python3/coreutils (argosay is provided);
- `local`: everything else.
"""

from __future__ import annotations

from typing import Any

from trainyard.spec.programs import started_programs

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
"""Examples not listed here are expected to end Succeeded."""

KNOWN_FAILURES = {
    "artifact-repository-ref.yaml": "needs the `artifact-repositories` ConfigMap that Argo's "
    "test cluster is set up with (it is not among the examples)",
    "map-reduce.yaml": "its step runs `os.mkdir('/mnt/out')`, which the local sandbox has "
    "already made as the parent of a declared output path",
}
"""Local examples that do not end as Argo's CI expects, and why (counted as failures)."""

_ALLOWED_COMMANDS = """
    sh bash python python3 echo cat sleep true false printf test [ env date ls mkdir cp mv rm
    touch head tail wc sort uniq seq tr cut tee basename dirname expr yes pwd id whoami uname
    stat du df ln chmod md5sum sha256sum base64 od shuf split paste nl fold nproc timeout
    grep sed awk find xargs
"""
ALLOWED_COMMANDS = frozenset(_ALLOWED_COMMANDS.split())
"""Programs a bare Linux box has: a shell, Python, coreutils, and grep/sed/awk/find, which
every base image (Debian's Essential set, busybox, alpine) carries too."""

PROVIDED = frozenset({"argosay"})
"""Programs trainyard brings itself."""
CLUSTER_TEMPLATES = ("resource", "plugin")
NETWORK_LOCATIONS = ("gcs", "oss", "azure", "hdfs", "git", "http", "artifactory", "webhdfs")


def classify(doc: dict[str, Any]) -> tuple[str, str]:
    """(class, why) of a Workflow: local, needs-cluster, needs-network or needs-binaries."""
    spec = doc.get("spec") or {}
    if "executor" in spec:
        return "needs-cluster", "an executor plugin"
    for tmpl in spec.get("templates") or []:
        for key in CLUSTER_TEMPLATES:
            if key in tmpl:
                return "needs-cluster", f"template {tmpl.get('name')!r} is a {key} template"
        if "http" in tmpl:
            return "needs-network", f"template {tmpl.get('name')!r} makes an HTTP request"
        for io in (tmpl.get("inputs") or {}, tmpl.get("outputs") or {}):
            for art in io.get("artifacts") or []:
                found = _artifact_class(art)
                if found:
                    return found
        bodies = [(tmpl.get(k), k == "script") for k in ("container", "script")]
        bodies += [(c, False) for k in ("initContainers", "sidecars") for c in tmpl.get(k) or []]
        bodies += [(c, False) for c in (tmpl.get("containerSet") or {}).get("containers") or []]
        for body, script in bodies:
            if isinstance(body, dict):
                problem = _binaries(body, script)
                if problem:
                    return "needs-binaries", f"template {tmpl.get('name')!r}: {problem}"
    return "local", ""


def _artifact_class(art: dict[str, Any]) -> tuple[str, str] | None:
    if "plugin" in art:
        return "needs-cluster", f"artifact {art.get('name')!r} uses an artifact plugin"
    location = art.get("s3")
    if isinstance(location, dict) and set(location) - {"key"}:
        return "needs-network", f"artifact {art.get('name')!r} names an S3 bucket"
    for key in NETWORK_LOCATIONS:
        if key in art:
            return "needs-network", f"artifact {art.get('name')!r} is in {key}"
    return None


def _binaries(body: dict[str, Any], script: bool) -> str | None:
    """What a container or script needs beyond ALLOWED_COMMANDS (the programs it starts, as
    `trainyard lint` finds them), or None."""
    image = str(body.get("image") or "")
    if not body.get("command"):
        return None if "argosay" in image else f"no command: it relies on image {image!r}"
    for program in started_programs(body, script):
        if program not in ALLOWED_COMMANDS and program not in PROVIDED:
            return f"runs {program!r}"
    return None
