"""GET /api/v1/accounts/<number>/credit: what a credit controller or a Salesforce page reads."""

from __future__ import annotations

from tests.conftest import load_fixture


def test_account_credit__figures_after_a_feed(client, post_feed, auth):
    post_feed(load_fixture("erp", "batch_small.json"))

    response = client.get("/api/v1/accounts/C-100/credit", headers=auth)

    assert response.status_code == 200
    body = response.json
    # As of 2026-03-15: INV-1001 (EUR 12,400.00) is 74 days past due -> HOLD (over 60 days).
    assert body["status"] == "HOLD"
    assert body["overdue_amount"] == "12400.00"
    assert body["days_past_due"] == 74
    assert body["aging"] == {
        "current": "800.00",
        "1_30": "0.00",
        "31_60": "0.00",
        "61_90": "12400.00",
        "91_plus": "0.00",
    }
    assert body["balance_outstanding"] == "13050.00"  # invoices 13,200.00 minus credit note 150.00
    assert body["disputed_amount"] == "0.00"
    assert body["credit_limit"] == "20000.00"
    assert body["as_of"] == "2026-03-15"
    assert body["reasons"] and all("code" in r and "text" in r for r in body["reasons"])
    assert isinstance(body["risk_score"], int)


def test_account_credit__money_is_served_as_decimal_strings(client, post_feed, auth):
    post_feed(load_fixture("erp", "batch_small.json"))

    body = client.get("/api/v1/accounts/C-200/credit", headers=auth).json

    for key in ("balance_outstanding", "overdue_amount", "disputed_amount"):
        assert isinstance(body[key], str)
    assert body["overdue_amount"] == "1000.00"


def test_account_credit__without_a_token_is_401(client, post_feed):
    post_feed(load_fixture("erp", "batch_small.json"))

    response = client.get("/api/v1/accounts/C-100/credit")

    assert response.status_code == 401
    assert "C-100" not in response.get_data(as_text=True)
    assert "12400" not in response.get_data(as_text=True)


def test_account_credit__wrong_token_is_401(client):
    response = client.get(
        "/api/v1/accounts/C-100/credit", headers={"Authorization": "Bearer nope-nope-nope-nope"}
    )

    assert response.status_code == 401


def test_account_credit__unknown_customer_is_404_json(client, auth):
    response = client.get("/api/v1/accounts/C-404/credit", headers=auth)

    assert response.status_code == 404
    assert response.json["errors"][0]["code"] == "not_found"
