"""Portfolio figures over HTTP: the book (GET /api/v1/portfolio), one customer (its credit page)
and /metrics, on a book small enough to work out on paper (tests/fixtures/erp/batch_portfolio.json).

As of 2026-03-15 the three months are 1-15 March (15 days), February (28) and January (31).
C-1 (EUR): A 10,000 issued 5 Mar, not yet due; B 10,000 issued 10 Feb, 5,000 still open, 5 days
late; C 4,000 issued in December, paid 25 Jan; D 6,000 issued 10 Jan, paid. C-2 (EUR): E 2,000
issued 5 Jan, all open, 39 days late. C-3 (GBP): F 500 issued 1 Mar, not yet due.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from service.app import EXTENSION, create_app
from tests.assessing import chf_invoice, drain_queue
from tests.conftest import NOW, TOKEN, app_overrides, load_fixture, signed_headers

BOOK = ("erp", "batch_portfolio.json")


def test_portfolio__the_whole_book_in_the_first_customers_currency_without_a_base_currency(
    client, post_feed, auth
):
    assert post_feed(load_fixture(*BOOK)).status_code == 200

    response = client.get("/api/v1/portfolio", headers=auth)

    assert response.status_code == 200
    body = response.json
    # EUR book (C-1, C-2): receivables 17,000 (current 10,000); sales 10,000 Mar, 10,000 Feb,
    # 8,000 Jan. DSO: March's 10,000 is 15 days, the other 7,000 is 0.7 of February = 19.6 days.
    assert body["currency"] == "EUR"
    assert (body["as_of"], body["period_start"], body["months"]) == ("2026-03-15", "2026-01-01", 3)
    assert (body["receivables"], body["current_receivables"], body["sales"]) == (
        "17000.00",
        "10000.00",
        "28000.00",
    )
    assert body["dso"] == "34.6"
    assert body["best_possible_dso"] == "15.0"
    assert body["average_days_delinquent"] == "19.6"
    # CEI = (4,000 open on 1 Jan + 28,000 sales - 17,000 open) / (4,000 + 28,000 - 10,000 current)
    assert body["cei"] == "68.2"
    # The GBP customer cannot be converted without a rate: left out, and said so.
    assert body["customers"] == 2
    assert body["customers_left_out"] == 1
    assert "C-3" in body["errors"][0] and "GBP" in body["errors"][0]
    assert body["computed_at"] == NOW.isoformat()


def test_portfolio__a_configured_policy_converts_the_book_to_its_base_currency(db_url, tmp_path):
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"base_currency": "EUR", "fx_rates": {"GBP": "1.20"}}))
    app = create_app(app_overrides(db_url, CREDIT_POLICY_FILE=str(policy)))
    try:
        client = app.test_client()
        body = json.dumps(load_fixture(*BOOK)).encode()
        assert (
            client.post("/api/v1/feeds/erp", data=body, headers=signed_headers(body)).status_code
            == 200
        )

        got = client.get("/api/v1/portfolio", headers={"Authorization": f"Bearer {TOKEN}"}).json
    finally:
        app.extensions[EXTENSION].engine.dispose()

    # GBP 500 = EUR 600, current, issued in March: March's sales are now 10,600.
    assert (got["currency"], got["customers"], got["customers_left_out"]) == ("EUR", 3, 0)
    assert (got["receivables"], got["current_receivables"]) == ("17600.00", "10600.00")
    assert (got["dso"], got["best_possible_dso"], got["cei"]) == ("34.6", "15.0", "68.2")


def test_portfolio__an_empty_book_has_no_ratios(client, auth):
    body = client.get("/api/v1/portfolio", headers=auth).json

    assert body["customers"] == 0
    assert body["dso"] is None and body["cei"] is None
    assert body["receivables"] == "0.00"


def test_portfolio__needs_a_token(client):
    response = client.get("/api/v1/portfolio")

    assert response.status_code == 401
    assert "dso" not in response.get_data(as_text=True)


def test_portfolio__served_from_the_cache_until_it_is_a_minute_old(app, client, post_feed, auth):
    first = client.get("/api/v1/portfolio", headers=auth).json
    post_feed(load_fixture(*BOOK))

    again = client.get("/api/v1/portfolio", headers=auth).json

    assert again == first and again["customers"] == 0  # cached
    cache = app.extensions[EXTENSION].portfolio
    cache.expire()  # as a minute later
    stale = client.get("/api/v1/portfolio", headers=auth).json
    cache.wait(30)
    fresh = client.get("/api/v1/portfolio", headers=auth).json
    assert stale["customers"] == 0  # served at once while a thread recomputes
    assert fresh["customers"] == 2 and fresh["dso"] == "34.6"


def test_account_credit__carries_the_customers_own_portfolio_figures(client, post_feed, auth):
    post_feed(load_fixture(*BOOK))

    one = client.get("/api/v1/accounts/C-1/credit", headers=auth).json
    two = client.get("/api/v1/accounts/C-2/credit", headers=auth).json
    gbp = client.get("/api/v1/accounts/C-3/credit", headers=auth).json

    # The assessment's own figures sit beside the portfolio block.
    assert one["status"] == "OK" and one["overdue_amount"] == "5000.00"
    assert one["portfolio"] == {
        "currency": "EUR",
        "as_of": "2026-03-15",
        "period_start": "2026-01-01",
        "months": 3,
        "receivables": "15000.00",
        "current_receivables": "10000.00",
        "sales": "26000.00",
        # 15,000: March's 10,000 (15 days) and half of February's 10,000 (14 days).
        "dso": "29.0",
        "best_possible_dso": "15.0",
        "average_days_delinquent": "14.0",
        "cei": "75.0",  # (4,000 + 26,000 - 15,000) / (4,000 + 26,000 - 10,000)
        "error": None,
    }
    # No sales in March or February: all three months count, 15 + 28 + 31 days.
    assert (two["portfolio"]["dso"], two["portfolio"]["best_possible_dso"]) == ("74.0", "0.0")
    assert two["portfolio"]["cei"] == "0.0"
    # C-3 is reported in its own currency: no rate needed.
    assert gbp["portfolio"]["currency"] == "GBP" and gbp["portfolio"]["dso"] == "15.0"
    assert gbp["portfolio"]["cei"] is None  # nothing was due in the period


def test_account_credit__a_customer_never_assessed_answers_error_with_a_readable_reason(
    client, post_feed, auth
):
    doc = {
        "source": "erp-main",
        "customers": [{"number": "C-FX", "name": "Franc Tireur SA", "currency": "EUR"}],
        "receivables": [chf_invoice("C-FX")],
        "payments": [],
    }
    assert post_feed(doc).status_code == 200

    response = client.get("/api/v1/accounts/C-FX/credit", headers=auth)

    assert response.status_code == 200
    body = response.json
    assert body["status"] == "ERROR"
    assert body["error"] == "no exchange rate from CHF to EUR in the policy; add CHF to fx_rates"
    assert (body["number"], body["name"], body["as_of"]) == (
        "C-FX",
        "Franc Tireur SA",
        "2026-03-15",
    )
    assert "overdue_amount" not in body  # no figures rather than made-up ones
    assert body["portfolio"]["error"] == body["error"]
    assert body["portfolio"]["dso"] is None


def test_account_credit__a_failed_reassessment_keeps_the_last_good_figures_with_the_error(
    client, post_feed, auth
):
    post_feed(load_fixture("erp", "batch_small.json"))
    assert client.get("/api/v1/accounts/C-100/credit", headers=auth).json["status"] == "HOLD"
    later = {
        "source": "erp-main",
        "customers": [],
        "receivables": [chf_invoice("C-100")],
        "payments": [],
    }
    assert post_feed(later).status_code == 200

    body = client.get("/api/v1/accounts/C-100/credit", headers=auth).json

    assert body["status"] == "HOLD" and body["overdue_amount"] == "12400.00"
    assert "CHF" in body["error"]


def _metrics(client, auth) -> str:
    """A scrape after the first one: the first starts the computation and does not wait for it."""
    first = client.get("/metrics", headers=auth).get_data(as_text=True)
    assert "credit_portfolio_dso_days{" not in first
    client.application.extensions[EXTENSION].portfolio.wait(30)
    return client.get("/metrics", headers=auth).get_data(as_text=True)


def test_metrics__account_counts_by_status_and_the_books_figures(client, post_feed, auth):
    post_feed(load_fixture(*BOOK))
    post_feed(load_fixture("erp", "batch_small.json"), at=NOW + timedelta(seconds=1))
    drain_queue(client.application)  # the worker's job

    text = _metrics(client, auth)

    # C-1, C-3, C-300 OK; C-2 WATCH (39 days); C-100 HOLD (74 days); C-200 WATCH (50 days).
    assert 'credit_accounts{status="OK"} 3.0' in text
    assert 'credit_accounts{status="WATCH"} 2.0' in text
    assert 'credit_accounts{status="HOLD"} 1.0' in text
    assert 'credit_accounts{status="ERROR"} 0.0' in text
    assert "credit_accounts_with_errors 0.0" in text
    assert 'credit_portfolio_dso_days{currency="EUR"}' in text
    assert 'credit_portfolio_cei_percent{currency="EUR"}' in text
    assert 'credit_portfolio_average_days_delinquent_days{currency="EUR"}' in text
    assert 'credit_portfolio_best_possible_dso_days{currency="EUR"}' in text
    assert 'credit_portfolio_customers_left_out{currency="EUR"} 3.0' in text  # GBP, GBP, JPY
    stamp = next(
        line for line in text.splitlines() if line.startswith("credit_portfolio_computed_timestamp")
    )
    assert float(stamp.split()[-1]) == NOW.timestamp()


def test_metrics__the_book_alone_gives_the_worked_figures(client, post_feed, auth):
    post_feed(load_fixture(*BOOK))

    text = _metrics(client, auth)

    assert 'credit_portfolio_dso_days{currency="EUR"} 34.6' in text
    assert 'credit_portfolio_best_possible_dso_days{currency="EUR"} 15.0' in text
    assert 'credit_portfolio_average_days_delinquent_days{currency="EUR"} 19.6' in text
    assert 'credit_portfolio_cei_percent{currency="EUR"} 68.2' in text
    assert 'credit_portfolio_receivables{currency="EUR"} 17000.0' in text


def test_metrics__an_unmigrated_database_leaves_the_credit_gauges_out_but_still_answers(
    tmp_path, auth
):
    app = create_app(app_overrides(f"sqlite:///{tmp_path / 'empty.sqlite3'}"))

    response = app.test_client().get("/metrics", headers=auth)

    assert response.status_code == 200
    assert "http_requests_total" in response.get_data(as_text=True)
    assert 'credit_accounts{status="OK"}' not in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/api/v1/portfolio", "/api/v1/accounts/{number}/credit"])
def test_openapi__documents_the_portfolio_figures(client, auth, path):
    spec = client.get("/openapi.json", headers=auth).json

    assert path in spec["paths"]
    schemas = spec["components"]["schemas"]
    assert {"dso", "best_possible_dso", "average_days_delinquent", "cei"} <= set(
        schemas["PortfolioOut"]["properties"]
    )
    assert "portfolio" in schemas["AccountCreditOut"]["properties"]
    assert "ERROR" in schemas["AccountCreditOut"]["properties"]["status"]["enum"]
