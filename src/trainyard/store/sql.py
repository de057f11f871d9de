"""SqlStore: the Store contract on SQLAlchemy Core, for SQLite (WAL) and PostgreSQL (psycopg)."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    URL,
    Connection,
    Engine,
    and_,
    bindparam,
    create_engine,
    delete,
    event,
    insert,
    make_url,
    select,
    update,
)
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError
from sqlalchemy.pool import StaticPool
from sqlalchemy.sql import Select, Update

from trainyard.core.clock import Clock, SystemClock
from trainyard.core.errors import ConfigError, EnvironmentError_
from trainyard.core.ids import new_uid
from trainyard.core.selectors import Selector
from trainyard.store import document, migrate, paging, sqlquery
from trainyard.store.base import ObjectVersion, Page
from trainyard.store.schema import objects

_c = objects.c
_KEY = and_(
    _c.kind == bindparam("p_kind"),
    _c.namespace == bindparam("p_namespace"),
    _c.name == bindparam("p_name"),
)
_ROW = (_c.body, _c.resource_version, _c.uid, _c.created_at)
POOL_SIZE = 16
"""PostgreSQL connections kept open per process."""
POOL_OVERFLOW = 32
"""More, opened when that many are busy and closed once returned."""
_GET = select(*_ROW).where(_KEY)
_STORED = select(_c.resource_version, _c.uid).where(_KEY)
_DELETE = delete(objects).where(_KEY)
_INSERT = insert(objects)


def _update_statement(check_version: bool, check_uid: bool) -> Update:
    """`UPDATE objects SET ... WHERE key [AND resource_version = ?] [AND uid = ?] RETURNING`."""
    conditions = [_KEY]
    if check_version:
        conditions.append(_c.resource_version == bindparam("p_version"))
    if check_uid:
        conditions.append(_c.uid == bindparam("p_uid"))
    return (
        update(objects)
        .where(*conditions)
        .values(
            body=bindparam("p_body"),
            labels=bindparam("p_labels", type_=_c.labels.type),
            phase=bindparam("p_phase"),
            resource_version=_c.resource_version + 1,
        )
        .returning(_c.resource_version, _c.uid, _c.created_at)
    )


_UPDATE = {(v, u): _update_statement(v, u) for v in (False, True) for u in (False, True)}


class SqlStore:
    """Objects in one `objects` table of a SQLite file or a PostgreSQL database.

    `url` is a SQLAlchemy URL: `sqlite:///path/to/trainyard.db`, `sqlite://` (in memory) or
    `postgresql://user@host/db` (psycopg 3 is used whatever the URL's driver). The first
    operation brings the tables to this trainyard's revision (trainyard.store.migrate). One
    instance may be shared by threads; it is not fork-safe, so make it after forking. SQLite
    gets one connection for the life of the store.

    Every operation is one SQL statement in autocommit mode: an insert, an update guarded by
    the resourceVersion it expects (RETURNING the new one), a delete or a select. With no
    read-then-write transaction, a SQLite writer only ever waits within its busy timeout, and
    PostgreSQL answers in one round trip.
    """

    def __init__(self, url: str, *, clock: Clock | None = None, busy_timeout: float = 10.0) -> None:
        """A store for `url`; nothing is opened until the first operation.

        `busy_timeout` is how long (seconds) a SQLite writer waits for another process's write.
        """
        try:
            parsed = make_url(url)
        except ArgumentError as error:
            raise ConfigError(f"the database URL {url!r} is not valid: {error}") from None
        backend = parsed.get_backend_name()
        if backend == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        elif backend != "sqlite":
            raise ConfigError(
                f"the database URL {parsed.render_as_string()!r} is neither sqlite:// nor "
                "postgresql://, the two databases trainyard supports"
            )
        self._url: URL = parsed
        self._sqlite = backend == "sqlite"
        self._clock = clock or SystemClock()
        self._busy_timeout = busy_timeout
        self._lock = threading.Lock()
        self._engine: Engine | None = None
        self._conn: Connection | None = None

    def create(self, kind: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Insert a new object; returns it with uid, resourceVersion and creationTimestamp set."""
        return document.create_named(kind, obj, lambda name: self._create(kind, obj, name))

    def get(self, kind: str, namespace: str, name: str) -> dict[str, Any]:
        """The object, or NotFoundError."""
        with self._connection() as conn:
            row = conn.execute(_GET, _key(kind, namespace, name)).first()
        if row is None:
            raise document.not_found(kind, namespace, name)
        return document.load(row[0], row[1], row[2], _utc(row[3]))

    def update(self, kind: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Replace an existing object; ConflictError if its resourceVersion or uid is stale."""
        name = document.required_name(kind, obj)
        incoming = document.prepare(kind, obj, name)
        params: dict[str, Any] = {
            **_key(kind, incoming.namespace, name),
            "p_body": incoming.body,
            "p_labels": incoming.labels,
            "p_phase": incoming.phase,
            "p_version": incoming.resource_version,
            "p_uid": incoming.uid,
        }
        statement = _UPDATE[(incoming.resource_version is not None, incoming.uid is not None)]
        with self._connection() as conn:
            row = conn.execute(statement, params).first()
            # Nothing matched: say whether the object is missing or was changed meanwhile.
            stored = None if row is not None else conn.execute(_STORED, params).first()
        if row is not None:
            return document.finish(obj, name, row[0], row[1], _utc(row[2]))
        if stored is None:
            raise document.not_found(kind, incoming.namespace, name)
        raise document.stale(incoming, stored[0], stored[1])

    def delete(self, kind: str, namespace: str, name: str) -> None:
        """Remove the object, or NotFoundError."""
        with self._connection() as conn:
            deleted = conn.execute(_DELETE, _key(kind, namespace, name)).rowcount
        if not deleted:
            raise document.not_found(kind, namespace, name)

    def list(
        self,
        kind: str,
        namespace: str | None = None,
        labels: dict[str, str] | None = None,
        phases: list[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Objects of `kind` matching every filter, oldest first."""
        statement: Select[Any] = select(*_ROW).where(_c.kind == kind)
        if namespace is not None:
            statement = statement.where(_c.namespace == namespace)
        if phases is not None:
            statement = statement.where(_c.phase.in_(phases))
        # SQLite's JSON paths cannot quote a '"'; such keys (never valid in Kubernetes) are
        # matched below, in Python.
        leftover = {k: v for k, v in (labels or {}).items() if '"' in k}
        for key, value in (labels or {}).items():
            if key not in leftover:
                statement = statement.where(_c.labels[key].as_string() == value)
        with self._connection() as conn:
            rows = conn.execute(statement.order_by(_c.created_at, _c.id)).all()
        found = [document.load(r[0], r[1], r[2], _utc(r[3])) for r in rows]
        if leftover:
            found = [o for o in found if _has_labels(o, leftover)]
        return found

    def list_page(
        self,
        kind: str,
        namespace: str | None = None,
        *,
        selector: Selector = (),
        phases: Sequence[str] | None = None,
        name_contains: str | None = None,
        limit: int | None = None,
        continue_token: str | None = None,
    ) -> Page:
        """Up to `limit` matching objects, newest first, after `continue_token` (one query)."""
        statement = sqlquery.page_statement(
            kind, namespace, selector, phases, name_contains, limit, continue_token
        )
        with self._connection() as conn:
            rows = conn.execute(statement).all()
        more = limit is not None and len(rows) > limit
        rows = rows[:limit] if limit is not None else rows
        items = [document.load(r[1], r[2], r[3], _utc(r[4])) for r in rows]
        token = paging.encode(_utc(rows[-1][4]), rows[-1][0]) if more else None
        return Page(items, token)

    def list_versions(
        self,
        kind: str,
        namespace: str | None = None,
        *,
        selector: Selector = (),
        phases: Sequence[str] | None = None,
    ) -> tuple[ObjectVersion, ...]:
        """Address and version of every matching object (no bodies are read)."""
        statement = sqlquery.versions_statement(kind, namespace, selector, phases)
        with self._connection() as conn:
            rows = conn.execute(statement).all()
        return tuple(ObjectVersion(r[0], r[1], r[2], r[3]) for r in rows)

    def close(self) -> None:
        """Close the connections; a later operation opens them again."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None

    def _create(self, kind: str, obj: dict[str, Any], name: str) -> dict[str, Any]:
        incoming = document.prepare(kind, obj, name)
        uid = incoming.uid or new_uid()
        created_at = (incoming.created_at or self._clock.now()).astimezone(UTC)
        values = {
            "kind": kind,
            "namespace": incoming.namespace,
            "name": name,
            "uid": uid,
            "phase": incoming.phase,
            "labels": incoming.labels,
            "created_at": created_at,
            "resource_version": 1,
            "body": incoming.body,
        }
        with self._connection() as conn:
            try:
                conn.execute(_INSERT, values)
            except IntegrityError:
                if conn.execute(_STORED, _key(kind, incoming.namespace, name)).first():
                    raise document.already_exists(kind, incoming.namespace, name) from None
                raise
        return document.finish(obj, name, 1, uid, created_at)

    @contextmanager
    def _connection(self) -> Iterator[Connection]:
        """An autocommit connection to a database whose tables exist."""
        try:
            if self._sqlite:
                with self._lock:
                    yield self._conn if self._conn is not None else self._open_sqlite()
            else:
                with self._postgres_engine().connect() as conn:
                    yield conn
        except IntegrityError:
            raise
        except DBAPIError as error:
            raise EnvironmentError_(
                f"the database {self._url.render_as_string()} failed: {error.orig}; "
                "check that it is reachable and not full (TRAINYARD_DATABASE_URL)"
            ) from error

    def _open_sqlite(self) -> Connection:
        database = self._url.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            _create_private_file(Path(database))
        engine = create_engine(
            self._url,
            isolation_level="AUTOCOMMIT",
            poolclass=StaticPool,
            connect_args={"check_same_thread": False, "timeout": self._busy_timeout},
        )
        event.listen(engine, "connect", self._configure_sqlite)
        conn = engine.connect()
        try:
            migrate.upgrade(conn, self._url.render_as_string())
        except BaseException:
            conn.close()
            engine.dispose()
            raise
        self._engine, self._conn = engine, conn
        return conn

    def _configure_sqlite(self, dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        # The busy timeout first: switching to WAL itself may wait for another process.
        cursor.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout * 1000)}")
        _switch_to_wal(cursor, time.monotonic() + self._busy_timeout)
        # Durable at each checkpoint rather than each commit: a power cut may lose the last
        # ticks, never corrupt the file; the engine redoes lost ticks from observations.
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    def _postgres_engine(self) -> Engine:
        with self._lock:
            if self._engine is None:
                # Connections are kept for as many requests as the API serves at once: a pool
                # smaller than that opens and closes one (a PostgreSQL backend) per request.
                engine = create_engine(
                    self._url,
                    isolation_level="AUTOCOMMIT",
                    pool_pre_ping=True,
                    pool_size=POOL_SIZE,
                    max_overflow=POOL_OVERFLOW,
                )
                try:
                    with engine.connect() as conn:
                        migrate.upgrade(conn, self._url.render_as_string())
                except BaseException:
                    engine.dispose()
                    raise
                self._engine = engine
            return self._engine


def _key(kind: str, namespace: str, name: str) -> dict[str, Any]:
    return {"p_kind": kind, "p_namespace": namespace, "p_name": name}


def _utc(moment: datetime) -> datetime:
    """SQLite gives back naive datetimes; they were written as UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _has_labels(obj: dict[str, Any], labels: dict[str, str]) -> bool:
    have = obj["metadata"].get("labels") or {}
    return all(have.get(k) == v for k, v in labels.items())


def _switch_to_wal(cursor: sqlite3.Cursor, deadline: float) -> None:
    """Turn on WAL mode (kept in the file, so only the first opener really switches).

    SQLite answers "database is locked" at once, without its busy timeout, when another
    connection is switching at the same moment; so this waits here instead.
    """
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.005)


def _create_private_file(path: Path) -> None:
    """Create the database file readable by its owner only: it holds secrets."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    except OSError as error:
        raise ConfigError(
            f"cannot create the database file {path}: {error.strerror}; "
            "check TRAINYARD_HOME or TRAINYARD_DATABASE_URL"
        ) from error
