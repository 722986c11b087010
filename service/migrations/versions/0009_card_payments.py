"""Card payments: what Stripe told about each PaymentIntent (in-flight cash).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import service.db

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "card_payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("payment_intent", sa.String(length=255), nullable=False),
        sa.Column("charge_id", sa.String(length=255), nullable=True),
        sa.Column("checkout_session", sa.String(length=255), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("receivables", sa.JSON(), nullable=True),
        sa.Column("pay_link", sa.String(length=80), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("amount", service.db.Money(precision=18, scale=4), nullable=True),
        sa.Column("paid", sa.Boolean(), nullable=False),
        sa.Column("refunded", service.db.Money(precision=18, scale=4), nullable=False),
        sa.Column("dispute_lost", sa.Boolean(), nullable=False),
        sa.Column("paid_at", service.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("payment_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"]),
        sa.ForeignKeyConstraint(["payment_id"], ["payments.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("payment_intent"),
    )
    op.create_index("ix_card_payments_charge_id", "card_payments", ["charge_id"])
    op.create_index("ix_card_payments_customer_id", "card_payments", ["customer_id"])


def downgrade() -> None:
    op.drop_index("ix_card_payments_customer_id", table_name="card_payments")
    op.drop_index("ix_card_payments_charge_id", table_name="card_payments")
    op.drop_table("card_payments")
