"""Outbox: one index over (target, status, available_at) instead of target alone.

Every enqueue asks which of its targets already have a due pending row, and every claim asks
which are in flight. With the target alone indexed, SQLite preferred ``ix_outbox_pending``
(status and time: two usable terms) and walked every pending row: 0.26 s a lookup with a million
Receivable__c rows queued by a large import. The wider index serves all three terms.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_target"))
        batch_op.create_index(
            "ix_outbox_target_state", ["target", "status", "available_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_target_state")
        batch_op.create_index(batch_op.f("ix_outbox_target"), ["target"], unique=False)
