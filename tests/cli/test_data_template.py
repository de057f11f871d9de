"""data templates through the real CLI: list the files of the workflow's artifact repository,
filter and map the list with expressions, and loop over the result; a failing expression."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.cli.conftest import Runner
from trainyard.controller.data import transform

LISTING = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: listing}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: make, template: make}
    - - {name: list, template: list}
    - - name: show
        template: show
        withParam: "{{steps.list.outputs.result}}"
        arguments: {parameters: [{name: key, value: "{{item}}"}]}
  - name: make
    container:
      image: alpine
      command: [sh, -c, "mkdir -p /out/sub; echo 1 > /out/main.log; echo 2 > /out/sub/main.log;
                echo 3 > /out/other.txt"]
    outputs:
      artifacts: [{name: logs, path: /out, archive: {none: {}}}]
  - name: list
    data:
      source:
        artifactPaths: {name: repository}
      transformation:
      - expression: 'filter(data, {# startsWith "{{workflow.name}}/" && # endsWith "main.log"})'
      - expression: 'map(data, {# + ".seen"})'
  - name: show
    inputs: {parameters: [{name: key}]}
    container: {image: alpine, command: [echo, "{{inputs.parameters.key}}"]}
"""


def test_a_data_template_lists_filters_and_maps(
    trainyard: Runner, write: Callable[[str, str], Path]
) -> None:
    done = trainyard("run", str(write("listing.yaml", LISTING)), "-o", "json")
    wf = json.loads(done.stdout)
    assert (done.returncode, wf["status"]["phase"]) == (0, "Succeeded"), done.stderr
    nodes = {n["name"]: n for n in wf["status"]["nodes"].values()}
    listed = nodes["listing[1].list"]
    assert listed["type"] == "Pod"
    keys = json.loads(listed["outputs"]["result"])
    assert len(keys) == 2 and all(key.startswith("listing/listing-make-") for key in keys)
    assert [key.split("/", 2)[2] for key in keys] == [
        "logs/main.log.seen",
        "logs/sub/main.log.seen",
    ]
    shown = sorted(
        n["outputs"]["result"] for n in nodes.values() if n["name"].startswith("listing[2].show(")
    )
    assert shown == json.loads(listed["outputs"]["result"])


def test_a_failing_transformation_errors_the_node(
    trainyard: Runner, write: Callable[[str, str], Path]
) -> None:
    text = LISTING.replace('map(data, {# + ".seen"})', "data.nothing + 1")
    done = trainyard("run", str(write("bad.yaml", text)), "-o", "json")
    wf = json.loads(done.stdout)
    assert done.returncode != 0 and wf["status"]["phase"] in ("Failed", "Error")
    node = next(n for n in wf["status"]["nodes"].values() if n["name"] == "listing[1].list")
    assert node["phase"] == "Error"
    assert node["message"].startswith("data transformation 1 (data.nothing + 1): ")


def test_transform_applies_each_expression_in_turn() -> None:
    keys = ["a/main.log", "b/x.txt", "c/main.log"]
    assert transform(keys, []) == keys
    assert transform(keys, ['filter(data, {# endsWith "main.log"})', "len(data)"]) == 2
