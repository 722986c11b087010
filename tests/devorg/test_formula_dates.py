"""Date arithmetic in formula fields: Receivable__c.Days_Past_Due__c is TODAY() - Due_Date__c.

The package made it a formula so that it is current whenever it is read (the Overdue
Receivables list view filters on it); devorg must evaluate it on read and in SOQL, and refuse a
write to it as Salesforce does.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from devorg.formula import FormulaContext, compile_formula, evaluate

from tests.devorg.devorg_helpers import new_account

TODAY = datetime.now(UTC).date()


def _receivable(api, account_id: str, item: str, due, status: str = "Open") -> str:
    body = {
        "Name": item,
        "Account__c": account_id,
        "ERP_Item_Id__c": item,
        "Type__c": "Invoice",
        "Status__c": status,
        "Due_Date__c": due.isoformat(),
        "Amount__c": 100,
        "Open_Amount__c": 100,
    }
    response = api.post("sobjects/Receivable__c", json=body)
    assert response.status_code == 201, response.text
    return response.json()["id"]


@pytest.mark.parametrize(
    ("expression", "values", "expected"),
    [
        ("TODAY() - D", {"D": (TODAY - timedelta(days=30)).isoformat()}, 30.0),
        ("D - TODAY()", {"D": (TODAY - timedelta(days=30)).isoformat()}, -30.0),
        ("D + 7", {"D": "2026-01-30"}, "2026-02-06"),
        ("D - 1", {"D": "2026-03-01"}, "2026-02-28"),
        ("TODAY() - D", {"D": None}, None),
    ],
)
def test_date_arithmetic(expression, values, expected):
    ctx = FormulaContext(resolve=values.get)
    assert evaluate(compile_formula(expression), ctx) == expected


def test_days_past_due_is_current_on_read_and_in_soql(api):
    account = new_account(api, ERP_Customer_Number__c="F1")
    late = _receivable(api, account, "F1-LATE", TODAY - timedelta(days=45))
    soon = _receivable(api, account, "F1-SOON", TODAY + timedelta(days=5))
    paid = _receivable(api, account, "F1-PAID", TODAY - timedelta(days=90), status="Paid")

    def days(rid):
        return api.get(f"sobjects/Receivable__c/{rid}").json()["Days_Past_Due__c"]

    assert (days(late), days(soon), days(paid)) == (45, -5, None)
    found = api.get(
        "query", params={"q": "SELECT Id FROM Receivable__c WHERE Days_Past_Due__c > 0"}
    ).json()
    assert [r["Id"] for r in found["records"]] == [late]


def test_days_past_due_cannot_be_written(api):
    account = new_account(api, ERP_Customer_Number__c="F2")
    rid = _receivable(api, account, "F2-1", TODAY)
    response = api.patch(f"sobjects/Receivable__c/{rid}", json={"Days_Past_Due__c": 3})
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
