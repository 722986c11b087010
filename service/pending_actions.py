"""Collection actions logged on an Account before any customer was linked to it.

People log promises and disputes on Accounts whether or not the ERP number is set yet. Such an
action is kept with no customer and its Account's id (``CollectionAction.salesforce_account_id``)
and attached here when the link appears, wherever it appears: the Account change that sets
``ERP_Customer_Number__c``, an ERP feed naming the customer's ``salesforce_account_id``, or the
pusher finding the Account by the customer's number. The caller re-assesses the customer.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import update
from sqlalchemy.orm import Session

from service.models import CollectionAction


def attach_pending_actions(session: Session, links: Mapping[int, str]) -> set[int]:
    """Give each customer (id -> its Account's 18-character id) its Account's waiting actions.

    Returns the customers that received any: their assessment must be redone.
    """
    attached: set[int] = set()
    session.flush()  # actions of the same batch not written yet are attached too
    for customer_id, account_id in sorted(links.items()):
        if not account_id:
            continue
        result = session.execute(
            update(CollectionAction)
            .where(
                CollectionAction.customer_id.is_(None),
                CollectionAction.salesforce_account_id == account_id,
            )
            .values(customer_id=customer_id)
        )
        if result.rowcount:
            attached.add(customer_id)
    return attached
