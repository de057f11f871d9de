"""Time what a server start and a request pay for the store: migrations and token checks.

Usage: python bench/store_startup.py [--postgres URL]

Prints, for SQLite (and PostgreSQL when reachable): opening a fresh database (all migrations),
`migrate.upgrade` on a database that is up to date, and `AuthService.authenticate` with and
without its cache.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg
from sqlalchemy import create_engine

from trainyard.core.clock import SystemClock
from trainyard.service.auth import AuthService
from trainyard.store import migrate
from trainyard.store.sql import SqlStore


def median_ms(action: Callable[[], object], times: int) -> float:
    """The median time of `action`, in milliseconds."""
    samples = []
    for _ in range(times):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1e3


def measure(label: str, url: str) -> None:
    """Print the figures for the (empty) database at `url`."""
    store = SqlStore(url)
    start = time.perf_counter()
    store.list("Workflow")
    print(f"{label}: fresh database, every migration: {(time.perf_counter() - start) * 1e3:.1f} ms")
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        up_to_date = median_ms(lambda: migrate.upgrade(conn, label), 200)
    engine.dispose()
    print(f"{label}: migrate.upgrade when up to date: {up_to_date:.2f} ms")
    uncached = AuthService(store, SystemClock(), cache_seconds=0)
    uncached.create_user("ana")
    _, token = uncached.create_token("ana")
    cold = median_ms(lambda: uncached.authenticate(token), 500)
    print(f"{label}: authenticate, uncached (two gets by unique key): {cold:.3f} ms")
    cached = AuthService(store, SystemClock())
    warm = median_ms(lambda: cached.authenticate(token), 5000)
    print(f"{label}: authenticate, cached: {warm * 1e3:.1f} us")
    store.close()


def main() -> None:
    """Measure SQLite, then PostgreSQL in a schema of its own (dropped afterwards)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        measure("sqlite", f"sqlite:///{Path(folder) / 'trainyard.db'}")
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    try:
        with psycopg.connect(args.postgres, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
    except psycopg.Error as error:
        print(f"postgresql: skipped ({str(error).strip()})")
        return
    try:
        measure("postgresql", f"{args.postgres}?options=-csearch_path%3D{schema}")
    finally:
        with psycopg.connect(args.postgres, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


if __name__ == "__main__":
    main()
