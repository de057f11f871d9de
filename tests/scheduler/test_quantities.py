"""Kubernetes quantities and resource requests."""

from __future__ import annotations

import pytest

from trainyard.core.errors import ParameterError
from trainyard.core.quantities import parse_cpu, parse_memory, parse_quantity
from trainyard.scheduler import Request


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("500m", 0.5),
        ("2", 2.0),
        ("1.5", 1.5),
        ("4Gi", 4 * 2**30),
        ("512Mi", 512 * 2**20),
        ("1G", 1e9),
        ("1k", 1000.0),
        ("1e3", 1000.0),
        ("100n", 1e-7),
        (" 3 ", 3.0),
        (7, 7.0),
        (0.25, 0.25),
    ],
)
def test_quantities(text: str | int | float, value: float) -> None:
    assert parse_quantity(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["4GB", "lots", "", "1.2.3", "Gi"])
def test_bad_quantities_say_how_to_write_one(text: str) -> None:
    with pytest.raises(ParameterError, match="invalid quantity"):
        parse_quantity(text)


def test_cpu_and_memory() -> None:
    assert parse_cpu("250m") == 0.25
    assert parse_memory("1.5Ki") == 1536
    assert parse_memory("0.1") == 1  # rounded up, as Kubernetes does


def test_request_from_kubernetes_resources() -> None:
    request = Request.from_kubernetes(
        requests={"cpu": "500m", "memory": "4Gi"},
        limits={"nvidia.com/gpu": 2, "cpu": "2", "memory": "8Gi"},
    )
    assert request == Request(gpus=2, cpu=0.5, memory=4 * 2**30)
    assert Request.from_kubernetes(limits={"cpu": 1}) == Request(cpu=1.0)
    assert Request.from_kubernetes() == Request()


def test_negative_requests_are_refused() -> None:
    with pytest.raises(ParameterError):
        Request(gpus=-1)
