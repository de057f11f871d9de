"""The bubblewrap plan of a step's view, checked against an in-memory host filesystem."""

from __future__ import annotations

import posixpath
from pathlib import Path

import pytest

from trainyard.core.errors import EnvironmentError_
from trainyard.executors.base import Mount
from trainyard.executors.sandbox import (
    IdentityPathMap,
    MountTable,
    SandboxOptions,
    SandboxPlan,
    normalize,
    plan_sandbox,
    plan_unisolated,
    probe_bwrap,
)
from trainyard.executors.stepdir import StepDir

STEP = StepDir(Path("/home/u/.trainyard/steps/wf/node"))
FS = STEP.fs
OPTIONS = SandboxOptions(bwrap="/usr/bin/bwrap")


class MemoryHost:
    """A host filesystem made of a dict: path -> "dir", "file" or "link:<text>"."""

    def __init__(self, *paths: str, links: dict[str, str] | None = None) -> None:
        self.nodes: dict[str, str] = {"/": "dir"}
        for path in paths:
            self._add(path.rstrip("/") or "/", "dir" if path.endswith("/") else "file")
        for path, text in (links or {}).items():
            self._add(path, "link:" + text)

    def _add(self, path: str, node: str) -> None:
        parent = posixpath.dirname(path)
        while parent not in self.nodes:
            self.nodes[parent] = "dir"
            parent = posixpath.dirname(parent)
        self.nodes[path] = node

    def kind(self, path: str) -> str | None:
        node = self.nodes.get(path)
        if node is None:
            return None
        return "link" if node.startswith("link:") else ("dir" if node == "dir" else "other")

    def entries(self, path: str) -> list[str]:
        prefix = path.rstrip("/") + "/"
        return [
            p[len(prefix) :]
            for p in self.nodes
            if p.startswith(prefix) and "/" not in p[len(prefix) :] and p != "/"
        ]

    def readlink(self, path: str) -> str:
        return self.nodes[path].removeprefix("link:")

    def realpath(self, path: str) -> str:
        current = "/"
        for part in path.strip("/").split("/"):
            if not part:
                continue
            candidate = posixpath.join(current, part)
            node = self.nodes.get(candidate, "")
            if node.startswith("link:"):
                target = node.removeprefix("link:")
                candidate = posixpath.normpath(posixpath.join(current, target))
            current = candidate
        return current


HOST = MemoryHost(
    "/usr/bin/",
    "/etc/hosts",
    "/etc/passwd",
    "/proc/",
    "/dev/null",
    "/tmp/",
    "/home/u/.trainyard/",
    "/work/data/",
    "/work/code.py",
    links={"/bin": "usr/bin", "/var/run": "/run"},
)
HOST.nodes["/run"] = "dir"


def plan(
    private: list[str],
    mounts: list[Mount] | None = None,
    workdir: str | None = None,
    options: SandboxOptions = OPTIONS,
) -> SandboxPlan:
    return plan_sandbox(STEP, private, mounts or [], workdir, options=options, host=HOST)


def ops(result: SandboxPlan) -> list[list[str]]:
    """The bwrap operations of a plan, one list per operation, without the leading flags."""
    argv = result.command(["cmd"], 9)
    body = argv[1 : argv.index("--json-status-fd")]
    while body[0] in ("--die-with-parent", "--new-session", "--unshare-pid"):
        body.pop(0)
    grouped: list[list[str]] = []
    while body:
        width = 2 if body[0] in ("--proc", "--chdir") else 3
        grouped.append(body[:width])
        body = body[width:]
    return grouped


def test_without_private_paths_only_tmp_is_private() -> None:
    result = plan([])
    assert result.command(["python", "train.py"], 7) == [
        "/usr/bin/bwrap",
        "--die-with-parent",
        "--new-session",
        "--unshare-pid",
        "--bind",
        "/",
        "/",
        "--dev-bind",
        "/dev",
        "/dev",
        "--proc",
        "/proc",
        "--bind",
        str(STEP.tmp),
        "/tmp",
        "--json-status-fd",
        "7",
        "--",
        "python",
        "train.py",
    ]
    assert result.pathmap.host("/tmp/out.txt") == STEP.tmp / "out.txt"
    assert result.pathmap.host("/etc/hosts") == Path("/etc/hosts")
    assert result.directories == [STEP.tmp]
    assert result.symlinks == []


def test_a_path_missing_at_the_top_shadows_the_root() -> None:
    result = plan(["/out/model.json"])
    assert ops(result)[0] == ["--bind", str(FS), "/"]
    assert ["--bind", "/usr", "/usr"] in ops(result)
    assert ["--bind", "/home", "/home"] in ops(result)
    assert ["--proc", "/proc"] in ops(result)
    assert ["--dev-bind", "/dev", "/dev"] in ops(result)
    assert ["--bind", str(STEP.tmp), "/tmp"] in ops(result)
    assert not any(op[-1] in ("/out", "/bin") for op in ops(result))
    assert (FS / "bin", "usr/bin") in result.symlinks
    assert result.pathmap.host("/out/model.json") == FS / "out/model.json"
    assert result.pathmap.host("/bin/sh") == Path("/bin/sh")
    assert result.pathmap.host("/usr/bin/python") == Path("/usr/bin/python")
    assert FS / "out" in result.directories


def test_an_own_root_shadows_the_root_even_without_private_paths() -> None:
    result = plan_sandbox(STEP, [], [], "/", options=OPTIONS, host=HOST, own_root=True)
    assert ops(result)[0] == ["--bind", str(FS), "/"]
    assert ["--bind", "/usr", "/usr"] in ops(result)
    assert ops(result)[-1] == ["--chdir", "/"]
    assert result.pathmap.host("/result.txt") == FS / "result.txt"
    assert result.pathmap.host("/usr/bin/python") == Path("/usr/bin/python")


def test_an_existing_path_is_left_out_of_its_shadowed_parent() -> None:
    result = plan(["/etc/hosts"])
    assert ["--bind", str(FS / "etc"), "/etc"] in ops(result)
    assert ["--bind", "/etc/passwd", "/etc/passwd"] in ops(result)
    assert not any(op[-1] == "/etc/hosts" for op in ops(result))
    assert result.pathmap.host("/etc/hosts") == FS / "etc/hosts"
    assert result.pathmap.host("/etc/passwd") == Path("/etc/passwd")


def test_only_the_parent_of_the_first_missing_component_is_shadowed() -> None:
    result = plan(["/work/in/model"])
    assert ops(result)[0] == ["--bind", "/", "/"]
    assert ["--bind", str(FS / "work"), "/work"] in ops(result)
    assert ["--bind", "/work/data", "/work/data"] in ops(result)
    assert ["--bind", "/work/code.py", "/work/code.py"] in ops(result)
    assert result.pathmap.host("/work/in/model") == FS / "work/in/model"
    assert FS / "work/in" in result.directories  # the parent of a private path exists


def test_operations_are_ordered_by_depth() -> None:
    result = plan(["/out/a", "/work/in/model", "/home/u/new/x"])
    depths = [0 if op[-1] == "/" else op[-1].count("/") for op in ops(result)]
    assert depths == sorted(depths)
    assert ["--bind", str(FS / "home/u"), "/home/u"] in ops(result)
    assert ["--bind", "/home/u/.trainyard", "/home/u/.trainyard"] in ops(result)


def test_paths_inside_private_paths_tmp_or_mounts_need_nothing_more() -> None:
    result = plan(
        ["/out", "/out/model.json", "/tmp/x/y", "/data/set/file"],
        mounts=[Mount("/data/set", Path("/vol/1"))],
    )
    shadows = [op for op in ops(result) if op[1].startswith(str(FS))]
    assert shadows == [["--bind", str(FS), "/"]]
    assert result.pathmap.host("/out/model.json") == FS / "out/model.json"
    assert result.pathmap.host("/tmp/x/y") == STEP.tmp / "x/y"
    assert result.pathmap.host("/data/set/file") == Path("/vol/1/file")


def test_mounts_are_bound_at_their_targets_after_their_parents() -> None:
    result = plan(
        [], mounts=[Mount("/mnt/vol", Path("/v/a")), Mount("/etc/ro", Path("/v/b"), read_only=True)]
    )
    assert ["--bind", str(FS), "/"] in ops(result)  # /mnt is missing on the host
    assert ["--ro-bind", "/v/b", "/etc/ro"] in ops(result)
    assert ops(result).index(["--bind", "/v/a", "/mnt/vol"]) > ops(result).index(
        ["--bind", str(FS), "/"]
    )
    assert result.pathmap.host("/mnt/vol/x") == Path("/v/a/x")
    assert result.pathmap.host("/etc/ro") == Path("/v/b")


def test_a_missing_working_dir_is_private_and_created() -> None:
    result = plan([], workdir="/src/app")
    assert result.command(["x"])[-4:] == ["--chdir", "/src/app", "--", "x"]
    assert ["--bind", str(FS), "/"] in ops(result)
    assert FS / "src/app" in result.directories


def test_an_existing_working_dir_is_the_hosts() -> None:
    result = plan([], workdir="/work/data")
    assert ops(result)[0] == ["--bind", "/", "/"]
    assert result.command(["x"])[-4:] == ["--chdir", "/work/data", "--", "x"]
    assert all(not str(d).endswith("work/data") for d in result.directories)


def test_symlinks_in_the_parent_are_resolved_and_aliased() -> None:
    result = plan(["/var/run/app.sock"])
    assert ["--bind", str(FS / "run"), "/run"] in ops(result)
    assert result.pathmap.host("/var/run/app.sock") == FS / "run/app.sock"
    assert result.pathmap.host("/run/app.sock") == FS / "run/app.sock"


def test_without_a_pid_namespace_proc_is_the_hosts() -> None:
    options = SandboxOptions(bwrap="/usr/bin/bwrap", pid_namespace=False)
    result = plan(["/out/x"], options=options)
    assert "--unshare-pid" not in result.command(["x"])
    assert ["--bind", "/proc", "/proc"] in ops(result)


def test_relative_paths_are_refused() -> None:
    with pytest.raises(ValueError, match="not absolute"):
        plan(["out/model.json"])


def test_mount_table_resolves_the_longest_prefix() -> None:
    table = MountTable({"/": Path("/fs"), "/usr": Path("/usr"), "/usr/local": Path("/l")})
    assert table.host("/usr/local/bin/x") == Path("/l/bin/x")
    assert table.host("/usr/lib/../bin") == Path("/usr/bin")
    assert table.host("/opt") == Path("/fs/opt")
    assert table.host("/") == Path("/fs")
    assert MountTable({}).host("//a//b/") == Path("/a/b")


def test_identity_path_map_and_unisolated_plan() -> None:
    assert IdentityPathMap().host("/out/../x") == Path("/x")
    result = plan_unisolated(STEP, "/work/x")
    assert result.command(["a", "b"]) == ["a", "b"]
    assert result.directories == [STEP.tmp, Path("/work/x")]
    assert normalize("/a/./b/") == "/a/b"


def test_probe_failure_says_what_failed_and_how_to_fix_it() -> None:
    with pytest.raises(EnvironmentError_) as caught:
        probe_bwrap("/nonexistent/bwrap")
    message = str(caught.value)
    assert "/nonexistent/bwrap" in message
    assert "apt-get install bubblewrap" in message
    assert "kernel.unprivileged_userns_clone=1" in message
    assert "TRAINYARD_ISOLATION=none" in message


def test_probe_finds_bubblewrap_with_a_pid_namespace() -> None:
    options = probe_bwrap("bwrap")
    assert options.bwrap.endswith("/bwrap")
    assert options.pid_namespace


def test_probe_reports_a_bwrap_that_fails(tmp_path: Path) -> None:
    fake = tmp_path / "bwrap"
    fake.write_text("#!/bin/sh\necho 'bwrap: No permissions to create new namespace' >&2\nexit 1\n")
    fake.chmod(0o755)
    with pytest.raises(EnvironmentError_, match="No permissions to create new namespace"):
        probe_bwrap(str(fake))
