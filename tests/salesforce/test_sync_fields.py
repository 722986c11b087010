"""Account field mapping, canonical diffing and errorCode classification (pure, no I/O)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from service.credit import (
    CustomerInputs,
    Item,
    assess,
    assessment_document,
    default_policy,
)
from service.salesforce.errors import Disposition, classify, error_from_response
from service.salesforce.fields import (
    ACCOUNT_FIELD_MAP,
    ACCOUNT_FIELDS,
    account_fields,
    canonical,
    diff,
    fields_hash,
)

AS_OF = date(2026, 11, 23)


def _inputs(days_overdue: int, amount: str = "1200.50") -> CustomerInputs:
    due = date.fromordinal(AS_OF.toordinal() - days_overdue)
    item = Item(
        id="INV-1",
        kind="invoice",
        number="INV-1",
        issue_date=date.fromordinal(due.toordinal() - 30),
        due_date=due,
        currency="EUR",
        amount=Decimal(amount),
        open_amount=Decimal(amount),
    )
    return CustomerInputs(number="C1", currency="EUR", credit_limit=Decimal("5000"), items=(item,))


DESIGN_ACCOUNT_FIELDS = {
    "Credit_Status__c", "Credit_Status_Reason__c", "Balance_Outstanding__c", "Overdue_Amount__c",
    "Disputed_Amount__c", "Aging_Current__c", "Aging_1_30__c", "Aging_31_60__c", "Aging_61_90__c",
    "Aging_91_Plus__c", "Days_Past_Due__c", "Risk_Score__c", "Dunning_Level__c",
    "Promise_To_Pay_Date__c", "Last_Payment_Date__c", "Last_Payment_Amount__c",
    "Avg_Days_To_Pay__c", "Collection_Priority__c", "Next_Action_Date__c",
    "Amount_To_Release__c",  # the package's addition: what lifts a HOLD
    "In_Flight_Amount__c",  # provisional payments the ERP has not posted (design.md)
    "Pay_Link__c",  # the customer's pay page (signed by the pusher, not in the document)
    "Credit_Currency__c",  # the currency of every figure above: the customer's
    "Next_Reminder_Date__c",  # dunning: the next reminder's day (laid over by the pusher)
}  # fmt: skip


@pytest.mark.parametrize("days", [0, 20, 75])
def test_account_fields__are_the_design_api_names_with_salesforce_types(days):
    a = assess(_inputs(days, "1000.005"), default_policy(), as_of=AS_OF)
    fields = account_fields(assessment_document(a))
    assert set(fields) == DESIGN_ACCOUNT_FIELDS == set(ACCOUNT_FIELDS)
    assert "Credit_Status_Updated__c" not in fields  # stamped by the pusher at push time
    assert fields["Credit_Status__c"] == a.status.value
    assert fields["Credit_Status_Reason__c"] == a.reason_text
    assert fields["Overdue_Amount__c"] == (Decimal("1000.01") if days else Decimal(0))
    assert isinstance(fields["Days_Past_Due__c"], int) and fields["Days_Past_Due__c"] == days
    assert isinstance(fields["Risk_Score__c"], int)
    assert fields["Credit_Currency__c"] == a.currency  # the components format money in it


def test_account_fields__a_hold_shows_the_amount_that_releases_it():
    a = assess(_inputs(75, "1000.005"), default_policy(), as_of=AS_OF)
    fields = account_fields(assessment_document(a))
    assert fields["Credit_Status__c"] == "HOLD"
    assert str(fields["Aging_61_90__c"]) == "1000.01"  # currency fields to the cent
    assert fields["Amount_To_Release__c"] == Decimal("1000.01")  # pay the 75-day invoice


def test_account_field_map__gives_the_dry_run_canonical_values_and_the_status():
    a = assess(_inputs(75), default_policy(), as_of=AS_OF)
    shown = ACCOUNT_FIELD_MAP.of(assessment_document(a))
    assert shown["Overdue_Amount__c"] == "1200.5"
    assert ACCOUNT_FIELD_MAP.status(shown) == "HOLD"


def test_canonical__compares_across_decimal_float_and_text():
    assert canonical(Decimal("12.50")) == canonical(12.5) == canonical("12.5")
    assert canonical(Decimal("0.00")) == canonical(0) == "0"
    assert canonical(date(2026, 1, 2)) == "2026-01-02"
    assert canonical(datetime(2026, 1, 2, tzinfo=UTC)).startswith("2026-01-02T00:00:00")


def test_diff__only_changed_fields_and_everything_when_never_pushed():
    desired = {
        "Credit_Status__c": "HOLD",
        "Overdue_Amount__c": Decimal("10.00"),
        "Risk_Score__c": 40,
    }
    assert diff(desired, None) == desired
    stored = {"Credit_Status__c": "OK", "Overdue_Amount__c": "10", "Risk_Score__c": "40"}
    assert diff(desired, stored) == {"Credit_Status__c": "HOLD"}
    assert fields_hash(desired) == fields_hash({**desired, "Overdue_Amount__c": Decimal("10")})


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("UNABLE_TO_LOCK_ROW", 400, Disposition.RETRY),
        ("REQUEST_LIMIT_EXCEEDED", 403, Disposition.RETRY),
        ("SERVER_UNAVAILABLE", 503, Disposition.RETRY),
        (None, 502, Disposition.RETRY),
        ("ENTITY_IS_DELETED", 404, Disposition.DEAD),
        ("INVALID_FIELD", 400, Disposition.DEAD),
        ("FIELD_CUSTOM_VALIDATION_EXCEPTION", 400, Disposition.DEAD),
        ("SOME_NEW_VALIDATION_CODE", 400, Disposition.DEAD),
        ("SOME_NEW_SERVER_CODE", 500, Disposition.RETRY),
    ],
)
def test_classify__by_error_code(code, status, expected):
    assert classify(code, status) is expected


def test_error_from_response__reads_rest_error_array():
    err = error_from_response(
        403, [{"errorCode": "REQUEST_LIMIT_EXCEEDED", "message": "TotalRequests Limit exceeded."}]
    )
    assert err.code == "REQUEST_LIMIT_EXCEEDED"
    assert type(err).__name__ == "RetryableError"
