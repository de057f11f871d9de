"""Plan a step's private view of the filesystem as a bubblewrap command line and a PathMap,
and find out whether bubblewrap works on this machine.

The step sees the host as a normal process does, except for:
- `/tmp`, always the step's own (`<step dir>/tmp`);
- without a working directory the step starts in `/` (most images' WORKDIR), which is then
  shadowed (below), so what it creates there (`open("result.txt", "w")`) is its own;
- each private path P: the first component of P missing on the host (or P itself, if it
  exists) is the step's own. Its parent directory A is "shadowed": `<step dir>/fs/A` is
  bound over A and every host entry of A is bound back into it (symlinks are copied), except
  the private ones. Nothing is created on the host outside the step directory, and no root
  is needed: bubblewrap creates the missing mount points inside `<step dir>/fs`;
- mounts (volumes) bound at their targets, shadowing parents in the same way when needed.

The PathMap mirrors the mount table: a sandbox path resolves through its longest mounted
prefix. Planning reads the host only through `HostView`, so it is testable without bwrap.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import stat
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from trainyard.core.errors import EnvironmentError_
from trainyard.executors.base import Mount
from trainyard.executors.stepdir import StepDir

_PROBE_TIMEOUT_S = 10.0
_FULL_PROBE = ["--unshare-pid", "--die-with-parent", "--new-session", "--bind", "/", "/"]
_FULL_PROBE += ["--dev-bind", "/dev", "/dev", "--proc", "/proc", "true"]
_BASIC_PROBE = ["--bind", "/", "/", "true"]


class HostView(Protocol):
    """What planning needs to know about the host's filesystem."""

    def kind(self, path: str) -> str | None:
        """ "link", "dir" or "other" for what is at `path` (symlinks not followed), else None."""
        ...

    def entries(self, path: str) -> list[str]:
        """The names in directory `path`."""
        ...

    def readlink(self, path: str) -> str:
        """The text of symlink `path`."""
        ...

    def realpath(self, path: str) -> str:
        """`path` with the symlinks of its existing part resolved."""
        ...


class LocalHost:
    """The real filesystem of this machine."""

    def kind(self, path: str) -> str | None:
        """What is at `path`, without following a final symlink."""
        try:
            mode = os.lstat(path).st_mode
        except (FileNotFoundError, NotADirectoryError):
            return None
        if stat.S_ISLNK(mode):
            return "link"
        return "dir" if stat.S_ISDIR(mode) else "other"

    def entries(self, path: str) -> list[str]:
        """The names in directory `path`."""
        return os.listdir(path)

    def readlink(self, path: str) -> str:
        """The text of symlink `path`."""
        return os.readlink(path)

    def realpath(self, path: str) -> str:
        """`path` with existing symlinks resolved."""
        return os.path.realpath(path)


class MountTable:
    """A PathMap: each sandbox prefix is served by a host path; the longest prefix wins."""

    def __init__(self, table: dict[str, Path]) -> None:
        self._table = dict(table)

    def host(self, path: str) -> Path:
        """The host path behind the absolute sandbox path `path`."""
        wanted = normalize(path)
        probe = wanted
        while probe not in self._table:
            if probe == "/":
                return Path(wanted)
            probe = posixpath.dirname(probe)
        rest = wanted[len(probe) :].lstrip("/")
        return self._table[probe] / rest if rest else self._table[probe]

    def entries(self) -> dict[str, Path]:
        """A copy of the table, sandbox prefix -> host path."""
        return dict(self._table)


class IdentityPathMap:
    """The PathMap of an unisolated step: it sees the host's paths themselves."""

    def host(self, path: str) -> Path:
        """`path` itself."""
        return Path(normalize(path))


@dataclass(frozen=True)
class SandboxOptions:
    """How bubblewrap runs on this machine, as found by `probe_bwrap`."""

    bwrap: str
    pid_namespace: bool = True


@dataclass
class SandboxPlan:
    """What to prepare on the host and how to start a step in its view of the filesystem."""

    pathmap: MountTable | IdentityPathMap
    # bwrap and its options up to the command, or None to run the command directly.
    argv: list[str] | None
    directories: list[Path] = field(default_factory=list)
    symlinks: list[tuple[Path, str]] = field(default_factory=list)

    def command(self, command: Sequence[str], status_fd: int | None = None) -> list[str]:
        """The full command line; `status_fd` receives bwrap's JSON status documents."""
        if self.argv is None:
            return list(command)
        status = ["--json-status-fd", str(status_fd)] if status_fd is not None else []
        return [*self.argv, *status, "--", *command]


def normalize(path: str) -> str:
    """`path` as a normalized absolute path; raises ValueError for a relative one."""
    if not path.startswith("/"):
        raise ValueError(f"path {path!r} is not absolute")
    return "/" + posixpath.normpath(path).lstrip("/")


def plan_unisolated(step_dir: StepDir, working_dir: str | None) -> SandboxPlan:
    """The plan for a step that shares the host's paths (TRAINYARD_ISOLATION=none)."""
    directories = [step_dir.tmp]
    if working_dir:
        directories.append(Path(normalize(working_dir)))
    return SandboxPlan(pathmap=IdentityPathMap(), argv=None, directories=directories)


def plan_sandbox(
    step_dir: StepDir,
    private_paths: Sequence[str],
    mounts: Sequence[Mount],
    working_dir: str | None,
    *,
    options: SandboxOptions,
    host: HostView | None = None,
    own_root: bool = False,
) -> SandboxPlan:
    """Plan the bubblewrap view of a step (see the module docstring for the rules); with
    `own_root`, `/` is shadowed so that what the step creates there is its own."""
    view = host or LocalHost()
    targets = _mount_targets(step_dir, mounts, view)
    literal = [normalize(path) for path in private_paths]
    if working_dir:
        literal.append(normalize(working_dir))
    aliases = {path: _canonical(path, view) for path in literal}
    private = _private_roots(aliases, targets, working_dir, view)
    shadows, excluded = _shadows(private, targets, view)
    if own_root:
        shadows.add("/")
    table, ops, symlinks = _layout(step_dir, shadows, excluded | set(targets), options, view)
    for target, mount in targets.items():
        table[target] = mount.source
        bind = "--ro-bind" if mount.read_only else "--bind"
        ops.append((_depth(target), [bind, str(mount.source), target]))
    pathmap = MountTable(table)
    for path, canonical in aliases.items():
        if path != canonical:
            table[path] = pathmap.host(canonical)
    pathmap = MountTable(table)
    ops.sort(key=lambda op: op[0])
    argv = [options.bwrap, "--die-with-parent", "--new-session"]
    if options.pid_namespace:
        argv.append("--unshare-pid")
    argv += [arg for _, args in ops for arg in args]
    if working_dir:
        argv += ["--chdir", normalize(working_dir)]
    directories = [step_dir.tmp, *(_shadow_dir(step_dir, a) for a in sorted(shadows))]
    directories += [pathmap.host(posixpath.dirname(path)) for path in private]
    if working_dir and pathmap.host(working_dir) != Path(normalize(working_dir)):
        directories.append(pathmap.host(working_dir))  # private or in a volume: create it
    return SandboxPlan(pathmap, argv, list(dict.fromkeys(directories)), symlinks)


def _mount_targets(step_dir: StepDir, mounts: Sequence[Mount], view: HostView) -> dict[str, Mount]:
    """Mounts by canonical target; `/tmp` is the step's own unless a mount claims it."""
    targets = {"/tmp": Mount("/tmp", step_dir.tmp)}
    for mount in mounts:
        targets[_canonical(normalize(mount.target), view)] = mount
    return targets


def _canonical(path: str, view: HostView) -> str:
    """`path` with symlinks in its parent resolved, so binds land where the step looks."""
    if path == "/":
        return path
    return posixpath.join(view.realpath(posixpath.dirname(path)), posixpath.basename(path))


def _private_roots(
    aliases: dict[str, str], targets: dict[str, Mount], working_dir: str | None, view: HostView
) -> list[str]:
    """The outermost private paths; paths in mounts (and /tmp) are served by those."""
    wanted = {c for c in aliases.values() if c != "/" and not _under_any(c, targets)}
    if working_dir:
        workdir = aliases[normalize(working_dir)]
        others = wanted - {workdir}
        if view.kind(workdir) is not None and not _under_any(workdir, others):
            wanted.discard(workdir)  # an existing working dir is the host's own
    return sorted(p for p in wanted if not any(_under(p, q) and p != q for q in wanted))


def _shadows(
    private: list[str], targets: dict[str, Mount], view: HostView
) -> tuple[set[str], set[str]]:
    """Directories to shadow, and existing host entries that must stay out of them."""
    shadows: set[str] = set()
    excluded: set[str] = set()
    nested = [t for t in targets if not _under_any(t, private) and not _under_other(t, targets)]
    for path in [*private, *nested]:
        missing = _first_missing(path, view)
        if missing is not None:
            shadows.add(posixpath.dirname(missing))
        elif path in private:
            excluded.add(path)
            shadows.add(posixpath.dirname(path))
    return shadows, excluded


def _layout(
    step_dir: StepDir, shadows: set[str], skip: set[str], options: SandboxOptions, view: HostView
) -> tuple[dict[str, Path], list[tuple[int, list[str]]], list[tuple[Path, str]]]:
    """The root, the shadowed directories and the host entries bound back into them."""
    table: dict[str, Path] = {}
    ops: list[tuple[int, list[str]]] = []
    symlinks: list[tuple[Path, str]] = []
    if "/" not in shadows:
        table["/"] = Path("/")
        ops += [(0, ["--bind", "/", "/"]), (1, ["--dev-bind", "/dev", "/dev"])]
        if options.pid_namespace:
            ops.append((1, ["--proc", "/proc"]))
    for shadow in sorted(shadows, key=_depth):
        private_dir = _shadow_dir(step_dir, shadow)
        table[shadow] = private_dir
        ops.append((_depth(shadow), ["--bind", str(private_dir), shadow]))
        for name in sorted(view.entries(shadow)):
            entry = posixpath.join(shadow, name)
            if entry in skip or entry in shadows:
                continue
            table[entry] = Path(entry)
            if view.kind(entry) == "link":
                symlinks.append((private_dir / name, view.readlink(entry)))
            else:
                ops.append((_depth(entry), _bind_back(entry, options)))
    return table, ops, symlinks


def _bind_back(entry: str, options: SandboxOptions) -> list[str]:
    """The bwrap operation that shows the host's `entry` at the same place."""
    if entry == "/proc" and options.pid_namespace:
        return ["--proc", "/proc"]
    if _under(entry, "/dev"):
        return ["--dev-bind", entry, entry]
    return ["--bind", entry, entry]


def _shadow_dir(step_dir: StepDir, shadow: str) -> Path:
    """The host directory that stands in for `shadow`."""
    return step_dir.fs / shadow.lstrip("/") if shadow != "/" else step_dir.fs


def _first_missing(path: str, view: HostView) -> str | None:
    """The shortest prefix of `path` absent from the host, or None if all of it exists."""
    current = "/"
    for part in path.strip("/").split("/"):
        current = posixpath.join(current, part)
        if view.kind(current) is None:
            return current
    return None


def _depth(path: str) -> int:
    """How many components `path` has (`/` has none)."""
    return 0 if path == "/" else path.count("/")


def _under(path: str, root: str) -> bool:
    """Whether `path` is `root` or inside it."""
    return root in ("/", path) or path.startswith(root + "/")


def _under_any(path: str, roots: Iterable[str]) -> bool:
    """Whether `path` is at or inside any of `roots`."""
    return any(_under(path, root) for root in roots)


def _under_other(target: str, targets: dict[str, Mount]) -> bool:
    """Whether mount `target` lies inside another mount target."""
    return any(_under(target, other) and other != target for other in targets)


def probe_bwrap(bwrap: str) -> SandboxOptions:
    """Find how bubblewrap works here; raises EnvironmentError_ saying how to fix it if not.

    A private pid namespace (so stopping a step ends all of its processes) is used when the
    kernel allows it; otherwise steps still get private paths.
    """
    path = shutil.which(bwrap)
    if path is None:
        raise EnvironmentError_(_probe_failure([bwrap, *_BASIC_PROBE], f"{bwrap!r} not found"))
    if _run_probe([path, *_FULL_PROBE]) is None:
        return SandboxOptions(bwrap=path, pid_namespace=True)
    problem = _run_probe([path, *_BASIC_PROBE])
    if problem is None:
        return SandboxOptions(bwrap=path, pid_namespace=False)
    raise EnvironmentError_(_probe_failure([path, *_BASIC_PROBE], problem))


def _run_probe(argv: list[str]) -> str | None:
    """None if `argv` succeeds, else what went wrong."""
    try:
        done = subprocess.run(argv, capture_output=True, timeout=_PROBE_TIMEOUT_S, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        return str(exc)
    if done.returncode == 0:
        return None
    detail = done.stderr.decode(errors="replace").strip()
    return detail or f"exit status {done.returncode}"


def _probe_failure(argv: list[str], problem: str) -> str:
    """The message for a machine where steps cannot be isolated."""
    return (
        f"steps cannot get private paths: `{' '.join(argv)}` failed: {problem}. "
        "Install bubblewrap (`apt-get install bubblewrap`) and allow unprivileged user "
        "namespaces (`sysctl kernel.unprivileged_userns_clone=1`; on Ubuntu 23.10+ also "
        "`sysctl kernel.apparmor_restrict_unprivileged_userns=0`), or set "
        "TRAINYARD_ISOLATION=none to run steps unisolated, knowing that they then share "
        "/tmp and every declared path."
    )
