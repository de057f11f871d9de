"""The SQL store's tables as its queries see them; migrations/versions/ make them so."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()

objects = Table(
    "objects",
    metadata,
    # SQLite only auto-numbers a column declared exactly INTEGER PRIMARY KEY.
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("kind", String, nullable=False),
    Column("namespace", String, nullable=False),
    Column("name", String, nullable=False),
    Column("uid", String, nullable=False),
    Column("phase", String, nullable=False),
    Column("labels", JSON().with_variant(JSONB(), "postgresql"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("resource_version", BigInteger, nullable=False),
    # Text, not JSON: the body is serialized once, by the store, and never queried inside.
    Column("body", Text, nullable=False),
    UniqueConstraint("kind", "namespace", "name", name="uq_objects_kind_namespace_name"),
    Index("ix_objects_kind_phase", "kind", "phase"),
    Index("ix_objects_kind_namespace_created", "kind", "namespace", "created_at", "id"),
)

# Kept for trainyard from before alembic: it refuses a database whose version is not its 1.
schema_version = Table(
    "schema_version",
    metadata,
    Column("version", Integer, nullable=False),
)
