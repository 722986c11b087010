"""The ERP's side: ``GET /api/v1/cash-applications`` and ``credit-control export
cash-applications``, with stable line ids (fetching again is harmless) and hostile input refused."""

from __future__ import annotations

import csv
import io

import pytest

from service.cash_application import applying
from service.cli import main
from service.db import transaction
from service.extensions import EXTENSION
from tests.cash_application.books import TODAY, credit, seed

PATH = "/api/v1/cash-applications"


@pytest.fixture
def applied(app):
    factory = app.extensions[EXTENSION].sessions
    ids = seed(factory)
    with transaction(factory) as s:
        applying.apply_credits(
            s,
            [
                credit("1000.00", "INV-1001 INV-1002", transaction_id=1),
                credit("1250.00", "INV-3001, 2026/77", transaction_id=2),
                credit("1050.00", "INV-3001", transaction_id=3, payer_name="x"),  # review
                credit("9.99", "nothing", transaction_id=4, payer_name=None),  # unmatched
            ],
            as_of=TODAY,
        )
    return factory, ids


def test_applied_credits_are_served_per_customer_and_invoice(client, auth, applied):
    answer = client.get(PATH, headers=auth)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    body = answer.get_json()
    assert body["count"] == 2 and body["next_since"] is None
    first, second = body["cash_applications"]
    assert first["bank_transaction_id"] == 1 and first["status"] == "applied"
    assert [(x["customer"], x["invoice"], x["amount"]) for x in first["lines"]] == [
        ("C-100", "INV-1001", "400.00"),
        ("C-100", "INV-1002", "600.00"),
    ]
    assert {(x["customer"], x["invoice"]) for x in second["lines"]} == {
        ("C-300", "INV-3001"),
        ("C-200", "2026-00077"),
    }
    assert all(x["status"] == "applied" for x in first["lines"] + second["lines"])
    # Asked again: the same ids, so an ERP that keys its postings by them posts nothing twice.
    again = client.get(PATH, headers=auth).get_json()
    assert [x["id"] for d in again["cash_applications"] for x in d["lines"]] == [
        x["id"] for d in body["cash_applications"] for x in d["lines"]
    ]


def test_a_reversal_shows_again_since_its_time_with_the_lines_reversed(client, auth, applied):
    factory, _ = applied
    before = client.get(PATH, headers=auth).get_json()["cash_applications"]
    last = max(d["updated_at"] for d in before)
    with transaction(factory) as s:
        assert applying.reverse_credit(s, 1, as_of=TODAY) == "reversed"
    changed = client.get(PATH, headers=auth, query_string={"since": last}).get_json()
    reversed_ = [d for d in changed["cash_applications"] if d["bank_transaction_id"] == 1]
    assert reversed_ and reversed_[0]["status"] == "reversed"
    assert {x["status"] for x in reversed_[0]["lines"]} == {"reversed"}
    assert {x["id"] for x in reversed_[0]["lines"]} == {x["id"] for x in before[0]["lines"]}


def test_an_overpayment_is_a_line_of_unapplied_cash(client, auth, app):
    factory = app.extensions[EXTENSION].sessions
    seed(factory)
    from service.cash_application.references import rf_reference

    with transaction(factory) as s:
        applying.apply_credits(s, [credit("1100.00", references=(rf_reference("INV3001"),))])
    [doc] = client.get(PATH, headers=auth).get_json()["cash_applications"]
    assert [(x["invoice"], x["amount"]) for x in doc["lines"]] == [
        ("INV-3001", "1000.00"),
        (None, "100.00"),
    ]
    assert doc["lines"][1]["id"].endswith("/unapplied")


def test_paging_by_limit_and_next_since(client, auth, applied):
    page = client.get(PATH, headers=auth, query_string={"limit": "1"}).get_json()
    assert page["count"] == 1 and page["next_since"]
    rest = client.get(
        PATH, headers=auth, query_string={"since": page["next_since"], "limit": "5"}
    ).get_json()
    ids = {d["id"] for d in page["cash_applications"] + rest["cash_applications"]}
    assert len(ids) == 2


@pytest.mark.parametrize(
    "query",
    [
        {"since": "yesterday"},
        {"since": "2026-03-15T00:00:00"},  # no zone
        {"since": "2026-13-45T00:00:00Z"},
        {"since": "x" * 5000},
        {"limit": "0"},
        {"limit": "-1"},
        {"limit": "5001"},
        {"limit": "1e3"},
        {"limit": "٣"},
    ],
)
def test_hostile_parameters_are_a_400_naming_the_parameter(client, auth, applied, query):
    answer = client.get(PATH, headers=auth, query_string=query)
    assert answer.status_code == 400
    [error] = answer.get_json()["errors"]
    assert error["path"] == next(iter(query))


def test_without_a_token_nothing_is_served(client, applied):
    assert client.get(PATH).status_code == 401
    assert (
        client.get(PATH, headers={"Authorization": "Bearer wrong-token-0123456789"}).status_code
        == 401
    )


def test_the_endpoint_is_in_the_openapi_document(client, auth):
    paths = client.get("/openapi.json", headers=auth).get_json()["paths"]
    assert "get" in paths[PATH]


def test_the_csv_export_has_one_row_per_line_and_is_the_same_again(runner, applied, tmp_path):
    result = runner.invoke(main, ["export", "cash-applications"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(r["customer"], r["invoice"], r["amount"], r["status"]) for r in rows] == [
        ("C-100", "INV-1001", "400.00", "applied"),
        ("C-100", "INV-1002", "600.00", "applied"),
        ("C-300", "INV-3001", "1000.00", "applied"),
        ("C-200", "2026-00077", "250.00", "applied"),
    ]
    assert rows[0]["id"] == "ca-1/C-100/INV-1001" and rows[0]["bank_transaction_id"] == "1"
    out = tmp_path / "ca.csv"
    again = runner.invoke(main, ["export", "cash-applications", "--output", str(out)])
    assert again.exit_code == 0, again.output
    assert out.read_text() == result.stdout
    assert "exported 4 line(s) of 2 cash application(s)" in again.stderr


def test_a_bad_since_on_the_command_line_is_one_line(runner, applied):
    result = runner.invoke(main, ["export", "cash-applications", "--since", "last week"])
    assert result.exit_code == 2
    assert "--since" in result.output and "Traceback" not in result.output


def test_a_payer_written_formula_never_reaches_a_spreadsheet_as_one():
    from service.cash_application.export import write_csv

    out = io.StringIO()
    doc = {
        "id": "ca-1",
        "bank_transaction_id": 1,
        "bank_account": "=HYPERLINK(1)",
        "bank_reference": "+1",
        "end_to_end_id": "@SUM(A1)",
        "booking_date": "2026-03-15",
        "evidence": "",
        "decided_by": "",
        "updated_at": "",
        "lines": [
            {
                "id": "ca-1/C/I",
                "customer": "-cmd",
                "invoice": "I",
                "document_number": "",
                "amount": "-5.00",
                "currency": "EUR",
                "status": "applied",
            }
        ],
    }
    write_csv(out, [doc])
    row = next(csv.DictReader(io.StringIO(out.getvalue())))
    assert row["bank_account"] == "'=HYPERLINK(1)" and row["bank_reference"] == "'+1"
    assert row["end_to_end_id"] == "'@SUM(A1)" and row["customer"] == "'-cmd"
    assert row["amount"] == "-5.00"
