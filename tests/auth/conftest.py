"""AuthService on every store backend, with a clock the tests move, and a view of what is stored."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from tests.store.conftest import postgres_url  # noqa: F401 - the fixture, for these tests too
from trainyard.service.auth import AuthService
from trainyard.store.base import Store
from trainyard.store.memory import MemoryStore
from trainyard.store.sql import SqlStore


class FakeClock:
    """A clock that stands still until the test moves it."""

    def __init__(self) -> None:
        self.moment = datetime(2024, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        return self.moment

    def advance(self, seconds: float) -> None:
        self.moment += timedelta(seconds=seconds)


@dataclass
class Backend:
    """A store, the clock it and its services share, and everything it holds as one text."""

    name: str
    store: Store
    clock: FakeClock
    stored: Callable[[], str]

    def service(self, cache_seconds: float = 5.0) -> AuthService:
        return AuthService(self.store, self.clock, cache_seconds=cache_seconds)


def _memory_rows(store: MemoryStore) -> str:
    rows = store._rows.items()
    return "\n".join(f"{key} {json.dumps(row.labels)} {row.body}" for key, row in rows)


def _sqlite_files(folder: Path) -> str:
    # The database, its write-ahead log and its index: every byte SQLite keeps.
    return b"".join(p.read_bytes() for p in sorted(folder.glob("trainyard.db*"))).decode("latin-1")


def _postgres_rows(url: str) -> str:
    libpq = url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(libpq) as conn:
        rows = conn.execute("SELECT objects::text FROM objects").fetchall()
    return "\n".join(row[0] for row in rows)


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """Each backend in turn, empty."""
    clock = FakeClock()
    store: Store
    if request.param == "memory":
        memory = MemoryStore(clock=clock)
        store, stored = memory, lambda: _memory_rows(memory)
    elif request.param == "sqlite":
        store = SqlStore(f"sqlite:///{tmp_path / 'trainyard.db'}", clock=clock)
        stored = lambda: _sqlite_files(tmp_path)  # noqa: E731
    else:
        url = request.getfixturevalue("postgres_url")
        store, stored = SqlStore(url, clock=clock), lambda: _postgres_rows(url)
    yield Backend(request.param, store, clock, stored)
    store.close()


@pytest.fixture
def auth(backend: Backend) -> AuthService:
    """An AuthService on the backend under test."""
    return backend.service()
