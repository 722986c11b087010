"""Collection actions may wait for their customer; Account ids are stored in 18-character form.

- ``collection_actions.customer_id`` becomes nullable and ``salesforce_account_id`` is added: an
  action logged on an Account no customer is linked to yet is kept and attached when the link
  appears (it was rejected, and lost).
- ``customers.salesforce_account_id`` is rewritten in its 18-character form, so Account ids are
  compared by equality (``service.salesforce_ids``); 15-character ids were matched by prefix.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from service.salesforce_ids import to18

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("collection_actions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("salesforce_account_id", sa.String(length=18), nullable=True))
        batch_op.alter_column("customer_id", existing_type=sa.Integer(), nullable=True)
        batch_op.create_index(
            batch_op.f("ix_collection_actions_salesforce_account_id"),
            ["salesforce_account_id"],
            unique=False,
        )
    customers = sa.table(
        "customers", sa.column("id", sa.Integer), sa.column("salesforce_account_id", sa.String)
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(customers.c.id, customers.c.salesforce_account_id).where(
            customers.c.salesforce_account_id.is_not(None)
        )
    ).all()
    changes = []
    for cid, account_id in rows:
        try:
            full = to18(account_id[:15])
        except ValueError:
            continue  # never valid; left for a person to see
        if full != account_id:
            changes.append({"b_id": cid, "account": full})
    if changes:
        bind.execute(
            customers.update()
            .where(customers.c.id == sa.bindparam("b_id"))
            .values(salesforce_account_id=sa.bindparam("account")),
            changes,
        )


def downgrade() -> None:
    op.execute("DELETE FROM collection_actions WHERE customer_id IS NULL")
    with op.batch_alter_table("collection_actions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_collection_actions_salesforce_account_id"))
        batch_op.alter_column("customer_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("salesforce_account_id")
