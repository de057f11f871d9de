"""Revision 0003: an index for paged listings, newest first, of one kind in one namespace.

`list_page` orders by (created_at, id) within (kind, namespace) and stops after a page: with
this index it reads one page of rows instead of sorting every object of the kind.
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add the index."""
    op.create_index(
        "ix_objects_kind_namespace_created", "objects", ["kind", "namespace", "created_at", "id"]
    )


def downgrade() -> None:
    """Drop it."""
    op.drop_index("ix_objects_kind_namespace_created", table_name="objects")
