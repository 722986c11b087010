"""Erasures: the customers erased on request, by number (``credit-control customer erase``).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import service.db

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "erasures",
        sa.Column("number", sa.String(length=80), nullable=False),
        sa.Column("erased_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("salesforce_account_id", sa.String(length=18), nullable=True),
        sa.Column("item_ids", sa.JSON(), nullable=True),
        sa.Column("org_done_at", service.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_erasures")),
    )


def downgrade() -> None:
    op.drop_table("erasures")
