"""The engine at the edges of the calendar: 9999-12-31 ("no due date" in SAP), year 1, anything.

``date + timedelta`` overflows past 9999-12-31; the engine's day arithmetic saturates there
instead (``service.credit.dates``), so any valid dates give an assessment, never OverflowError.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.credit import (
    CREDIT_NOTE,
    INVOICE,
    Allocation,
    CustomerInputs,
    Dispute,
    Item,
    Payment,
    Promise,
    Status,
    assess,
    assessment_document,
    document_json,
    load_policy,
    portfolio_figures,
    release_payment,
)
from service.credit.dates import add_days
from service.credit.portfolio import month_windows
from service.salesforce.fields import account_fields

POLICY = load_policy({"base_currency": "EUR", "fx_rates": {"USD": "0.80"}})
# The longest waits a policy may set: grace and dunning days, in both directions of the calendar.
SLOW = load_policy(
    {
        "base_currency": "EUR",
        "fx_rates": {"USD": "0.80"},
        "promises": {"grace_days": 60, "broken_window_days": 3650},
        "dunning": {"level_days_past_due": [3649, 3650]},
    }
)
TODAY = date(2026, 3, 15)
NO_DUE_DATE = date(9999, 12, 31)
CASES = settings(
    max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)


def invoice(id_: str, due: date, amount: str = "1000.00", *, issue: date | None = None) -> Item:
    return Item(
        id_, INVOICE, id_, issue or min(due, TODAY), due, "EUR", Decimal(amount), Decimal(amount)
    )


# --- add_days -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "days", "expected"),
    [
        (date(2026, 3, 15), 7, date(2026, 3, 22)),
        (date(2026, 3, 15), -15, date(2026, 2, 28)),
        (date(9999, 12, 24), 7, date(9999, 12, 31)),
        (date(9999, 12, 31), 1, date.max),
        (date(9999, 12, 31), 3650, date.max),
        (date(1, 1, 1), -1, date.min),
        (date(1, 1, 2), -3650, date.min),
        (date(2026, 3, 15), 10**12, date.max),  # past timedelta's own limit
    ],
)
def test_add_days__saturates_at_the_ends_of_the_calendar(day, days, expected):
    assert add_days(day, days) == expected


@given(st.dates(), st.integers(-(10**7), 10**7))
def test_add_days__is_date_plus_timedelta_wherever_that_exists(day, days):
    try:
        exact = date.fromordinal(day.toordinal() + days)
    except (OverflowError, ValueError):
        assert add_days(day, days) in (date.min, date.max)
    else:
        assert add_days(day, days) == exact


def test_month_windows__stop_where_the_calendar_starts():
    assert month_windows(date(1, 2, 10), 3) == [
        (date(1, 2, 1), date(1, 2, 10)),
        (date(1, 1, 1), date(1, 1, 31)),
    ]
    assert month_windows(date(1, 1, 5), 3) == [(date(1, 1, 1), date(1, 1, 5))]


# --- 9999-12-31 ----------------------------------------------------------------------------------


def test_assess__invoice_due_9999_12_31_is_current_and_next_action_is_the_last_day():
    """What crashed the credit read: due date + first dunning level overflowed."""
    inputs = CustomerInputs(
        number="C-1", currency="EUR", items=(invoice("i1", NO_DUE_DATE, "12400.00"),)
    )

    a = assess(inputs, POLICY, TODAY)

    assert a.status == Status.OK
    assert a.balance_outstanding == Decimal("12400.00")
    assert a.aging.current == Decimal("12400.00")
    assert a.overdue_amount == 0 and a.days_past_due == 0
    assert a.next_action_date == date.max
    assert account_fields(assessment_document(a))["Aging_Current__c"] == Decimal("12400.00")


def test_assess__a_follow_up_still_comes_before_the_saturated_date():
    inputs = CustomerInputs(
        number="C-1",
        currency="EUR",
        items=(invoice("i1", NO_DUE_DATE),),
        follow_ups=(date(2026, 4, 1),),
    )

    assert assess(inputs, POLICY, TODAY).next_action_date == date(2026, 4, 1)


def test_assess__an_overdue_invoice_still_decides_the_next_action_beside_a_9999_one():
    inputs = CustomerInputs(
        number="C-1",
        currency="EUR",
        items=(invoice("i1", NO_DUE_DATE), invoice("i2", date(2026, 3, 10))),
    )

    a = assess(inputs, POLICY, TODAY)

    assert a.days_past_due == 5
    assert a.next_action_date == date(2026, 3, 25)  # due + 15, the next dunning level


def test_assess__a_promise_dated_9999_12_31_is_pending_not_broken():
    inputs = CustomerInputs(
        number="C-1",
        currency="EUR",
        items=(invoice("i1", date(2026, 1, 1)),),
        promises=(Promise("p1", Decimal("1000.00"), NO_DUE_DATE, TODAY),),
    )

    a = assess(inputs, SLOW, TODAY)

    assert a.promise_to_pay_date == NO_DUE_DATE
    assert a.broken_promises == 0
    assert a.next_action_date == date.max


@pytest.mark.parametrize("as_of", [date.min, date(1, 1, 31), date(9999, 12, 31)])
def test_assess__as_of_the_first_or_last_day(as_of):
    inputs = CustomerInputs(
        number="C-1",
        currency="EUR",
        items=(invoice("i1", date.min, issue=date.min), invoice("i2", NO_DUE_DATE, issue=date.min)),
        promises=(Promise("p1", Decimal("5.00"), NO_DUE_DATE, date.min),),
        follow_ups=(date.max,),
    )

    for policy in (POLICY, SLOW):
        a = assess(inputs, policy, as_of)
        assert a.balance_outstanding == Decimal("2000.00")
        document_json(a)
        account_fields(assessment_document(a))
    portfolio_figures([inputs], POLICY, as_of)


# --- any dates at all ---------------------------------------------------------------------------

# Anywhere, and often within ten years of either end, where a policy's waits reach past it.
days = st.one_of(
    st.dates(),
    st.dates(min_value=date(9990, 1, 1)),
    st.dates(max_value=date(10, 12, 31)),
    st.just(NO_DUE_DATE),
)
money = st.decimals(min_value=Decimal("0.01"), max_value=Decimal(10**9), places=2)
currency = st.sampled_from(["EUR", "EUR", "USD"])
instants = st.builds(lambda d, t: datetime.combine(d, t, UTC), days, st.times())


@st.composite
def books_anywhere_in_time(draw):
    items = []
    for i in range(draw(st.integers(0, 6))):
        amount = draw(money)
        settled = draw(st.booleans())
        items.append(
            Item(
                f"i{i}",
                draw(st.sampled_from([INVOICE, INVOICE, CREDIT_NOTE])),
                f"N-{i}",
                draw(days),
                draw(days),
                draw(currency),
                amount,
                Decimal(0) if settled else draw(st.decimals(Decimal("0.01"), amount, places=2)),
                draw(days) if settled else draw(st.one_of(st.none(), days)),
            )
        )
    ids = [it.id for it in items]
    payments = []
    for j in range(draw(st.integers(0, 3))):
        amount = draw(money)
        provisional = bool(ids) and draw(st.booleans())
        allocations = (Allocation(draw(st.sampled_from(ids)), amount),) if provisional else ()
        payments.append(
            Payment(f"p{j}", amount, draw(currency), draw(instants), provisional, allocations)
        )
    promises = tuple(
        Promise(f"ptp{j}", draw(money), draw(days), draw(days))
        for j in range(draw(st.integers(0, 3)))
    )
    disputes = tuple(
        Dispute(
            f"d{j}",
            draw(st.one_of(st.none(), st.sampled_from(ids))) if ids else None,
            draw(money),
            draw(st.sampled_from(["open", "resolved_valid", "resolved_invalid"])),
            draw(days),
        )
        for j in range(draw(st.integers(0, 2)))
    )
    return CustomerInputs(
        number="C-1",
        currency=draw(currency),
        credit_limit=draw(st.one_of(st.none(), money)),
        override_until=draw(st.one_of(st.none(), days)),
        items=tuple(items),
        payments=tuple(payments),
        promises=promises,
        disputes=disputes,
        follow_ups=tuple(draw(st.lists(days, max_size=3))),
    )


@CASES
@given(books_anywhere_in_time(), days, st.sampled_from([POLICY, SLOW]))
def test_assess__never_overflows_for_any_valid_dates(inputs, as_of, policy):
    a = assess(inputs, policy, as_of)

    # Everything downstream of an assessment takes it too: the stored document, the push.
    document_json(a)
    account_fields(assessment_document(a))
    assert a.next_action_date is None or isinstance(a.next_action_date, date)
    if a.status == Status.HOLD:
        release_payment(inputs, policy, as_of)


@CASES
@given(st.lists(books_anywhere_in_time(), max_size=3), days)
def test_portfolio_figures__never_overflow_for_any_valid_dates(books, as_of):
    figures = portfolio_figures(books, POLICY, as_of)

    assert figures.period_start <= as_of
