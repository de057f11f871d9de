"""The Store contract, run against MemoryStore, SqlStore on SQLite and SqlStore on PostgreSQL."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from trainyard.core.errors import ConflictError, NotFoundError, UserError
from trainyard.store.base import Store
from trainyard.store.sql import SqlStore


def wf(name: str, namespace: str = "default", **extra: Any) -> dict[str, Any]:
    """A small Workflow; `labels=` and `phase=` go where Argo puts them."""
    metadata: dict[str, Any] = {"name": name, "namespace": namespace}
    if "labels" in extra:
        metadata["labels"] = extra.pop("labels")
    obj: dict[str, Any] = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": metadata,
        "spec": {"entrypoint": "main"},
    }
    if "phase" in extra:
        obj["status"] = {"phase": extra.pop("phase")}
    obj.update(extra)
    return obj


def names(objects: list[dict[str, Any]]) -> list[str]:
    return [o["metadata"]["name"] for o in objects]


# -- create / get ---------------------------------------------------------------------------


def test_create_sets_managed_metadata_and_get_returns_the_same(store: Store) -> None:
    original = wf("a", labels={"team": "vision"}, phase="Pending")
    before = copy.deepcopy(original)
    created = store.create("Workflow", original)
    assert original == before, "create must not modify its argument"
    meta = created["metadata"]
    assert meta["resourceVersion"] == "1"
    assert len(meta["uid"]) == 36
    assert meta["creationTimestamp"].endswith("Z")
    assert created["spec"] == {"entrypoint": "main"}
    assert store.get("Workflow", "default", "a") == created


def test_create_keeps_a_given_uid_and_creation_timestamp(store: Store) -> None:
    obj = wf("a")
    obj["metadata"].update(uid="u-1", creationTimestamp="2020-05-06T07:08:09Z")
    store.create("Workflow", obj)
    meta = store.get("Workflow", "default", "a")["metadata"]
    assert (meta["uid"], meta["creationTimestamp"]) == ("u-1", "2020-05-06T07:08:09Z")


@pytest.mark.parametrize("stamp", ["yesterday", "2024-01-01T00:00:00", 17])
def test_a_bad_creation_timestamp_is_refused(store: Store, stamp: object) -> None:
    obj = wf("a")
    obj["metadata"]["creationTimestamp"] = stamp
    with pytest.raises(UserError, match="is not an RFC 3339 time"):
        store.create("Workflow", obj)


def test_create_twice_is_a_conflict(store: Store) -> None:
    store.create("Workflow", wf("a"))
    with pytest.raises(ConflictError, match="workflow 'a' in namespace 'default' already exists"):
        store.create("Workflow", wf("a"))


def test_same_name_in_another_namespace_or_kind_is_another_object(store: Store) -> None:
    store.create("Workflow", wf("a"))
    store.create("Workflow", wf("a", namespace="team-b"))
    store.create("WorkflowTemplate", wf("a"))
    assert store.get("Workflow", "team-b", "a")["metadata"]["namespace"] == "team-b"
    assert len(store.list("Workflow")) == 2
    assert len(store.list("WorkflowTemplate")) == 1


def test_generate_name_picks_a_free_name(store: Store) -> None:
    obj = {"metadata": {"generateName": "train-", "namespace": "default"}}
    first = store.create("Workflow", obj)
    second = store.create("Workflow", obj)
    assert first["metadata"]["name"].startswith("train-")
    assert len(first["metadata"]["name"]) == len("train-") + 5
    assert first["metadata"]["name"] != second["metadata"]["name"]
    stored = store.get("Workflow", "default", first["metadata"]["name"])
    assert stored["metadata"]["generateName"] == "train-"


def test_an_object_without_a_name_is_refused(store: Store) -> None:
    with pytest.raises(UserError, match=r"metadata\.name"):
        store.create("Workflow", {"metadata": {"namespace": "default"}})
    with pytest.raises(UserError, match="metadata"):
        store.create("Workflow", {"spec": {}})


def test_get_missing_names_kind_name_and_namespace(store: Store) -> None:
    with pytest.raises(NotFoundError) as caught:
        store.get("Workflow", "default", "x")
    assert str(caught.value) == "workflow 'x' not found in namespace 'default'"
    with pytest.raises(NotFoundError) as caught:
        store.get("WorkflowTemplate", "ml", "y")
    assert str(caught.value) == "workflow template 'y' not found in namespace 'ml'"
    with pytest.raises(NotFoundError) as caught:
        store.get("ClusterWorkflowTemplate", "", "z")
    assert str(caught.value) == "cluster workflow template 'z' not found"


def test_an_object_without_namespace_is_cluster_scoped(store: Store) -> None:
    store.create("ClusterWorkflowTemplate", {"metadata": {"name": "shared"}, "spec": {}})
    got = store.get("ClusterWorkflowTemplate", "", "shared")
    assert "namespace" not in got["metadata"]
    assert names(store.list("ClusterWorkflowTemplate", namespace="")) == ["shared"]


def test_results_are_copies(store: Store) -> None:
    created = store.create("Workflow", wf("a", labels={"k": "v"}))
    created["spec"]["entrypoint"] = "changed"
    got = store.get("Workflow", "default", "a")
    got["metadata"]["labels"]["k"] = "changed"
    again = store.get("Workflow", "default", "a")
    assert again["spec"]["entrypoint"] == "main"
    assert again["metadata"]["labels"] == {"k": "v"}
    assert store.list("Workflow", labels={"k": "v"})


# -- update ---------------------------------------------------------------------------------


def test_update_replaces_the_body_and_increments_resource_version(store: Store) -> None:
    obj = store.create("Workflow", wf("a", phase="Pending"))
    obj["status"] = {"phase": "Running", "nodes": {"a": {"phase": "Running"}}}
    del obj["spec"]
    updated = store.update("Workflow", obj)
    assert updated["metadata"]["resourceVersion"] == "2"
    assert obj["metadata"]["resourceVersion"] == "1", "update must not modify its argument"
    got = store.get("Workflow", "default", "a")
    assert got == updated
    assert "spec" not in got
    again = store.update("Workflow", got)
    assert again["metadata"]["resourceVersion"] == "3"
    assert again["metadata"]["uid"] == obj["metadata"]["uid"]
    assert again["metadata"]["creationTimestamp"] == obj["metadata"]["creationTimestamp"]


def test_update_with_a_stale_resource_version_is_a_conflict(store: Store) -> None:
    first = store.create("Workflow", wf("a", phase="Pending"))
    second = copy.deepcopy(first)
    first["status"]["phase"] = "Running"
    store.update("Workflow", first)
    second["status"]["phase"] = "Failed"
    with pytest.raises(ConflictError, match=r"modified since it was read \(resourceVersion 1"):
        store.update("Workflow", second)
    got = store.get("Workflow", "default", "a")
    assert (got["status"]["phase"], got["metadata"]["resourceVersion"]) == ("Running", "2")


def test_update_without_resource_version_is_unconditional(store: Store) -> None:
    store.create("Workflow", wf("a"))
    store.update("Workflow", wf("a", phase="Running"))
    updated = store.update("Workflow", wf("a", phase="Succeeded"))
    assert updated["metadata"]["resourceVersion"] == "3"
    assert store.get("Workflow", "default", "a")["status"]["phase"] == "Succeeded"


def test_update_of_a_recreated_object_with_the_old_uid_is_a_conflict(store: Store) -> None:
    old = store.create("Workflow", wf("a"))
    store.delete("Workflow", "default", "a")
    store.create("Workflow", wf("a"))
    with pytest.raises(ConflictError, match="deleted and created again"):
        store.update("Workflow", old)


def test_update_cannot_change_uid_or_creation_timestamp(store: Store) -> None:
    created = store.create("Workflow", wf("a"))
    changed = copy.deepcopy(created)
    changed["metadata"]["creationTimestamp"] = "1999-01-01T00:00:00Z"
    updated = store.update("Workflow", changed)
    assert updated["metadata"]["creationTimestamp"] == created["metadata"]["creationTimestamp"]
    assert store.get("Workflow", "default", "a")["metadata"] == updated["metadata"]


def test_update_with_a_foreign_resource_version_is_a_conflict(store: Store) -> None:
    obj = store.create("Workflow", wf("a"))
    obj["metadata"]["resourceVersion"] = "abc"
    with pytest.raises(ConflictError, match="did not issue"):
        store.update("Workflow", obj)


def test_update_missing_is_not_found(store: Store) -> None:
    with pytest.raises(NotFoundError, match="workflow 'a' not found in namespace 'default'"):
        store.update("Workflow", wf("a"))
    obj = wf("a")
    obj["metadata"]["resourceVersion"] = "4"
    with pytest.raises(NotFoundError):
        store.update("Workflow", obj)


def test_update_moves_the_object_between_phases_and_labels(store: Store) -> None:
    obj = store.create("Workflow", wf("a", phase="Running", labels={"state": "busy"}))
    obj["status"]["phase"] = "Succeeded"
    obj["metadata"]["labels"] = {"state": "done"}
    store.update("Workflow", obj)
    assert store.list("Workflow", phases=["Running"]) == []
    assert store.list("Workflow", labels={"state": "busy"}) == []
    assert names(store.list("Workflow", phases=["Succeeded"], labels={"state": "done"})) == ["a"]


# -- delete ---------------------------------------------------------------------------------


def test_delete_removes_and_missing_is_not_found(store: Store) -> None:
    store.create("Workflow", wf("a"))
    store.delete("Workflow", "default", "a")
    with pytest.raises(NotFoundError):
        store.get("Workflow", "default", "a")
    with pytest.raises(NotFoundError, match="workflow 'a' not found in namespace 'default'"):
        store.delete("Workflow", "default", "a")
    store.create("Workflow", wf("a"))
    assert store.get("Workflow", "default", "a")["metadata"]["resourceVersion"] == "1"


# -- list -----------------------------------------------------------------------------------


def test_list_is_oldest_first_and_updates_keep_the_order(store: Store) -> None:
    for name in ["c", "a", "b"]:
        store.create("Workflow", wf(name))
    store.update("Workflow", store.get("Workflow", "default", "c"))
    assert names(store.list("Workflow")) == ["c", "a", "b"]


def test_list_orders_by_creation_timestamp_then_insertion(store: Store) -> None:
    for name, stamp in [("late", "2030-01-01T00:00:00Z"), ("early", "2001-01-01T00:00:00Z")]:
        obj = wf(name)
        obj["metadata"]["creationTimestamp"] = stamp
        store.create("Workflow", obj)
    for name in ["same-2", "same-1"]:
        obj = wf(name)
        obj["metadata"]["creationTimestamp"] = "2010-01-01T00:00:00Z"
        store.create("Workflow", obj)
    assert names(store.list("Workflow")) == ["early", "same-2", "same-1", "late"]


def test_list_filters_by_namespace(store: Store) -> None:
    store.create("Workflow", wf("a", namespace="n1"))
    store.create("Workflow", wf("b", namespace="n2"))
    store.create("Workflow", wf("c", namespace="n1"))
    store.create("WorkflowTemplate", wf("t", namespace="n1"))
    assert names(store.list("Workflow", namespace="n1")) == ["a", "c"]
    assert names(store.list("Workflow", namespace="n2")) == ["b"]
    assert names(store.list("Workflow")) == ["a", "b", "c"]
    assert store.list("Workflow", namespace="n3") == []
    assert store.list("CronWorkflow") == []


def test_list_filters_by_every_label_given(store: Store) -> None:
    key = "workflows.argoproj.io/workflow-template"
    store.create("Workflow", wf("a", labels={key: "train", "user": "ana"}))
    store.create("Workflow", wf("b", labels={key: "train", "user": "bo"}))
    store.create("Workflow", wf("c", labels={key: "test", "user": "ana"}))
    store.create("Workflow", wf("d"))
    assert names(store.list("Workflow", labels={key: "train"})) == ["a", "b"]
    assert names(store.list("Workflow", labels={key: "train", "user": "ana"})) == ["a"]
    assert names(store.list("Workflow", labels={"user": "nobody"})) == []
    assert names(store.list("Workflow", labels={})) == ["a", "b", "c", "d"]
    assert names(store.list("Workflow", labels={'we"ird': "x"})) == []


def test_list_filters_by_phase(store: Store) -> None:
    store.create("Workflow", wf("a", phase="Running"))
    store.create("Workflow", wf("b", phase="Succeeded"))
    store.create("Workflow", wf("c", phase="Failed"))
    store.create("Workflow", wf("d"))
    assert names(store.list("Workflow", phases=["Running"])) == ["a"]
    assert names(store.list("Workflow", phases=["Succeeded", "Failed"])) == ["b", "c"]
    assert names(store.list("Workflow", phases=[""])) == ["d"]
    assert store.list("Workflow", phases=[]) == []


def test_list_combines_filters(store: Store) -> None:
    store.create("Workflow", wf("a", namespace="n1", phase="Running", labels={"u": "x"}))
    store.create("Workflow", wf("b", namespace="n2", phase="Running", labels={"u": "x"}))
    store.create("Workflow", wf("c", namespace="n1", phase="Failed", labels={"u": "x"}))
    store.create("Workflow", wf("d", namespace="n1", phase="Running", labels={"u": "y"}))
    found = store.list("Workflow", namespace="n1", labels={"u": "x"}, phases=["Running"])
    assert names(found) == ["a"]
    assert found[0] == store.get("Workflow", "n1", "a")


# -- content --------------------------------------------------------------------------------


def test_unicode_round_trips(store: Store) -> None:
    text = "modèle 模型 🚂 Ω\u0301 tab\t nul\x00 lone-surrogate\ud800"
    obj = wf("ünï-🚂", namespace="équipe", labels={"owner": "José 山田"})
    obj["spec"]["arguments"] = {"parameters": [{"name": "note", "value": text}]}
    store.create("Workflow", obj)
    got = store.get("Workflow", "équipe", "ünï-🚂")
    assert got["spec"]["arguments"]["parameters"][0]["value"] == text
    assert names(store.list("Workflow", labels={"owner": "José 山田"})) == ["ünï-🚂"]


def test_a_one_megabyte_document_round_trips(store: Store) -> None:
    nodes = {
        f"big-{i}": {"id": f"big-{i}", "phase": "Succeeded", "message": "x" * 900}
        for i in range(1100)
    }
    obj = wf("big", phase="Running")
    obj["status"]["nodes"] = nodes
    assert len(json.dumps(obj)) > 1_000_000
    created = store.create("Workflow", obj)
    created["status"]["nodes"]["big-0"]["phase"] = "Failed"
    store.update("Workflow", created)
    got = store.get("Workflow", "default", "big")
    assert got["status"]["nodes"]["big-0"]["phase"] == "Failed"
    assert got["status"]["nodes"]["big-1099"] == nodes["big-1099"]


def test_floats_and_nested_values_round_trip(store: Store) -> None:
    outputs = {"loss": 0.1 + 0.2, "big": 2**60, "flags": [True, False, None], "empty": {}}
    store.create("Workflow", wf("a", status={"phase": "Succeeded", "outputs": outputs}))
    assert store.get("Workflow", "default", "a")["status"]["outputs"] == outputs


def test_a_second_store_on_the_same_data_sees_the_writes(
    make_store: Callable[[], Store],
) -> None:
    first, second = make_store(), make_store()
    first.create("Workflow", wf("a"))
    obj = second.get("Workflow", "default", "a")
    second.update("Workflow", obj)
    with pytest.raises(ConflictError):
        first.update("Workflow", obj)
    first.close()
    assert names(second.list("Workflow")) == ["a"]


# -- two processes --------------------------------------------------------------------------

_WORKER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from trainyard.core.errors import ConflictError
    from trainyard.store.sql import SqlStore

    url, tag, go, count = sys.argv[1], sys.argv[2], Path(sys.argv[3]), int(sys.argv[4])
    while not go.exists():
        time.sleep(0.001)
    store = SqlStore(url, busy_timeout=30)
    try:
        store.create("ConfigMap", {"metadata": {"name": "counter", "namespace": "default"},
                                   "data": {"count": "0"}})
    except ConflictError:
        pass
    conflicts = 0
    for i in range(count):
        store.create("Workflow", {"metadata": {"name": f"{tag}-{i}", "namespace": "default"},
                                  "status": {"phase": "Running"}, "spec": {"pad": "x" * 4000}})
        while True:
            counter = store.get("ConfigMap", "default", "counter")
            counter["data"]["count"] = str(int(counter["data"]["count"]) + 1)
            try:
                store.update("ConfigMap", counter)
                break
            except ConflictError:
                conflicts += 1
    store.close()
    print(conflicts)
    """
)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_two_processes_write_at_once(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = (
        f"sqlite:///{tmp_path / 'shared.db'}"
        if backend == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    go = tmp_path / "go"
    count = 200
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, url, tag, str(go), str(count)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for tag in ("p1", "p2")
    ]
    go.touch()
    outputs = [worker.communicate(timeout=120) for worker in workers]
    for worker, (_, err) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, err
        assert "locked" not in err
    store = SqlStore(url)
    try:
        counter = store.get("ConfigMap", "default", "counter")
        assert counter["data"]["count"] == str(2 * count)
        assert counter["metadata"]["resourceVersion"] == str(2 * count + 1)
        assert len(store.list("Workflow", phases=["Running"])) == 2 * count
    finally:
        store.close()
