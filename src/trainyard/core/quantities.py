"""Kubernetes resource quantities (`500m`, `4Gi`, `1G`, `2`, `1e3`) read as plain numbers."""

from __future__ import annotations

import math
import re

from trainyard.core.errors import ParameterError

_SUFFIX = {
    "Ki": 2.0**10,
    "Mi": 2.0**20,
    "Gi": 2.0**30,
    "Ti": 2.0**40,
    "Pi": 2.0**50,
    "Ei": 2.0**60,
    "n": 1e-9,
    "u": 1e-6,
    "m": 1e-3,
    "": 1.0,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "P": 1e15,
    "E": 1e18,
}
_QUANTITY = re.compile(
    r"([+-]?(?:\d+(?:\.\d*)?|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?)"
)


def parse_quantity(value: str | int | float) -> float:
    """The number a Kubernetes quantity stands for: `"500m"` -> 0.5, `"4Gi"` -> 4 * 2**30.

    Raises ParameterError naming the value when it is not a quantity (`"4GB"`, `"lots"`).
    """
    if isinstance(value, bool):
        raise ParameterError(f"invalid quantity {value!r}: write a number such as 2, 500m or 4Gi")
    if isinstance(value, int | float):
        return float(value)
    match = _QUANTITY.fullmatch(value.strip())
    if match is None:
        raise ParameterError(
            f"invalid quantity {value!r}: write a number with an optional suffix"
            " (500m, 2, 1.5, 4Gi, 512Mi, 1G)"
        )
    number, exponent, suffix = match.groups()
    if exponent:
        return float(number + exponent)
    return float(number) * _SUFFIX[suffix or ""]


def parse_cpu(value: str | int | float) -> float:
    """CPU cores in a quantity: `"500m"` -> 0.5, `2` -> 2.0."""
    return parse_quantity(value)


def parse_memory(value: str | int | float) -> int:
    """Bytes in a quantity, rounded up as Kubernetes does: `"4Gi"`, `"1G"`, `1048576`."""
    return math.ceil(parse_quantity(value))


def format_quantity(value: int | float) -> str:
    """A number as Kubernetes writes the quantity: `1` -> "1", `0.5` -> "500m", `1.5` -> "1500m"."""
    if float(value).is_integer():
        return str(int(value))
    milli = value * 1000
    if float(milli).is_integer():
        return f"{int(milli)}m"
    return repr(float(value))
