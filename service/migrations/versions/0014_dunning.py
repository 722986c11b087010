"""Dunning: the reminder queue, and the customers' billing e-mail and dunning state.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import service.db

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("billing_email", sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column("dunning_paused_until", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("dunning_level_sent", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("next_reminder_date", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("dunning_seen_action_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("dunning_seen_pause", sa.Date(), nullable=True))
    op.create_table(
        "dunning_messages",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("template", sa.String(length=40), nullable=False),
        sa.Column("run_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("message_id", sa.String(length=255), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("body_text", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("attach_statement", sa.Boolean(), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("total", service.db.Money(precision=18, scale=4), nullable=False),
        sa.Column("pay_link", sa.String(length=1000), nullable=True),
        sa.Column("requested", sa.Boolean(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("available_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("claim_token", sa.String(length=32), nullable=True),
        sa.Column("claimed_until", service.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", service.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("customer_id", "currency", "level", "run_date"),
        sa.UniqueConstraint("message_id"),
    )
    op.create_index("ix_dunning_messages_due", "dunning_messages", ["status", "available_at"])
    op.create_index(
        "ix_dunning_messages_customer", "dunning_messages", ["customer_id", "currency", "run_date"]
    )


def downgrade() -> None:
    op.drop_index("ix_dunning_messages_customer", table_name="dunning_messages")
    op.drop_index("ix_dunning_messages_due", table_name="dunning_messages")
    op.drop_table("dunning_messages")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        for column in (
            "dunning_seen_pause",
            "dunning_seen_action_id",
            "next_reminder_date",
            "dunning_level_sent",
            "dunning_paused_until",
            "billing_email",
        ):
            batch_op.drop_column(column)
