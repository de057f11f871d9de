"""Steps in real podman containers: `trainyard run --executor container` end to end, and the
`podman run` command lines the container executor builds."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.cli.conftest import Runner
from trainyard.core.errors import EnvironmentError_
from trainyard.executors.base import ContainerSpec, Mount, StepLaunch
from trainyard.executors.container import engine_args, gpu_args, plan_container
from trainyard.executors.stepdir import StepDir

IMAGE = "localhost/trainyard-test-busybox:1"
ECHO_IMAGE = "localhost/trainyard-test-echo:1"
BUSYBOX = Path("/bin/busybox")
APPLETS = ("sh", "cat", "echo", "sleep", "test", "hostname", "pwd", "ls", "mkdir")


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A fresh TRAINYARD_HOME."""
    return tmp_path / "home"


@pytest.fixture
def trainyard(home: Path) -> Runner:
    """`trainyard(*args)`: the real CLI in a subprocess, over the test's home."""

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "TRAINYARD_HOME": str(home), "COLUMNS": "200"}
        command = [sys.executable, "-m", "trainyard", *args]
        return subprocess.run(
            command, capture_output=True, text=True, timeout=60, env=env, check=False
        )

    return run


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str], Path]:
    """`write(name, text)`: a new file in the test's directory."""

    def make(name: str, text: str) -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    return make


def _rootfs_tarball(path: Path) -> None:
    """A root filesystem of one static busybox and its applets, as a tarball."""
    with tarfile.open(path, "w") as tar:
        for name in ("bin", "tmp", "work"):
            info = tarfile.TarInfo(name)
            info.type, info.mode = tarfile.DIRTYPE, 0o1777 if name == "tmp" else 0o755
            tar.addfile(info)
        tar.add(BUSYBOX, "bin/busybox")
        for applet in APPLETS:
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type, link.linkname = tarfile.SYMTYPE, "busybox"
            tar.addfile(link)


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Two images made here (nothing can be pulled); skips where podman cannot run them."""
    podman = shutil.which("podman")
    if podman is None:
        pytest.skip("podman is not installed (scripts/system-deps.sh installs it)")
    if not BUSYBOX.exists():
        pytest.skip("busybox-static is not installed (scripts/system-deps.sh installs it)")
    scratch = tmp_path_factory.mktemp("image")
    tarball = scratch / "rootfs.tar"
    _rootfs_tarball(tarball)
    for ref, changes in ((IMAGE, []), (ECHO_IMAGE, ["--change", 'ENTRYPOINT ["/bin/echo"]'])):
        if subprocess.run([podman, "image", "exists", ref], check=False).returncode == 0:
            continue  # made by an earlier run: the same content
        made = subprocess.run(
            [podman, "import", *changes, str(tarball), ref], capture_output=True, check=False
        )
        if made.returncode != 0:
            pytest.skip(f"podman cannot import an image here: {made.stderr.decode()[-300:]}")
    try:
        engine_args(podman, IMAGE)
    except EnvironmentError_ as exc:
        pytest.skip(f"podman cannot run containers here: {exc}")
    yield podman


PIPELINE = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  name: boxed
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - name: make
        template: make
    - - name: use
        template: use
        arguments:
          artifacts:
          - name: data
            from: "{{steps.make.outputs.artifacts.data}}"
  - name: make
    container:
      image: IMAGE
      command: [sh, -c]
      args: ["echo made by $WHO > /work/out/data.txt; test -e /run/.containerenv && echo boxed"]
      env: [{name: WHO, value: make}]
      resources:
        limits: {cpu: "1", memory: 64Mi}
    outputs:
      artifacts:
      - name: data
        path: /work/out/data.txt
  - name: use
    inputs:
      artifacts:
      - name: data
        path: /in/data.txt
    script:
      image: IMAGE
      command: [sh]
      workingDir: /in
      source: |
        cat data.txt
        pwd
        echo "host env leaked: ${TRAINYARD_HOME:-no}"
""".replace("IMAGE", IMAGE)


def _nodes(wf: dict[str, object]) -> dict[str, dict[str, object]]:
    status = wf["status"]
    assert isinstance(status, dict)
    return {str(n["displayName"]): n for n in status["nodes"].values()}


def test_two_steps_pass_an_artifact_between_containers(
    images: str, trainyard: Runner, write: Callable[[str, str], Path]
) -> None:
    started = time.monotonic()
    path = write("wf.yaml", PIPELINE)
    done = trainyard("run", str(path), "--executor", "container", "-o", "json")
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - started < 30
    wf = json.loads(done.stdout)
    assert wf["status"]["phase"] == "Succeeded"
    assert wf["metadata"]["annotations"]["trainyard.io/executor"] == "container"
    assert _nodes(wf)["make"]["outputs"]["artifacts"][0]["name"] == "data"
    logs = trainyard("logs", "boxed")
    assert logs.returncode == 0, logs.stderr
    assert "boxed" in logs.stdout  # /run/.containerenv: it ran in a container
    assert "made by make" in logs.stdout  # the artifact reached the second container
    assert "\n" in logs.stdout and "/in" in logs.stdout  # workingDir
    assert "host env leaked: no" in logs.stdout
    assert not Path("/work/out/data.txt").exists()  # nothing written to the host's paths


FAILING = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  name: boxed-fail
spec:
  entrypoint: main
  templates:
  - name: main
    container:
      image: IMAGE
      command: [sh, -c, "echo about to fail >&2; exit 3"]
""".replace("IMAGE", IMAGE)


def test_a_failing_container_fails_the_step_with_its_exit_code(
    images: str, trainyard: Runner, write: Callable[[str, str], Path]
) -> None:
    done = trainyard("run", str(write("wf.yaml", FAILING)), "--executor", "container", "-o", "json")
    assert done.returncode == 1, done.stderr
    node = _nodes(json.loads(done.stdout))["boxed-fail"]
    assert node["phase"] == "Failed"
    assert node["message"] == "Error (exit code 3)"
    assert "about to fail" in trainyard("logs", "boxed-fail").stdout


def test_a_missing_image_is_an_error_that_names_it(
    images: str, trainyard: Runner, write: Callable[[str, str], Path]
) -> None:
    text = FAILING.replace(IMAGE, "localhost/trainyard-no-such-image:1")
    done = trainyard("run", str(write("wf.yaml", text)), "--executor", "container", "-o", "json")
    assert done.returncode == 1, done.stderr
    node = _nodes(json.loads(done.stdout))["boxed-fail"]
    assert node["phase"] == "Error"
    assert "trainyard-no-such-image" in str(node["message"])


ENTRYPOINT = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  name: boxed-entrypoint
spec:
  entrypoint: main
  templates:
  - name: main
    container:
      image: ECHO_IMAGE
      args: [said by the entrypoint]
      volumeMounts: [{name: shared, mountPath: /shared}]
  volumes:
  - name: shared
    hostPath: {path: SHARED}
""".replace("ECHO_IMAGE", ECHO_IMAGE)


def test_without_command_the_image_entrypoint_runs_and_the_config_selects_containers(
    images: str, trainyard: Runner, write: Callable[[str, str], Path], home: Path, tmp_path: Path
) -> None:
    home.mkdir()
    (home / "config.yaml").write_text("executor: container\ncontainer: {engine: podman}\n")
    path = write("wf.yaml", ENTRYPOINT.replace("SHARED", str(tmp_path)))
    done = trainyard("run", str(path), "-o", "json")
    assert done.returncode == 0, done.stderr
    assert "said by the entrypoint" in trainyard("logs", "boxed-entrypoint").stdout


def test_a_wrong_executor_is_a_user_error(
    trainyard: Runner, write: Callable[[str, str], Path], home: Path
) -> None:
    done = trainyard("run", str(write("wf.yaml", FAILING)), "--executor", "vm", "-o", "json")
    assert done.returncode == 2
    assert "--executor 'vm': use one of process, container" in done.stderr
    assert "Traceback" not in done.stderr
    home.mkdir()
    (home / "config.yaml").write_text("executor: kubernetes\n")
    done = trainyard("run", str(write("wf.yaml", FAILING)), "-o", "json")
    assert done.returncode == 2
    assert "config.yaml:1: executor" in done.stderr


SLOW = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  name: NAME
spec:
  entrypoint: main
  templates:
  - name: main
    activeDeadlineSeconds: DEADLINE
    container:
      image: IMAGE
      command: [sh, -c]
      args: ["trap 'echo got TERM; exit 143' TERM; echo started; sleep SECONDS & wait"]
""".replace("IMAGE", IMAGE)


def _containers(podman: str) -> str:
    return subprocess.run(
        [podman, "ps", "-a", "--format", "{{.Names}}"], capture_output=True, text=True, check=True
    ).stdout


def test_a_deadline_stops_the_container(
    images: str, trainyard: Runner, write: Callable[[str, str], Path]
) -> None:
    text = SLOW.replace("NAME", "boxed-slow").replace("DEADLINE", "2").replace("SECONDS", "60")
    done = trainyard("run", str(write("wf.yaml", text)), "--executor", "container", "-o", "json")
    assert done.returncode == 1, done.stderr
    wf = json.loads(done.stdout)
    assert "deadline" in wf["status"]["message"]
    assert "got TERM" in trainyard("logs", "boxed-slow").stdout
    assert "boxed-slow" not in _containers(images)


def test_a_container_outlives_a_killed_engine_and_is_adopted(
    images: str, trainyard: Runner, write: Callable[[str, str], Path], home: Path
) -> None:
    text = SLOW.replace("NAME", "boxed-crash").replace("DEADLINE", "60").replace("SECONDS", "3")
    env = {**os.environ, "TRAINYARD_HOME": str(home)}
    command = [sys.executable, "-m", "trainyard", "run", str(write("wf.yaml", text))]
    proc = subprocess.Popen(
        [*command, "--executor", "container"], env=env, stdout=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 20
    while "boxed-crash" not in _containers(images):
        assert time.monotonic() < deadline, "the container never started"
        assert proc.poll() is None
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    finished = trainyard("wait", "boxed-crash", "-o", "json")
    assert finished.returncode == 0, finished.stderr
    assert json.loads(finished.stdout)["status"]["phase"] == "Succeeded"
    assert "started" in trainyard("logs", "boxed-crash").stdout


def _launch(tmp_path: Path, spec: ContainerSpec, command: list[str]) -> StepLaunch:
    return StepLaunch(
        key="uid/node",
        command=command,
        env={"A": "secret"},
        working_dir="/work",
        mounts=[Mount("/data", tmp_path / "volume", read_only=True)],
        private_paths=["/tmp/x", "/in/model", "/out/result.txt"],
        container=spec,
    )


def _option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def test_the_run_command_binds_private_paths_and_never_puts_values_on_it(tmp_path: Path) -> None:
    step_dir = StepDir(tmp_path / "steps" / "uid" / "node")
    spec = ContainerSpec("img:1", "trainyard-pod-uid", cpus=1.5, memory=1 << 20, gpus=(2, 3))
    plan = plan_container(step_dir, _launch(tmp_path, spec, ["python3", "train.py"]))
    plan.pathmap.host("/in/model").mkdir(parents=True)  # an input staged by `prepare`
    argv = plan.command("/usr/bin/podman", ["--runtime", "runc"], ["python3", "train.py"])
    assert argv[:5] == ["/usr/bin/podman", "run", "--rm", "--name", "trainyard-pod-uid"]
    assert _option(argv, "--runtime") == "runc"
    volumes = [argv[i + 1] for i, arg in enumerate(argv) if arg == "--volume"]
    assert volumes == [
        f"{step_dir.tmp}:/tmp:rw",
        f"{step_dir.fs / 'out'}:/out:rw",  # an output not made yet: its parent
        f"{tmp_path / 'volume'}:/data:ro",
        f"{step_dir.fs / 'in' / 'model'}:/in/model:rw",
    ]
    assert plan.pathmap.host("/out/result.txt") == step_dir.fs / "out" / "result.txt"
    assert _option(argv, "--env") == "A"
    assert "secret" not in " ".join(argv)
    assert argv[-4:] == ["--entrypoint", "python3", "img:1", "train.py"]
    assert _option(argv, "--cpus") == "1.5"
    assert _option(argv, "--memory") == str(1 << 20)
    assert "nvidia.com/gpu=2" in argv and "nvidia.com/gpu=3" in argv
    assert _option(argv, "--workdir") == "/work"


def test_entrypoint_images_get_only_arguments(tmp_path: Path) -> None:
    step_dir = StepDir(tmp_path / "steps" / "uid" / "node")
    spec = ContainerSpec("img:1", "name", entrypoint=True)
    argv = plan_container(step_dir, _launch(tmp_path, spec, ["--lr", "0.1"])).command(
        "docker", [], ["--lr", "0.1"]
    )
    assert argv[-3:] == ["img:1", "--lr", "0.1"]
    assert "--entrypoint" not in argv


def test_gpus_are_passed_as_cdi_devices_or_docker_gpus() -> None:
    assert gpu_args("podman", (0, 1)) == [
        "--device",
        "nvidia.com/gpu=0",
        "--device",
        "nvidia.com/gpu=1",
    ]
    assert gpu_args("/usr/bin/docker", (1, 3)) == ["--gpus", "device=1,3"]
    assert gpu_args("podman", ()) == []


def test_a_volume_at_tmp_replaces_the_steps_own(tmp_path: Path) -> None:
    step_dir = StepDir(tmp_path / "steps" / "uid" / "node")
    launch = StepLaunch(
        key="uid/node",
        command=["sh"],
        mounts=[Mount("/tmp", tmp_path / "scratch")],
        private_paths=["/tmp/out.txt"],
        container=ContainerSpec("img:1", "name"),
    )
    plan = plan_container(step_dir, launch)
    argv = plan.command("podman", [], ["sh"])
    assert [argv[i + 1] for i, arg in enumerate(argv) if arg == "--volume"] == [
        f"{tmp_path / 'scratch'}:/tmp:rw"
    ]
    assert plan.pathmap.host("/tmp/out.txt") == tmp_path / "scratch" / "out.txt"
