"""Cron schedules: fields, descriptors, @every, time zones and DST, and the ticks they give."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from trainyard.core.crontab import Schedules, parse_schedule, zone
from trainyard.core.errors import UserError

T0 = datetime(2026, 1, 1, tzinfo=UTC)  # a Thursday


def at(text: str, hours: float, after: datetime = T0, tz: str = "UTC") -> list[datetime]:
    """The ticks of `text` in the `hours` after `after`."""
    return list(Schedules([text], ZoneInfo(tz)).ticks(after, after + timedelta(hours=hours)))


def test_fields_lists_ranges_steps_and_names() -> None:
    schedule = parse_schedule("*/15 9-17/4 1,15 JAN-mar mon-FRI")
    assert schedule.minutes == (0, 15, 30, 45)
    assert schedule.hours == (9, 13, 17)
    assert schedule.days == {1, 15}
    assert schedule.months == {1, 2, 3}
    assert schedule.weekdays == {1, 2, 3, 4, 5}
    assert parse_schedule("5/20 * * * 7").minutes == (5, 25, 45)
    assert parse_schedule("0 0 * * 7").weekdays == {0}  # 7 is Sunday too


def test_every_minute_and_hour_boundaries() -> None:
    ticks = at("* * * * *", 0.05)
    assert ticks == [T0 + timedelta(minutes=m) for m in (1, 2, 3)]
    assert at("@hourly", 3) == [T0 + timedelta(hours=h) for h in (1, 2, 3)]
    # (after, until]: a tick exactly at `after` is not in, one exactly at `until` is
    assert at("0 * * * *", 1)[0] == T0 + timedelta(hours=1)


def test_descriptors() -> None:
    assert at("@daily", 72) == [T0 + timedelta(days=d) for d in (1, 2, 3)]
    assert at("@midnight", 24) == [T0 + timedelta(days=1)]
    assert at("@weekly", 24 * 7) == [datetime(2026, 1, 4, tzinfo=UTC)]  # Sunday
    assert at("@monthly", 24 * 40) == [datetime(2026, 2, 1, tzinfo=UTC)]
    yearly = Schedules(["@yearly"]).next_after(T0)
    assert yearly == datetime(2027, 1, 1, tzinfo=UTC)
    assert Schedules(["@annually"]).next_after(T0) == yearly


def test_day_of_month_or_day_of_week_when_both_are_restricted() -> None:
    # the 13th, or any Friday (cron's OR), in January 2026
    ticks = at("0 12 13 * FRI", 24 * 31)
    days = [t.day for t in ticks]
    assert days == [2, 9, 13, 16, 23, 30]
    # with day-of-month `*`, only the weekday counts (AND with "every day")
    assert [t.day for t in at("0 12 * * FRI", 24 * 31)] == [2, 9, 16, 23, 30]


def test_time_zone_moves_the_ticks_with_daylight_saving_time() -> None:
    berlin = Schedules(["0 3 * * *"], ZoneInfo("Europe/Berlin"))
    winter = berlin.next_after(T0)
    summer = berlin.next_after(datetime(2026, 7, 1, tzinfo=UTC))
    assert winter == datetime(2026, 1, 1, 2, tzinfo=UTC)
    assert summer == datetime(2026, 7, 1, 1, tzinfo=UTC)
    # CRON_TZ= in the schedule itself wins over the zone given
    tokyo = Schedules(["CRON_TZ=Asia/Tokyo 0 9 * * *"], ZoneInfo("Europe/Berlin"))
    assert tokyo.next_after(T0) == datetime(2026, 1, 2, 0, tzinfo=UTC)  # strictly after


def test_a_wall_time_skipped_by_dst_never_ticks_and_a_repeated_one_ticks_once() -> None:
    # New York springs forward on 2026-03-08 (02:00 -> 03:00) and falls back on 2026-11-01
    spring = at("30 2 * * *", 72, datetime(2026, 3, 7, 12, tzinfo=UTC), "America/New_York")
    assert [t.astimezone(ZoneInfo("America/New_York")).day for t in spring] == [9, 10]
    autumn = at("30 1 * * *", 24, datetime(2026, 11, 1, 0, tzinfo=UTC), "America/New_York")
    assert autumn == [datetime(2026, 11, 1, 5, 30, tzinfo=UTC)]  # 01:30 EDT, once


def test_every_duration_counts_from_the_anchor() -> None:
    anchor = T0 + timedelta(seconds=7)
    every = Schedules(["@every 1h30m"], anchor=anchor)
    assert list(every.ticks(T0, T0 + timedelta(hours=4))) == [
        anchor + timedelta(minutes=90),
        anchor + timedelta(minutes=180),
    ]
    assert every.latest(T0, T0 + timedelta(hours=4)) == anchor + timedelta(minutes=180)
    assert every.latest(T0, anchor) is None  # the anchor itself is not a tick


def test_several_schedules_merge_and_latest_and_next() -> None:
    both = Schedules(["0 * * * *", "30 * * * *", "0 */2 * * *"])
    ticks = list(both.ticks(T0, T0 + timedelta(hours=2)))
    assert ticks == [T0 + timedelta(minutes=m) for m in (30, 60, 90, 120)]
    assert both.latest(T0, T0 + timedelta(minutes=100)) == T0 + timedelta(minutes=90)
    assert both.next_after(T0 + timedelta(minutes=30)) == T0 + timedelta(minutes=60)
    # a long gap: the latest tick is found without listing every tick before it
    far = T0 + timedelta(days=365)
    assert Schedules(["* * * * *"]).latest(T0, far) == far


def test_a_schedule_that_never_matches_gives_nothing() -> None:
    never = Schedules(["0 0 30 2 *"])  # 30 February
    assert never.next_after(T0) is None
    assert never.latest(T0, T0 + timedelta(days=800)) is None


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("* * * *", "has 4 field(s)"),
        ("61 * * * *", "'61' is not a minute value (0-59)"),
        ("* * * FOO *", "'FOO' is not a month value"),
        ("*/0 * * * *", "bad step"),
        ("5-1 * * * *", "runs backwards"),
        ("@fortnightly", "unknown descriptor"),
        ("@every soon", "@every takes a Go duration"),
        ("CRON_TZ=Mars/Olympus 0 * * * *", "unknown time zone 'Mars/Olympus'"),
    ],
)
def test_mistakes_say_what_is_wrong_and_how_to_write_it(text: str, says: str) -> None:
    with pytest.raises(UserError) as caught:
        parse_schedule(text)
    assert says in str(caught.value)
    assert repr(text) in str(caught.value) or "Mars" in text


def test_zone_names() -> None:
    assert zone(None) is UTC
    assert zone("Asia/Tokyo") == ZoneInfo("Asia/Tokyo")
    with pytest.raises(UserError, match="IANA name"):
        zone("Nowhere")
    with pytest.raises(UserError, match=r"spec\.schedules"):
        Schedules([])
