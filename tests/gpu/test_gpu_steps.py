"""On a machine with an NVIDIA GPU: steps get real devices, and torch sees exactly those."""

from __future__ import annotations

import json
import os
import subprocess
import sys
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
