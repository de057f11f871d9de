"""Stores under test: in memory, a SQLite file, and a fresh schema of a real PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from trainyard.store.base import Store
from trainyard.store.memory import MemoryStore
from trainyard.store.sql import SqlStore

POSTGRES_URL = os.environ.get(
    "TRAINYARD_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


class StepClock:
    """A clock that moves one second forward each time it is read."""

    def __init__(self) -> None:
        self.moment = datetime(2024, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        self.moment += timedelta(seconds=1)
        return self.moment


def _libpq_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _postgres_unreachable() -> str | None:
    try:
        with psycopg.connect(_libpq_url(POSTGRES_URL), connect_timeout=3):
            return None
    except psycopg.Error as error:
        return str(error).strip() or type(error).__name__


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A URL whose search_path is a schema made for this test and dropped after it."""
    reason = _postgres_unreachable()
    if reason is not None:
        pytest.skip(
            f"PostgreSQL at {POSTGRES_URL} cannot be reached ({reason}); "
            "start it or set TRAINYARD_TEST_POSTGRES_URL"
        )
    schema = f"trainyard_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_libpq_url(POSTGRES_URL), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(_libpq_url(POSTGRES_URL), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Store]]:
    """Opens stores on one backend (all of them on the same data), closing them afterwards."""
    if request.param == "memory":
        shared = MemoryStore(clock=StepClock())

        def open_store() -> Store:
            return shared
    else:
        url = (
            f"sqlite:///{tmp_path / 'home' / 'trainyard.db'}"
            if request.param == "sqlite"
            else request.getfixturevalue("postgres_url")
        )
        clock = StepClock()

        def open_store() -> Store:
            return SqlStore(url, clock=clock)

    opened: list[Store] = []

    def tracked() -> Store:
        store = open_store()
        opened.append(store)
        return store

    yield tracked
    for store in opened:
        store.close()


@pytest.fixture
def store(make_store: Callable[[], Store]) -> Store:
    """One store on the backend under test."""
    return make_store()
