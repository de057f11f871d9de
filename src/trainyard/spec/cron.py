"""A CronWorkflow's own checks: when it fires (`schedules`, or Argo v3's `schedule`) and where."""

from __future__ import annotations

from collections.abc import Iterator

from trainyard.core.crontab import Schedules, zone
from trainyard.core.errors import Problem, UserError
from trainyard.spec.load import LoadedDocument
from trainyard.spec.models import CronWorkflow
from trainyard.spec.source import JsonPath

V3_SCHEDULE_NOTE = (
    "'schedule' is Argo v3's spelling, which Argo v4 refuses: trainyard reads it, and "
    "`compile`/`submit` to a server write it as 'schedules: [...]'; write 'schedules' to match"
)


def cron_problems(doc: LoadedDocument) -> Iterator[Problem]:
    """Errors in a CronWorkflow's schedules and time zone (nothing for other kinds)."""
    cron = doc.document
    if not isinstance(cron, CronWorkflow):
        return
    spec = cron.spec
    if spec.schedule and spec.schedules:
        yield doc.problem(
            "give either 'schedules' or Argo v3's 'schedule', not both: move it into 'schedules'",
            ("spec", "schedule"),
        )
    if not spec.schedule and not spec.schedules:
        yield doc.problem("give spec.schedules, e.g. schedules: ['0 3 * * *']", ("spec",))
    texts: list[tuple[str, JsonPath]] = [
        (text, ("spec", "schedules", i)) for i, text in enumerate(spec.schedules or [])
    ]
    if spec.schedule:
        texts.insert(0, (spec.schedule, ("spec", "schedule")))
    for text, path in texts:
        try:
            Schedules([text])
        except UserError as exc:
            yield doc.problem(str(exc), path)
    try:
        zone(spec.timezone)
    except UserError as exc:
        yield doc.problem(str(exc), ("spec", "timezone"))


def cron_notes(doc: LoadedDocument) -> Iterator[Problem]:
    """A note on Argo v3's `schedule`."""
    cron = doc.document
    if isinstance(cron, CronWorkflow) and cron.spec.schedule:
        yield doc.problem(V3_SCHEDULE_NOTE, ("spec", "schedule"), "note")
