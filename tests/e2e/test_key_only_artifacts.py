"""Key-only artifacts (`s3: {key: ...}` alone): kept in the workflow's artifact repository at
that key, whether it is the local directory or an S3 bucket (moto on 127.0.0.1)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.artifacts import s3server
from tests.e2e.cli import trainyard

KEY_ONLY = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: key-only-artifacts-}
spec:
  entrypoint: main
  artifactGC: {strategy: OnWorkflowDeletion}
  templates:
  - name: main
    dag:
      tasks:
      - {name: generate, template: generate}
      - {name: consume, template: consume, depends: generate}
  - name: generate
    container:
      image: busybox
      command: [sh, -c, "mkdir -p /mnt && echo hello > /mnt/file"]
    outputs:
      artifacts:
      - {name: file, path: /mnt/file, s3: {key: my-file}}
  - name: consume
    container: {image: busybox, command: [sh, -c, "cp /tmp/file /tmp/got"]}
    inputs:
      artifacts:
      - {name: file, path: /tmp/file, s3: {key: my-file}}
    outputs:
      parameters:
      - {name: got, valueFrom: {path: /tmp/got}}
"""

# Argo's map-reduce shape: a directory stored as-is under a key, read back a file at a time,
# and files stored one by one under a common prefix, read back as one directory.
MAP_REDUCE = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: map-reduce-}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: split, template: split}
      - name: map
        template: map
        depends: split
        withParam: "{{tasks.split.outputs.result}}"
        arguments:
          parameters: [{name: part, value: "{{item}}"}]
          artifacts: [{name: part, s3: {key: "{{workflow.name}}/parts/{{item}}.json"}}]
      - {name: reduce, template: reduce, depends: map}
  - name: split
    script:
      image: python:alpine
      command: [python3]
      source: |
        import json, os, sys
        os.mkdir("/mnt/out")
        for i in range(3):
            with open(f"/mnt/out/{i}.json", "w") as f:
                json.dump({"foo": i + 1}, f)
        json.dump([str(i) for i in range(3)], sys.stdout)
    outputs:
      artifacts:
      - {name: parts, path: /mnt/out, archive: {none: {}}, s3: {key: "{{workflow.name}}/parts/"}}
  - name: map
    inputs:
      parameters: [{name: part}]
      artifacts: [{name: part, path: /mnt/in/part.json}]
    script:
      image: python:alpine
      command: [python3]
      source: |
        import json, os
        os.makedirs("/mnt/out", exist_ok=True)  # the local engine makes it (Argo does not)
        part = json.load(open("/mnt/in/part.json"))
        json.dump({"bar": part["foo"] * 2}, open("/mnt/out/part.json", "w"))
    outputs:
      artifacts:
      - name: part
        path: /mnt/out/part.json
        archive: {none: {}}
        s3: {key: "{{workflow.name}}/results/{{inputs.parameters.part}}.json"}
  - name: reduce
    inputs:
      artifacts: [{name: results, path: /mnt/in, s3: {key: "{{workflow.name}}/results"}}]
    script:
      image: python:alpine
      command: [python3]
      source: |
        import json, os
        print(sum(json.load(open("/mnt/in/" + n))["bar"] for n in os.listdir("/mnt/in")))
"""


def _run(home: Path, text: str, name: str) -> dict[str, dict[str, Any]]:
    path = home.parent / f"{name}.yaml"
    path.write_text(text)
    done = trainyard(home, "run", str(path), "--name", name, "-o", "json")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr
    nodes = json.loads(done.stdout)["status"]["nodes"].values()
    return {n["displayName"]: n for n in nodes}


def test_a_key_only_artifact_is_in_the_local_repository_at_its_key(tmp_path: Path) -> None:
    home = tmp_path / "home"
    lint = trainyard(home, "lint", str(_write(tmp_path / "k.yaml", KEY_ONLY)))
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert "artifactGC is recorded" in lint.stdout + lint.stderr
    nodes = _run(home, KEY_ONLY, "k")
    assert nodes["consume"]["outputs"]["parameters"][0]["value"] == "hello"
    stored = nodes["generate"]["outputs"]["artifacts"][0]
    assert stored["local"] == {"key": "my-file"}
    assert (home / "artifacts" / "my-file").is_file()


def test_map_reduce_over_key_only_prefixes(tmp_path: Path) -> None:
    nodes = _run(tmp_path / "home", MAP_REDUCE, "mr")
    assert nodes["reduce"]["phase"] == "Succeeded"
    results = tmp_path / "home" / "artifacts" / "mr" / "results"
    assert sorted(p.name for p in results.iterdir()) == ["0.json", "1.json", "2.json"]
    logs = trainyard(tmp_path / "home", "logs", "mr")
    assert "12" in logs.stdout  # (1 + 2 + 3) * 2


def test_a_key_only_artifact_is_in_the_s3_repository_at_its_key(
    tmp_path: Path, server: s3server.S3Server
) -> None:
    bucket = server.make_bucket("keyonly")
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.yaml").write_text(
        f"artifactRepository:\n  s3:\n    bucket: {bucket}\n    endpoint: {server.endpoint}\n"
        "    insecure: true\n    accessKeySecret: {name: s3, key: access}\n"
        "    secretKeySecret: {name: s3, key: secret}\n"
    )
    access, secret = server.credentials
    made = trainyard(home, "secret", "create", "s3", "--from-literal", f"access={access}",
                "--from-literal", f"secret={secret}")  # fmt: skip
    assert made.returncode == 0, made.stderr
    nodes = _run(home, KEY_ONLY, "k")
    assert nodes["consume"]["outputs"]["parameters"][0]["value"] == "hello"
    assert "my-file" in server.keys(bucket)
    mr = _run(home, MAP_REDUCE, "mr")
    assert mr["reduce"]["phase"] == "Succeeded"
    assert {f"mr/results/{i}.json" for i in range(3)} <= set(server.keys(bucket))


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path
