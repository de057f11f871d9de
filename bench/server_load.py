"""The API server under load: submits per second, and get/list latency with 10,000 workflows.

1. 50 concurrent clients submit 2,000 one-step workflows (`true`) and poll each until it ends.
2. The store is filled up to 10,000 workflows (finished ones, written through the store);
   then the latency of `get` and of a paged list (`listOptions.limit=50`, then `continue`)
   is measured, one request at a time and with 10 clients at once.
3. The server is killed with SIGKILL and started again on the same database: how long until
   the API answers (`ready_s` for the first start of an empty home, `restart_after_kill_s`).
Targets on a 2-core machine: >= 200 submits/s accepted, p99 list <= 100 ms, the API answering
within 2 s of start. Prints JSON.
Run: `python bench/server_load.py [--database sqlite|postgresql|both] [--submits N] [--stored N]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import psycopg

from trainyard.store.sql import SqlStore

POSTGRES = os.environ.get(
    "TRAINYARD_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
WORKFLOW = {
    "apiVersion": "argoproj.io/v1alpha1",
    "kind": "Workflow",
    "metadata": {"generateName": "bench-", "labels": {"bench": "submit"}},
    "spec": {
        "entrypoint": "main",
        "templates": [{"name": "main", "container": {"image": "busybox", "command": ["true"]}}],
    },
}


CONTINUE = re.compile(rb'"continue":"([^"]+)"')
TARGETS = {"submits_per_second": ">= 200", "list_p99_ms": "<= 100", "ready_s": "<= 2"}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summary(seconds: list[float]) -> dict[str, float]:
    ms = [s * 1000 for s in seconds]
    return {
        "n": len(ms),
        "p50_ms": round(statistics.median(ms), 2),
        "p99_ms": round(percentile(ms, 0.99), 2),
        "max_ms": round(max(ms), 2),
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start(home: Path, database: str | None) -> tuple[subprocess.Popen[bytes], str, float]:
    """The server on a free port, the URL, and the seconds until its API answered."""
    began = time.perf_counter()
    port = free_port()
    args = [sys.executable, "-m", "trainyard", "server", "--auth", "none", "--port", str(port)]
    args += ["--no-access-log", *(["--database", database] if database else [])]
    env = {**os.environ, "TRAINYARD_HOME": str(home)}
    log = open(home.parent / "server.log", "wb")  # noqa: SIM115 - lives as long as the server
    process = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/api/v1/version", timeout=1)
            return process, url, round(time.perf_counter() - began, 2)
        except httpx.TransportError:
            time.sleep(0.05)
    raise SystemExit("the server did not start; see server.log")


class Connection:
    """A keep-alive HTTP/1.1 connection that writes requests by hand and reads the body by its
    Content-Length: a client this light leaves the machine's CPUs to the server it measures."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, url: str) -> Connection:
        host, port = url.removeprefix("http://").split(":")
        return cls(*await asyncio.open_connection(host, int(port)))

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        head = f"{method} {path} HTTP/1.1\r\nHost: bench\r\nContent-Length: {len(body)}\r\n"
        self.writer.write(head.encode() + b"Content-Type: application/json\r\n\r\n" + body)
        await self.writer.drain()
        raw = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw.split(b"\r\n")
        length = next(
            int(x.split(b":")[1]) for x in lines if x.lower().startswith(b"content-length")
        )
        return int(lines[0].split()[1]), await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()


async def submit_and_poll(url: str, total: int, clients: int) -> dict[str, Any]:
    """`clients` connections submit `total` workflows between them, then poll theirs."""
    names: list[list[str]] = [[] for _ in range(clients)]
    latencies: list[float] = []
    polls: list[float] = []
    body = json.dumps({"workflow": WORKFLOW}).encode()
    connections = [await Connection.open(url) for _ in range(clients)]

    async def submitter(index: int, count: int) -> None:
        for _ in range(count):
            began = time.perf_counter()
            status, answer = await connections[index].request(
                "POST", "/api/v1/workflows/default", body
            )
            latencies.append(time.perf_counter() - began)
            assert status == 200, answer[:300]
            names[index].append(json.loads(answer)["metadata"]["name"])

    async def poller(index: int) -> None:
        for name in names[index]:
            while True:
                began = time.perf_counter()
                path = f"/api/v1/workflows/default/{name}?fields=status.phase"
                _, answer = await connections[index].request("GET", path)
                polls.append(time.perf_counter() - began)
                phase = (json.loads(answer).get("status") or {}).get("phase")
                if phase in ("Succeeded", "Failed", "Error"):
                    break
                await asyncio.sleep(0.5)

    began = time.perf_counter()
    shares = [total // clients + (i < total % clients) for i in range(clients)]
    await asyncio.gather(*(submitter(i, n) for i, n in enumerate(shares)))
    submit_seconds = time.perf_counter() - began
    await asyncio.gather(*(poller(i) for i in range(clients)))
    done_seconds = time.perf_counter() - began
    for connection in connections:
        connection.close()
    return {
        "submitted": total,
        "submit_seconds": round(submit_seconds, 2),
        "submits_per_second": round(total / submit_seconds, 1),
        "submit_latency": summary(latencies),
        "all_finished_after_s": round(done_seconds, 1),
        "poll_latency": summary(polls),
    }


def fill(store_url: str, stored: int) -> int:
    """Finished three-node workflows written straight through the store, up to `stored`;
    returns how many were written."""
    store = SqlStore(store_url)
    count = max(0, stored - len(store.list_versions("Workflow")))
    for i in range(count):
        name = f"stored-{i:05d}"
        nodes = {
            f"{name}-{k}": {
                "id": f"{name}-{k}",
                "name": f"{name}.step{k}",
                "displayName": f"step{k}",
                "type": "Pod",
                "phase": "Succeeded",
                "templateName": "main",
                "startedAt": "2024-01-01T00:00:00Z",
                "finishedAt": "2024-01-01T00:00:02Z",
                "outputs": {"exitCode": "0", "parameters": [{"name": "acc", "value": "0.9"}]},
            }
            for k in range(3)
        }
        doc = {
            **WORKFLOW,
            "metadata": {"name": name, "namespace": "default", "labels": {"bench": "stored"}},
            "status": {"phase": "Succeeded", "progress": "3/3", "nodes": nodes},
        }
        store.create("Workflow", doc)
    store.close()
    return count


async def read_latency(url: str, rounds: int, clients: int, written: int) -> dict[str, Any]:
    """get and paged list (50 a page, following `continue`), `rounds` of each per client."""
    gets: list[float] = []
    lists: list[float] = []

    async def reader(offset: int) -> None:
        connection = await Connection.open(url)
        token = None
        for i in range(rounds):
            name = f"stored-{(offset * rounds + i) * 7 % max(1, written):05d}"
            began = time.perf_counter()
            status, _ = await connection.request("GET", f"/api/v1/workflows/default/{name}")
            gets.append(time.perf_counter() - began)
            assert status == 200
            path = "/api/v1/workflows/default?listOptions.limit=50"
            if token:
                path += f"&listOptions.continue={token}"
            began = time.perf_counter()
            status, answer = await connection.request("GET", path)
            lists.append(time.perf_counter() - began)
            assert status == 200
            # The token only: parsing the whole page here would bill the client's CPU time to
            # the server's latency (both share this machine's two cores).
            found = CONTINUE.search(answer[:400])
            token = found.group(1).decode() if found else None
        connection.close()

    await asyncio.gather(*(reader(i) for i in range(clients)))
    return {"get": summary(gets), "list_page_50": summary(lists)}


def run(backend: str, submits: int, stored: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-server-", ignore_cleanup_errors=True) as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        schema = None
        database = None
        if backend == "postgresql":
            schema = f"bench_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(POSTGRES.replace("+psycopg", ""), autocommit=True) as conn:
                conn.execute(f'CREATE SCHEMA "{schema}"')
            database = f"{POSTGRES}?options=-csearch_path%3D{schema}"
        store_url = database or f"sqlite:///{home / 'trainyard.db'}"
        process, url, ready = start(home, database)
        try:
            result: dict[str, Any] = {"backend": backend, "cpus": os.cpu_count(), "ready_s": ready}
            result["submit"] = asyncio.run(submit_and_poll(url, submits, 50))
            written = fill(store_url, stored)
            if schema is not None:
                # Autovacuum analyzes a table within a minute of such a bulk load; until then
                # PostgreSQL's planner guesses the new rows' selectivity and may scan them all.
                with psycopg.connect(POSTGRES.replace("+psycopg", ""), autocommit=True) as conn:
                    conn.execute(f'ANALYZE "{schema}".objects')
            result["stored"] = stored
            result["sequential"] = asyncio.run(read_latency(url, 200, 1, written))
            result["ten_clients"] = asyncio.run(read_latency(url, 50, 10, written))
            process.kill()
            process.wait(30)
            process, url, result["restart_after_kill_s"] = start(home, database)
            result["targets"] = TARGETS
            return result
        finally:
            process.terminate()
            process.wait(30)
            if schema is not None:
                with psycopg.connect(POSTGRES.replace("+psycopg", ""), autocommit=True) as conn:
                    conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--submits", type=int, default=2000)
    parser.add_argument("--stored", type=int, default=10_000)
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    results = []
    for backend in backends:
        print(f"{backend}: {args.submits} submits, then {args.stored} stored...", file=sys.stderr)
        results.append(run(backend, args.submits, args.stored))
        print(json.dumps(results[-1]), file=sys.stderr)
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
