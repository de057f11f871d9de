"""Argo expressions in the engine: `{{= }}` tags, `when`, retryStrategy.expression, valueFrom."""

from __future__ import annotations

from collections.abc import Callable

from tests.engine.conftest import PodRun, Sim
from trainyard.engine.actions import PodRequest

Simulate = Callable[..., Sim]

TAGS = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: e-}
spec:
  entrypoint: main
  arguments:
    parameters: [{name: my-lr, value: "0.5"}]
  templates:
  - name: main
    dag:
      tasks:
      - name: scale
        template: show
        arguments:
          parameters: [{name: foo, value: "{{=item}}"}]
        withParam: "{{=toJson(filter([1, 3, 5], {# > 1}))}}"
  - name: show
    inputs:
      parameters: [{name: foo}]
    container:
      image: busybox
      command:
      - echo
      - "{{=asInt(inputs.parameters.foo) * 10}}"
      - "{{= asFloat(workflow.parameters['my-lr']) * 2 }}"
      - "{{= sprig.upper(workflow.name) }}"
"""


def _argv(pod: PodRequest) -> list[str]:
    main = pod.template.main_container()
    assert main is not None
    return [*(main.command or []), *(main.args or [])]


def test_expression_tags_in_arguments_loops_and_commands(simulate: Simulate) -> None:
    commands: list[list[str]] = []

    def rule(pod: PodRequest) -> PodRun:
        commands.append(_argv(pod))
        return PodRun()

    sim = simulate(TAGS, rule)
    assert sim.phase == "Succeeded"
    assert sorted(commands) == [["echo", "30", "1", "WF"], ["echo", "50", "1", "WF"]]


WHEN = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: w-}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: count, template: say}
    - - name: big
        template: say
        when: "{{= asInt(steps.count.outputs.result) > 5 }}"
      - name: small
        template: say
        when: "{{= asInt(steps.count.outputs.result) <= 5 && true }}"
  - name: say
    container: {image: busybox, command: [echo, hi]}
"""


def test_when_with_an_expression(simulate: Simulate) -> None:
    sim = simulate(WHEN, lambda pod: PodRun(stdout="3"))
    assert sim.phase == "Succeeded"
    assert sim.node("wf[1].big").phase == "Skipped"
    assert sim.node("wf[1].big").message == "when 'false' evaluated false"
    assert sim.node("wf[1].small").phase == "Succeeded"


RETRY = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: r-}
spec:
  entrypoint: flaky
  templates:
  - name: flaky
    retryStrategy:
      limit: "10"
      expression: "asInt(lastRetry.exitCode) != 3 && lastRetry.status == 'Failed'"
    container: {image: busybox, command: [sh, -c, "exit 1"]}
"""


def test_retry_expression_stops_retrying_on_a_given_exit_code(simulate: Simulate) -> None:
    codes = iter([1, 2, 3, 1, 1])
    sim = simulate(RETRY, lambda pod: PodRun(exit_code=next(codes)))
    assert sim.phase == "Failed"
    root = sim.node("wf")
    assert root.message == "retryStrategy.expression evaluated to false"
    assert sim.started == ["wf(0)", "wf(1)", "wf(2)"]


def test_retry_expression_reads_the_retries_count(simulate: Simulate) -> None:
    text = RETRY.replace(" && lastRetry.status == 'Failed'", " && asInt(retries) < 1")
    sim = simulate(text, lambda pod: PodRun(exit_code=1))
    # attempt 0 fails; the expression allows one retry; attempt 1 fails and retries is 1
    assert sim.started == ["wf(0)", "wf(1)"]
    assert sim.node("wf").message == "retryStrategy.expression evaluated to false"


OUTPUTS = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: o-}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: flip, template: say}
      - name: heads
        template: say
        depends: flip
        when: "{{tasks.flip.outputs.result}} == heads"
      - name: tails
        template: say
        depends: flip
        when: "{{tasks.flip.outputs.result}} == tails"
      - name: use
        template: echo
        depends: heads || tails
        arguments:
          parameters:
          - name: side
            valueFrom:
              expression: "tasks.flip.outputs.result == 'heads' ? 'H' : 'T'"
    outputs:
      parameters:
      - name: winner
        valueFrom:
          expression: >-
            tasks.flip.outputs.result == 'heads'
            ? tasks.heads.outputs.result : tasks.tails.outputs.result
  - name: say
    container: {image: busybox, command: [echo, hi]}
  - name: echo
    inputs: {parameters: [{name: side}]}
    container: {image: busybox, command: [echo, "{{inputs.parameters.side}}"]}
"""


def test_output_and_argument_parameters_from_expressions(simulate: Simulate) -> None:
    def rule(pod: PodRequest) -> PodRun:
        if pod.node_name.endswith(".flip"):
            return PodRun(stdout="tails")
        return PodRun(stdout=" ".join(_argv(pod)[1:]) + "!")

    sim = simulate(OUTPUTS, rule)
    assert sim.phase == "Succeeded"
    assert sim.node("wf.heads").phase == "Skipped"
    outputs = sim.node("wf").outputs
    assert outputs is not None
    assert [(p.name, p.value) for p in outputs.parameters] == [("winner", "hi!")]
    use = sim.node("wf.use").outputs
    assert use is not None and use.result == "T!"


BROKEN = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: b-}
spec:
  entrypoint: main
  templates:
  - name: main
    inputs: {parameters: [{name: x, value: abc}]}
    container: {image: busybox, command: [echo, "{{= asInt(inputs.parameters.x) + 1 }}"]}
"""


def test_an_expression_that_fails_errors_the_node_with_a_clear_message(
    simulate: Simulate,
) -> None:
    sim = simulate(BROKEN)
    assert sim.phase in ("Error", "Failed")
    message = sim.node("wf").message or ""
    assert "asInt(inputs.parameters.x) + 1" in message
    assert 'parsing "abc"' in message
    assert sim.started == []


def test_a_retry_expression_that_is_not_a_bool_errors_the_workflow(simulate: Simulate) -> None:
    text = RETRY.replace(" && lastRetry.status == 'Failed'", " ? 'yes' : 'no'")
    sim = simulate(text, lambda pod: PodRun(exit_code=1))
    assert sim.phase == "Error"
    assert sim.started == ["wf(0)"]
    assert (sim.node("wf").message or "").endswith("must be true or false, not 'yes'")


FROM_EXPRESSION = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: f-}
spec:
  entrypoint: main
  templates:
  - name: main
    outputs:
      artifacts:
      - {name: first, fromExpression: "steps['small'].outputs.artifacts.model"}
    steps:
    - - {name: small, template: train}
      - {name: large, template: train}
    - - name: evaluate
        template: evaluate
        arguments:
          artifacts:
          - name: model
            fromExpression: >-
              steps.small.outputs.result == 'better'
              ? steps.small.outputs.artifacts.model : steps.large.outputs.artifacts.model
  - name: train
    container: {image: busybox, command: [sh, -c, "mkdir /tmp/m"]}
    outputs:
      artifacts:
      - {name: model, path: /tmp/m, archive: {none: {}}}
  - name: evaluate
    inputs:
      artifacts:
      - {name: model, path: /in/model}
    container: {image: busybox, command: [ls, /in]}
"""


def test_from_expression_picks_an_artifact(simulate: Simulate) -> None:
    def rule(pod: PodRequest) -> PodRun:
        if not pod.node_name.endswith(("small", "large")):
            return PodRun()
        which = pod.node_name.rsplit(".", 1)[1]
        model = {"name": "model", "path": "/tmp/m", "local": {"key": f"wf/{which}"}}
        return PodRun(stdout="worse" if which == "small" else "", artifacts=[model])

    sim = simulate(FROM_EXPRESSION, rule)
    assert sim.phase == "Succeeded"
    inputs = sim.node("wf[1].evaluate").inputs
    assert inputs is not None
    (model,) = inputs.artifacts
    assert model.name == "model" and model.path == "/in/model"
    assert model.local is not None and model.local.key == "wf/large"
    outputs = sim.node("wf").outputs
    assert outputs is not None
    (first,) = outputs.artifacts
    assert first.name == "first"
    assert first.local is not None and first.local.key == "wf/small"


FILTER = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: s-}
spec:
  entrypoint: main
  templates:
  - name: main
    inputs:
      parameters:
      - {name: test, value: "false"}
      - name: list
        value: >-
          {{= concat(['always'], inputs.parameters.test == 'true' ? ['test'] : [])
          | toJSON() }}
    steps:
    - - name: run
        template: say
        when: >-
          "{{= get(item, 'type') ?? 'always' }}" in
          ("{{= inputs.parameters.list | fromJSON() | join('","') }}", "")
        withParam: '[{"name": "a", "type": "test"}, {"name": "b"}]'
  - name: say
    container: {image: busybox, command: [echo, hi]}
"""


def test_an_input_computed_from_another_input_feeds_a_when(simulate: Simulate) -> None:
    sim = simulate(FILTER)
    assert sim.phase == "Succeeded"
    main = sim.node("wf").inputs
    assert main is not None
    assert [p.value for p in main.parameters] == ["false", '["always"]']
    assert sim.node("wf[0].run(0:name:a,type:test)").phase == "Skipped"
    assert sim.node("wf[0].run(1:name:b)").phase == "Succeeded"
