"""Run a step in a podman or docker container: how the engine works here, the step's binds and
its `ENGINE run` command line.

The supervisor runs `ENGINE run --rm --name NAME ...` in place of the step's own command, so
logs, exit codes, deadlines and re-adoption work as for host processes. The step's private
paths live in its step directory, as under bubblewrap, and are bound into the container:
`/tmp`, each path that exists after inputs were staged (input artifacts, the script), and for
an output path not made yet its parent directory (the image's content there is hidden).
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import resource
import shutil
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from trainyard.core.errors import EnvironmentError_
from trainyard.executors.base import ContainerSpec, Mount, StepLaunch
from trainyard.executors.sandbox import MountTable, normalize
from trainyard.executors.stepdir import StepDir, read_json, write_json

PROBE_FILE = "container-engine.json"
_PROBE_ENTRYPOINT = "/trainyard-probe-no-such-file"
_PROBE_TIMEOUT_S = 60.0
_STOP_TIMEOUT_S = 30.0
# What the engine says when the runtime worked and only the (missing) probe command failed.
_RUNTIME_WORKED = ("trainyard-probe-no-such-file",)


@dataclass
class ContainerPlan:
    """The step's private paths on the host and how to run it in its container."""

    spec: ContainerSpec
    pathmap: MountTable
    private: list[str]
    mounts: list[Mount]
    working_dir: str | None
    env_names: list[str]
    directories: list[Path] = field(default_factory=list)
    symlinks: list[tuple[Path, str]] = field(default_factory=list)

    def command(self, engine: str, engine_args: list[str], args: list[str]) -> list[str]:
        """`ENGINE run --rm ...`; call after the inputs were staged (binds depend on them)."""
        spec = self.spec
        argv = [engine, "run", "--rm", "--name", spec.name, *engine_args, *spec.extra_args]
        if _is_podman(engine):
            # --replace: a container left by a supervisor that died goes; logs are ours alone.
            argv += ["--replace", "--log-driver", "none"]
        for target, source, read_only in self.binds():
            argv += ["--volume", f"{source}:{target}:{'ro' if read_only else 'rw'}"]
        for name in self.env_names:
            argv += ["--env", name]  # the value comes from the engine's environment
        if self.working_dir:
            argv += ["--workdir", self.working_dir]
        if spec.cpus:
            argv += ["--cpus", f"{spec.cpus:g}"]
        if spec.memory:
            argv += ["--memory", str(spec.memory)]
        argv += gpu_args(engine, spec.gpus)
        if spec.entrypoint:
            return [*argv, spec.image, *args]
        if not args:
            return [*argv, spec.image]
        return [*argv, "--entrypoint", args[0], spec.image, *args[1:]]

    def binds(self) -> list[tuple[str, Path, bool]]:
        """(target, host source, read-only) for /tmp, the private paths and the volumes."""
        binds: list[tuple[str, Path, bool]] = [("/tmp", self.pathmap.host("/tmp"), False)]
        for path in self.private:
            host = self.pathmap.host(path)
            target = path
            if not host.exists() and posixpath.dirname(path) != "/":
                # An output not made yet may be a file or a directory: bind its parent.
                target, host = posixpath.dirname(path), host.parent
            if not host.exists():
                host.mkdir(parents=True)
            if not any(_under(target, t) for t, _, _ in binds):
                binds.append((target, host, False))
        binds += [(normalize(m.target), m.source, m.read_only) for m in self.mounts]
        if any(target == "/tmp" for target, _, _ in binds[1:]):
            binds = binds[1:]  # a volume at /tmp replaces the step's own
        return sorted(binds, key=lambda bind: bind[0].count("/"))


def plan_container(step_dir: StepDir, launch: StepLaunch) -> ContainerPlan:
    """Where the step's private paths live on the host and what its container is given."""
    assert launch.container is not None
    table = {"/tmp": step_dir.tmp}  # unless a volume is mounted there
    mounts = list(launch.mounts)
    targets = ["/tmp", *(normalize(m.target) for m in mounts)]
    paths = {normalize(p) for p in launch.private_paths}
    private = sorted(p for p in paths if not any(_under(p, t) for t in targets))
    for path in private:
        table[path] = step_dir.fs / path.lstrip("/")
    for mount in mounts:
        table[normalize(mount.target)] = mount.source
    return ContainerPlan(
        spec=launch.container,
        pathmap=MountTable(table),
        private=private,
        mounts=mounts,
        working_dir=launch.working_dir,
        env_names=sorted(launch.env),
        directories=[step_dir.tmp, step_dir.fs],
    )


def gpu_args(engine: str, gpus: tuple[int, ...]) -> list[str]:
    """The devices the step was given: CDI names for podman, `--gpus device=` for docker."""
    if not gpus:
        return []
    if _is_podman(engine):
        return [arg for index in gpus for arg in ("--device", f"nvidia.com/gpu={index}")]
    return ["--gpus", "device=" + ",".join(str(g) for g in gpus)]


def candidate_args(engine: str) -> list[list[str]]:
    """Engine options to try, plainest first: what this machine's podman may need."""
    if not _is_podman(engine):
        return [[]]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    nofile = hard if hard != resource.RLIM_INFINITY else soft
    host_limits = ["--ulimit", f"nofile={nofile}:{nofile}", "--ulimit", "nproc=4096:4096"]
    small_limits = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]
    runc = ["--runtime", "runc"]
    return [[], host_limits, [*runc, *host_limits], [*runc, *small_limits]]


def probe_cache() -> Path:
    """Where the probe's finding is kept for this user: `~/.cache/trainyard/` (or XDG's)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "trainyard" / PROBE_FILE


def _machine_key(engine: str) -> str:
    """What the finding depends on: the engine's binary and which runtimes are installed."""
    try:
        built = os.stat(engine).st_mtime_ns
    except OSError:
        built = 0
    runtimes = [shutil.which(name) or "-" for name in ("runc", "crun")]
    return ":".join([engine, str(built), *runtimes])


def engine_args(engine: str, image: str, cache: Path | None = None) -> list[str]:
    """The options this machine's engine needs, probed once (with `image`) and cached."""
    cache = cache or probe_cache()
    key = _machine_key(engine)
    with contextlib.suppress(ValueError, OSError, KeyError, TypeError):
        found = read_json(cache)
        if found is not None and found.get("key") == key:
            return [str(arg) for arg in found["args"]]
    problems = []
    for index, args in enumerate(candidate_args(engine)):
        made, problem = _probe(engine, image, args)
        if not made and index == 0:
            # The plainest `create` failed: the image (missing, not pullable), not the runtime.
            raise EnvironmentError_(f"cannot use image {image!r}: {problem}")
        if problem is None:
            with contextlib.suppress(OSError):
                cache.parent.mkdir(parents=True, exist_ok=True)
                write_json(cache, {"key": key, "args": args})
            return args
        problems.append(f"`{' '.join([Path(engine).name, 'run', *args])}`: {problem}")
    raise EnvironmentError_(
        f"{Path(engine).name} cannot start containers here; tried:\n  "
        + "\n  ".join(problems)
        + "\nSee Troubleshooting in the README (runc, --ulimit), or run with --executor process."
    )


def _probe(engine: str, image: str, args: list[str]) -> tuple[bool, str | None]:
    """Whether a container of `image` could be created with `args`, and None if the runtime
    could also set it up, else why not."""
    name = f"trainyard-probe-{os.getpid()}"
    create = [engine, "create", "--name", name, *args, "--entrypoint", _PROBE_ENTRYPOINT, image]
    try:
        made = subprocess.run(create, capture_output=True, timeout=_PROBE_TIMEOUT_S, check=False)
        if made.returncode != 0:
            return False, _last_line(made.stderr) or f"exit status {made.returncode}"
        start = "init" if _is_podman(engine) else "start"
        done = subprocess.run(
            [engine, start, name], capture_output=True, timeout=_PROBE_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return False, str(exc)
    finally:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            subprocess.run([engine, "rm", "-f", name], capture_output=True, timeout=30, check=False)
    text = done.stderr.decode(errors="replace")
    if done.returncode == 0 or any(marker in text for marker in _RUNTIME_WORKED):
        return True, None
    return True, _last_line(done.stderr) or f"exit status {done.returncode}"


def stop_container(engine: str, name: str, signum: int) -> None:
    """Send `signum` to the container `name` (SIGKILL also removes it); errors are ignored."""
    command = [engine, "kill", "--signal", signal.Signals(signum).name, name]
    if signum == signal.SIGKILL:
        command = [engine, "rm", "-f", name]
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        subprocess.run(command, capture_output=True, timeout=_STOP_TIMEOUT_S, check=False)


def find_engine(name: str) -> str:
    """The engine's executable; raises EnvironmentError_ if it is not installed."""
    found = shutil.which(name)
    if found is None:
        raise EnvironmentError_(
            f"container engine {name!r} is not installed (not on PATH): install podman "
            "(`apt-get install podman runc`) or docker, or run with --executor process"
        )
    return found


def describe_run_failure(code: int, last_line: str) -> str | None:
    """The error of an `ENGINE run` that never started the step (exit 125, or 126 and 127 with
    the runtime's complaint), else None; a runtime's failure drops the cached probe."""
    runtime = "OCI runtime" in last_line or "OCI permission" in last_line
    if code != 125 and not (code in (126, 127) and runtime):
        return None
    if runtime:
        with contextlib.suppress(OSError):
            probe_cache().unlink()
    return f"the step's container could not be started: {last_line or f'exit status {code}'}"


def _is_podman(engine: str) -> bool:
    return "podman" in Path(engine).name


def _under(path: str, root: str) -> bool:
    return root in ("/", path) or path.startswith(root + "/")


def _last_line(data: bytes) -> str:
    lines = [line for line in data.decode(errors="replace").splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""
