"""Revision 0001: the `objects` and `schema_version` tables, as trainyard made them before alembic.

Databases made by that code (which have `schema_version` = 1 and no `alembic_version`) are
stamped at this revision instead of running it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create the objects table, its index, and schema_version (1)."""
    op.create_table(
        "objects",
        # SQLite only auto-numbers a column declared exactly INTEGER PRIMARY KEY.
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("namespace", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("uid", sa.String(), nullable=False),
        sa.Column("phase", sa.String(), nullable=False),
        sa.Column("labels", sa.JSON().with_variant(JSONB(), "postgresql"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resource_version", sa.BigInteger(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.UniqueConstraint("kind", "namespace", "name", name="uq_objects_kind_namespace_name"),
    )
    op.create_index("ix_objects_kind_phase", "objects", ["kind", "phase"])
    version = op.create_table("schema_version", sa.Column("version", sa.Integer(), nullable=False))
    op.bulk_insert(version, [{"version": 1}])


def downgrade() -> None:
    """Drop both tables."""
    op.drop_table("schema_version")
    op.drop_index("ix_objects_kind_phase", table_name="objects")
    op.drop_table("objects")
