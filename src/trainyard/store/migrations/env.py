"""Alembic's environment for the SQL store: runs versions/ on the connection trainyard hands it."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

_connection = context.config.attributes.get("connection")
if not isinstance(_connection, Connection):
    raise RuntimeError(
        "trainyard's migrations run when a store opens (trainyard.store.migrate.upgrade), "
        "on its connection; they are not meant for the alembic command"
    )
# The caller's transaction (and lock) holds every revision, so alembic starts none of its own.
context.configure(connection=_connection)
with context.begin_transaction():
    context.run_migrations()
