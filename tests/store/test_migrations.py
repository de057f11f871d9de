"""Schema migrations on SQLite and PostgreSQL: fresh databases, pre-alembic ones, many starts."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event

from trainyard.core.errors import ConfigError, EnvironmentError_
from trainyard.store import migrate
from trainyard.store.schema import metadata
from trainyard.store.sql import SqlStore

MIGRATIONS = Path(migrate.__file__).with_name("migrations")

# What trainyard before alembic created (SQLAlchemy's DDL for schema.py as it was), frozen here.
LEGACY_DDL = {
    "sqlite": [
        """CREATE TABLE objects (id INTEGER NOT NULL, kind VARCHAR NOT NULL,
        namespace VARCHAR NOT NULL, name VARCHAR NOT NULL, uid VARCHAR NOT NULL,
        phase VARCHAR NOT NULL, labels JSON NOT NULL, created_at DATETIME NOT NULL,
        resource_version BIGINT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (id),
        CONSTRAINT uq_objects_kind_namespace_name UNIQUE (kind, namespace, name))""",
        "CREATE INDEX ix_objects_kind_phase ON objects (kind, phase)",
        "CREATE TABLE schema_version (version INTEGER NOT NULL)",
    ],
    "postgresql": [
        """CREATE TABLE objects (id BIGSERIAL NOT NULL, kind VARCHAR NOT NULL,
        namespace VARCHAR NOT NULL, name VARCHAR NOT NULL, uid VARCHAR NOT NULL,
        phase VARCHAR NOT NULL, labels JSONB NOT NULL,
        created_at TIMESTAMP WITH TIME ZONE NOT NULL, resource_version BIGINT NOT NULL,
        body TEXT NOT NULL, PRIMARY KEY (id),
        CONSTRAINT uq_objects_kind_namespace_name UNIQUE (kind, namespace, name))""",
        "CREATE INDEX ix_objects_kind_phase ON objects (kind, phase)",
        "CREATE TABLE schema_version (version INTEGER NOT NULL)",
    ],
}
LEGACY_BODY = json.dumps(
    {
        "kind": "Workflow",
        "metadata": {"name": "old", "namespace": "default", "labels": {"team": "a"}},
        "spec": {"entrypoint": "main"},
        "status": {"phase": "Succeeded"},
    }
)
LEGACY_ROW = f"""INSERT INTO objects
    (kind, namespace, name, uid, phase, labels, created_at, resource_version, body)
    VALUES ('Workflow', 'default', 'old', 'u-old', 'Succeeded', '{{"team": "a"}}',
            '2024-01-02 03:04:05', 3, '{LEGACY_BODY}')"""


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'trainyard.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def engine(url: str) -> Iterator[Engine]:
    """A plain engine on the database under test, beside the stores."""
    made = create_engine(url)
    yield made
    made.dispose()


def open_store(url: str) -> SqlStore:
    """A store that has run its migrations."""
    store = SqlStore(url)
    store.list("Workflow")
    return store


def execute(engine: Engine, *statements: str) -> None:
    with engine.begin() as conn:
        for statement in statements:
            conn.exec_driver_sql(statement)


def scalar(engine: Engine, query: str) -> Any:
    with engine.connect() as conn:
        return conn.exec_driver_sql(query).scalar()


def test_head_names_the_newest_revision() -> None:
    with create_engine("sqlite://").connect() as conn:
        script = ScriptDirectory.from_config(migrate.alembic_config(conn))
        assert script.get_heads() == [migrate.HEAD]
        assert script.get_base() == migrate.FIRST


def test_every_folder_of_migrations_is_a_package_so_the_wheel_ships_it() -> None:
    for folder in (MIGRATIONS, MIGRATIONS / "versions"):
        assert (folder / "__init__.py").is_file(), folder
    assert len(list((MIGRATIONS / "versions").glob("0*.py"))) >= 2


def test_a_fresh_database_gets_the_tables_schema_py_describes(url: str, engine: Engine) -> None:
    open_store(url).close()
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
        assert migrate.current_revision(conn) == migrate.HEAD
    # trainyard from before alembic reads this and refuses: "upgrade trainyard".
    assert scalar(engine, "SELECT version FROM schema_version") == 2


def test_a_database_made_before_alembic_is_adopted_with_its_objects(
    url: str, engine: Engine
) -> None:
    execute(engine, *LEGACY_DDL[engine.dialect.name], LEGACY_ROW)
    execute(engine, "INSERT INTO schema_version (version) VALUES (1)")
    store = open_store(url)
    try:
        old = store.get("Workflow", "default", "old")
        assert old["metadata"]["resourceVersion"] == "3"
        assert old["metadata"]["creationTimestamp"] == "2024-01-02T03:04:05Z"
        old["status"] = {"phase": "Failed"}
        assert store.update("Workflow", old)["metadata"]["resourceVersion"] == "4"
        assert [o["metadata"]["name"] for o in store.list("Workflow", labels={"team": "a"})] == [
            "old"
        ]
        store.create("Workflow", {"metadata": {"name": "new", "namespace": "default"}})
    finally:
        store.close()
    with engine.connect() as conn:
        assert migrate.current_revision(conn) == migrate.HEAD
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    assert scalar(engine, "SELECT version FROM schema_version") == 2


def test_an_unknown_pre_alembic_version_is_refused(url: str, engine: Engine) -> None:
    execute(engine, *LEGACY_DDL[engine.dialect.name])
    execute(engine, "INSERT INTO schema_version (version) VALUES (99)")
    store = SqlStore(url)
    with pytest.raises(ConfigError, match="schema version 99 and no alembic revision"):
        store.list("Workflow")
    store.close()


def test_a_newer_revision_is_refused(url: str, engine: Engine) -> None:
    open_store(url).close()
    execute(engine, "UPDATE alembic_version SET version_num = '0099'")
    store = SqlStore(url)
    with pytest.raises(ConfigError, match="revision 0099, which this trainyard does not know"):
        store.list("Workflow")
    store.close()


def test_tables_trainyard_did_not_make_are_left_alone(url: str, engine: Engine) -> None:
    execute(engine, "CREATE TABLE objects (id INTEGER PRIMARY KEY, what TEXT)")
    store = SqlStore(url)
    with pytest.raises(ConfigError, match="an `objects` table that trainyard did not make"):
        store.list("Workflow")
    store.close()
    assert scalar(engine, "SELECT count(*) FROM objects") == 0


def test_up_to_date_reads_the_version_and_loads_no_script(
    url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    open_store(url).close()

    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("no migration should run")

    monkeypatch.setattr(ScriptDirectory, "from_config", refuse)
    monkeypatch.setattr(command, "upgrade", refuse)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    with engine.connect() as conn:
        migrate.upgrade(conn, "test")
    # Whether alembic_version exists, then what it holds (PostgreSQL adds its connect queries).
    assert [s for s in statements if "alembic_version" in s or "sqlite_master" in s]
    assert not [s for s in statements if s.lstrip().upper().startswith(("CREATE", "ALTER"))]
    assert len(statements) <= 6, statements


def test_downgrade_to_nothing_and_up_again(url: str, engine: Engine) -> None:
    open_store(url).close()
    with engine.begin() as conn:
        command.downgrade(migrate.alembic_config(conn), "base")
    with engine.connect() as conn:
        assert migrate.current_revision(conn) is None
        assert conn.exec_driver_sql("SELECT count(*) FROM alembic_version").scalar() == 0
    store = open_store(url)
    store.create("Workflow", {"metadata": {"name": "a", "namespace": "default"}})
    store.close()


def test_migrations_refuse_to_run_from_the_alembic_command() -> None:
    with create_engine("sqlite://").connect() as conn:
        config = migrate.alembic_config(conn)
    config.attributes.pop("connection")
    with pytest.raises(RuntimeError, match="they are not meant for the alembic command"):
        command.upgrade(config, "head")


STARTER = textwrap.dedent(
    """
    import sys, time
    from trainyard.store.sql import SqlStore
    url, start, name = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    store = SqlStore(url)
    time.sleep(max(0.0, start - time.time()))
    store.create("ConfigMap", {"metadata": {"name": name, "namespace": "default"}})
    store.close()
    """
)


def test_many_processes_starting_at_once_migrate_once(url: str, engine: Engine) -> None:
    start = time.time() + 2.0  # every process has imported trainyard by then
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", STARTER, url, str(start), f"p{i}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(6)
    ]
    results = [(p.wait(timeout=60), p.stderr.read() if p.stderr else "") for p in processes]
    for process in processes:
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
    assert results == [(0, "")] * 6
    assert scalar(engine, "SELECT count(*) FROM objects WHERE kind = 'ConfigMap'") == 6
    assert scalar(engine, "SELECT count(*) FROM alembic_version") == 1
    with engine.connect() as conn:
        assert migrate.current_revision(conn) == migrate.HEAD


def test_a_failed_migration_leaves_the_database_as_it_was(
    url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail_after_the_first(config: Any, revision: str) -> None:
        command.stamp(config, migrate.FIRST)  # part of the work is done, then it breaks
        raise RuntimeError("disk on fire")

    upgrade = command.upgrade
    monkeypatch.setattr(command, "upgrade", fail_after_the_first)
    store = SqlStore(url)
    with pytest.raises(RuntimeError, match="disk on fire"):
        store.list("Workflow")
    store.close()
    with engine.connect() as conn:
        assert migrate.current_revision(conn) is None
    monkeypatch.setattr(command, "upgrade", upgrade)
    open_store(url).close()


def test_the_sqlite_lock_waits_for_another_writer(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    holder = create_engine(f"sqlite:///{path}", isolation_level="AUTOCOMMIT")
    with holder.connect() as conn:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
        store = SqlStore(f"sqlite:///{path}", busy_timeout=0.2)
        with pytest.raises(EnvironmentError_, match="locked"):
            store.list("Workflow")
        store.close()
        conn.exec_driver_sql("ROLLBACK")
    holder.dispose()
    open_store(f"sqlite:///{path}").close()
