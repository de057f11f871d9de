"""Contexts: servers named in the config file, chosen per command or once, with their tokens."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.conftest import Server, start_server

WORKFLOW = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: ctx-}
spec:
  entrypoint: main
  templates:
  - name: main
    script: {image: python:3, command: [python3], source: "print('on the server')"}
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(tmp_path_factory.mktemp("ctx") / "home")
    yield running
    running.stop()


@pytest.fixture
def home(tmp_path: Path, server: Server) -> Path:
    """A client home whose config names the server three ways."""
    token = tmp_path / "token"
    token.write_text((server.home / "admin.token").read_text())
    home = tmp_path / "client-home"
    home.mkdir()
    (home / "config.yaml").write_text(
        f"""\
contexts:
  box: {{server: "{server.url}", namespace: team-a, tokenFile: "{token}"}}
  envy: {{server: "{server.url}", tokenEnv: TRAINYARD_TEST_UNSET_TOKEN}}
  plain: {{server: "{server.url}", token: not-a-real-token}}
"""
    )
    return home


def cli(home: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRAINYARD_")}
    env.update({"TRAINYARD_HOME": str(home), "COLUMNS": "200"})
    return subprocess.run(
        [sys.executable, "-m", "trainyard", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
        cwd=cwd,
    )


def test_list_use_show_and_clear(home: Path, server: Server, tmp_path: Path) -> None:
    listed = cli(home, "context", "list", "-o", "json")
    assert listed.returncode == 0, listed.stderr
    rows = {r["name"]: r for r in json.loads(listed.stdout)}
    assert set(rows) == {"box", "envy", "plain"} and not any(r["current"] for r in rows.values())
    assert rows["box"]["token"].startswith("file ") and rows["envy"]["token"] == "env " + (
        "TRAINYARD_TEST_UNSET_TOKEN"
    )
    assert "contexts.plain.token is a secret in plain text" in listed.stderr
    assert "not-a-real-token" not in listed.stdout + listed.stderr

    assert cli(home, "context", "use", "box").returncode == 0
    shown = json.loads(cli(home, "context", "show", "-o", "json").stdout)
    assert shown["name"] == "box" and shown["current"] and shown["tokenFound"] is True

    workflow = tmp_path / "wf.yaml"
    workflow.write_text(WORKFLOW)
    done = cli(home, "submit", str(workflow), "--wait", "-o", "json")
    assert done.returncode == 0, done.stderr
    wf = json.loads(done.stdout)
    assert wf["metadata"]["namespace"] == "team-a", "the context's namespace"
    assert wf["status"]["phase"] == "Succeeded"
    name = wf["metadata"]["name"]
    assert name in cli(home, "list", "-o", "name").stdout.split()
    assert "on the server" in cli(home, "logs", name).stdout
    refused = cli(home, "queue")
    assert refused.returncode == 2 and "trainyard context clear" in refused.stderr

    assert cli(home, "context", "clear").returncode == 0
    local = cli(home, "list", "-o", "json")
    assert local.returncode == 0 and json.loads(local.stdout)["items"] == [], "this machine"
    again = cli(home, "--context", "box", "get", name, "-o", "json")
    assert json.loads(again.stdout)["metadata"]["name"] == name


def test_bad_contexts_say_what_to_fix(home: Path) -> None:
    unset = cli(home, "--context", "envy", "list")
    assert unset.returncode == 2 and "$TRAINYARD_TEST_UNSET_TOKEN, which is not set" in unset.stderr
    unknown = cli(home, "context", "use", "nope")
    assert unknown.returncode == 2 and "known: box, envy, plain" in unknown.stderr
    plain = cli(home, "--context", "plain", "list")
    assert plain.returncode == 1 and "unknown or revoked token" in plain.stderr
    (home / "config.yaml").write_text("contexts:\n  bad: {server: argo:2746}\n")
    bad = cli(home, "--context", "bad", "list")
    assert bad.returncode == 2 and "must start with http://" in bad.stderr
    assert "config.yaml:2: contexts.bad.server" in bad.stderr, "file:line of the setting"
    (home / "config.yaml").write_text("registries: {a: x.io}\ncontexts:\n  typo: {sever: x}\n")
    typo = cli(home, "context", "list")
    assert typo.returncode == 2 and "config.yaml:3: contexts.typo" in typo.stderr
    for result in (unset, unknown, plain, bad, typo):
        assert "Traceback" not in result.stderr
