"""Outputs of a skipped node (Argo's skipped-output defaults): an output parameter's
`valueFrom.default` is its value; without one, an argument naming it is left out, so the
input's own default applies; an expression may fall back with `??`."""

from __future__ import annotations

from collections.abc import Callable

from tests.engine.conftest import Sim

WORKFLOW = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: skipped-}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: producer, template: produce, when: "false"}
      - name: consumer
        template: consume
        depends: producer.Succeeded || producer.Skipped
        arguments:
          parameters:
          - {name: with-default, value: "{{tasks.producer.outputs.parameters.named}}"}
          - {name: without, value: "x-{{tasks.producer.outputs.parameters.bare}}"}
    outputs:
      parameters:
      - name: picked
        valueFrom: {expression: "tasks.producer.outputs.parameters.bare ?? 'fallback'"}
  - name: produce
    outputs:
      parameters:
      - name: named
        valueFrom: {path: /tmp/a, default: from-output}
      - name: bare
        valueFrom: {path: /tmp/b}
    container: {image: busybox, command: [echo, real]}
  - name: consume
    inputs:
      parameters:
      - name: with-default
      - {name: without, default: from-input}
    container: {image: busybox, command: [echo, "{{inputs.parameters.without}}"]}
"""


def test_skipped_outputs_take_their_defaults(simulate: Callable[..., Sim]) -> None:
    sim = simulate(WORKFLOW)
    assert sim.phase == "Succeeded"
    nodes = {n.display_name: n for n in sim.workflow.status.nodes.values()}
    assert nodes["producer"].phase == "Skipped"
    given = {p.name: p.value for p in nodes["consumer"].inputs.parameters}
    assert given == {"with-default": "from-output", "without": "from-input"}
    root = nodes[sim.workflow.metadata.name]
    assert [(p.name, p.value) for p in root.outputs.parameters] == [("picked", "fallback")]
