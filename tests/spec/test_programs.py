"""Which programs host steps start, and lint's refusal of one this machine lacks."""

from __future__ import annotations

import pytest

from trainyard.spec.check import check_text
from trainyard.spec.programs import shell_programs, started_programs


@pytest.mark.parametrize(
    ("script", "programs"),
    [
        ("cowsay hello", ["cowsay"]),
        ("x=1 grep -q y f && awk 1 f | jq .", ["grep", "awk", "jq"]),
        ('echo "a && fake; more"; printf \'%s\' "$(date)"', []),
        ("if [ -f x ]; then make; else cd /; fi", ["make"]),
        ("f() { echo hi; }\nf\nf", []),
        ("cat <<EOF\nnot-a-command arg\nEOF\nwc -l", ["cat", "wc"]),
        ("case $a in\n  b) rare-tool ;;\nesac", []),
        ("$CMD arg; {{inputs.parameters.tool}} x; ./run.sh; /opt/bin/tool", []),
        ("# a comment naming ghost\nsleep 1 # and ghost", ["sleep"]),
        ("for i in 1 2; do seq $i; done", ["seq"]),
        ("echo size={{=asInt(inputs.parameters.size) * 10}} > /tmp/out; {{= 'x' }}", []),
    ],
)
def test_shell_programs_are_the_certain_ones(script: str, programs: list[str]) -> None:
    assert list(shell_programs(script)) == programs


@pytest.mark.parametrize(
    ("body", "script", "programs"),
    [
        ({"command": ["node"], "source": "1"}, True, ["node"]),
        ({"command": ["bash"], "source": "tool -x"}, True, ["bash", "tool"]),
        ({"command": ["sh", "-c"], "args": ["tool && other"]}, False, ["sh", "tool", "other"]),
        ({"command": ["sh", "-ec", "tool"]}, False, ["sh", "tool"]),
        ({"command": ["sh", "script.sh"]}, False, ["sh"]),
        ({"command": ["/usr/local/bin/thing", "-c", "x"]}, False, []),
        ({"args": ["x"]}, False, []),
    ],
)
def test_started_programs(body: dict[str, object], script: bool, programs: list[str]) -> None:
    assert list(started_programs(body, script)) == programs


WORKFLOW = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: tools-}
spec:
  entrypoint: main
  templates:
  - name: main
    container:
      image: argoproj/argosay:v2
      command: [sh, -c]
      args: ["cowsay hello && argosay echo hi"]
"""


def test_lint_names_a_missing_program_with_its_line() -> None:
    have = {"sh", "argosay"}.__contains__
    result = check_text(WORKFLOW, "wf.yaml", local=True, installed=lambda p: p in {"sh"})
    assert [(p.line, p.message.split(",")[0]) for p in result.errors] == [
        (10, "template 'main' runs 'cowsay'")
    ]
    assert "--executor container" in result.errors[0].message
    assert check_text(WORKFLOW, "wf.yaml", local=True, installed=lambda p: True).ok
    # In containers, or for a cluster, the image brings its programs: nothing to check.
    assert check_text(WORKFLOW, "wf.yaml", local=True, containers=True, installed=have).ok
    assert check_text(WORKFLOW, "wf.yaml", installed=have).ok


SIDECARS = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: side-}
spec:
  entrypoint: main
  templates:
  - name: main
    container: {image: alpine, command: [sh, -c, "true"]}
    initContainers:
    - {name: fetch, image: alpine, command: [fetcher]}
    sidecars:
    - {name: db, image: influxdb, command: [influxd]}
"""


def test_init_containers_and_sidecars_need_their_programs_too() -> None:
    result = check_text(SIDECARS, "wf.yaml", local=True, installed=lambda p: p == "sh")
    assert [(p.line, p.message.split(",")[0]) for p in result.errors] == [
        (10, "template 'main' runs 'fetcher'"),
        (12, "template 'main' runs 'influxd'"),
    ]
