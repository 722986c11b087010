"""``assess``: one customer's book, a policy and a date in; an :class:`Assessment` out."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import ROUND_HALF_UP, Decimal

from service.credit.assessment import Assessment, Status
from service.credit.errors import AmountOutOfRange, AssessmentError
from service.credit.figures import compute_figures
from service.credit.fx import converter
from service.credit.inputs import CustomerInputs, Payment
from service.credit.money import MAX_AMOUNT
from service.credit.policy import Policy
from service.credit.priority import (
    collection_priority,
    dunning_level,
    money_at_risk,
    next_action_date,
)
from service.credit.promises import evaluate_promises
from service.credit.release import allocate_oldest_first, amount_to_release
from service.credit.risk import payment_history, risk_score
from service.credit.status import decide, release_reason

_TENTH = Decimal("0.1")


def assess(inputs: CustomerInputs, policy: Policy, as_of: date) -> Assessment:
    """Assess one customer as of a day.

    Raises :class:`AssessmentError` (e.g. :class:`MissingFxRate`, :class:`AmountOutOfRange`)
    when the customer cannot be assessed; callers assessing many customers record the error on
    that one and go on.
    """
    if not inputs.currency:
        raise AssessmentError(inputs.number, "the customer has no currency")
    policy, segment = policy.for_customer(inputs.attributes)
    convert = converter(policy, inputs.currency, inputs.number)

    fig = compute_figures(inputs, as_of, convert, policy.bucket_edges)
    promises = evaluate_promises(
        inputs, as_of, convert, policy.promise_grace_days, policy.broken_promise_window_days
    )
    decision = decide(fig, promises, policy, inputs.currency, inputs.override_until, as_of)

    reasons = decision.reasons
    release = None
    if decision.status == Status.HOLD:
        release = amount_to_release(fig, promises, policy, decision.promise_holds_off)
        if release is not None:
            reasons = (*reasons, release_reason(release, inputs.currency))

    history = payment_history(inputs, as_of, policy.risk.lookback_days)
    score, factors = risk_score(fig, history, len(promises.broken_recently), policy.risk)

    at_risk = money_at_risk(fig)
    if at_risk > 0 and policy.base_currency and policy.base_currency != inputs.currency:
        at_risk = converter(policy, policy.base_currency, inputs.number)(inputs.currency, at_risk)
    priority = collection_priority(fig, decision.status, score, promises, policy.priority, at_risk)

    last = None
    for p in inputs.payments:
        if p.received_on <= as_of and (
            last is None or (p.received_at, p.id) > (last.received_at, last.id)
        ):
            last = p
    avg_days = None
    if history:
        avg_days = (Decimal(sum(h[1] for h in history)) / len(history)).quantize(
            _TENTH, ROUND_HALF_UP
        )

    assessment = Assessment(
        customer=inputs.number,
        currency=inputs.currency,
        as_of=as_of,
        policy=policy.label,
        segment=segment,
        status=decision.status,
        reasons=reasons,
        balance_outstanding=fig.balance,
        overdue_amount=fig.overdue,
        disputed_amount=fig.disputed,
        aging=fig.aging,
        days_past_due=fig.days_past_due,
        credit_limit=fig.credit_limit,
        exposure=fig.exposure,
        utilisation=fig.utilisation,
        credit_available=fig.credit_available,
        risk_score=score,
        risk_factors=factors,
        dunning_level=dunning_level(fig, promises, policy),
        promise_to_pay_date=min((p.promised_date for p in promises.pending), default=None),
        broken_promises=len(promises.broken_recently),
        last_payment_date=last.received_on if last else None,
        last_payment_amount=convert(last.currency, last.amount) if last else None,
        avg_days_to_pay=avg_days,
        collection_priority=priority,
        next_action_date=next_action_date(fig, promises, policy, inputs.follow_ups, as_of),
        amount_to_release=release,
        override_active=decision.override_active,
        in_flight_amount=sum(
            (
                convert(p.currency, p.amount)
                for p in inputs.payments
                if p.provisional and p.received_on <= as_of
            ),
            Decimal(0),
        ),
    )
    _check_range(assessment)
    return assessment


def _check_range(a: Assessment) -> None:
    """Every amount that is stored or pushed fits ``MAX_AMOUNT``, or ``AmountOutOfRange``."""
    aging = a.aging
    for figure, value in (
        ("balance_outstanding", a.balance_outstanding),
        ("overdue_amount", a.overdue_amount),
        ("disputed_amount", a.disputed_amount),
        ("aging current", aging.current),
        ("aging 1_30", aging.d1_30),
        ("aging 31_60", aging.d31_60),
        ("aging 61_90", aging.d61_90),
        ("aging 91_plus", aging.d91_plus),
        ("amount_to_release", a.amount_to_release),
        ("last_payment_amount", a.last_payment_amount),
    ):
        if value is not None and abs(value) > MAX_AMOUNT:
            raise AmountOutOfRange(a.customer, figure, a.currency, value)


def release_payment(
    inputs: CustomerInputs, policy: Policy, as_of: date, amount: Decimal | None = None
) -> Payment | None:
    """The provisional payment the amount to release stands for, applied oldest overdue first.

    Adding it to the inputs takes the account out of HOLD; tests use it to prove the figure,
    and a "what if" screen can use it to show the effect of a smaller or larger payment.
    """
    policy, _ = policy.for_customer(inputs.attributes)
    convert = converter(policy, inputs.currency, inputs.number)
    fig = compute_figures(inputs, as_of, convert, policy.bucket_edges)
    if amount is None:
        promises = evaluate_promises(
            inputs, as_of, convert, policy.promise_grace_days, policy.broken_promise_window_days
        )
        decision = decide(fig, promises, policy, inputs.currency, inputs.override_until, as_of)
        amount = amount_to_release(fig, promises, policy, decision.promise_holds_off)
        if amount is None:
            return None
    return Payment(
        id="what-if",
        amount=amount,
        currency=inputs.currency,
        received_at=datetime.combine(as_of, time(12), tzinfo=UTC),
        provisional=True,
        allocations=allocate_oldest_first(fig, amount),
    )
