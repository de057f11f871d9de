"""Memoized steps through the CLI: the cache is a ConfigMap in the home's store, so it outlives
the engine that wrote it, and `trainyard apply` can seed it as Argo users do with kubectl."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.cli.conftest import Runner

WORKFLOW = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: memoized-}
spec:
  entrypoint: main
  arguments: {parameters: [{name: code, value: "0"}]}
  templates:
  - name: main
    steps:
    - - name: make
        template: make
        arguments: {parameters: [{name: code, value: "{{workflow.parameters.code}}"}]}
  - name: make
    inputs: {parameters: [{name: code}]}
    memoize:
      key: "make-{{inputs.parameters.code}}"
      maxAge: "1h"
      cache: {configMap: {name: make-cache}}
    container:
      image: busybox
      command: [sh, -c]
      args: ["cat /proc/sys/kernel/random/uuid > /tmp/hello.txt; exit {{inputs.parameters.code}}"]
    outputs:
      parameters:
      - {name: hello, valueFrom: {path: /tmp/hello.txt}}
"""


def _node(trainyard: Runner, name: str) -> dict[str, Any]:
    got = trainyard("get", name, "-o", "json")
    assert got.returncode == 0, got.stderr
    nodes = json.loads(got.stdout)["status"]["nodes"]
    return next(n for n in nodes.values() if n["displayName"] == "make")


def _cache(trainyard: Runner) -> dict[str, Any]:
    listed = json.loads(trainyard("configmap", "list", "-o", "json").stdout)
    return {row["name"]: row["keys"] for row in listed}


def test_a_second_run_takes_the_outputs_from_the_cache(
    trainyard: Runner, write: Callable[[str, str], Path]
) -> None:
    path = write("memo.yaml", WORKFLOW)
    first = trainyard("run", str(path), "--name", "first")
    assert first.returncode == 0, first.stderr
    made = _node(trainyard, "first")
    assert made["memoizationStatus"] == {"hit": False, "key": "make-0", "cacheName": "make-cache"}
    assert _cache(trainyard) == {"make-cache": ["make-0"]}
    stored = json.loads(trainyard("configmap", "get", "make-cache", "-o", "json").stdout)
    assert stored["metadata"]["labels"] == {"workflows.argoproj.io/configmap-type": "Cache"}
    entry = json.loads(stored["data"]["make-0"])
    assert entry["nodeID"] == made["id"] and entry["outputs"] == made["outputs"]
    assert entry["creationTimestamp"] == entry["lastHitTimestamp"]

    # a new `trainyard run` is a new engine: the cache is read back from the store
    second = trainyard("run", str(path), "--name", "second")
    assert second.returncode == 0, second.stderr
    hit = _node(trainyard, "second")
    assert hit["memoizationStatus"]["hit"] is True
    assert hit["phase"] == "Succeeded"
    assert hit["outputs"] == made["outputs"]  # the same random word: it did not run again


def test_a_failed_step_is_not_cached(trainyard: Runner, write: Callable[[str, str], Path]) -> None:
    path = write("memo.yaml", WORKFLOW)
    failed = trainyard("run", str(path), "--name", "bad", "-p", "code=3")
    assert failed.returncode != 0
    assert _node(trainyard, "bad")["memoizationStatus"]["hit"] is False
    assert "make-cache" not in _cache(trainyard)


def _seeded(value: str, created: datetime) -> str:
    stamp = created.strftime("%Y-%m-%dT%H:%M:%SZ")
    entry = {
        "nodeID": "memoized-abc",
        "outputs": {"parameters": [{"name": "hello", "value": value}], "exitCode": "0"},
        "creationTimestamp": stamp,
        "lastHitTimestamp": stamp,
    }
    return (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: make-cache\n  labels:\n"
        "    workflows.argoproj.io/configmap-type: Cache\n"
        f"data:\n  make-0: '{json.dumps(entry)}'\n"
    )


def test_a_seeded_entry_is_used_while_younger_than_max_age(
    trainyard: Runner, write: Callable[[str, str], Path]
) -> None:
    path = write("memo.yaml", WORKFLOW)
    now = datetime.now(UTC)
    fresh = write("fresh.yaml", _seeded("different world", now))
    assert trainyard("apply", "-f", str(fresh)).returncode == 0
    assert trainyard("run", str(path), "--name", "fresh").returncode == 0
    assert _node(trainyard, "fresh")["outputs"]["parameters"][0]["value"] == "different world"

    stale = write("stale.yaml", _seeded("stale world", now - timedelta(hours=2)))
    assert trainyard("apply", "-f", str(stale)).returncode == 0
    assert trainyard("run", str(path), "--name", "stale").returncode == 0
    node = _node(trainyard, "stale")
    assert node["memoizationStatus"]["hit"] is False
    assert node["outputs"]["parameters"][0]["value"] not in ("stale world", "different world")


def test_a_configmap_without_the_cache_label_is_refused(
    trainyard: Runner, write: Callable[[str, str], Path]
) -> None:
    path = write("memo.yaml", WORKFLOW)
    made = trainyard("configmap", "create", "make-cache", "--from-literal", "other=1")
    assert made.returncode == 0, made.stderr
    ran = trainyard("run", str(path), "--name", "refused")
    assert ran.returncode != 0
    node = _node(trainyard, "refused")
    assert node["phase"] == "Error"
    assert "is not a memoization cache" in node["message"]


TWO_STEPS = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: two-}
spec:
  entrypoint: main
  arguments: {parameters: [{name: code, value: "1"}]}
  templates:
  - name: main
    steps:
    - - {name: first, template: first}
    - - name: second
        template: second
        arguments: {parameters: [{name: got, value: "{{steps.first.outputs.parameters.word}}"}]}
  - name: first
    container: {image: busybox, command: [sh, -c, "cat /proc/sys/kernel/random/uuid > /tmp/w"]}
    outputs: {parameters: [{name: word, valueFrom: {path: /tmp/w}}]}
  - name: second
    inputs: {parameters: [{name: got}]}
    container:
      image: busybox
      command: [sh, -c]
      args: ["echo {{inputs.parameters.got}} > /tmp/seen; exit {{workflow.parameters.code}}"]
    outputs: {parameters: [{name: seen, valueFrom: {path: /tmp/seen}}]}
"""


def _by_name(trainyard: Runner, name: str) -> dict[str, Any]:
    got = json.loads(trainyard("get", name, "-o", "json").stdout)
    return {n["displayName"]: n for n in got["status"]["nodes"].values()}


def test_resubmit_memoized_keeps_what_succeeded(
    trainyard: Runner, write: Callable[[str, str], Path]
) -> None:
    failed = trainyard("run", str(write("two.yaml", TWO_STEPS)), "--name", "two")
    assert failed.returncode != 0
    before = _by_name(trainyard, "two")
    word = before["first"]["outputs"]["parameters"][0]["value"]

    again = trainyard("resubmit", "two", "--memoized", "-p", "code=0", "--wait", "-o", "json")
    assert again.returncode == 0, again.stdout[-1500:] + again.stderr
    copy = json.loads(again.stdout)
    assert copy["metadata"]["name"].startswith("two-")
    assert copy["status"]["phase"] == "Succeeded"
    nodes = {n["displayName"]: n for n in copy["status"]["nodes"].values()}
    assert nodes["first"]["message"] == f"original pod: {before['first']['id']}"
    assert nodes["first"]["outputs"]["parameters"][0]["value"] == word
    assert (
        nodes["second"]["outputs"]["parameters"][0]["value"] == word
    )  # it ran, with the kept word

    done = copy["metadata"]["name"]
    twice = trainyard("resubmit", done, "--memoized")
    assert twice.returncode != 0
    assert "only Failed or Error workflows" in twice.stderr
