"""Tests for DAG `depends` expressions."""

from __future__ import annotations

import pytest

from trainyard.core.errors import ExpressionError
from trainyard.spec.depends import (
    RESULTS,
    And,
    Not,
    Or,
    TaskRef,
    TaskResults,
    dependency_names,
    evaluate_depends,
    from_dependencies,
    parse_depends,
)

SUCCEEDED = TaskResults(succeeded=True)
FAILED = TaskResults(failed=True)
ERRORED = TaskResults(errored=True)
SKIPPED = TaskResults(skipped=True)
OMITTED = TaskResults(omitted=True)
DAEMONED = TaskResults(daemoned=True)


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        ("A", TaskRef("A")),
        ("A.Succeeded", TaskRef("A", "Succeeded")),
        ("task-1.Succeeded", TaskRef("task-1", "Succeeded")),
        ("!A.Failed", Not(TaskRef("A", "Failed"))),
        ("A && B", And((TaskRef("A"), TaskRef("B")))),
        ("A && B && C", And((TaskRef("A"), TaskRef("B"), TaskRef("C")))),
        ("A || B && C", Or((TaskRef("A"), And((TaskRef("B"), TaskRef("C")))))),
        ("(A || B) && C", And((Or((TaskRef("A"), TaskRef("B"))), TaskRef("C")))),
        (
            "A && (B.Failed || C.Skipped)",
            And((TaskRef("A"), Or((TaskRef("B", "Failed"), TaskRef("C", "Skipped"))))),
        ),
        ("!(A || B)", Not(Or((TaskRef("A"), TaskRef("B"))))),
        ("!!A", Not(Not(TaskRef("A")))),
        (
            "  A.AnySucceeded||B.AllFailed ",
            Or((TaskRef("A", "AnySucceeded"), TaskRef("B", "AllFailed"))),
        ),
        ("step-2a&&3rd-step", And((TaskRef("step-2a"), TaskRef("3rd-step")))),
    ],
)
def test_parse(text: str, tree: object) -> None:
    assert parse_depends(text) == tree


@pytest.mark.parametrize("result", RESULTS)
def test_every_result_parses(result: str) -> None:
    assert parse_depends(f"train.{result}") == TaskRef("train", result)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "A.Succeded",
            "depends 'A.Succeded': unknown result 'Succeded' for task 'A' "
            "(did you mean 'Succeeded'?) at column 3; valid results are Succeeded, Failed, "
            "Errored, Skipped, Omitted, Daemoned, AnySucceeded, AllFailed",
        ),
        ("A.Finished", "unknown result 'Finished' for task 'A' at column 3; valid results are"),
        ("A.succeeded", "did you mean 'Succeeded'?"),
        ("A.", "expected a result after 'A.' at column 3; valid results are"),
        ("A B", "expected '&&' or '||' between 'A' and 'B' at column 3"),
        ("A and B", "at column 3; write '&&', '||' and '!' for and, or, not"),
        ("(A && B", "'(' is never closed at column 1"),
        ("A)", "unexpected ')' with no matching '(' at column 2"),
        ("(A B)", "expected '&&' or '||' between 'A' and 'B' at column 4"),
        ("A &&", "expected a task name after '&&' at column 5"),
        ("&& A", "expected a task name, found '&&' at column 1"),
        ("()", "expected a task name after '(', found ')' at column 2"),
        ("A & B", "unexpected '&' at column 3"),
        ("A.Succeeded.x", "unexpected '.' at column 12"),
        ("", "the expression is empty"),
        ("(" * 2000 + "A" + ")" * 2000, "nested too deeply"),
    ],
)
def test_parse_errors(text: str, message: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse_depends(text)
    assert message in str(caught.value)


def test_dependency_names() -> None:
    expr = parse_depends("A && (B.Failed || !C.Skipped) && A.Succeeded")
    assert dependency_names(expr) == {"A", "B", "C"}


def test_from_dependencies_is_a_conjunction_of_bare_names() -> None:
    assert from_dependencies(["A", "b-2"]) == And((TaskRef("A"), TaskRef("b-2")))
    assert dependency_names(from_dependencies(["A", "B"])) == {"A", "B"}
    assert evaluate_depends(from_dependencies([]), {}, {}) is True


def test_from_dependencies_rejects_a_bad_name() -> None:
    with pytest.raises(ExpressionError, match=r"'A\.Succeeded' is not a task name"):
        from_dependencies(["A.Succeeded"])


@pytest.mark.parametrize(
    ("result", "continue_on", "expected"),
    [
        (SUCCEEDED, (False, False), True),
        (SKIPPED, (False, False), True),
        (DAEMONED, (False, False), True),
        (FAILED, (False, False), False),
        (ERRORED, (False, False), False),
        (OMITTED, (False, False), False),
        (FAILED, (True, False), True),
        (ERRORED, (True, False), False),
        (ERRORED, (False, True), True),
        (FAILED, (False, True), False),
        (OMITTED, (True, True), False),
    ],
)
def test_bare_name_expansion(
    result: TaskResults, continue_on: tuple[bool, bool], expected: bool
) -> None:
    """A bare `A` is A.Succeeded || A.Skipped || A.Daemoned, plus what continueOn allows."""
    assert evaluate_depends(parse_depends("A"), {"A": result}, {"A": continue_on}) is expected


@pytest.mark.parametrize(
    ("text", "results", "expected"),
    [
        ("A && (B.Failed || C.Skipped)", {"A": SUCCEEDED, "B": FAILED, "C": SUCCEEDED}, True),
        ("A && (B.Failed || C.Skipped)", {"A": SUCCEEDED, "B": SUCCEEDED, "C": SKIPPED}, True),
        ("A && (B.Failed || C.Skipped)", {"A": SUCCEEDED, "B": SUCCEEDED, "C": SUCCEEDED}, False),
        ("A && (B.Failed || C.Skipped)", {"A": FAILED, "B": FAILED, "C": SKIPPED}, False),
        ("task-1.Succeeded", {"task-1": SUCCEEDED}, True),
        ("task-1.Succeeded", {"task-1": SKIPPED}, False),
        ("!A.Failed", {"A": SUCCEEDED}, True),
        ("!A.Failed", {"A": FAILED}, False),
        ("A.Errored", {"A": ERRORED}, True),
        ("A.Omitted", {"A": OMITTED}, True),
        ("A.Daemoned", {"A": DAEMONED}, True),
        ("A.Skipped", {"A": SKIPPED}, True),
        ("!A", {"A": FAILED}, True),
        ("A || B", {"A": FAILED, "B": SUCCEEDED}, True),
        ("A || B", {"A": FAILED, "B": ERRORED}, False),
        ("A.Failed || B.Failed", {"A": FAILED, "B": SUCCEEDED}, True),
        (
            "loop.AnySucceeded",
            {"loop": TaskResults(failed=True, any_succeeded=True)},
            True,
        ),
        ("loop.AnySucceeded", {"loop": FAILED}, False),
        ("loop.AllFailed", {"loop": TaskResults(failed=True, all_failed=True)}, True),
        ("loop.AllFailed", {"loop": FAILED}, False),
    ],
)
def test_evaluate(text: str, results: dict[str, TaskResults], expected: bool) -> None:
    assert evaluate_depends(parse_depends(text), results, {}) is expected


def test_continue_on_applies_only_to_bare_names() -> None:
    results = {"A": FAILED}
    continue_on = {"A": (True, True)}
    assert evaluate_depends(parse_depends("A"), results, continue_on) is True
    assert evaluate_depends(parse_depends("A.Succeeded"), results, continue_on) is False


def test_missing_results_are_reported() -> None:
    with pytest.raises(KeyError, match="B, C"):
        evaluate_depends(parse_depends("A || B || C"), {"A": SUCCEEDED}, {})
