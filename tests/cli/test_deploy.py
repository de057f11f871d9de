"""`trainyard deploy` for real: podman builds two images and pushes them to 127.0.0.1:5000."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.cli.conftest import Runner
from trainyard.cli.deploy import make_plan
from trainyard.core.config import load_config

REGISTRY = "127.0.0.1:5000"
MANIFEST_TYPES = ", ".join(
    [
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    ]
)
TRAIN = "FROM scratch\nCOPY root/ /\n"
DEV = "ARG IMAGE\nFROM ${IMAGE}\nRUN echo dev > /dev.txt\n"


def _registry_answers() -> bool:
    try:
        with urllib.request.urlopen(f"http://{REGISTRY}/v2/", timeout=2) as reply:
            return bool(reply.status == 200)
    except (OSError, urllib.error.URLError):
        return False


def _manifest(name: str, tag: str) -> tuple[int, str | None]:
    """The registry's answer for a manifest: HTTP status and Docker-Content-Digest."""
    request = urllib.request.Request(
        f"http://{REGISTRY}/v2/{name}/manifests/{tag}", headers={"Accept": MANIFEST_TYPES}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            json.loads(reply.read())
            return reply.status, reply.headers.get("Docker-Content-Digest")
    except urllib.error.HTTPError as exc:
        return exc.code, None


def _root_filesystem(root: Path) -> None:
    """A tiny root file system: /bin/sh (dash) and the libraries it links, so RUN works."""
    shell = Path(shutil.which("dash") or "/bin/sh").resolve()
    libraries = subprocess.run(["ldd", str(shell)], capture_output=True, text=True, check=True)
    for path in [str(shell), *(w for w in libraries.stdout.split() if w.startswith("/"))]:
        target = root / ("bin/sh" if path == str(shell) else path.lstrip("/"))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target)


@pytest.fixture
def project(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A project directory with Dockerfile.train and Dockerfile, and its unique image name."""
    if shutil.which("podman") is None or shutil.which("ldd") is None:
        pytest.skip("podman is not installed (scripts/system-deps.sh installs it)")
    name = f"trainyard-test-{uuid.uuid4().hex[:8]}"
    directory = tmp_path / "project"
    directory.mkdir()
    _root_filesystem(directory / "root")
    (directory / "Dockerfile.train").write_text(TRAIN)
    (directory / "Dockerfile").write_text(DEV)
    (directory / "trainyard.yaml").write_text(
        f"registries:\n  local-test: {{url: {REGISTRY}}}\ndeploy: {{image: {name}}}\n"
    )
    yield directory, name
    listed = subprocess.run(
        ["podman", "images", "--format", "{{.Repository}}:{{.Tag}}"],
        capture_output=True,
        text=True,
        check=False,
    )
    mine = [ref for ref in listed.stdout.split() if name in ref]
    if mine:
        subprocess.run(["podman", "rmi", "-f", *mine], capture_output=True, check=False)


def _commit(directory: Path) -> str:
    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(directory), *args], capture_output=True, text=True, check=True
        )
        return done.stdout.strip()

    git("init", "-q")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "project")
    return git("rev-parse", "--short", "HEAD")


def test_deploy_builds_both_images_and_pushes_them(
    trainyard: Runner, project: tuple[Path, str]
) -> None:
    if not _registry_answers():
        pytest.skip(f"no registry without login on {REGISTRY} (scripts/services.sh starts one)")
    directory, name = project
    commit = _commit(directory)
    done = trainyard("deploy", "-r", "local-test", "--dir", str(directory), "-o", "json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["engine"], report["registry"], report["tag"]) == ("podman", REGISTRY, commit)
    refs = [
        f"{REGISTRY}/{image}:{tag}" for image in (name, f"{name}-dev") for tag in (commit, "latest")
    ]
    assert [i["ref"] for i in report["images"]] == refs
    assert all(i["pushed"] and i["digest"].startswith("sha256:") for i in report["images"])
    for image in report["images"]:
        repository, tag = image["ref"].removeprefix(f"{REGISTRY}/").rsplit(":", 1)
        assert _manifest(repository, tag) == (200, image["digest"])
    train, dev = report["images"][0]["digest"], report["images"][2]["digest"]
    assert train != dev


def test_deploy_to_none_builds_without_pushing(
    trainyard: Runner, project: tuple[Path, str]
) -> None:
    directory, name = project
    (directory / "Dockerfile.train").write_text(TRAIN + "COPY Dockerfile /Dockerfile.dev\n")
    done = trainyard("deploy", "--dir", str(directory), "-o", "json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["registry"] == "none"
    tag = report["tag"]
    assert "not in a git checkout" in done.stderr and len(tag) == len("20260504-030201")
    assert report["images"] == [
        {"ref": f"{image}:{t}", "pushed": False}
        for image in (name, f"{name}-dev")
        for t in (tag, "latest")
    ]
    for image in report["images"]:
        exists = subprocess.run(["podman", "image", "exists", image["ref"]], check=False)
        assert exists.returncode == 0, image["ref"]
    if _registry_answers():
        assert _manifest(name, tag)[0] == 404


def test_missing_dev_dockerfile_skips_the_dev_image(
    trainyard: Runner, project: tuple[Path, str]
) -> None:
    directory, name = project
    (directory / "Dockerfile").unlink()
    done = trainyard("deploy", "-r", "none", "--dir", str(directory))
    assert done.returncode == 0, done.stderr
    assert f"note: no {directory / 'Dockerfile'}: the development image is skipped" in done.stderr
    assert f"{name}:latest  built (not pushed)" in done.stdout
    assert "-dev" not in done.stdout


def _deploy_with_path(directory: Path, home: Path, path: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TRAINYARD_HOME": str(home), "PATH": path}
    return subprocess.run(
        [sys.executable, "-m", "trainyard", "deploy", "--dir", str(directory)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=60,
    )


def test_no_engine_is_one_clear_error(tmp_path: Path, home: Path) -> None:
    (tmp_path / "Dockerfile.train").write_text(TRAIN)
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    done = _deploy_with_path(tmp_path, home, str(empty))
    assert done.returncode == 3
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        "error: no container engine: install podman (apt-get install podman) or docker"
    )


def test_mistakes_name_what_to_fix(trainyard: Runner, tmp_path: Path) -> None:
    missing = trainyard("deploy", "--dir", str(tmp_path))
    assert missing.returncode == 2
    assert f"error: {tmp_path / 'Dockerfile.train'}: no such Dockerfile" in missing.stderr
    (tmp_path / "Dockerfile.train").write_text(TRAIN)
    unknown = trainyard("deploy", "--dir", str(tmp_path), "-r", "nowhere")
    assert unknown.returncode == 2
    assert "error: unknown registry 'nowhere': name one of none, local" in unknown.stderr
    (tmp_path / "trainyard.yaml").write_text(
        "registries:\n  co: {url: r.io, usernameEnv: NOPE_X}\n"
    )
    unset = trainyard("deploy", "--dir", str(tmp_path), "-r", "co")
    assert unset.returncode == 2
    assert "registries.co.usernameEnv: the environment variable NOPE_X is not set" in unset.stderr
    for done in (missing, unknown, unset):
        assert "Traceback" not in done.stderr


def test_the_example_project_builds_from_the_repository_root(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "multistep-training"
    plan = make_plan(load_config(tmp_path, example), example, datetime.now(UTC))
    assert plan.image == "trainyard/multistep-training"
    assert plan.context.resolve() == example.parents[1]
    assert (plan.train_dockerfile.name, plan.dev_dockerfile) == (
        "Dockerfile.train",
        example / "Dockerfile",
    )
    # The dev image must be built FROM the training image handed over as IMAGE.
    assert "FROM ${IMAGE}" in (example / "Dockerfile").read_text().splitlines()
    assert (example / "Dockerfile.dockerignore").read_text().splitlines()[-1] == "*"


def test_help_names_every_option(trainyard: Runner) -> None:
    done = trainyard("deploy", "--help")
    assert done.returncode == 0, done.stderr
    for option in ("--registry", "--context", "--engine", "--dir", "--output"):
        assert option in done.stdout
