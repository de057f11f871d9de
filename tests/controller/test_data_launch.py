"""How a data template becomes a step: it prints the transformed listing its supervisor
writes, always as a host process, and its source must be one the local engine can list."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from trainyard.artifacts.registry import ConfiguredRepositories
from trainyard.controller.data import build_data_launch
from trainyard.controller.launch import EXECUTOR_ANNOTATION, LaunchError
from trainyard.controller.secrets import SecretSource
from trainyard.core.config import Config
from trainyard.engine.actions import PodRequest, StartPod
from trainyard.engine.workflow import decide
from trainyard.executors.base import PathMap, StepLaunch
from trainyard.spec.load import load_text
from trainyard.spec.models import Workflow
from trainyard.store.sql import SqlStore

TEXT = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wf, uid: uid-1, namespace: default}
spec:
  entrypoint: main
  templates:
  - name: main
    data:
      source: {artifactPaths: {name: all}}
      transformation:
      - expression: 'filter(data, {# endsWith ".log"})'
"""


class Under:
    """A PathMap that puts every path of the step under one directory."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def host(self, path: str) -> Path:
        return self.root / path.lstrip("/")


def pod_of(text: str) -> PodRequest:
    doc = load_text(text)[0].document
    assert isinstance(doc, Workflow)
    meta = doc.metadata.model_copy(update={"annotations": {EXECUTOR_ANNOTATION: "container"}})
    doc = doc.model_copy(update={"metadata": meta})
    actions = decide(doc, [], datetime(2026, 1, 1, tzinfo=UTC)).actions
    (start,) = [a for a in actions if isinstance(a, StartPod)]
    return start.pod


def launch_of(home: Path, text: str) -> StepLaunch:
    repositories = ConfiguredRepositories(Config(), home, lambda ref: "")
    secrets = SecretSource(SqlStore("sqlite://"))
    return build_data_launch(pod_of(text), repositories, secrets, home / "volumes")


def test_the_step_prints_the_listing_its_supervisor_wrote(tmp_path: Path) -> None:
    stored = tmp_path / "home" / "artifacts" / "wf" / "p"
    stored.mkdir(parents=True)
    for name in ("main.log", "model.tgz", "other.log"):
        (stored / name).write_text(name)
    launch = launch_of(tmp_path / "home", TEXT)
    assert launch.container is None  # a host process, even under --executor container
    assert launch.command[0] == "cat"
    assert launch.prepare is not None
    paths: PathMap = Under(tmp_path / "step")
    launch.prepare(paths)
    printed = paths.host(launch.command[1]).read_text()
    assert printed == '["wf/p/main.log","wf/p/other.log"]'


def test_a_location_it_cannot_list_is_a_launch_error(tmp_path: Path) -> None:
    text = TEXT.replace("{name: all}", "{name: all, gcs: {bucket: b, key: k}}")
    with pytest.raises(LaunchError, match="can only list an s3 location"):
        launch_of(tmp_path / "home", text)
