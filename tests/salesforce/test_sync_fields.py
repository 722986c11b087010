"""Account field mapping, canonical diffing and errorCode classification (pure, no I/O)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from service.credit import (
    CustomerInputs,
    Item,
    account_fields,
    assess,
    assessment_document,
    default_policy,
)
from service.salesforce.errors import Disposition, classify, error_from_response
from service.salesforce.fields import canonical, diff, fields_from_document, fields_hash

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


@pytest.mark.parametrize("days", [0, 20, 75])
def test_fields_from_document__match_engine_account_fields(days):
    """The pusher reads the stored document; it must give what the engine's mapping gives."""
    a = assess(_inputs(days), default_policy(), as_of=AS_OF)
    from_doc = fields_from_document(assessment_document(a))
    direct = account_fields(a)
    assert from_doc.keys() == direct.keys()
    for name in direct:
        assert canonical(from_doc[name]) == canonical(direct[name]), name


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
