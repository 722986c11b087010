"""The engine with the largest amounts the feed takes: exact figures, or a clear error.

Each amount is at most ``MAX_AMOUNT`` (Salesforce's 16-digit currency fields, which the
database's NUMERIC(18, 4) also holds); a sum of them need not be. A figure beyond it is an
``AmountOutOfRange`` on that customer, never a clipped figure or a database error.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.credit import (
    CREDIT_NOTE,
    INVOICE,
    Allocation,
    AmountOutOfRange,
    AssessmentError,
    CustomerInputs,
    Item,
    Payment,
    assess,
    assessment_document,
    document_json,
    load_policy,
)
from service.credit.money import MAX_AMOUNT
from service.salesforce.fields import ACCOUNT_FIELDS, account_fields

POLICY = load_policy({"base_currency": "EUR", "fx_rates": {"USD": "0.80"}})
AS_OF = date(2026, 3, 15)
CASES = settings(
    max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)


def item(id_: str, amount: Decimal, dpd: int, kind: str = INVOICE, cur: str = "EUR") -> Item:
    due = AS_OF - timedelta(days=dpd)
    return Item(id_, kind, id_, due - timedelta(30), due, cur, amount, amount)


def test_assess__the_largest_invoice_is_assessed_exactly():
    inputs = CustomerInputs(
        number="C-1", currency="EUR", credit_limit=MAX_AMOUNT, items=(item("i1", MAX_AMOUNT, 75),)
    )

    a = assess(inputs, POLICY, AS_OF)

    assert a.balance_outstanding == a.overdue_amount == a.aging.d61_90 == MAX_AMOUNT
    assert a.credit_available == 0
    fields = account_fields(assessment_document(a))
    assert fields["Balance_Outstanding__c"] == Decimal("99999999999999.99")
    assert fields["Amount_To_Release__c"] == Decimal("99999999999999.99")


def test_assess__two_of_them_are_out_of_range_naming_the_figure():
    inputs = CustomerInputs(
        number="C-1", currency="EUR", items=(item("i1", MAX_AMOUNT, 75), item("i2", MAX_AMOUNT, 5))
    )

    with pytest.raises(AmountOutOfRange) as raised:
        assess(inputs, POLICY, AS_OF)

    assert isinstance(raised.value, AssessmentError)  # recorded on the customer, like a rate
    assert raised.value.figure == "balance_outstanding"
    assert raised.value.message == (
        "balance_outstanding EUR 199,999,999,999,999.98 is beyond EUR 99,999,999,999,999.99, "
        "the largest amount the service stores and Salesforce shows"
    )


def test_assess__credit_notes_beyond_the_range_are_out_of_range_too():
    inputs = CustomerInputs(
        number="C-1",
        currency="EUR",
        items=(item("c1", MAX_AMOUNT, 0, CREDIT_NOTE), item("c2", MAX_AMOUNT, 0, CREDIT_NOTE)),
    )

    with pytest.raises(AmountOutOfRange, match="balance_outstanding EUR -199,999"):
        assess(inputs, POLICY, AS_OF)


def test_assess__a_conversion_that_grows_past_the_range_is_out_of_range():
    # 1 EUR is 1.25 USD at this policy's rates: the largest EUR invoice is too much in USD.
    inputs = CustomerInputs(number="C-1", currency="USD", items=(item("i1", MAX_AMOUNT, 0),))

    with pytest.raises(AmountOutOfRange, match=r"USD 124,999,999,999,999\.99"):
        assess(inputs, POLICY, AS_OF)


def test_assess__a_payment_beyond_the_range_once_converted_is_out_of_range():
    at = datetime(2026, 3, 1, tzinfo=UTC)
    inputs = CustomerInputs(
        number="C-1",
        currency="USD",
        items=(item("i1", Decimal("10.00"), 0, cur="USD"),),
        # Applied by the ERP elsewhere in full: no unapplied cash, only the last payment.
        payments=(Payment("p1", MAX_AMOUNT, "EUR", at, False, (Allocation("x", MAX_AMOUNT),)),),
    )

    with pytest.raises(AmountOutOfRange, match="last_payment_amount"):
        assess(inputs, POLICY, AS_OF)


big = st.decimals(min_value=Decimal("0.01"), max_value=MAX_AMOUNT, places=2)


@st.composite
def big_books(draw):
    items = tuple(
        item(
            f"i{i}",
            draw(big),
            draw(st.integers(-30, 200)),
            draw(st.sampled_from([INVOICE, INVOICE, CREDIT_NOTE])),
            draw(st.sampled_from(["EUR", "USD"])),
        )
        for i in range(draw(st.integers(0, 4)))
    )
    payments = tuple(
        Payment(
            f"p{j}",
            draw(big),
            draw(st.sampled_from(["EUR", "USD"])),
            datetime(2026, 3, 1, tzinfo=UTC),
        )
        for j in range(draw(st.integers(0, 2)))
    )
    return CustomerInputs(
        number="C-1",
        currency=draw(st.sampled_from(["EUR", "USD"])),
        credit_limit=draw(st.one_of(st.none(), big)),
        items=items,
        payments=payments,
    )


@CASES
@given(big_books())
def test_assess__any_valid_amounts_give_figures_in_range_or_out_of_range(inputs):
    try:
        a = assess(inputs, POLICY, AS_OF)
    except AmountOutOfRange as error:
        assert abs(error.value) > MAX_AMOUNT
        return

    document_json(a)
    fields = account_fields(assessment_document(a))
    for name in ACCOUNT_FIELDS:
        value = fields[name]
        if isinstance(value, Decimal):
            # What Salesforce's Currency(16, 2) takes, and NUMERIC(18, 4) too.
            assert abs(value) <= MAX_AMOUNT, (name, value)
