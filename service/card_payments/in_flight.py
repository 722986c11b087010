"""In-flight cash: a paid card payment counts as a provisional payment until the ERP posts it.

``apply`` merges one event's facts into the payment's ``CardPayment`` row (so events are
applied in any order: a refund seen before the payment is remembered and taken off when the
payment arrives) and then derives the provisional ``Payment`` from everything known:

* paid, with a customer: a provisional payment of the amount received less refunds, source
  ``stripe``, reference and external id the PaymentIntent id, allocated to the receivables it
  paid (in the order chosen, each up to its open amount; the rest is unapplied cash);
* fully refunded or a lost dispute: the provisional payment is ``reversed`` (counts no more);
* already posted by the ERP (``service.payment_matching``; on either side, whichever comes
  second finds the first): superseded, so the money is counted once. From then on the ERP's
  books decide; a later refund is the ERP's to post.

The customer is re-assessed in the same transaction and its Account queued for Salesforce, so
the status changes in the org as soon as the pusher runs.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from service import outbox, payment_matching
from service.assessments import reassess
from service.card_payments.events import CardFacts
from service.credit import Policy
from service.models import (
    PROVISIONAL,
    REVERSED,
    SUPERSEDED,
    Allocation,
    CardPayment,
    Customer,
    Payment,
    Receivable,
)

SOURCE = "stripe"
_ZERO = Decimal(0)


def _row(session: Session, facts: CardFacts) -> CardPayment | None:
    if facts.payment_intent:
        row = session.scalars(
            select(CardPayment).where(CardPayment.payment_intent == facts.payment_intent)
        ).first()
        if row is not None:
            return row
    if facts.charge:
        row = session.scalars(
            select(CardPayment).where(CardPayment.charge_id == facts.charge)
        ).first()
        if row is not None:
            return row
    key = facts.payment_intent or facts.charge
    if key is None:
        return None
    row = CardPayment(payment_intent=key, paid=False, refunded=_ZERO, dispute_lost=False)
    session.add(row)
    return row


def _merge(session: Session, row: CardPayment, facts: CardFacts) -> None:
    if facts.charge and not row.charge_id:
        row.charge_id = facts.charge
    if facts.checkout_session and not row.checkout_session:
        row.checkout_session = facts.checkout_session
    if facts.customer_number and row.customer_id is None:
        row.customer_number = facts.customer_number
        row.customer_id = session.scalars(
            select(Customer.id).where(Customer.number == facts.customer_number)
        ).first()
    if facts.receivables and not row.receivables:
        row.receivables = list(facts.receivables)
    if facts.pay_link and not row.pay_link:
        row.pay_link = facts.pay_link
    if facts.currency and not row.currency:
        row.currency = facts.currency
    if facts.amount is not None and facts.amount > 0 and (facts.paid or row.amount is None):
        row.amount = facts.amount
    if facts.paid and not row.paid:
        row.paid = True
        row.paid_at = facts.at or datetime.now(UTC)
    # Refunds are cumulative on the charge: the largest seen is the latest, whatever the order.
    if facts.refunded is not None and facts.refunded > (row.refunded or _ZERO):
        row.refunded = facts.refunded
    row.dispute_lost = row.dispute_lost or facts.dispute_lost


def in_flight_amount(row: CardPayment) -> Decimal:
    """What of this payment still counts: received, less refunds, nothing after a lost dispute."""
    if not row.paid or row.amount is None or row.dispute_lost:
        return _ZERO
    return max(_ZERO, row.amount - (row.refunded or _ZERO))


def _allocate(session: Session, row: CardPayment, payment: Payment, amount: Decimal) -> set[int]:
    payment.allocations.clear()
    session.flush()
    left = amount
    touched: set[int] = set()
    if not row.receivables:
        return touched
    items = {
        r.external_id: r
        for r in session.scalars(
            select(Receivable).where(
                Receivable.customer_id == row.customer_id,
                Receivable.external_id.in_(row.receivables),
            )
        )
    }
    for external_id in row.receivables:
        item = items.get(external_id)
        if item is None or left <= 0 or item.open_amount <= 0 or item.currency != row.currency:
            continue
        take = min(left, item.open_amount)
        payment.allocations.append(Allocation(receivable_id=item.id, amount=take))
        touched.add(item.id)
        left -= take
    return touched


def apply(session: Session, facts: CardFacts, as_of: date, policy: Policy) -> str:
    """Apply one event's facts; returns the outcome recorded in the inbox."""
    row = _row(session, facts)
    if row is None:
        return "ignored"
    _merge(session, row, facts)
    session.flush()
    if row.customer_id is None or row.currency is None:
        # Not ours (no metadata), its paying event has not come yet, or it names a customer the
        # ERP has not sent yet (kept with its number: ``adopt_waiting``).
        return "recorded"
    return _settle(session, row, as_of, policy)


def adopt_waiting(
    session: Session, as_of: date, policy: Policy, customer_ids: Iterable[int] | None = None
) -> int:
    """Apply the card payments that name a customer who has arrived since; returns how many.

    A payment created outside this service can name (in its metadata) a customer number the ERP
    has not sent yet. Its events are recorded and the payment waits with that number; once the
    customer exists it counts like any other. ``customer_ids`` limits the look to those
    customers (the assessor's fresh batch); ``None`` looks at every waiting payment (the daily
    roll).
    """
    query = (
        select(CardPayment, Customer.id)
        .join(Customer, Customer.number == CardPayment.customer_number)
        .where(CardPayment.customer_id.is_(None), CardPayment.customer_number.is_not(None))
        .order_by(CardPayment.id)
    )
    if customer_ids is not None:
        ids = sorted(set(customer_ids))
        if not ids:
            return 0
        query = query.where(Customer.id.in_(ids))
    adopted = 0
    for row, customer_id in session.execute(query).all():
        row.customer_id = customer_id
        session.flush()
        if row.currency is not None:
            _settle(session, row, as_of, policy)
        adopted += 1
    return adopted


def _settle(session: Session, row: CardPayment, as_of: date, policy: Policy) -> str:
    """Derive the payment's provisional ``Payment`` from everything known of it."""
    payment_matching.lock_customers(session, [row.customer_id])
    # Another transaction on this payment (a second event, the adoption) may have committed
    # while this one waited for the lock: read what it wrote rather than derive a second one.
    session.refresh(row)
    payment = session.get(Payment, row.payment_id) if row.payment_id else None
    amount = in_flight_amount(row)
    if payment is not None and payment.status == SUPERSEDED:
        return "posted"  # the ERP has it: its books decide from now on
    if payment is None and amount <= 0:
        return "recorded"
    if payment is None:
        payment = Payment(
            source=SOURCE,
            external_id=row.payment_intent,
            customer_id=row.customer_id,
            amount=amount,
            currency=row.currency,
            received_at=row.paid_at or datetime.now(UTC),
            status=PROVISIONAL,
            reference=row.payment_intent,
        )
        facts_now = payment_matching.PaymentFacts(
            0, row.customer_id, amount, row.currency, payment.received_at, row.payment_intent
        )
        confirmed = payment_matching.confirmation_of(session, facts_now)
        if confirmed is not None:
            payment.status, payment.superseded_by_id = SUPERSEDED, confirmed
        session.add(payment)
        session.flush()
        row.payment_id = payment.id
    elif amount > 0:
        payment.amount, payment.status = amount, PROVISIONAL
    else:
        payment.status = REVERSED
    receivables = _allocate(session, row, payment, amount) if payment.status != REVERSED else set()
    if payment.status == REVERSED:
        payment.allocations.clear()
    session.flush()
    reassess(session, [row.customer_id], as_of, policy)
    outbox.queue_for_salesforce(session, [row.customer_id], receivables)
    return {PROVISIONAL: "in flight", REVERSED: "reversed", SUPERSEDED: "posted"}[payment.status]
