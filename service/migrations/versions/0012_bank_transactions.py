"""Bank statements: every booking read from a statement file, stored once.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import service.db

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bank_transactions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=64), nullable=False),
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", service.db.Money(precision=18, scale=4), nullable=False),
        sa.Column("direction", sa.String(length=6), nullable=False),
        sa.Column("booking_date", sa.Date(), nullable=False),
        sa.Column("value_date", sa.Date(), nullable=True),
        sa.Column("bank_reference", sa.String(length=255), nullable=True),
        sa.Column("end_to_end_id", sa.String(length=255), nullable=True),
        sa.Column("payer_name", sa.String(length=255), nullable=True),
        sa.Column("payer_iban", sa.String(length=64), nullable=True),
        sa.Column("remittance", sa.Text(), nullable=False),
        sa.Column("references", sa.JSON(), nullable=False),
        sa.Column("reversal", sa.Boolean(), nullable=False),
        sa.Column("reverses_id", sa.Integer(), nullable=True),
        sa.Column("source_format", sa.String(length=40), nullable=False),
        sa.Column("position", sa.String(length=255), nullable=False),
        sa.Column("imported_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["reverses_id"],
            ["bank_transactions.id"],
            name=op.f("fk_bank_transactions_reverses_id_bank_transactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_transactions")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_bank_transactions_dedupe_key")),
    )
    op.create_index(
        "ix_bank_transactions_account_amount",
        "bank_transactions",
        ["account", "amount", "direction"],
    )
    op.create_index(op.f("ix_bank_transactions_reverses_id"), "bank_transactions", ["reverses_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_bank_transactions_reverses_id"), table_name="bank_transactions")
    op.drop_index("ix_bank_transactions_account_amount", table_name="bank_transactions")
    op.drop_table("bank_transactions")
