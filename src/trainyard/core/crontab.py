"""Cron schedules as Argo's CronWorkflows read them, and the instants at which they tick.

A schedule is five fields (minute hour day-of-month month day-of-week: `*`, `?`, lists,
ranges, steps, JAN-DEC and SUN-SAT names), a descriptor (`@yearly`, `@annually`, `@monthly`,
`@weekly`, `@daily`, `@midnight`, `@hourly`) or `@every <Go duration>`, optionally prefixed
with `CRON_TZ=<zone> `. Fields are read in the schedule's time zone; as in cron, when both
day fields are restricted a day matching either one matches. A wall time that does not exist
(a DST gap) never ticks and one that happens twice ticks once, at its first occurrence.
`@every` ticks at `anchor + k * duration` (k >= 1); the caller chooses the anchor.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from trainyard.core.durations import parse_duration
from trainyard.core.errors import UserError

SEARCH_DAYS = 5 * 366
"""How far a search for a tick looks; a schedule that never matches within it never ticks."""

DESCRIPTORS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day-of-month", 1, 31, {}),
    ("month", 1, 12, {name: i + 1 for i, name in enumerate(_MONTHS)}),
    ("day-of-week", 0, 7, {name: i for i, name in enumerate(_DAYS)}),
)
HOW = (
    "write 5 fields (minute hour day-of-month month day-of-week) such as '0 3 * * *', "
    "@daily or @every 1h"
)


def zone(name: str | None, default: tzinfo = UTC) -> tzinfo:
    """The time zone named `name` (IANA, e.g. `Europe/Berlin`); `default` when empty."""
    if not name:
        return default
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UserError(
            f"unknown time zone {name!r}: write an IANA name such as 'Europe/Berlin' or 'UTC'"
        ) from None


@dataclass(frozen=True)
class CronSchedule:
    """One parsed schedule: the values each field allows, or a fixed interval."""

    text: str
    minutes: tuple[int, ...] = ()
    hours: tuple[int, ...] = ()
    days: frozenset[int] = frozenset()
    months: frozenset[int] = frozenset()
    weekdays: frozenset[int] = frozenset()
    any_day: bool = True  # day-of-month or day-of-week is `*`: both must match (else either)
    every: timedelta | None = None
    zone: tzinfo | None = None

    def day_matches(self, day: date) -> bool:
        """Whether the schedule ticks at some time of local `day`."""
        if day.month not in self.months:
            return False
        in_month = day.day in self.days
        in_week = (day.weekday() + 1) % 7 in self.weekdays
        return in_month and in_week if self.any_day else in_month or in_week


def parse_schedule(text: str) -> CronSchedule:
    """`text` parsed; UserError saying what is wrong and how to write it."""
    spec = text.strip()
    at_zone: tzinfo | None = None
    for prefix in ("CRON_TZ=", "TZ="):
        if spec.startswith(prefix):
            name, _, spec = spec[len(prefix) :].partition(" ")
            at_zone = zone(name)
            spec = spec.strip()
    if spec.startswith("@every"):
        try:
            seconds = parse_duration(spec[len("@every") :].strip() or "?")
        except UserError:
            seconds = 0.0
        if seconds < 1:
            raise UserError(
                f"schedule {text!r}: @every takes a Go duration of 1s or more (@every 1h30m)"
            )
        return CronSchedule(text, every=timedelta(seconds=round(seconds)), zone=at_zone)
    spec = DESCRIPTORS.get(spec.lower(), spec)
    if spec.startswith("@"):
        raise UserError(f"schedule {text!r}: unknown descriptor {spec.split()[0]!r}: {HOW}")
    parts = spec.split()
    if len(parts) != 5:
        raise UserError(f"schedule {text!r} has {len(parts)} field(s): {HOW}")
    values: list[set[int]] = []
    stars: list[bool] = []
    for part, (what, low, high, names) in zip(parts, _FIELDS, strict=True):
        allowed, star = _field(text, part, what, low, high, names)
        values.append(allowed)
        stars.append(star)
    weekdays = {0 if d == 7 else d for d in values[4]}
    return CronSchedule(
        text,
        minutes=tuple(sorted(values[0])),
        hours=tuple(sorted(values[1])),
        days=frozenset(values[2]),
        months=frozenset(values[3]),
        weekdays=frozenset(weekdays),
        any_day=stars[2] or stars[4],
        zone=at_zone,
    )


def _field(
    text: str, part: str, what: str, low: int, high: int, names: dict[str, int]
) -> tuple[set[int], bool]:
    """The values one field allows, and whether it is a bare `*`/`?` (cron's "any")."""
    allowed: set[int] = set()
    star = False
    for item in part.split(","):
        span, slash, step_text = item.partition("/")
        step = 1
        if slash:
            if not step_text.isdigit() or int(step_text) == 0:
                raise UserError(f"schedule {text!r}: bad step {item!r} in the {what} field: {HOW}")
            step = int(step_text)
        if span in ("*", "?"):
            start, end = low, high if what != "day-of-week" else 6
            star = star or step == 1
        else:
            first, dash, last = span.partition("-")
            start = _value(text, first, what, low, high, names)
            end = _value(text, last, what, low, high, names) if dash else start
            if slash and not dash:
                end = high if what != "day-of-week" else 6
            if end < start:
                raise UserError(
                    f"schedule {text!r}: range {span!r} runs backwards in the {what} field"
                )
        allowed.update(range(start, end + 1, step))
    return allowed, star


def _value(text: str, token: str, what: str, low: int, high: int, names: dict[str, int]) -> int:
    if token.upper() in names:
        return names[token.upper()]
    if token.isdigit() and low <= int(token) <= high:
        return int(token)
    raise UserError(
        f"schedule {text!r}: {token!r} is not a {what} value ({low}-{high}"
        + (f" or {'-'.join((next(iter(names)), list(names)[-1]))}" if names else "")
        + f"): {HOW}"
    )


class Schedules:
    """Several schedules in one time zone: the instants (UTC) at which any of them ticks."""

    def __init__(
        self, texts: list[str], in_zone: tzinfo = UTC, anchor: datetime | None = None
    ) -> None:
        """`texts` parsed (UserError if one is wrong); `anchor` starts `@every` intervals."""
        if not texts:
            raise UserError("a CronWorkflow needs spec.schedules (e.g. ['0 3 * * *'])")
        self.parsed = [parse_schedule(text) for text in texts]
        self.zone = in_zone
        self.anchor = anchor or datetime(1970, 1, 1, tzinfo=UTC)

    def ticks(self, after: datetime, until: datetime) -> Iterator[datetime]:
        """Every tick in (after, until], oldest first, each instant once."""
        merged = sorted({t for s in self.parsed for t in self._ticks(s, after, until, False)})
        yield from merged

    def latest(self, after: datetime, until: datetime) -> datetime | None:
        """The last tick in (after, until], or None."""
        found = [next(self._ticks(s, after, until, True), None) for s in self.parsed]
        return max((t for t in found if t is not None), default=None)

    def next_after(self, after: datetime) -> datetime | None:
        """The first tick after `after` (None if none comes within SEARCH_DAYS)."""
        until = after + timedelta(days=SEARCH_DAYS)
        found = [next(self._ticks(s, after, until, False), None) for s in self.parsed]
        return min((t for t in found if t is not None), default=None)

    def _ticks(
        self, schedule: CronSchedule, after: datetime, until: datetime, backwards: bool
    ) -> Iterator[datetime]:
        if schedule.every is not None:
            yield from _interval(self.anchor, schedule.every, after, until, backwards)
            return
        where = schedule.zone or self.zone
        first = max(after, until - timedelta(days=SEARCH_DAYS)).astimezone(where).date()
        last = until.astimezone(where).date()
        count = (last - first).days + 1
        for offset in range(count):
            day = last - timedelta(days=offset) if backwards else first + timedelta(days=offset)
            if not schedule.day_matches(day):
                continue
            for moment in _times_of(schedule, day, where, backwards):
                if after < moment <= until:
                    yield moment


def _times_of(
    schedule: CronSchedule, day: date, where: tzinfo, backwards: bool
) -> Iterator[datetime]:
    """The instants of local `day` the schedule names, skipping wall times that do not exist."""
    hours = reversed(schedule.hours) if backwards else schedule.hours
    for hour in hours:
        minutes = reversed(schedule.minutes) if backwards else schedule.minutes
        for minute in minutes:
            local = datetime.combine(day, time(hour, minute), tzinfo=where)
            moment = local.astimezone(UTC)
            if moment.astimezone(where).replace(tzinfo=None) == local.replace(tzinfo=None):
                yield moment


def _interval(
    anchor: datetime, every: timedelta, after: datetime, until: datetime, backwards: bool
) -> Iterator[datetime]:
    """`anchor + k * every` (k >= 1) in (after, until]."""
    step = every.total_seconds()
    low = max(1, math.floor((after - anchor).total_seconds() / step) + 1)
    high = math.floor((until - anchor).total_seconds() / step)
    if backwards:
        for k in range(high, low - 1, -1):
            yield anchor + k * every
    else:
        for k in range(low, high + 1):
            yield anchor + k * every
