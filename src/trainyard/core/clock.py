"""Time as the domain sees it: a Clock passed in, and Argo's timestamp format."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """Where the current time comes from; the engine never reads the wall clock itself."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class SystemClock:
    """The wall clock."""

    def now(self) -> datetime:
        """The current UTC time."""
        return datetime.now(UTC)


def format_time(moment: datetime) -> str:
    """RFC 3339 with second precision and a `Z`, as Kubernetes writes metav1.Time."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_time_precise(moment: datetime) -> str:
    """RFC 3339 with microseconds, for log lines."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> datetime:
    """Parse an RFC 3339 timestamp written by `format_time` or Kubernetes."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
