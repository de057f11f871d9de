"""This machine's GPUs: from TRAINYARD_GPUS or the config file, else NVML; who else uses them.

NVML comes from the optional `nvidia-ml-py` package (`pip install 'trainyard[gpu]'`); without
it, or without a driver, the machine has the GPUs it is configured with (none by default).
"""

from __future__ import annotations

import importlib
import logging
import os
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from trainyard.core.errors import ConfigError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GpuInfo:
    """One GPU: its device index (as CUDA_VISIBLE_DEVICES counts), UUID, name and memory."""

    index: int
    uuid: str
    name: str = "GPU"
    memory: int = 0


def configured_gpus(env_value: str | None, configured: int | None) -> list[GpuInfo] | None:
    """GPUs given by TRAINYARD_GPUS=N (first) or the config file's `gpus: N`; None if neither."""
    if env_value is not None and env_value.strip() != "":
        try:
            count = int(env_value)
        except ValueError as exc:
            raise ConfigError(f"TRAINYARD_GPUS={env_value!r} must be a number of GPUs") from exc
    elif configured is not None:
        count = configured
    else:
        return None
    if count < 0:
        raise ConfigError(f"the number of GPUs must be 0 or more, not {count}")
    return [GpuInfo(i, f"configured-{i}") for i in range(count)]


def _nvml() -> ModuleType | None:
    """The NVML bindings, initialised; None without nvidia-ml-py or a driver."""
    try:
        nvml = importlib.import_module("pynvml")
        nvml.nvmlInit()
    except Exception as exc:
        log.debug("NVML unavailable: %s", exc)
        return None
    return nvml


def discover(env: dict[str, str] | None = None, configured: int | None = None) -> list[GpuInfo]:
    """The GPUs steps may be given: configured ones, else what NVML finds, else none."""
    source = os.environ if env is None else env
    given = configured_gpus(source.get("TRAINYARD_GPUS"), configured)
    if given is not None:
        return given
    nvml = _nvml()
    if nvml is None:
        return []
    found = []
    for index in range(nvml.nvmlDeviceGetCount()):
        handle = nvml.nvmlDeviceGetHandleByIndex(index)
        memory = nvml.nvmlDeviceGetMemoryInfo(handle).total
        found.append(
            GpuInfo(
                index,
                _text(nvml.nvmlDeviceGetUUID(handle)),
                _text(nvml.nvmlDeviceGetName(handle)),
                int(memory),
            )
        )
    return found


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class NvmlProbe:
    """Finds GPUs busy with processes that trainyard did not start."""

    def __init__(self) -> None:
        self._nvml = _nvml()

    def busy(self, ours: set[int]) -> set[int]:
        """Indices of GPUs running a process that is not one of `ours` nor a descendant."""
        nvml = self._nvml
        if nvml is None:
            return set()
        taken = set()
        for index in range(nvml.nvmlDeviceGetCount()):
            handle = nvml.nvmlDeviceGetHandleByIndex(index)
            pids = [p.pid for p in nvml.nvmlDeviceGetComputeRunningProcesses(handle)]
            if any(not _descends_from(pid, ours) for pid in pids):
                taken.add(index)
        return taken


def _descends_from(pid: int, ancestors: set[int]) -> bool:
    """Whether `pid` is one of `ancestors` or below one of them (walks /proc's parents)."""
    seen = 0
    while pid > 1 and seen < 64:
        if pid in ancestors:
            return True
        try:
            with open(f"/proc/{pid}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            return False
        # the parent pid is the 2nd field after the command name, which may contain spaces
        pid = int(stat[stat.rindex(b")") + 2 :].split()[1])
        seen += 1
    return False
