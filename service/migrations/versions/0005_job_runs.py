"""job_runs: one row per run of a scheduled job, so the daily roll runs once per cluster.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import service.db

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "job_runs",
        sa.Column("job", sa.String(length=80), nullable=False),
        sa.Column("run_key", sa.String(length=80), nullable=False),
        sa.Column("holder", sa.String(length=255), nullable=False),
        sa.Column("started_at", service.db.UTCDateTime(), nullable=False),
        sa.Column("heartbeat_at", service.db.UTCDateTime(), nullable=False),
        sa.Column("finished_at", service.db.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("job", "run_key", name=op.f("pk_job_runs")),
    )


def downgrade() -> None:
    op.drop_table("job_runs")
