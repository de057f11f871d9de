"""Log and watch streams of a real server: SSE with keep-alives, NDJSON, follow, timeouts."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import httpx

from tests.api.conftest import create, wait, workflow

W = "/api/v1/workflows"
SSE = {"Accept": "text/event-stream"}
COUNT = "import time\nfor i in range(5):\n    print('line', i, flush=True)\n    time.sleep(0.3)"


def sse_events(lines: list[str]) -> list[dict[str, Any]]:
    return [json.loads(line[len("data: ") :]) for line in lines if line.startswith("data: ")]


def test_logs_as_ndjson_with_tail_grep_and_timestamps(client: httpx.Client) -> None:
    name = create(client, workflow(script=COUNT))["metadata"]["name"]
    wait(client, name)
    plain = client.get(f"{W}/default/{name}/log", params={"logOptions.container": "main"})
    assert plain.headers["content-type"].startswith("application/json")
    entries = [json.loads(line)["result"] for line in plain.text.splitlines()]
    assert [e["content"] for e in entries] == [f"line {i}" for i in range(5)]
    assert all(e["podName"] == name for e in entries)
    tail = client.get(f"{W}/default/{name}/log", params={"logOptions.tailLines": "2"})
    assert [json.loads(x)["result"]["content"] for x in tail.text.splitlines()] == [
        "line 3",
        "line 4",
    ]
    grep = client.get(f"{W}/default/{name}/log", params={"grep": "line [13]"})
    assert len(grep.text.splitlines()) == 2
    stamped = client.get(f"{W}/default/{name}/log", params={"logOptions.timestamps": "true"})
    first = json.loads(stamped.text.splitlines()[0])["result"]["content"]
    assert first.endswith("line 0") and first[:4].isdigit() and "T" in first.split()[0]
    by_pod = client.get(f"{W}/default/{name}/{name}/log")
    assert len(by_pod.text.splitlines()) == 5
    assert client.get(f"{W}/default/{name}/nopod/log").status_code == 404
    assert client.get(f"{W}/default/{name}/log", params={"grep": "("}).status_code == 400
    assert client.get(f"{W}/default/nothing/log").status_code == 404


def test_followed_logs_stream_as_sse_and_end_with_the_workflow(client: httpx.Client) -> None:
    name = create(client, workflow(script=COUNT))["metadata"]["name"]
    deadline = time.monotonic() + 30
    while client.get(f"{W}/default/{name}").json().get("status", {}).get("phase") != "Running":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    started = time.monotonic()
    lines: list[str] = []
    first_at = None
    params = {"logOptions.follow": "true"}
    with client.stream("GET", f"{W}/default/{name}/log", params=params, headers=SSE) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("data: ") and first_at is None:
                first_at = time.monotonic() - started
            lines.append(line)
    assert [e["result"]["content"] for e in sse_events(lines)] == [f"line {i}" for i in range(5)]
    assert first_at is not None and first_at < 2
    assert client.get(f"{W}/default/{name}").json()["status"]["phase"] == "Succeeded"


def test_watch_sends_events_and_keep_alives(client: httpx.Client) -> None:
    create(client, workflow(), "watched")
    got: list[str] = []
    started = time.monotonic()
    first_event: list[float] = []

    def read() -> None:
        params = {"listOptions.timeoutSeconds": "6"}
        with client.stream(
            "GET", "/api/v1/workflow-events/watched", params=params, headers=SSE
        ) as r:
            for line in r.iter_lines():
                if line.startswith("data: ") and not first_event:
                    first_event.append(time.monotonic() - started)
                got.append(line)

    reader = threading.Thread(target=read)
    reader.start()
    time.sleep(1)
    name = create(client, workflow(), "watched")["metadata"]["name"]
    reader.join(15)
    assert not reader.is_alive(), "the watch ends after listOptions.timeoutSeconds"
    events = [e["result"] for e in sse_events(got)]
    assert first_event and first_event[0] < 2
    assert events[0]["type"] == "ADDED", "the workflow made before the watch"
    mine = [e["type"] for e in events if e["object"]["metadata"]["name"] == name]
    assert mine[0] == "ADDED" and "MODIFIED" in mine
    assert ": keep-alive" in got, "keep-alives every 0.5 s (the fixture's --keepalive)"


def test_watch_as_ndjson_with_a_resource_version_and_a_name(client: httpx.Client) -> None:
    name = create(client, workflow(suspend=True), "watch-one")["metadata"]["name"]
    create(client, workflow(), "watch-one")
    params = {
        "listOptions.fieldSelector": f"metadata.name={name}",
        "listOptions.timeoutSeconds": "3",
        "fields": "result.type,result.object.metadata.name",
    }
    results: list[dict[str, Any]] = []

    def read() -> None:
        with client.stream("GET", "/api/v1/workflow-events/watch-one", params=params) as r:
            results.extend(json.loads(line)["result"] for line in r.iter_lines() if line)

    reader = threading.Thread(target=read)
    reader.start()
    time.sleep(1)
    assert client.delete(f"{W}/watch-one/{name}", params={"force": "true"}).status_code == 200
    reader.join(10)
    assert results[0] == {"type": "ADDED", "object": {"metadata": {"name": name}}}
    assert results[-1]["type"] == "DELETED"
    assert {r["object"]["metadata"]["name"] for r in results} == {name}


def test_watch_refuses_bad_selectors(client: httpx.Client) -> None:
    bad = client.get("/api/v1/workflow-events/default", params={"listOptions.labelSelector": "!"})
    assert bad.status_code == 400 and bad.json()["code"] == 3
    assert client.get("/api/v1/workflow-events/Bad").status_code == 400
