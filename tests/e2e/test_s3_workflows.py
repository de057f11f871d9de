"""Workflows whose artifacts live in an S3-speaking server (moto on 127.0.0.1), via the CLI."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.artifacts import s3server
from tests.e2e.cli import trainyard

ROOT = Path(__file__).resolve().parents[2]
PIPELINE = ROOT / "examples" / "pipeline" / "workflow.yaml"
MULTISTEP = ROOT / "examples" / "multistep-training" / "workflow.yaml"


def _home(
    tmp_path: Path, server: s3server.S3Server, bucket: str, endpoint: str | None = None
) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.yaml").write_text(
        "artifactRepository:\n"
        "  s3:\n"
        f"    bucket: {bucket}\n"
        f"    endpoint: {endpoint or server.endpoint}\n"
        "    insecure: true\n"
        "    accessKeySecret: {name: s3, key: access}\n"
        "    secretKeySecret: {name: s3, key: secret}\n"
    )
    access, secret = server.credentials
    _cli_at_home(
        home,
        "secret",
        "create",
        "s3",
        "--from-literal",
        f"access={access}",
        "--from-literal",
        f"secret={secret}",
    )
    return home


def _nodes(wf: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n["displayName"]: n for n in wf["status"]["nodes"].values()}


def test_pipeline_artifacts_are_objects_in_the_bucket(
    tmp_path: Path, server: s3server.S3Server
) -> None:
    bucket = server.make_bucket("pipeline")
    home = _home(tmp_path, server, bucket)
    done = _cli_at_home(home, "run", str(PIPELINE), "--name", "p", "-o", "json")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr
    nodes = _nodes(json.loads(done.stdout))
    model = next(a for a in nodes["train"]["outputs"]["artifacts"] if a["name"] == "model")
    assert model["s3"]["key"].startswith("p/")
    keys = server.keys(bucket)
    assert model["s3"]["key"] in keys or any(k.startswith(model["s3"]["key"] + "/") for k in keys)
    assert not (home / "artifacts").exists() or not any((home / "artifacts").rglob("*"))
    report = json.loads(_cli_at_home(home, "results", "p", "-o", "json").stdout)
    test = next(s for s in report["steps"] if s["step"] == "test")
    assert test["metrics"]["accuracy"] > 0
    got = _cli_at_home(home, "artifacts", "get", "p", "train", "model", "-o", str(tmp_path / "dl"))
    assert got.returncode == 0, got.stderr
    assert (tmp_path / "dl" / "model").exists()


def test_missing_bucket_fails_the_step_clearly_and_retry_uploads_cleanly(
    tmp_path: Path, server: s3server.S3Server
) -> None:
    home = _home(tmp_path, server, "not-yet")
    failed = _cli_at_home(home, "run", str(PIPELINE), "--name", "nb", "-o", "json")
    assert failed.returncode == 1
    pretrain = _nodes(json.loads(failed.stdout))["pretrain"]
    assert pretrain["phase"] == "Error"
    message = pretrain["message"]
    assert message.startswith("output artifact '")
    assert "bucket 'not-yet' does not exist" in message and server.endpoint in message
    assert "\n" not in message
    server.make_bucket("not-yet")
    assert _cli_at_home(home, "retry", "nb").returncode == 0
    waited = _cli_at_home(home, "wait", "nb", "-o", "json")
    assert waited.returncode == 0, waited.stdout[-2000:]
    assert server.keys("not-yet")
    assert server.uploads_in_progress("not-yet") == []


def test_unreachable_endpoint_and_wrong_credentials(
    tmp_path: Path, server: s3server.S3Server
) -> None:
    bucket = server.make_bucket("creds")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    home = _home(tmp_path / "a", server, bucket, endpoint=f"127.0.0.1:{s3server.free_port()}")
    failed = _cli_at_home(home, "run", str(PIPELINE), "-o", "json", timeout=120)
    message = _nodes(json.loads(failed.stdout))["pretrain"]["message"]
    assert "cannot reach endpoint" in message
    home = _home(tmp_path / "b", server, bucket)
    _cli_at_home(
        home,
        "secret",
        "create",
        "s3",
        "--from-literal",
        "access=nobody",
        "--from-literal",
        "secret=wrong",
    )
    failed = _cli_at_home(home, "run", str(PIPELINE), "-o", "json")
    message = _nodes(json.loads(failed.stdout))["pretrain"]["message"]
    assert "credentials were refused" in message
    assert server.keys(bucket) == []


@pytest.mark.slow
def test_the_main_example_runs_with_an_s3_repository(
    tmp_path: Path, server: s3server.S3Server
) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("sklearn")
    bucket = server.make_bucket("multistep")
    home = _home(tmp_path, server, bucket)
    done = _cli_at_home(home, "run", str(MULTISTEP), "--name", "m", "-o", "json")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    nodes = _nodes(json.loads(done.stdout))
    for step in ("pretrain", "train", "prune", "test"):
        names = {a["name"] for a in nodes[step]["outputs"]["artifacts"]}
        assert {"model", "tensorboard"} <= names
    keys = server.keys(bucket, "m/")
    assert any("tensorboard" in k for k in keys) and any("model" in k for k in keys)


def _cli_at_home(home: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return trainyard(home, *args, timeout=timeout, cwd=home)
