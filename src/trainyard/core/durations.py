"""Durations as Argo reads them: bare numbers are seconds, else Go's `1h2m3.5s` syntax."""

from __future__ import annotations

import re

from trainyard.core.errors import UserError

_UNIT_SECONDS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")


def parse_duration(text: str | int | float) -> float:
    """Seconds in `text`: `30`, `"30"`, `"1m30s"`, `"1.5h"`, `"250ms"`.

    Raises UserError naming the bad value, as `"ten seconds"` is an input mistake.
    """
    if isinstance(text, int | float):
        return float(text)
    value = text.strip()
    if re.fullmatch(r"-?\d+(\.\d+)?", value):
        return float(value)
    sign = 1.0
    if value.startswith("-"):
        sign, value = -1.0, value[1:]
    pos = 0
    total = 0.0
    for match in _PART.finditer(value):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        pos = match.end()
    if pos != len(value) or not value:
        raise UserError(
            f"invalid duration {text!r}: write seconds (30) or a Go duration such as 1m30s"
        )
    return sign * total


def format_duration(seconds: float) -> str:
    """A short human form: `45s`, `3m05s`, `2h01m`."""
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"
