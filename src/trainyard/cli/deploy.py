"""`trainyard deploy`: build the training and development images and push them to a registry."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from rich.status import Status

from trainyard.cli.output import OUTPUT_OPTION, Format, emit, err, is_structured, out
from trainyard.cli.remote import Remote
from trainyard.cli.services import State
from trainyard.core.config import Config, load_config
from trainyard.core.errors import ConfigError, UserError
from trainyard.executors.images import (
    Credentials,
    Engine,
    ImageBuilder,
    Registry,
    build_step,
    credentials,
    find_engine,
    git_state,
    image_name,
    resolve_registry,
    version_tag,
)

app = typer.Typer()
LATEST = "latest"


@dataclass(frozen=True)
class Plan:
    """What one deploy builds: the images' names, Dockerfiles, context and tag."""

    image: str
    tag: str
    train_dockerfile: Path
    dev_dockerfile: Path | None
    context: Path
    notes: list[str] = field(default_factory=list)


def make_plan(config: Config, directory: Path, now: datetime) -> Plan:
    """Read the deploy settings against `directory`; a missing training Dockerfile is an error."""
    settings = config.deploy
    train = directory / settings.train_dockerfile
    if not train.is_file():
        raise ConfigError(
            f"{train}: no such Dockerfile: the training image is built from it "
            "(deploy.trainDockerfile, relative to --dir)"
        )
    context = directory / settings.context_dir
    if not context.is_dir():
        raise ConfigError(f"{context}: no such directory (deploy.contextDir, relative to --dir)")
    notes: list[str] = []
    dev_file = directory / settings.dev_dockerfile
    dev = dev_file if dev_file.is_file() else None
    if dev is None:
        notes.append(f"no {dev_file}: the development image is skipped")
    commit, dirty = git_state(directory)
    tag = version_tag(commit, dirty, now)
    if commit is None:
        notes.append(f"{directory} is not in a git checkout with a commit: tagging with the date")
    return Plan(image_name(settings.image, directory), tag, train, dev, context, notes)


class Progress:
    """Shows the current build step on a status line and the engine's output dimmed."""

    def __init__(self, status: Status, verbose: bool) -> None:
        self.status = status
        self.verbose = verbose
        self.subject = ""

    def start(self, subject: str) -> None:
        """A new engine command begins (`building app:1f2e3d`)."""
        self.subject = subject
        self.status.update(subject)
        if self.verbose:
            err.print(subject, style="bold", markup=False, highlight=False)

    def line(self, text: str) -> None:
        """One line of the engine's output."""
        step = build_step(text)
        if step is not None:
            self.status.update(f"{self.subject}: step {step}")
        if self.verbose:
            err.print(text, style="dim", markup=False, highlight=False)


@app.command()
def deploy(
    registry: str | None = typer.Option(
        None,
        "--registry",
        "-r",
        help="A registry of the config, `none` (keep images local), `local` (localhost:32000), "
        "or a URL (host, host:port or host:port/path).",
    ),
    context: str | None = typer.Option(
        None,
        "--context",
        help="Push to this context's `registry` (when -r is not given; default: the current).",
    ),
    engine: Engine | None = typer.Option(
        None, "--engine", help="The container engine (default: podman if installed, else docker)."
    ),
    directory: Path = typer.Option(
        Path("."), "--dir", help="The project: Dockerfiles and trainyard.yaml (default: here)."
    ),
    output: Format = OUTPUT_OPTION,
) -> None:
    """Build the training image and the development image on top of it, and push both."""
    if not directory.is_dir():
        raise UserError(f"--dir {directory}: no such directory")
    directory = directory.resolve()
    config = load_config(State.services().settings.home, directory)
    for warning in config.plain_secrets():
        err.print(f"warning: {warning}", style="yellow", markup=False, highlight=False)
    # `--context` is a global option (it may follow the command): the CLI has it in Remote.
    target = resolve_registry(registry, context or Remote.target.context, config)
    login = credentials(target) if target.pushes else None
    plan = make_plan(config, directory, datetime.now(UTC))
    for note in plan.notes:
        _note(note)
    executable = find_engine(engine)
    with err.status("starting") as status:
        progress = Progress(status, verbose=not is_structured(output))
        builder = ImageBuilder(executable, progress.line, _note)
        images = _deploy(builder, progress, plan, target, login)
    report = {
        "engine": builder.kind.value,
        "registry": target.url or "none",
        "tag": plan.tag,
        "images": images,
    }
    if is_structured(output):
        emit(report, output)
        return
    for image in images:
        where = f"pushed  {image['digest'] or ''}" if image["pushed"] else "built (not pushed)"
        out.print(f"{image['ref']}  {where}".rstrip(), markup=False)


def _note(text: str) -> None:
    err.print(f"note: {text}", markup=False, highlight=False)


def _deploy(
    builder: ImageBuilder,
    progress: Progress,
    plan: Plan,
    target: Registry,
    login: Credentials | None,
) -> list[dict[str, Any]]:
    """Log in, build both images, push them; one entry per reference made."""
    if login is not None:
        progress.start(f"logging in to {target.host}")
        builder.login(target, login)
    train = [target.ref(plan.image, plan.tag), target.ref(plan.image, LATEST)]
    progress.start(f"building {train[0]}")
    builder.build(plan.train_dockerfile, plan.context, train)
    refs = list(train)
    if plan.dev_dockerfile is not None:
        dev = [target.ref(f"{plan.image}-dev", plan.tag), target.ref(f"{plan.image}-dev", LATEST)]
        progress.start(f"building {dev[0]}")
        builder.build(plan.dev_dockerfile, plan.context, dev, {"IMAGE": train[0]})
        refs += dev
    images: list[dict[str, Any]] = []
    for ref in refs:
        if not target.pushes:
            images.append({"ref": ref, "pushed": False})
            continue
        progress.start(f"pushing {ref}")
        images.append({"ref": ref, "digest": builder.push(ref, target), "pushed": True})
    return images
