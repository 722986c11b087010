"""A dispute or a promise made on the pay page, recorded exactly as a collector's action.

The action is stored as a ``CollectionAction`` (origin ``Customer Portal``), the customer is
re-assessed in the same transaction (``reassess``, the one way), its Account and the disputed
Receivable__c are queued for Salesforce, and the action itself is queued as a
``Collection_Action__c`` to create (upserted by ``Service_Action_Id__c``, so a retried push
never logs it twice). The worker's pusher sends all three within seconds.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from service import outbox
from service.assessments import reassess
from service.credit import Policy
from service.models import CollectionAction

PORTAL = "Customer Portal"
DISPUTE_REASONS = (
    "Pricing",
    "Quantity",
    "Quality",
    "Not Delivered",
    "Duplicate Invoice",
    "Already Paid",
    "Tax",
    "Other",
)


def _record(session: Session, action: CollectionAction, as_of: date, policy: Policy) -> None:
    session.add(action)
    session.flush()
    reassess(session, [action.customer_id], as_of, policy)
    receivables = [action.receivable_id] if action.receivable_id else []
    outbox.queue_for_salesforce(session, [action.customer_id], receivables)
    outbox.enqueue(session, outbox.COLLECTION_ACTION, outbox.collection_action_target(action.id))


def record_dispute(
    session: Session,
    customer_id: int,
    receivable_id: int,
    reason: str,
    amount: Decimal,
    as_of: date,
    policy: Policy,
) -> CollectionAction:
    action = CollectionAction(
        customer_id=customer_id,
        type="Dispute",
        receivable_id=receivable_id,
        disputed_amount=amount,
        dispute_reason=reason,
        dispute_status="Open",
        origin=PORTAL,
    )
    _record(session, action, as_of, policy)
    return action


def record_promise(
    session: Session,
    customer_id: int,
    amount: Decimal,
    on: date,
    as_of: date,
    policy: Policy,
) -> CollectionAction:
    action = CollectionAction(
        customer_id=customer_id,
        type="Promise to Pay",
        promised_amount=amount,
        promised_date=on,
        origin=PORTAL,
    )
    _record(session, action, as_of, policy)
    return action
