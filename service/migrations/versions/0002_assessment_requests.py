"""Assessment requests: the durable queue of customers waiting to be re-assessed.

Feeds and the import append a row per touched customer in the transaction that stores the rows;
the worker (and the import command, and ``GET .../credit``) re-assess and delete them. See
``service.assessment_queue``.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import service.db

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "assessment_requests",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("requested_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_assessment_requests_customer_id_customers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessment_requests")),
    )
    with op.batch_alter_table("assessment_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_assessment_requests_customer_id"), ["customer_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("assessment_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assessment_requests_customer_id"))
    op.drop_table("assessment_requests")
