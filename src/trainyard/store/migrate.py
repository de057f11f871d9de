"""Bring a SQL store's tables to this trainyard's revision with alembic, safely when many start.

Up to date, this costs two small reads (is there an alembic_version table, what does it say)
and loads no migration script: well under a millisecond on SQLite and PostgreSQL alike. Else
it takes a lock that every trainyard process takes first (SQLite: `BEGIN IMMEDIATE`, waiting up
to the busy timeout; PostgreSQL: a transaction-level advisory lock), looks again, and runs the
missing revisions inside that one transaction: a crash midway leaves the database as it was.
alembic itself (a third of a second to import) loads only then, so every command starts faster.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, inspect, select, text

from trainyard.core.errors import ConfigError
from trainyard.store.schema import schema_version

if TYPE_CHECKING:
    from alembic.config import Config

HEAD = "0003"
"""The newest revision in migrations/versions/ (a test checks that they agree)."""
FIRST = "0001"
"""The revision that makes the tables trainyard made before alembic."""
LOCK_KEY = 0x7472_6169_6E79
"""The PostgreSQL advisory lock migrations hold: any number, the same in every process."""
_LEGACY_VERSION = 1
_SCRIPTS = Path(__file__).with_name("migrations")


def alembic_config(conn: Connection) -> Config:
    """An alembic Config over the packaged migrations, running them on `conn` (no ini file)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    config.attributes["connection"] = conn
    return config


def current_revision(conn: Connection) -> str | None:
    """The revision the database is at; None when alembic never ran on it."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return str(revision) if revision is not None else None


def upgrade(conn: Connection, where: str) -> None:
    """Migrate the database behind `conn` (an autocommit connection) to HEAD.

    `where` names the database in errors. ConfigError when the database is newer than this
    trainyard, or holds tables that trainyard did not make.
    """
    if current_revision(conn) == HEAD:
        return
    # End the read above: the locking transaction below must be the connection's first.
    conn.rollback()
    with _locked(conn):
        _upgrade_locked(conn, where)


@contextmanager
def _locked(conn: Connection) -> Iterator[None]:
    """One transaction that holds the migration lock until it commits."""
    if conn.dialect.name == "postgresql":
        conn.execution_options(isolation_level="READ COMMITTED")
        with conn.begin():
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
            yield
        return
    # SQLite: the driver runs in autocommit mode, so the transaction is spelled out. IMMEDIATE
    # takes the write lock now, so a second process waits here rather than failing later.
    conn.exec_driver_sql("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.rollback()
        raise
    conn.exec_driver_sql("COMMIT")
    conn.commit()


def _upgrade_locked(conn: Connection, where: str) -> None:
    from alembic import command
    from alembic.script import ScriptDirectory

    current = current_revision(conn)
    if current == HEAD:
        return  # another process did it while this one waited for the lock
    config = alembic_config(conn)
    if current is None:
        _adopt_legacy(conn, config, where)
    elif current not in {s.revision for s in ScriptDirectory.from_config(config).walk_revisions()}:
        raise ConfigError(
            f"the database {where} is at schema revision {current}, which this trainyard does "
            "not know: upgrade trainyard"
        )
    command.upgrade(config, "head")


def _adopt_legacy(conn: Connection, config: Config, where: str) -> None:
    """Stamp a database made before alembic at FIRST; refuse one trainyard did not make."""
    from alembic import command

    tables = set(inspect(conn).get_table_names())
    if "schema_version" in tables:
        version = conn.execute(select(schema_version.c.version)).scalar()
        if version != _LEGACY_VERSION:
            raise ConfigError(
                f"the database {where} has schema version {version} and no alembic revision; "
                f"this trainyard can only adopt version {_LEGACY_VERSION}"
            )
        command.stamp(config, FIRST)
    elif "objects" in tables:
        raise ConfigError(
            f"the database {where} has an `objects` table that trainyard did not make: "
            "give trainyard a database (or PostgreSQL schema) of its own"
        )
