"""The Store contract for paged listings and version scans, on every backend."""

from __future__ import annotations

from typing import Any

import pytest

from trainyard.core.errors import UserError
from trainyard.core.selectors import parse_selector
from trainyard.store.base import Store


def wf(name: str, namespace: str = "default", **extra: Any) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "namespace": namespace}
    if "labels" in extra:
        metadata["labels"] = extra.pop("labels")
    obj: dict[str, Any] = {"kind": "Workflow", "metadata": metadata, "spec": {}}
    if "phase" in extra:
        obj["status"] = {"phase": extra.pop("phase")}
    return obj


def names(objects: list[dict[str, Any]]) -> list[str]:
    return [o["metadata"]["name"] for o in objects]


def fill(store: Store, count: int, namespace: str = "default") -> list[str]:
    made = [f"wf-{i:03d}" for i in range(count)]
    for i, name in enumerate(made):
        store.create("Workflow", wf(name, namespace, labels={"n": str(i % 3)}))
    return made


def walk(store: Store, limit: int, **filters: Any) -> list[list[str]]:
    pages, token = [], None
    while True:
        page = store.list_page("Workflow", limit=limit, continue_token=token, **filters)
        pages.append(names(page.items))
        token = page.continue_token
        if token is None:
            return pages


def test_pages_are_newest_first_and_cover_everything_once(store: Store) -> None:
    made = fill(store, 7)
    pages = walk(store, 3, namespace="default")
    assert pages == [made[6:3:-1], made[3:0:-1], made[0:1]]
    assert [name for page in pages for name in page] == list(reversed(made))


def test_without_a_limit_one_page_holds_everything(store: Store) -> None:
    made = fill(store, 4)
    page = store.list_page("Workflow")
    assert names(page.items) == list(reversed(made))
    assert page.continue_token is None


def test_a_page_exactly_full_has_no_continue_token(store: Store) -> None:
    fill(store, 3)
    assert store.list_page("Workflow", limit=3).continue_token is None


def test_objects_created_while_paging_do_not_shift_pages(store: Store) -> None:
    made = fill(store, 5)
    first = store.list_page("Workflow", limit=2)
    store.create("Workflow", wf("late"))
    store.delete("Workflow", "default", made[4])
    rest = store.list_page("Workflow", continue_token=first.continue_token)
    assert names(first.items) + names(rest.items) == list(reversed(made))


def test_pages_filter_by_namespace_phase_name_and_selector(store: Store) -> None:
    fill(store, 6)
    fill(store, 2, namespace="other")
    store.create("Workflow", wf("done", labels={"n": "0"}, phase="Succeeded"))
    assert len(store.list_page("Workflow", "other").items) == 2
    assert len(store.list_page("Workflow").items) == 9
    assert names(store.list_page("Workflow", phases=["Succeeded"]).items) == ["done"]
    assert names(store.list_page("Workflow", name_contains="wf-00").items) == [
        "wf-001",
        "wf-000",
        *(f"wf-00{i}" for i in range(5, -1, -1)),
    ]
    selected = store.list_page("Workflow", "default", selector=parse_selector("n in (1,2)"))
    assert names(selected.items) == ["wf-005", "wf-004", "wf-002", "wf-001"]
    assert walk(store, 1, namespace="default", selector=parse_selector("n=0")) == [
        ["done"],
        ["wf-003"],
        ["wf-000"],
    ]


def test_name_contains_is_a_literal_substring(store: Store) -> None:
    for name in ("a-b", "axb", "a%b", "a_b"):
        obj = wf("x" + str(len(name)))
        obj["metadata"]["name"] = name
        store.create("Workflow", obj)
    assert names(store.list_page("Workflow", name_contains="%").items) == ["a%b"]
    assert names(store.list_page("Workflow", name_contains="_").items) == ["a_b"]
    assert sorted(names(store.list_page("Workflow", name_contains="a").items)) == [
        "a%b",
        "a-b",
        "a_b",
        "axb",
    ]


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("team=a", ["x"]),
        ("team==a", ["x"]),
        ("team!=a", ["z", "y"]),
        ("team in (a,b)", ["y", "x"]),
        ("team notin (a)", ["z", "y"]),
        ("team", ["y", "x"]),
        ("!team", ["z"]),
        ("team,tier=gpu", ["y"]),
        ("example.com/owner=me", ["z"]),
    ],
)
def test_every_selector_operator_works_in_the_store(
    store: Store, selector: str, expected: list[str]
) -> None:
    store.create("Workflow", wf("x", labels={"team": "a"}))
    store.create("Workflow", wf("y", labels={"team": "b", "tier": "gpu"}))
    store.create("Workflow", wf("z", labels={"example.com/owner": "me"}))
    page = store.list_page("Workflow", selector=parse_selector(selector))
    assert names(page.items) == expected
    versions = store.list_versions("Workflow", selector=parse_selector(selector))
    assert sorted(v.name for v in versions) == sorted(expected)


@pytest.mark.parametrize("token", ["garbage", "e30", "WyJ4IiwxXQ"])
def test_a_malformed_continue_token_is_a_user_error(store: Store, token: str) -> None:
    with pytest.raises(UserError, match="continue token"):
        store.list_page("Workflow", limit=1, continue_token=token)


def test_versions_follow_updates_and_deletes(store: Store) -> None:
    a = store.create("Workflow", wf("a"))
    store.create("Workflow", wf("b", namespace="other"))
    store.update("Workflow", a)
    found = {v.name: v for v in store.list_versions("Workflow")}
    assert found["a"].resource_version == 2
    assert (found["a"].namespace, found["a"].uid) == ("default", a["metadata"]["uid"])
    assert [v.name for v in store.list_versions("Workflow", "other")] == ["b"]
    store.delete("Workflow", "default", "a")
    assert [v.name for v in store.list_versions("Workflow")] == ["b"]
    assert store.list_versions("ConfigMap") == ()


def test_versions_filter_by_phase(store: Store) -> None:
    store.create("Workflow", wf("new"))
    store.create("Workflow", wf("running", phase="Running"))
    store.create("Workflow", wf("done", phase="Succeeded"))
    unfinished = store.list_versions("Workflow", phases=["", "Running"])
    assert sorted(v.name for v in unfinished) == ["new", "running"]
