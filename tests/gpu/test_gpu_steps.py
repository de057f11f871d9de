"""On a machine with an NVIDIA GPU: steps get real devices, and torch sees exactly those."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from trainyard.executors.gpus import discover

GPUS = discover(env={})  # what NVML finds, ignoring TRAINYARD_GPUS
pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not GPUS, reason="no NVIDIA GPU (NVML found none)"),
]

WORKFLOW = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  name: gpu-steps
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: first, template: torch}
    - - {name: second, template: torch}
  - name: torch
    script:
      image: pytorch/pytorch
      command: [python3]
      source: |
        import json, os, torch
        x = torch.ones(1024, device="cuda") * 2
        print(json.dumps({
            "visible": os.environ["CUDA_VISIBLE_DEVICES"],
            "count": torch.cuda.device_count(),
            "name": torch.cuda.get_device_name(0),
            "sum": float(x.sum()),
        }))
      resources:
        limits: {nvidia.com/gpu: 1}
"""


def test_each_gpu_step_sees_exactly_the_device_it_was_given(tmp_path: Path) -> None:
    path = tmp_path / "gpu.yaml"
    path.write_text(WORKFLOW)
    env = {
        k: v for k, v in os.environ.items() if k not in ("TRAINYARD_GPUS", "CUDA_VISIBLE_DEVICES")
    }
    env["TRAINYARD_HOME"] = str(tmp_path / "home")
    done = subprocess.run(
        [sys.executable, "-m", "trainyard", "run", str(path), "-o", "json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    wf = json.loads(done.stdout)
    pods = [n for n in wf["status"]["nodes"].values() if n["type"] == "Pod"]
    assert len(pods) == 2
    for pod in pods:
        seen = json.loads(pod["outputs"]["result"])
        assert seen["count"] == 1
        assert seen["visible"] == pod["devices"][0]
        assert int(seen["visible"]) in {g.index for g in GPUS}
        assert "NVIDIA" in seen["name"] and seen["sum"] == 2048.0


ONE_STEP = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  name: after-someone-else
spec:
  entrypoint: main
  templates:
  - name: main
    container:
      image: pytorch/pytorch
      command: [python3, -c, "import torch; print(torch.ones(1, device='cuda').sum().item())"]
      resources:
        limits: {nvidia.com/gpu: 1}
"""
SOMEONE_ELSE = (
    "import time, torch; x = torch.ones(1, device='cuda'); print('ready', flush=True); "
    "time.sleep(8)"
)


def test_a_gpu_busy_with_someone_elses_process_is_not_handed_out(tmp_path: Path) -> None:
    if len(GPUS) != 1:
        pytest.skip("this check wants exactly one GPU")
    path = tmp_path / "one.yaml"
    path.write_text(ONE_STEP)
    env = {
        k: v for k, v in os.environ.items() if k not in ("TRAINYARD_GPUS", "CUDA_VISIBLE_DEVICES")
    }
    env["TRAINYARD_HOME"] = str(tmp_path / "home")
    other = subprocess.Popen(
        [sys.executable, "-c", SOMEONE_ELSE], stdout=subprocess.PIPE, text=True, env=env
    )
    assert other.stdout is not None and other.stdout.readline().strip() == "ready"
    started = time.monotonic()
    run = subprocess.Popen(
        [sys.executable, "-m", "trainyard", "run", str(path), "-o", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    seen = ""
    while run.poll() is None and not seen:
        shown = subprocess.run(
            [sys.executable, "-m", "trainyard", "get", "after-someone-else", "-o", "json"],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        if shown.returncode == 0:
            node = (
                (json.loads(shown.stdout).get("status") or {})
                .get("nodes", {})
                .get("after-someone-else", {})
            )
            seen = node.get("message") or "" if node.get("phase") == "Pending" else ""
        time.sleep(0.3)
    _, err = run.communicate(timeout=120)
    other.wait()
    other.stdout.close()
    assert run.returncode == 0, err[-2000:]
    assert seen.startswith("waiting for 1 GPU, 0 free"), seen
    assert time.monotonic() - started >= 4  # it started only once the other process was gone
