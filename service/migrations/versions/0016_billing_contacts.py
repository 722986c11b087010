"""Billing contacts: the Salesforce Contacts ticked as billing contacts, per Account.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import service.db

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "billing_contacts",
        sa.Column("contact_id", sa.String(length=18), nullable=False),
        sa.Column("account_id", sa.String(length=18), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("updated_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("contact_id"),
    )
    op.create_index("ix_billing_contacts_account_id", "billing_contacts", ["account_id"])


def downgrade() -> None:
    op.drop_index("ix_billing_contacts_account_id", table_name="billing_contacts")
    op.drop_table("billing_contacts")
