"""What a queue item asks for (`Request`) and what a node offers (`NodeCapacity`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from trainyard.core.errors import ParameterError
from trainyard.core.quantities import parse_cpu, parse_memory, parse_quantity

# Extended resource names Kubernetes device plugins use for GPUs; any of them counts as a GPU.
GPU_RESOURCES = ("nvidia.com/gpu", "amd.com/gpu", "gpu.intel.com/i915")

Quantity = str | int | float


@dataclass(frozen=True, slots=True)
class Request:
    """Resources one queue item needs: GPUs (whole devices), CPU cores and memory bytes."""

    gpus: int = 0
    cpu: float = 0.0
    memory: int = 0

    def __post_init__(self) -> None:
        if self.gpus < 0 or self.cpu < 0 or self.memory < 0:
            raise ParameterError(f"a resource request cannot be negative: {self}")

    @classmethod
    def from_kubernetes(
        cls,
        requests: Mapping[str, Quantity] | None = None,
        limits: Mapping[str, Quantity] | None = None,
    ) -> Request:
        """The request of a container's `resources`: requests first, limits where none is given.

        Kubernetes takes a missing request from the limit; GPUs are only ever given as limits.
        """
        merged = {**(limits or {}), **(requests or {})}
        gpus = sum(int(parse_quantity(merged[name])) for name in GPU_RESOURCES if name in merged)
        return cls(
            gpus=gpus,
            cpu=parse_cpu(merged["cpu"]) if "cpu" in merged else 0.0,
            memory=parse_memory(merged["memory"]) if "memory" in merged else 0,
        )


@dataclass(frozen=True, slots=True)
class NodeCapacity:
    """One host: its GPU device indices, CPU cores and memory bytes (0 = not accounted)."""

    name: str
    gpus: tuple[int, ...] = ()
    cpu: float = 0.0
    memory: int = 0

    @classmethod
    def uniform(cls, count: int, gpus_per_node: int, prefix: str = "node") -> list[NodeCapacity]:
        """`count` identical GPU-only nodes named `node-0`, `node-1`, ... (for simulations)."""
        width = len(str(max(count - 1, 0)))
        return [cls(f"{prefix}-{i:0{width}d}", tuple(range(gpus_per_node))) for i in range(count)]
