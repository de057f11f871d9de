"""Input artifacts' `subPath`, and `artifactRepositoryRef` read from a stored ConfigMap (as
Argo reads `artifact-repositories`) or from config.yaml, through the CLI with real steps."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.artifacts import s3server
from tests.e2e.cli import trainyard

SUB_PATH = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: sub-path-}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: make, template: make}
    - - name: use
        template: use
        arguments:
          artifacts:
          - {name: raw, from: "{{steps.make.outputs.artifacts.raw}}", subPath: sub/a.txt}
          - {name: packed, from: "{{steps.make.outputs.artifacts.packed}}", subPath: sub}
          - {name: keyed, s3: {key: "{{workflow.name}}/kept"}, subPath: sub/a.txt}
  - name: make
    container:
      image: busybox
      command: [sh, -c]
      args:
      - mkdir -p /tmp/d/sub && echo A > /tmp/d/sub/a.txt && echo B > /tmp/d/b.txt
        && cp -r /tmp/d /tmp/e && cp -r /tmp/d /tmp/f
    outputs:
      artifacts:
      - {name: raw, path: /tmp/d, archive: {none: {}}}
      - {name: packed, path: /tmp/e}
      - {name: kept, path: /tmp/f, archive: {none: {}}, s3: {key: "{{workflow.name}}/kept"}}
  - name: use
    inputs:
      artifacts:
      - {name: raw, path: /in/raw.txt}
      - {name: packed, path: /in/packed}
      - {name: keyed, path: /in/keyed.txt}
    container:
      image: busybox
      command: [sh, -c, "cat /in/raw.txt /in/keyed.txt > /tmp/out; ls /in/packed >> /tmp/out"]
    outputs:
      parameters: [{name: seen, valueFrom: {path: /tmp/out}}]
"""

REF = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: artifact-repository-ref-}
spec:
  entrypoint: main
  artifactRepositoryRef: {key: my-key}
  templates:
  - name: main
    steps:
    - - {name: hello, template: hello}
    - - name: read
        template: read
        arguments:
          artifacts: [{name: hello, from: "{{steps.hello.outputs.artifacts.hello_world}}"}]
  - name: hello
    container:
      image: busybox
      command: [sh, -c, "echo hello world | tee /tmp/hello_world.txt"]
    outputs:
      artifacts: [{name: hello_world, path: /tmp/hello_world.txt}]
  - name: read
    inputs:
      artifacts: [{name: hello, path: /tmp/in.txt}]
    container: {image: busybox, command: [sh, -c, "cp /tmp/in.txt /tmp/out"]}
    outputs:
      parameters: [{name: got, valueFrom: {path: /tmp/out}}]
"""


def _run(home: Path, text: str, name: str) -> tuple[int, dict[str, dict[str, Any]]]:
    path = home.parent / f"{name}.yaml"
    path.write_text(text)
    done = trainyard(home, "run", str(path), "--name", name, "-o", "json")
    nodes = json.loads(done.stdout)["status"]["nodes"].values()
    return done.returncode, {n["displayName"]: n for n in nodes}


def _apply(home: Path, text: str) -> None:
    path = home.parent / "objects.yaml"
    path.write_text(text)
    applied = trainyard(home, "apply", "-f", str(path))
    assert applied.returncode == 0, applied.stderr


def test_sub_paths_of_raw_archived_and_key_only_directories(tmp_path: Path) -> None:
    code, nodes = _run(tmp_path / "home", SUB_PATH, "sp")
    assert code == 0, nodes["use"].get("message")
    assert nodes["use"]["outputs"]["parameters"][0]["value"] == "A\nA\na.txt"


def test_a_sub_path_that_is_not_there_fails_the_step_clearly(tmp_path: Path) -> None:
    code, nodes = _run(tmp_path / "home", SUB_PATH.replace("subPath: sub}", "subPath: nope}"), "x")
    assert code != 0
    assert nodes["use"]["phase"] == "Error"
    assert "input artifact 'packed'" in nodes["use"]["message"]
    assert "'nope'" in nodes["use"]["message"]


def test_the_ref_names_a_key_of_the_artifact_repositories_configmap(
    tmp_path: Path, server: s3server.S3Server
) -> None:
    home = tmp_path / "home"
    bucket = server.make_bucket("by-ref")
    access, secret = server.credentials
    made = trainyard(home, "secret", "create", "s3", "--from-literal", f"access={access}",
                "--from-literal", f"secret={secret}")  # fmt: skip
    assert made.returncode == 0, made.stderr
    _apply(
        home,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: artifact-repositories\n"
        "data:\n  my-key: |\n    s3:\n"
        f"      bucket: {bucket}\n      endpoint: {server.endpoint}\n      insecure: true\n"
        "      accessKeySecret: {name: s3, key: access}\n"
        "      secretKeySecret: {name: s3, key: secret}\n",
    )
    code, nodes = _run(home, REF, "ref")
    assert code == 0, json.dumps(nodes, indent=1)[-2000:]
    assert nodes["read"]["outputs"]["parameters"][0]["value"] == "hello world"
    stored = nodes["hello"]["outputs"]["artifacts"][0]["s3"]
    assert stored["bucket"] == bucket and stored["key"] in server.keys(bucket)
    assert not (home / "artifacts").exists() or not any((home / "artifacts").rglob("*.tgz"))


def test_without_the_configmap_the_ref_names_a_config_repository(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.yaml").write_text("artifactRepositories:\n  my-key:\n    local: {path: kept}\n")
    code, nodes = _run(home, REF, "cfg")
    assert code == 0, nodes["hello"].get("message")
    assert nodes["read"]["outputs"]["parameters"][0]["value"] == "hello world"
    assert list((home / "kept").rglob("hello_world.tgz"))


def test_a_ref_that_nothing_defines_is_a_clear_error(tmp_path: Path) -> None:
    code, nodes = _run(tmp_path / "home", REF, "none")
    assert code != 0
    message = nodes["hello"]["message"]
    assert "no ConfigMap 'artifact-repositories' holds that key" in message
    assert "artifactRepositories.my-key" in message
