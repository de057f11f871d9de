"""GPU discovery without a GPU: configured counts, errors, and whose processes are ours."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from trainyard.core.errors import ConfigError
from trainyard.executors.gpus import _descends_from, configured_gpus, discover


def test_trainyard_gpus_comes_before_the_config_file() -> None:
    assert [g.index for g in discover({"TRAINYARD_GPUS": "3"}, configured=1)] == [0, 1, 2]
    assert [g.index for g in discover({"TRAINYARD_GPUS": ""}, configured=2)] == [0, 1]
    assert configured_gpus(None, None) is None


@pytest.mark.parametrize("value", ["two", "-1"])
def test_a_bad_gpu_count_is_a_config_error(value: str) -> None:
    with pytest.raises(ConfigError, match="GPUs"):
        configured_gpus(value, None)


def test_processes_below_ours_are_ours() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(5)"])
    try:
        assert _descends_from(child.pid, {os.getpid()})
        assert not _descends_from(child.pid, {child.pid + 100000})
        assert _descends_from(os.getpid(), {os.getpid()})
    finally:
        child.kill()
        child.wait()
