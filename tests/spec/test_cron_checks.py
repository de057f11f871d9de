"""A CronWorkflow's schedules: v4's `schedules`, v3's `schedule`, and what is wrong with them."""

from __future__ import annotations

import pytest

from trainyard.spec.check import check_text
from trainyard.spec.lower import as_argo

HEAD = "apiVersion: argoproj.io/v1alpha1\nkind: CronWorkflow\nmetadata: {name: c}\nspec:\n"
BODY = """\
  workflowSpec:
    entrypoint: main
    templates:
    - name: main
      container: {image: alpine, command: [echo, hi]}
"""


def check(when: str) -> tuple[list[str], list[str]]:
    result = check_text(HEAD + when + BODY, "c.yaml")
    return (
        [f"{p.line}:{p.column}: {p.message}" for p in result.errors],
        [f"{p.line}:{p.column}: {p.message}" for p in result.notes],
    )


def test_v4_schedules_pass_without_notes() -> None:
    assert check('  schedules: ["0 3 * * *", "@hourly"]\n') == ([], [])


def test_v3_schedule_is_read_with_a_note() -> None:
    errors, notes = check('  schedule: "*/5 * * * *"\n')
    assert errors == []
    assert notes == [
        "5:3: 'schedule' is Argo v3's spelling, which Argo v4 refuses: trainyard reads it, and "
        "`compile`/`submit` to a server write it as 'schedules: [...]'; write 'schedules' to match"
    ]


@pytest.mark.parametrize(
    ("when", "error"),
    [
        ("", "4:1: give spec.schedules, e.g. schedules: ['0 3 * * *']"),
        ('  schedule: "@daily"\n  schedules: ["@hourly"]\n', "5:3: give either 'schedules'"),
        ('  schedule: "* * * *"\n', "5:3: schedule '* * * *' has 4 field(s)"),
        ('  schedules: ["@daily", "61 * * * *"]\n', "5:25: schedule '61 * * * *'"),
        ('  schedules: ["@daily"]\n  timezone: Mars/Base\n', "6:3: unknown time zone 'Mars/Base'"),
    ],
)
def test_wrong_schedules_are_errors_at_their_line(when: str, error: str) -> None:
    errors, _ = check(when)
    assert len(errors) == 1 and errors[0].startswith(error), errors


def test_a_v3_schedule_is_sent_to_a_server_as_schedules() -> None:
    doc = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "CronWorkflow",
        "metadata": {"name": "c"},
        "spec": {"schedule": "@daily", "workflowSpec": {"entrypoint": "m"}},
    }
    lowered = as_argo("CronWorkflow", doc)
    assert lowered["spec"] == {"workflowSpec": {"entrypoint": "m"}, "schedules": ["@daily"]}
    assert doc["spec"]["schedule"] == "@daily"  # the caller's document is left alone
