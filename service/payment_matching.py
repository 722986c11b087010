"""One payment counted once: a provisional payment is superseded by the ERP's posting of it.

A provisional payment (today a ``Payment_Received__e`` from Salesforce; later Stripe and bank
files) counts until the ERP posts the same money; from then on only the ERP's payment counts.
The two arrive in either order, so the rule below is applied from both sides: by the handler of
the provisional payment (has the ERP posted it already?) and by the ERP feed (does a payment it
posts confirm a provisional one?). One rule, ``same_payment``, for both.

A provisional payment P and a confirmed payment C are the same payment when

1. they are of the same customer, in the same currency, for the same amount; and
2. if both carry a reference, the references are equal (ignoring case and surrounding spaces)
   or one is a Stripe PaymentIntent id (``pi_...``) that the other names as a word (an ERP's
   remittance text such as "Stripe pi_3Rk2..."), however far apart their dates; if either has
   none, they were received within ``MATCH_WINDOW`` of each other.

Each confirmed payment supersedes at most one provisional payment and each provisional payment
is superseded at most once, so two equal instalments are never folded into one. The same
payment announced twice by one source (same customer, currency, amount and reference) is kept
once (``announced_before``); without a reference two announcements are two payments. Among several
candidates the one with an equal reference wins, then the one received nearest in time, then
the oldest (lowest id).

Both sides lock the customer row first (``lock_customers``; SQLite has one writer at a time), so a provisional payment and its posting arriving in two transactions at once still find
each other: whichever commits second sees the first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from service.bulk import key_chunks, key_in
from service.db import is_postgres
from service.models import CONFIRMED, PROVISIONAL, SUPERSEDED, Customer, Payment

MATCH_WINDOW = timedelta(days=10)
STRIPE_INTENT_PREFIX = "pi_"
_WORDS = re.compile(r"[a-z0-9_]+")


@dataclass(frozen=True)
class PaymentFacts:
    """What the rule reads of a payment."""

    id: int
    customer_id: int
    amount: Decimal
    currency: str
    received_at: datetime
    reference: str | None


def _reference(value: str | None) -> str | None:
    text = (value or "").strip().casefold()
    return text or None


def references_match(mine: str | None, theirs: str | None) -> bool:
    """Equal references, or a PaymentIntent id named as a word in the other (both normalised)."""
    if mine is None or theirs is None:
        return False
    if mine == theirs:
        return True
    return any(
        ref.startswith(STRIPE_INTENT_PREFIX) and ref in _WORDS.findall(text)
        for ref, text in ((mine, theirs), (theirs, mine))
    )


def same_payment(provisional: PaymentFacts, confirmed: PaymentFacts) -> bool:
    """The module's rule: are these two records of one payment?"""
    if (provisional.customer_id, provisional.currency.upper(), provisional.amount) != (
        confirmed.customer_id,
        confirmed.currency.upper(),
        confirmed.amount,
    ):
        return False
    mine, theirs = _reference(provisional.reference), _reference(confirmed.reference)
    if mine is not None and theirs is not None:
        return references_match(mine, theirs)
    return abs(provisional.received_at - confirmed.received_at) <= MATCH_WINDOW


def best_match(payment: PaymentFacts, candidates: Iterable[PaymentFacts]) -> PaymentFacts | None:
    """The candidate that is the same payment as ``payment``, preferred as the module says.

    Symmetric: ``payment`` may be the provisional one and the candidates confirmed, or the
    other way round.
    """
    ref = _reference(payment.reference)
    found = [c for c in candidates if same_payment(payment, c)]
    if not found:
        return None
    return min(
        found,
        key=lambda c: (
            not references_match(ref, _reference(c.reference)),
            abs(c.received_at - payment.received_at),
            c.id,
        ),
    )


def _facts(row: Payment) -> PaymentFacts:
    return PaymentFacts(
        row.id, row.customer_id, row.amount, row.currency, row.received_at, row.reference
    )


def lock_customers(session: Session, customer_ids: Iterable[int]) -> None:
    """PostgreSQL: hold these customers' rows until the commit, in id order (no-op on SQLite).

    ``FOR NO KEY UPDATE``, as re-assessment locks customers: it does not block the inserts of
    receivables and payments, which take a key-share lock on their customer.
    """
    if not is_postgres(session):
        return
    for part in key_chunks(session, sorted(set(customer_ids))):
        session.execute(
            select(Customer.id)
            .where(key_in(session, Customer.id, part))
            .order_by(Customer.id)
            .with_for_update(key_share=True)
        ).all()


def confirmation_of(session: Session, provisional: PaymentFacts) -> int | None:
    """The id of the ERP payment already posted for this provisional one, if any.

    Only confirmed payments that supersede nothing yet are candidates. Call with the customer
    locked (``lock_customers``).
    """
    claimed = select(Payment.superseded_by_id).where(Payment.superseded_by_id.is_not(None))
    # Narrowed in SQL to what the rule could take; amounts and references are compared by it.
    near = Payment.received_at.between(
        provisional.received_at - MATCH_WINDOW, provisional.received_at + MATCH_WINDOW
    )
    rows = session.scalars(
        select(Payment).where(
            Payment.customer_id == provisional.customer_id,
            Payment.currency == provisional.currency,
            Payment.status == CONFIRMED,
            Payment.id.not_in(claimed),
            or_(near, Payment.reference.is_not(None)) if provisional.reference else near,
        )
    ).all()
    match = best_match(provisional, [_facts(r) for r in rows])
    return match.id if match is not None else None


def announced_before(session: Session, source: str, payment: PaymentFacts) -> bool:
    """Whether ``source`` announced this payment already: same customer, currency, amount and
    reference (a payment without a reference cannot be told from another one; never)."""
    ref = _reference(payment.reference)
    if ref is None:
        return False
    # Amounts compared here, not in SQL: SQLite stores money as text ("1000" is not "1000.00").
    rows = session.execute(
        select(Payment.amount, Payment.reference).where(
            Payment.customer_id == payment.customer_id,
            Payment.source == source,
            Payment.currency == payment.currency,
            Payment.reference.is_not(None),
        )
    )
    return any(a == payment.amount and _reference(r) == ref for a, r in rows)


def supersede_provisional(session: Session, confirmed_ids: Sequence[int]) -> set[int]:
    """Mark the provisional payments these ERP payments post as superseded by them.

    Returns the customers whose provisional payments were superseded. Confirmed payments that
    already supersede one are skipped (a later version of the same posting). Call with their
    customers locked (``lock_customers``), before the rows this writes were read.
    """
    if not confirmed_ids:
        return set()
    confirmed: list[PaymentFacts] = []
    for part in key_chunks(session, sorted(set(confirmed_ids))):
        confirmed += [
            _facts(r)
            for r in session.scalars(
                select(Payment).where(
                    key_in(session, Payment.id, part), Payment.status == CONFIRMED
                )
            )
        ]
    customers = sorted({c.customer_id for c in confirmed})
    pending: dict[int, list[PaymentFacts]] = {}
    for part in key_chunks(session, customers):
        for row in session.scalars(
            select(Payment).where(
                key_in(session, Payment.customer_id, part), Payment.status == PROVISIONAL
            )
        ):
            pending.setdefault(row.customer_id, []).append(_facts(row))
    if not pending:
        return set()
    claimed = set(
        session.scalars(
            select(Payment.superseded_by_id).where(
                Payment.superseded_by_id.in_([c.id for c in confirmed])
            )
        )
    )
    changed: set[int] = set()
    for payment in sorted(confirmed, key=lambda p: p.id):
        if payment.id in claimed or not pending.get(payment.customer_id):
            continue
        match = best_match(payment, pending[payment.customer_id])
        if match is None:
            continue
        pending[payment.customer_id].remove(match)
        session.execute(
            update(Payment)
            .where(Payment.id == match.id, Payment.status == PROVISIONAL)
            .values(status=SUPERSEDED, superseded_by_id=payment.id)
        )
        changed.add(payment.customer_id)
    return changed
