"""Compound layout version: counts the imports that changed a compound's layout.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 11:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("compound") as batch_op:
        batch_op.add_column(
            sa.Column("layout_version", sa.Integer(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("compound") as batch_op:
        batch_op.drop_column("layout_version")
