"""`trainyard apply`, stored templates, templateRef/workflowTemplateRef and `submit --from`."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.cli.conftest import Runner

LIBRARY = """\
apiVersion: argoproj.io/v1alpha1
kind: WorkflowTemplate
metadata: {name: library}
spec:
  entrypoint: pipeline
  arguments:
    parameters: [{name: greeting, value: hello}, {name: who, value: nobody}]
  templates:
  - name: pipeline
    inputs: {parameters: [{name: who}]}
    steps:
    - - name: first
        template: say
        arguments: {parameters: [{name: text, value: "first {{inputs.parameters.who}}"}]}
    - - name: second
        template: say
        arguments: {parameters: [{name: text, value: "second {{inputs.parameters.who}}"}]}
  - name: say
    inputs: {parameters: [{name: text}]}
    script:
      image: python:3
      command: [python3]
      source: |
        import os
        print("{{inputs.parameters.text}}", os.environ.get("COLOR", "-"), len(os.environ["PW"]))
      env:
      - name: COLOR
        valueFrom: {configMapKeyRef: {name: settings, key: color}}
      - name: PW
        valueFrom: {secretKeyRef: {name: creds, key: password}}
  - name: greet
    script:
      image: python:3
      command: [python3]
      source: print("{{workflow.parameters.greeting}} from the template")
---
apiVersion: argoproj.io/v1alpha1
kind: ClusterWorkflowTemplate
metadata: {name: shared}
spec:
  templates:
  - name: done
    script: {image: python:3, command: [python3], source: "print('cluster-wide')"}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {color: blue}
---
apiVersion: v1
kind: Secret
metadata: {name: creds}
stringData: {password: s3cret}
"""

USES = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: uses-refs}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - name: run
        templateRef: {name: library, template: pipeline}
        arguments: {parameters: [{name: who, value: me}]}
      - name: finish
        depends: run
        templateRef: {name: shared, template: done, clusterScope: true}
"""


def ok(trainyard: Runner, *args: str) -> str:
    done = trainyard(*args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_apply_stores_then_workflows_use_the_templates(
    trainyard: Runner, write: Callable[[str, str], Path], tmp_path: Path
) -> None:
    folder = tmp_path / "defs"
    folder.mkdir()
    (folder / "library.yaml").write_text(LIBRARY)
    applied = json.loads(ok(trainyard, "apply", "-f", str(folder), "-o", "json"))
    assert [(r["kind"], r["name"], r["action"]) for r in applied] == [
        ("WorkflowTemplate", "library", "created"),
        ("ClusterWorkflowTemplate", "shared", "created"),
        ("ConfigMap", "settings", "created"),
        ("Secret", "creds", "created"),
    ]
    again = ok(trainyard, "apply", "-f", str(folder / "library.yaml"))
    assert "workflowtemplate/library unchanged" in again
    assert "library" in ok(trainyard, "template", "list")
    assert ok(trainyard, "cluster-template", "list", "-o", "name").split() == ["shared"]
    stored = json.loads(ok(trainyard, "template", "get", "library", "-o", "json"))
    assert stored["spec"]["entrypoint"] == "pipeline"

    uses = write("uses.yaml", USES)
    done = trainyard("run", str(uses), "-o", "json")
    assert done.returncode == 0, done.stderr
    wf = json.loads(done.stdout)
    assert wf["status"]["phase"] == "Succeeded"
    logs = ok(trainyard, "logs", "uses-refs")
    assert "first me blue 6" in logs and "second me blue 6" in logs, "the secret's 6 letters"
    assert "cluster-wide" in logs
    names = {t["name"] for t in wf["spec"]["templates"]}
    assert {"main", "library-pipeline", "library-say", "shared-done"} <= names
    assert "s3cret" not in ok(trainyard, "get", "uses-refs", "-o", "yaml") + logs

    from_template = trainyard(
        "submit", "--from", "workflowtemplate/library", "-p", "who=you", "--wait", "-o", "json"
    )
    assert from_template.returncode == 0, from_template.stderr
    made = json.loads(from_template.stdout)
    assert made["metadata"]["labels"]["workflows.argoproj.io/workflow-template"] == "library"
    assert "first you blue" in ok(trainyard, "logs", made["metadata"]["name"])
    greet = trainyard(
        "submit", "--from", "wftmpl/library", "--entrypoint", "greet", "--wait", "-o", "json"
    )
    assert greet.returncode == 0, greet.stderr
    greeted = ok(trainyard, "logs", json.loads(greet.stdout)["metadata"]["name"])
    assert "hello from the template" in greeted
    (folder / "library.yaml").write_text(LIBRARY.replace("value: hello", "value: hi"))
    assert "workflowtemplate/library configured" in ok(trainyard, "apply", "-f", str(folder))
    ok(trainyard, "template", "delete", "library")
    missing = trainyard("run", str(uses))
    assert missing.returncode == 2
    assert "no WorkflowTemplate 'library' in namespace 'default'" in missing.stderr
    assert "trainyard apply" in missing.stderr and "Traceback" not in missing.stderr


def test_a_bad_document_stores_nothing(
    trainyard: Runner, write: Callable[[str, str], Path]
) -> None:
    bad = write(
        "bad.yaml",
        LIBRARY.replace("stringData: {password: s3cret}", "data: {password: 'not base64!'}"),
    )
    done = trainyard("apply", "-f", str(bad))
    assert done.returncode == 2
    assert f"{bad}:" in done.stderr and "not base64" in done.stderr
    assert ok(trainyard, "template", "list", "-o", "name").strip() == "", "nothing stored"
    typo = write("typo.yaml", "apiVersion: argoproj.io/v1alpha1\nkind: WorkflowTemplat\n")
    refused = trainyard("apply", "-f", str(typo))
    assert refused.returncode == 2 and "WorkflowTemplate" in refused.stderr
    neither = trainyard("submit")
    assert neither.returncode == 2 and "--from" in neither.stderr
    wrong = trainyard("submit", "--from", "template/x")
    assert wrong.returncode == 2 and "workflowtemplate/NAME" in wrong.stderr


VOLUMES = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: key-files}
spec:
  entrypoint: main
  volumes:
  - {name: settings, configMap: {name: settings}}
  - name: creds
    secret: {secretName: creds, items: [{key: password, path: nested/pw}]}
  templates:
  - name: main
    script:
      image: python:3
      command: [python3]
      source: |
        import os, stat
        print(open("/etc/settings/color").read(), len(open("/etc/creds/nested/pw").read()))
        print(oct(stat.S_IMODE(os.stat("/etc/creds/nested/pw").st_mode)))
      volumeMounts:
      - {name: settings, mountPath: /etc/settings}
      - {name: creds, mountPath: /etc/creds}
"""


def test_config_maps_and_secrets_as_volumes(
    trainyard: Runner, write: Callable[[str, str], Path]
) -> None:
    ok(trainyard, "apply", "-f", str(write("library.yaml", LIBRARY)))
    done = trainyard("run", str(write("volumes.yaml", VOLUMES)), "-o", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"]["phase"] == "Succeeded"
    logs = ok(trainyard, "logs", "key-files")
    assert "blue 6" in logs and "0o600" in logs and "s3cret" not in logs
