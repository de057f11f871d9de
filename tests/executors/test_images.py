"""Image building's pure parts (registries, tags, command lines, output parsing) and its runs."""

from __future__ import annotations

import os
import re
import stat
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from trainyard.core.config import Config
from trainyard.core.errors import ConfigError, EnvironmentError_, ExecutionError
from trainyard.executors.images import (
    CHROOT_NOTE,
    NO_ENGINE,
    Credentials,
    Engine,
    ImageBuilder,
    Registry,
    build_command,
    build_step,
    credentials,
    find_engine,
    git_state,
    image_name,
    login_command,
    push_command,
    pushed_digest,
    resolve_registry,
    run,
    runtime_failed,
    version_tag,
)

CONFIG = Config.model_validate(
    {
        "registries": {
            "company": {"url": "https://registry.example.com/ml/", "usernameEnv": "REG_USER"},
            "plain": "http://10.0.0.5:5000",
            "off": "none",
            "unverified": {"url": "registry.lan", "tlsVerify": False},
        },
        "contexts": {
            "abacus": {"server": "https://argo:2746", "registry": "company"},
            "bare": {"server": "https://argo:2746"},
        },
    }
)


# --- registries ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("requested", "context", "url", "tls_verify"),
    [
        (None, None, "", True),
        ("none", None, "", True),
        ("local", None, "localhost:32000", True),
        ("company", None, "registry.example.com/ml", True),
        ("plain", None, "10.0.0.5:5000", False),
        ("off", None, "", False),
        ("unverified", None, "registry.lan", False),
        ("quay.io/team", None, "quay.io/team", True),
        ("http://127.0.0.1:5000", None, "127.0.0.1:5000", False),
        ("localhost", None, "localhost", True),
        (None, "abacus", "registry.example.com/ml", True),
        ("local", "abacus", "localhost:32000", True),
    ],
)
def test_registry_resolution(
    requested: str | None, context: str | None, url: str, tls_verify: bool
) -> None:
    registry = resolve_registry(requested, context, CONFIG)
    assert (registry.url, registry.tls_verify) == (url, tls_verify or not url)
    assert registry.pushes == bool(url)


@pytest.mark.parametrize(
    ("requested", "context", "message"),
    [
        ("nowhere", None, "unknown registry 'nowhere': name one of company, off, plain"),
        ("bad host!/x", None, "-r: 'bad host!/x' is not a registry URL"),
        (None, "missing", "unknown context 'missing' (contexts: abacus, bare)"),
        (None, "bare", "context 'bare' names no registry: add `registry:` to contexts.bare"),
    ],
)
def test_registry_mistakes_say_what_to_fix(
    requested: str | None, context: str | None, message: str
) -> None:
    with pytest.raises(ConfigError, match="^" + re.escape(message)):
        resolve_registry(requested, context, CONFIG)


def test_references_and_plain_http_hosts() -> None:
    local = Registry("local-test", "127.0.0.1:5000")
    assert local.ref("app", "abc1234") == "127.0.0.1:5000/app:abc1234"
    assert local.insecure and local.host == "127.0.0.1:5000"
    assert Registry("l", "localhost:32000/x").insecure
    assert Registry("u", "registry.lan", tls_verify=False).insecure
    company = resolve_registry("company", None, CONFIG)
    assert not company.insecure and company.host == "registry.example.com"
    assert Registry("none", "").ref("app", "latest") == "app:latest"


def test_credentials_from_env_file_or_plain(tmp_path: Path) -> None:
    secret = tmp_path / "password"
    secret.write_text("s3cret\n")
    config = Config.model_validate(
        {
            "registries": {
                "envs": {"url": "r.io", "usernameEnv": "U", "passwordEnv": "P"},
                "file": {"url": "r.io", "username": "ana", "passwordFile": str(secret)},
                "plain": {"url": "r.io", "username": "bo", "password": "pw"},
                "anonymous": "r.io",
                "half": {"url": "r.io", "username": "ana"},
            }
        }
    )

    def login(name: str, env: dict[str, str]) -> Credentials | None:
        return credentials(resolve_registry(name, None, config), env)

    assert login("envs", {"U": "ci", "P": "tok"}) == Credentials("ci", "tok")
    assert login("file", {}) == Credentials("ana", "s3cret")
    assert login("plain", {}) == Credentials("bo", "pw")
    assert login("anonymous", {}) is None
    assert "pw" not in repr(Credentials("bo", "pw"))
    with pytest.raises(ConfigError, match=r"registries.envs.usernameEnv: .* U is not set"):
        login("envs", {})
    with pytest.raises(ConfigError, match=r"registries\.half: a login needs a password too"):
        login("half", {})


# --- names and tags --------------------------------------------------------------------------


def test_image_names() -> None:
    assert image_name("team/trainer", Path("/x")) == "team/trainer"
    assert image_name(None, Path("/src/My Project__v2")) == "my-project-v2"
    assert image_name(None, Path("/src/multistep-training")) == "multistep-training"
    assert image_name(None, Path("/src/..__")) == "image"
    with pytest.raises(ConfigError, match=r"deploy\.image: 'Team/App' is not an image name"):
        image_name("Team/App", Path("/x"))


def test_version_tags() -> None:
    now = datetime(2026, 5, 4, 3, 2, 1, tzinfo=UTC)
    assert version_tag("1a2b3c4", False, now) == "1a2b3c4"
    assert version_tag("1a2b3c4", True, now) == "1a2b3c4-dirty"
    assert version_tag(None, False, now) == "20260504-030201"


def test_git_state_of_a_real_checkout(tmp_path: Path) -> None:
    assert git_state(tmp_path) == (None, False)

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(tmp_path), *args], check=True, capture_output=True, text=True
        ).stdout.strip()

    git("init", "-q")
    assert git_state(tmp_path) == (None, False)  # no commit yet
    (tmp_path / "Dockerfile.train").write_text("FROM scratch\n")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "first")
    sha = git("rev-parse", "--short", "HEAD")
    (tmp_path / "untracked.txt").write_text("new")
    assert git_state(tmp_path) == (sha, False)
    (tmp_path / "Dockerfile.train").write_text("FROM scratch\nCOPY x /x\n")
    assert git_state(tmp_path) == (sha, True)


# --- engines and command lines ---------------------------------------------------------------


def test_engine_choice() -> None:
    both = {"podman": "/usr/bin/podman", "docker": "/usr/bin/docker"}.get
    assert find_engine(None, both) == "/usr/bin/podman"
    assert find_engine(Engine.docker, both) == "/usr/bin/docker"
    assert find_engine(None, {"docker": "/usr/bin/docker"}.get) == "/usr/bin/docker"
    with pytest.raises(EnvironmentError_, match=f"^{re.escape(NO_ENGINE)}$") as raised:
        find_engine(None, {}.get)
    assert raised.value.exit_code == 3
    with pytest.raises(EnvironmentError_, match="--engine podman: podman is not installed"):
        find_engine(Engine.podman, {"docker": "/usr/bin/docker"}.get)


def test_command_lines() -> None:
    refs = ["r:5000/app:abc", "r:5000/app:latest"]
    assert build_command("podman", Path("D.train"), Path("."), refs) == [
        "podman", "build", "-f", "D.train", "-t", refs[0], "-t", refs[1], ".",
    ]  # fmt: skip
    assert build_command(
        "/usr/bin/podman", Path("D"), Path("ctx"), ["a-dev:1"], {"IMAGE": "a:1"}, "chroot"
    ) == [
        "/usr/bin/podman", "build", "-f", "D", "-t", "a-dev:1", "--build-arg", "IMAGE=a:1",
        "--isolation", "chroot", "ctx",
    ]  # fmt: skip
    assert login_command("/usr/bin/podman", "127.0.0.1:5000", "ana", True) == [
        "/usr/bin/podman", "login", "--username", "ana", "--password-stdin",
        "--tls-verify=false", "127.0.0.1:5000",
    ]  # fmt: skip
    assert login_command("docker", "r.io", "ana", True) == [
        "docker", "login", "--username", "ana", "--password-stdin", "r.io",
    ]  # fmt: skip
    assert push_command("podman", "r.io/a:1", False, Path("/t/d")) == [
        "podman", "push", "--digestfile", "/t/d", "r.io/a:1",
    ]  # fmt: skip
    assert push_command("podman", "localhost:5000/a:1", True, None) == [
        "podman", "push", "--tls-verify=false", "localhost:5000/a:1",
    ]  # fmt: skip
    assert push_command("docker", "r.io/a:1", True, Path("/t/d")) == ["docker", "push", "r.io/a:1"]


def test_engine_output_parsing() -> None:
    assert build_step("STEP 2/5: RUN pip install .") == "2/5: RUN pip install ."
    assert build_step("Step 1/3 : FROM python:3.11") == "1/3: FROM python:3.11"
    assert build_step("#7 [builder 3/4] COPY src ./src") == "3/4: COPY src ./src"
    assert build_step("#5 [2/2] RUN true") == "2/2: RUN true"
    assert build_step("Copying blob sha256:abc") is None
    digest = "sha256:" + "ab" * 32
    assert pushed_digest(f"latest: digest: {digest} size: 528") == digest
    assert pushed_digest("Writing manifest to image destination") is None
    assert runtime_failed(["STEP 2/2: RUN x", "error running container: from /usr/bin/crun"])
    assert not runtime_failed(["STEP 2/2: RUN false", "Error: building at STEP: exit status 1"])


# --- running an engine: a stand-in `podman` script, a real subprocess ------------------------

FAKE_PODMAN = """#!/bin/sh
# Records its arguments and stdin; a build without --isolation chroot fails as crun does on a
# cgroup-v1 hybrid host.
echo "$*" >> "{log}"
case "$1" in
  login) cat >> "{log}" ;;
  build)
    echo "STEP 1/2: FROM scratch"
    case "$*" in
      *"--isolation chroot"*) echo "STEP 2/2: RUN true" ;;
      *) echo "error running container: cgroups in hybrid mode not supported" >&2; exit 1 ;;
    esac ;;
  push)
    while [ $# -gt 1 ]; do
      [ "$1" = --digestfile ] && echo "sha256:{digest}" > "$2"
      shift
    done ;;
esac
"""


def _fake_podman(tmp_path: Path) -> tuple[Path, Path]:
    log = tmp_path / "calls.log"
    engine = tmp_path / "bin" / "podman"
    engine.parent.mkdir()
    engine.write_text(FAKE_PODMAN.format(log=log, digest="cd" * 32))
    engine.chmod(engine.stat().st_mode | stat.S_IXUSR)
    return engine, log


def test_run_streams_lines_and_feeds_stdin() -> None:
    seen: list[str] = []
    result = run(["sh", "-c", "echo one; echo two >&2; cat; exit 3"], seen.append, "three\n")
    assert result.returncode == 3
    assert seen == result.lines == ["one", "two", "three"]
    assert result.tail(1) == "three"


def test_builder_retries_with_chroot_logs_in_on_stdin_and_pushes(tmp_path: Path) -> None:
    engine, log = _fake_podman(tmp_path)
    lines: list[str] = []
    notes: list[str] = []
    builder = ImageBuilder(str(engine), lines.append, notes.append)
    registry = Registry("test", "127.0.0.1:5000")
    builder.login(registry, Credentials("ana", "pa55word"))
    builder.build(Path("D"), tmp_path, ["127.0.0.1:5000/a:1"])
    builder.build(Path("D"), tmp_path, ["127.0.0.1:5000/a-dev:1"], {"IMAGE": "a:1"})
    assert builder.push("127.0.0.1:5000/a:1", registry) == "sha256:" + "cd" * 32
    assert notes == [CHROOT_NOTE]
    assert "STEP 2/2: RUN true" in lines
    calls = log.read_text().splitlines()
    assert calls[0] == "login --username ana --password-stdin --tls-verify=false 127.0.0.1:5000"
    assert calls[1] == "pa55word"  # on stdin, never in the arguments
    assert not any("pa55word" in call for call in calls[:1] + calls[2:])
    builds = [c for c in calls if c.startswith("build")]
    # The first build fails without chroot and is retried; the second uses chroot at once.
    assert [b.endswith(f"--isolation chroot {tmp_path}") for b in builds] == [False, True, True]
    assert calls[-1].startswith("push --tls-verify=false --digestfile ")


def test_failed_engine_commands_say_which_image(tmp_path: Path) -> None:
    engine = tmp_path / "podman"
    engine.write_text("#!/bin/sh\necho 'Error: no such file Dockerfile.x'; exit 125\n")
    engine.chmod(0o755)
    builder = ImageBuilder(str(engine), lambda line: None)
    with pytest.raises(ExecutionError, match=r"building a:1 from D failed \(podman exit 125\)"):
        builder.build(Path("D"), tmp_path, ["a:1"])
    with pytest.raises(ExecutionError, match=r"login to r\.io as ana failed"):
        builder.login(Registry("r", "r.io"), Credentials("ana", "x"))
    with pytest.raises(ExecutionError, match=r"pushing r.io/a:1 failed \(podman exit 125\)"):
        builder.push("r.io/a:1", Registry("r", "r.io"))
    assert builder.isolation is None  # not a runtime failure: no chroot retry


def test_an_engine_that_cannot_start_is_an_environment_error(tmp_path: Path) -> None:
    missing = tmp_path / "podman"
    with pytest.raises(EnvironmentError_, match=f"cannot run {missing}"):
        run([str(missing)], lambda line: None)
    assert not os.path.exists(missing)
