"""worker_heartbeats: each worker's latest heartbeat and what it sees, for /readyz and /metrics.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import service.db

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "worker_heartbeats",
        sa.Column("holder", sa.String(length=255), nullable=False),
        sa.Column("started_at", service.db.UTCDateTime(), nullable=False),
        sa.Column("heartbeat_at", service.db.UTCDateTime(), nullable=False),
        sa.Column("stopped_at", service.db.UTCDateTime(), nullable=True),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("holder", name=op.f("pk_worker_heartbeats")),
    )
    op.create_index(
        op.f("ix_worker_heartbeats_heartbeat_at"),
        "worker_heartbeats",
        ["heartbeat_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_worker_heartbeats_heartbeat_at"), table_name="worker_heartbeats")
    op.drop_table("worker_heartbeats")
