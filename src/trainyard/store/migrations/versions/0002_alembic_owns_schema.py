"""Revision 0002: schema_version 2, so that trainyard from before alembic refuses the database.

That code knows version 1 only and answers "upgrade trainyard" for anything newer, rather than
writing to tables whose later revisions it does not know. Users and API tokens need no table of
their own: they are objects of kinds User and Token, a token's name being its SHA-256, so the
unique (kind, namespace, name) index finds it.
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Mark the database as alembic's."""
    op.execute("UPDATE schema_version SET version = 2")


def downgrade() -> None:
    """Hand it back to the pre-alembic code."""
    op.execute("UPDATE schema_version SET version = 1")
