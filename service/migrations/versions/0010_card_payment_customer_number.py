"""Card payments keep the customer number they name, to be applied once that customer exists.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("card_payments") as batch:
        batch.add_column(sa.Column("customer_number", sa.String(length=80), nullable=True))
        batch.create_index("ix_card_payments_customer_number", ["customer_number"])


def downgrade() -> None:
    with op.batch_alter_table("card_payments") as batch:
        batch.drop_index("ix_card_payments_customer_number")
        batch.drop_column("customer_number")
