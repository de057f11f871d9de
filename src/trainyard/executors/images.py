"""Building and pushing container images with podman or docker: registries, tags, command lines."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from trainyard.core.config import Config, RegistryConfig
from trainyard.core.errors import ConfigError, EnvironmentError_, ExecutionError

BUILTIN_REGISTRIES = {"none": "", "local": "localhost:32000"}
"""Registries every config has: `none` keeps images local, `local` is a node-local registry."""
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")
NO_ENGINE = "no container engine: install podman (apt-get install podman) or docker"
RUNTIME_FAILURES = ("error running container", "oci runtime", "cgroups in hybrid mode", "crun:")
"""Output of a podman build whose RUN step the OCI runtime could not start on this machine."""
CHROOT_NOTE = (
    "podman could not start build containers with its OCI runtime here; "
    "building with --isolation chroot"
)

_URL = re.compile(r"^[A-Za-z0-9.-]+(:\d+)?(/[a-z0-9._-]+)*$")
_IMAGE = re.compile(r"^[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*$")
_STEPS = (
    re.compile(r"^STEP (\d+/\d+): (.*)$"),  # podman / buildah
    re.compile(r"^Step (\d+/\d+) : (.*)$"),  # docker's classic builder
    re.compile(r"^#\d+ \[(?:[\w.-]+ )?(\d+/\d+)\] (.*)$"),  # docker buildx / BuildKit
)
_DIGEST = re.compile(r"digest: (sha256:[0-9a-f]{64})")


class Engine(StrEnum):
    """The container engines `trainyard deploy` can drive."""

    podman = "podman"
    docker = "docker"


@dataclass(frozen=True)
class Registry:
    """Where images go: `url` is host[:port][/path], empty to keep them in the local engine."""

    name: str
    url: str
    tls_verify: bool = True
    config: RegistryConfig | None = None

    @property
    def pushes(self) -> bool:
        """Whether images are pushed (every registry but `none`)."""
        return bool(self.url)

    @property
    def host(self) -> str:
        """The registry's host[:port], what `login` takes."""
        return self.url.split("/", 1)[0]

    @property
    def insecure(self) -> bool:
        """Plain HTTP or unverified TLS: asked for, or a registry on this machine."""
        return not self.tls_verify or self.host.rsplit(":", 1)[0] in LOOPBACK_HOSTS

    def ref(self, image: str, tag: str) -> str:
        """The full reference of `image:tag` in this registry."""
        return f"{self.url}/{image}:{tag}" if self.url else f"{image}:{tag}"


@dataclass(frozen=True)
class Credentials:
    """A registry login; the password only ever goes to the engine's stdin."""

    username: str
    password: str = field(repr=False)


def resolve_registry(requested: str | None, context: str | None, config: Config) -> Registry:
    """The registry named by -r, else by the context's `registry`, else `none`."""
    name = requested
    if name is None and context is not None:
        if context not in config.contexts:
            known = ", ".join(sorted(config.contexts)) or "none configured"
            raise ConfigError(f"unknown context {context!r} (contexts: {known})")
        name = config.contexts[context].registry
        if name is None:
            raise ConfigError(
                f"context {context!r} names no registry: add `registry:` to contexts.{context} "
                "in the config, or pass -r REGISTRY"
            )
    name = name or "none"
    if name in config.registries:
        entry = config.registries[name]
        url, plain_http = _normalize(entry.url, f"registries.{name}.url")
        return Registry(name, url, entry.tls_verify and not plain_http, entry)
    if name in BUILTIN_REGISTRIES:
        return Registry(name, BUILTIN_REGISTRIES[name])
    if any(c in name for c in ".:/") or name == "localhost":
        url, plain_http = _normalize(name, "-r")
        return Registry(name, url, not plain_http)
    known = ", ".join([*sorted(config.registries), *BUILTIN_REGISTRIES])
    raise ConfigError(
        f"unknown registry {name!r}: name one of {known}, or give a URL (host[:port][/path])"
    )


def _normalize(url: str, where: str) -> tuple[str, bool]:
    """`url` without scheme or trailing slash, and whether it asked for plain HTTP."""
    if url == "none":
        return "", False
    plain_http = url.startswith("http://")
    bare = re.sub(r"^https?://", "", url).rstrip("/")
    if not _URL.match(bare):
        raise ConfigError(
            f"{where}: {url!r} is not a registry URL: give host[:port][/path], "
            "e.g. registry.example.com/ml or 127.0.0.1:5000"
        )
    return bare, plain_http


def credentials(registry: Registry, env: Mapping[str, str] | None = None) -> Credentials | None:
    """The registry's login from the config (env variables, a file, or plain), or None."""
    entry = registry.config
    if entry is None:
        return None
    source = os.environ if env is None else env
    where = f"registries.{registry.name}"
    username = entry.username or _from_env(source, entry.username_env, f"{where}.usernameEnv")
    password = entry.password or _from_env(source, entry.password_env, f"{where}.passwordEnv")
    if password is None and entry.password_file:
        path = Path(entry.password_file).expanduser()
        try:
            password = path.read_text().rstrip("\r\n")
        except OSError as exc:
            raise ConfigError(
                f"{where}.passwordFile: cannot read {path}: {exc.strerror or exc}"
            ) from None
    if username is None and password is None:
        return None
    if username is None or not password:
        missing = "username (username or usernameEnv)" if username is None else "password"
        raise ConfigError(f"{where}: a login needs a {missing} too")
    return Credentials(username, password)


def _from_env(env: Mapping[str, str], variable: str | None, where: str) -> str | None:
    if variable is None:
        return None
    if variable not in env:
        raise ConfigError(f"{where}: the environment variable {variable} is not set")
    return env[variable]


def image_name(configured: str | None, directory: Path) -> str:
    """The training image's name: `deploy.image`, else the directory's name made valid."""
    if configured is not None:
        if not _IMAGE.match(configured):
            raise ConfigError(
                f"deploy.image: {configured!r} is not an image name: use lowercase letters, "
                "digits and . _ - (and / between parts)"
            )
        return configured
    name = re.sub(r"[^a-z0-9._-]+", "-", directory.name.lower())
    name = re.sub(r"[._-]{2,}", "-", name).strip("._-")
    return name or "image"


def version_tag(commit: str | None, dirty: bool, now: datetime) -> str:
    """The short commit (`-dirty` with uncommitted changes), else the time, as an image tag."""
    if commit is None:
        return now.strftime("%Y%m%d-%H%M%S")
    return f"{commit}-dirty" if dirty else commit


def git_state(directory: Path, short: bool = True) -> tuple[str | None, bool]:
    """The (short) commit of the checkout holding `directory` and whether tracked files changed;
    (None, False) outside a checkout or without git."""
    git = shutil.which("git")
    if git is None:
        return None, False
    head = subprocess.run(
        [git, "-C", str(directory), "rev-parse", *(["--short"] if short else []), "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    if head.returncode != 0:
        return None, False
    changes = subprocess.run(
        [git, "-C", str(directory), "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
        check=False,
    )
    return head.stdout.strip(), bool(changes.stdout.strip())


def find_engine(requested: Engine | None, which: Callable[[str], str | None] = shutil.which) -> str:
    """The engine's executable: the one asked for, else podman, else docker."""
    if requested is not None:
        found = which(requested.value)
        if found is None:
            raise EnvironmentError_(
                f"--engine {requested.value}: {requested.value} is not installed (not on PATH)"
            )
        return found
    for engine in Engine:
        found = which(engine.value)
        if found is not None:
            return found
    raise EnvironmentError_(NO_ENGINE)


def engine_kind(executable: str) -> Engine:
    """Which engine an executable is, by its name (a `podman` wrapper counts as podman)."""
    return Engine.podman if "podman" in Path(executable).name else Engine.docker


def build_command(
    engine: str,
    dockerfile: Path,
    context: Path,
    refs: Sequence[str],
    build_args: Mapping[str, str] | None = None,
    isolation: str | None = None,
) -> list[str]:
    """`ENGINE build -f DOCKERFILE -t REF... [--build-arg K=V...] CONTEXT`."""
    command = [engine, "build", "-f", str(dockerfile)]
    for ref in refs:
        command += ["-t", ref]
    for key, value in (build_args or {}).items():
        command += ["--build-arg", f"{key}={value}"]
    if isolation is not None:
        command += ["--isolation", isolation]
    return [*command, str(context)]


def login_command(engine: str, host: str, username: str, insecure: bool) -> list[str]:
    """`ENGINE login --username U --password-stdin HOST`: the password goes to stdin."""
    command = [engine, "login", "--username", username, "--password-stdin"]
    if insecure and engine_kind(engine) is Engine.podman:
        command.append("--tls-verify=false")
    return [*command, host]


def push_command(engine: str, ref: str, insecure: bool, digest_file: Path | None) -> list[str]:
    """`ENGINE push REF`, on podman with --tls-verify=false and --digestfile as asked."""
    command = [engine, "push"]
    if engine_kind(engine) is Engine.podman:
        if insecure:
            command.append("--tls-verify=false")
        if digest_file is not None:
            command += ["--digestfile", str(digest_file)]
    return [*command, ref]


def build_step(line: str) -> str | None:
    """`2/3: RUN ...` when an engine's output line starts a build step, else None."""
    for pattern in _STEPS:
        match = pattern.match(line.strip())
        if match:
            return f"{match.group(1)}: {match.group(2)}"
    return None


def pushed_digest(output: str) -> str | None:
    """The manifest digest docker prints after a push (`... digest: sha256:... size: N`)."""
    match = _DIGEST.search(output)
    return match.group(1) if match else None


def runtime_failed(output: Sequence[str]) -> bool:
    """Whether a failed podman build failed because the OCI runtime could not run a step."""
    text = "\n".join(output).lower()
    return any(marker in text for marker in RUNTIME_FAILURES)


@dataclass
class Run:
    """What an engine command did: its exit status and its last lines of output."""

    returncode: int
    lines: list[str]

    def tail(self, count: int = 15) -> str:
        """The last `count` lines, for an error message."""
        return "\n".join(self.lines[-count:])


def run(command: Sequence[str], on_line: Callable[[str], None], stdin: str | None = None) -> Run:
    """Run `command`, handing each line of its output (stdout and stderr) to `on_line`."""
    kept: deque[str] = deque(maxlen=200)
    try:
        process = subprocess.Popen(
            list(command),
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        )
    except OSError as exc:
        raise EnvironmentError_(f"cannot run {command[0]}: {exc.strerror or exc}") from None
    with process:
        assert process.stdin is not None or stdin is None
        if process.stdin is not None and stdin is not None:
            try:
                process.stdin.write(stdin)
                process.stdin.close()
            except BrokenPipeError:  # it exited without reading: its output says why
                pass
        assert process.stdout is not None
        for raw in process.stdout:
            line = raw.rstrip("\r\n")
            kept.append(line)
            on_line(line)
        returncode = process.wait()
    return Run(returncode, list(kept))


class ImageBuilder:
    """Drives one engine's build, login and push, remembering what this machine needs."""

    def __init__(
        self,
        engine: str,
        on_line: Callable[[str], None],
        on_note: Callable[[str], None] = lambda note: None,
    ) -> None:
        self.engine = engine
        self.on_line = on_line
        self.on_note = on_note
        self.isolation: str | None = None
        self.notes: list[str] = []

    def note(self, text: str) -> None:
        """Tell the user something about this machine, once."""
        if text not in self.notes:
            self.notes.append(text)
            self.on_note(text)

    @property
    def kind(self) -> Engine:
        """podman or docker."""
        return engine_kind(self.engine)

    def build(
        self,
        dockerfile: Path,
        context: Path,
        refs: Sequence[str],
        build_args: Mapping[str, str] | None = None,
    ) -> None:
        """Build `dockerfile` and tag it with every ref; podman retries with chroot isolation."""
        command = build_command(self.engine, dockerfile, context, refs, build_args, self.isolation)
        result = run(command, self.on_line)
        if result.returncode != 0 and self._chroot_helps(result):
            self.isolation = "chroot"
            self.note(CHROOT_NOTE)
            command = build_command(self.engine, dockerfile, context, refs, build_args, "chroot")
            result = run(command, self.on_line)
        if result.returncode != 0:
            raise ExecutionError(
                f"building {refs[0]} from {dockerfile} failed "
                f"({self.kind.value} exit {result.returncode}):\n{result.tail()}"
            )

    def _chroot_helps(self, result: Run) -> bool:
        return (
            self.kind is Engine.podman and self.isolation is None and runtime_failed(result.lines)
        )

    def login(self, registry: Registry, login: Credentials) -> None:
        """Log in to the registry, the password on stdin only."""
        command = login_command(self.engine, registry.host, login.username, registry.insecure)
        result = run(command, self.on_line, stdin=login.password + "\n")
        if result.returncode != 0:
            raise ExecutionError(
                f"login to {registry.host} as {login.username} failed "
                f"({self.kind.value} exit {result.returncode}): {result.tail(3)}"
            )

    def push(self, ref: str, registry: Registry) -> str | None:
        """Push `ref`; returns the digest of its manifest when the engine tells it."""
        if self.kind is Engine.docker and not registry.tls_verify:
            self.note(
                f"docker takes tlsVerify from its daemon: add {registry.host} to "
                '"insecure-registries" in /etc/docker/daemon.json'
            )
        with tempfile.TemporaryDirectory(prefix="trainyard-push-") as scratch:
            digest_file = Path(scratch) / "digest"
            command = push_command(self.engine, ref, registry.insecure, digest_file)
            result = run(command, self.on_line)
            if result.returncode != 0:
                raise ExecutionError(
                    f"pushing {ref} failed ({self.kind.value} exit {result.returncode}):\n"
                    f"{result.tail()}"
                )
            if digest_file.exists():
                return digest_file.read_text().strip() or None
        return pushed_digest("\n".join(result.lines))
