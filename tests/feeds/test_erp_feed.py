"""POST /api/v1/feeds/erp as an ERP (and an attacker) would call it, on SQLite and PostgreSQL."""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from service.app import EXTENSION, create_app
from service.feeds import erp
from service.models import (
    Allocation,
    Assessment,
    AssessmentRequest,
    Customer,
    InboxMessage,
    OutboxMessage,
    Payment,
    Receivable,
)
from tests.assessing import drain_queue
from tests.conftest import NOW, TOKEN, app_overrides, load_fixture, signed_headers, snapshot


def batch():
    return copy.deepcopy(load_fixture("erp", "batch_small.json"))


def hundred_rows() -> dict:
    doc = {"source": "erp-main", "customers": [], "receivables": [], "payments": []}
    doc["customers"] = [
        {"number": f"K-{i}", "name": f"Customer {i}", "currency": "EUR"} for i in range(10)
    ]
    doc["receivables"] = [
        {
            "id": f"R-{i}",
            "customer": f"K-{i % 10}",
            "type": "invoice",
            "number": f"R-{i}",
            "issue_date": "2026-01-01",
            "due_date": "2026-01-31",
            "currency": "EUR",
            "amount": "100.00",
            "open_amount": "100.00",
            "updated_at": "2026-03-01T00:00:00Z",
        }
        for i in range(90)
    ]
    return doc


def engine_of(app):
    return app.extensions[EXTENSION].engine


def rows(app, model):
    with app.extensions[EXTENSION].sessions() as session:
        return session.scalars(select(model)).all()


def test_erp_feed__valid_batch_is_stored_and_queued_for_assessment(app, post_feed):
    response = post_feed(batch())

    assert response.status_code == 200, response.json
    assert response.json["customers"] == {"accepted": 3, "ignored": 0}
    assert response.json["receivables"] == {"accepted": 6, "ignored": 0}
    assert response.json["payments"] == {"accepted": 1, "ignored": 0}
    assert response.json["queued_for_assessment"] == 3
    assert "assessed" not in response.json
    items = {r.external_id: r for r in rows(app, Receivable)}
    assert items["INV-1001"].open_amount == Decimal("12400.00")
    assert items["INV-3001"].amount == Decimal("540000")
    assert items["INV-2002"].is_open is False
    assert items["INV-2002"].closed_on.isoformat() == "2026-03-02"
    allocations = {(a.receivable_id, a.amount) for a in rows(app, Allocation)}
    assert allocations == {
        (items["INV-2001"].id, Decimal("1500.00")),
        (items["INV-2002"].id, Decimal("1200.00")),
    }
    # Assessed after the request, by the worker's drain of the queue (done here in-process).
    assert rows(app, Assessment) == []
    assert {r.customer_id for r in rows(app, AssessmentRequest)} == {
        c.id for c in rows(app, Customer)
    }
    assert drain_queue(app) == 3
    assert len(rows(app, Assessment)) == 3
    assert rows(app, AssessmentRequest) == []


def test_erp_feed__one_bad_row_among_100_is_400_with_its_path_and_nothing_stored(app, post_feed):
    post_feed(batch())
    before = snapshot(engine_of(app))
    doc = hundred_rows()
    doc["receivables"][3]["due_date"] = "2026-13-01"

    response = post_feed(doc)

    assert response.status_code == 400
    assert response.json == {
        "errors": [
            {
                "code": "invalid",
                "path": "receivables[3].due_date",
                "message": "Not a real calendar date.",
            }
        ]
    }
    assert snapshot(engine_of(app)) == before


def test_erp_feed__sqlite_file_is_byte_for_byte_unchanged_after_a_refused_batch(sqlite_url):
    app = create_app(app_overrides(sqlite_url))
    client = app.test_client()
    body = json.dumps(batch()).encode()
    assert (
        client.post("/api/v1/feeds/erp", data=body, headers=signed_headers(body)).status_code == 200
    )
    engine_of(app).dispose()  # checkpoint the WAL into the file, close every handle
    path = sqlite_url.removeprefix("sqlite:///")
    before = open(path, "rb").read()

    app = create_app(app_overrides(sqlite_url))
    doc = hundred_rows()
    doc["receivables"][3]["amount"] = "100.001"
    body = json.dumps(doc).encode()
    response = app.test_client().post("/api/v1/feeds/erp", data=body, headers=signed_headers(body))
    engine_of(app).dispose()

    assert response.status_code == 400
    assert response.json["errors"][0]["path"] == "receivables[3].amount"
    assert open(path, "rb").read() == before


def test_erp_feed__same_batch_twice_changes_nothing(app, post_feed):
    first = post_feed(batch())
    before = snapshot(engine_of(app))

    second = post_feed(batch(), at=NOW + timedelta(seconds=30))

    assert first.status_code == second.status_code == 200
    assert second.json["duplicate"] is True
    assert second.json["receivables"] == {"accepted": 0, "ignored": 6}
    assert snapshot(engine_of(app)) == before


def test_erp_feed__replayed_rows_in_a_new_batch_change_nothing(app, post_feed):
    post_feed(batch())
    before = snapshot(engine_of(app))
    doc = batch()
    doc["source"] = "erp-main"
    doc["receivables"] = list(reversed(doc["receivables"]))  # another body, same rows

    response = post_feed(doc)

    assert response.json["duplicate"] is False
    assert response.json["receivables"] == {"accepted": 0, "ignored": 6}
    assert response.json["payments"] == {"accepted": 0, "ignored": 1}
    after = snapshot(engine_of(app))
    after.pop("inbox"), before.pop("inbox")
    assert after == before


def test_erp_feed__older_row_is_ignored_newer_row_wins(app, post_feed):
    post_feed(batch())
    older = batch()
    older["customers"] = []
    older["payments"] = []
    older["receivables"] = [
        dict(older["receivables"][0], open_amount="1.00", updated_at="2026-02-01T00:00:00Z")
    ]
    newer = copy.deepcopy(older)
    newer["receivables"][0].update(open_amount="400.00", updated_at="2026-03-10T00:00:00Z")

    ignored = post_feed(older)
    applied = post_feed(newer)

    assert ignored.json["receivables"] == {"accepted": 0, "ignored": 1}
    assert applied.json["receivables"] == {"accepted": 1, "ignored": 0}
    item = next(r for r in rows(app, Receivable) if r.external_id == "INV-1001")
    assert item.open_amount == Decimal("400.00")


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(
            lambda h, b: h.update({"X-Signature": h["X-Signature"][:-1] + "0"}), id="wrong digest"
        ),
        pytest.param(lambda h, b: h.pop("X-Signature"), id="unsigned"),
        pytest.param(lambda h, b: h.update({"X-Signature": "v1=abc"}), id="no timestamp"),
        pytest.param(lambda h, b: b.extend(b" "), id="tampered body"),
    ],
)
def test_erp_feed__bad_signature_is_401_and_stores_nothing(app, client, mutate):
    body = bytearray(json.dumps(batch()).encode())
    headers = signed_headers(bytes(body))
    mutate(headers, body)
    before = snapshot(engine_of(app))

    response = client.post("/api/v1/feeds/erp", data=bytes(body), headers=headers)

    assert response.status_code == 401
    assert response.json["errors"][0]["code"] == "unauthorized"
    assert snapshot(engine_of(app)) == before


def test_erp_feed__signature_six_minutes_old_is_401(post_feed):
    response = post_feed(batch(), at=NOW - timedelta(minutes=6))

    assert response.status_code == 401
    assert "expired" in response.json["errors"][0]["message"]


def test_erp_feed__signature_four_minutes_old_is_accepted(post_feed):
    assert post_feed(batch(), at=NOW - timedelta(minutes=4)).status_code == 200


def test_erp_feed__wrong_secret_is_401(post_feed):
    assert post_feed(batch(), secret="another-secret-0123456789").status_code == 401


def test_erp_feed__not_json_is_415(post_feed):
    response = post_feed(b"number,name\nC-1,Acme\n", headers={"Content-Type": "text/csv"})

    assert response.status_code == 415


def test_erp_feed__malformed_json_is_400(post_feed):
    response = post_feed(b'{"source": "erp-main", ')

    assert response.status_code == 400
    assert response.json["errors"][0]["message"] == "The body is not valid JSON."


def test_erp_feed__more_than_5000_rows_is_413(post_feed):
    doc = {"source": "erp-main", "customers": [{"number": f"C{i}"} for i in range(5_001)]}

    response = post_feed(doc)

    assert response.status_code == 413
    assert "5000" in response.json["errors"][0]["message"]


def test_erp_feed__body_over_the_byte_cap_is_413(db_url):
    app = create_app(app_overrides(db_url, FEED_MAX_BYTES="2000"))
    body = json.dumps(batch()).encode()
    assert len(body) > 2000

    response = app.test_client().post("/api/v1/feeds/erp", data=body, headers=signed_headers(body))

    assert response.status_code == 413
    engine_of(app).dispose()


def test_erp_feed__unknown_customer_is_a_row_error(app, post_feed):
    doc = batch()
    doc["receivables"][4]["customer"] = "C-404"

    response = post_feed(doc)

    assert response.status_code == 400
    assert response.json["errors"] == [
        {
            "code": "invalid",
            "path": "receivables[4].customer",
            "message": "Unknown customer 'C-404': not in this batch and not stored.",
        }
    ]
    assert rows(app, Customer) == []


def test_erp_feed__customer_stored_earlier_can_be_referenced(app, post_feed):
    post_feed(batch())
    doc = {
        "source": "erp-main",
        "receivables": [dict(batch()["receivables"][0], id="INV-5000", number="INV-5000")],
    }

    assert post_feed(doc).status_code == 200


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("receivables[5].amount", "540000.5", "JPY amounts have at most 0 decimal places."),
        ("receivables[0].amount", "12400.001", "EUR amounts have at most 2 decimal places."),
        ("receivables[0].amount", 12400.0, 'Must be a decimal string such as "1250.00".'),
        (
            "receivables[0].currency",
            "XYZ",
            "Not an ISO 4217 currency code in use (e.g. EUR, USD, JPY).",
        ),
        (
            "receivables[0].currency",
            "eur",
            "Not an ISO 4217 currency code in use (e.g. EUR, USD, JPY).",
        ),
        ("receivables[0].due_date", "31/12/2025", "Must be an ISO date (YYYY-MM-DD)."),
        (
            "receivables[0].updated_at",
            "2026-03-01T08:00:00",
            "Must include a time zone offset, e.g. 2026-03-01T10:00:00Z.",
        ),
        ("receivables[0].type", "order", "Must be one of: invoice, credit_note."),
        ("receivables[0].open_amount", "99999.00", "Must not exceed amount."),
        ("customers[0].credit_limit", "-1.00", "Must not be negative."),
        ("payments[0].amount", "0.00", "Must be greater than 0."),
    ],
)
def test_erp_feed__invalid_value_is_400_naming_it(post_feed, path, value, message):
    doc = batch()
    kind_index, field = path.split(".")
    kind, index = kind_index.rstrip("]").split("[")
    doc[kind][int(index)][field] = value

    response = post_feed(doc)

    assert response.status_code == 400
    assert {"code": "invalid", "path": path, "message": message} in response.json["errors"]


def test_erp_feed__bhd_takes_three_places(post_feed):
    doc = batch()
    doc["customers"][0]["currency"] = "BHD"
    doc["customers"][0]["credit_limit"] = "1000.125"

    response = post_feed(doc)

    assert response.status_code == 200, response.json


def test_erp_feed__payment_applied_to_unknown_receivable_is_a_row_error(post_feed):
    doc = batch()
    doc["payments"][0]["applied_to"][1]["receivable"] = "INV-NOPE"

    response = post_feed(doc)

    assert response.status_code == 400
    assert response.json["errors"][0]["path"] == "payments[0].applied_to[1].receivable"


def test_erp_feed__payment_applying_more_than_it_holds_is_a_row_error(post_feed):
    doc = batch()
    doc["payments"][0]["amount"] = "100.00"

    response = post_feed(doc)

    assert response.status_code == 400
    assert response.json["errors"][0]["path"] == "payments[0].applied_to"


def test_erp_feed__duplicate_ids_in_one_batch_are_row_errors(post_feed):
    doc = batch()
    doc["receivables"].append(doc["receivables"][0])

    response = post_feed(doc)

    assert response.status_code == 400
    assert response.json["errors"][0] == {
        "code": "invalid",
        "path": "receivables[6].id",
        "message": "Same id as receivables[0].",
    }


def test_erp_feed__newer_payment_replaces_its_allocations(app, post_feed):
    doc = batch()
    doc["payments"][0]["updated_at"] = "2026-03-02T09:00:00Z"
    post_feed(doc)
    doc["payments"][0].update(
        updated_at="2026-03-05T09:00:00Z",
        applied_to=[{"receivable": "INV-2001", "amount": "2700.00"}],
    )
    doc["customers"], doc["receivables"] = [], []

    response = post_feed(doc)

    assert response.json["payments"] == {"accepted": 1, "ignored": 0}
    assert [(a.amount) for a in rows(app, Allocation)] == [Decimal("2700.00")]
    assert len(rows(app, Payment)) == 1


def test_erp_feed__batch_is_recorded_in_the_inbox(app, post_feed):
    post_feed(batch())

    [message] = rows(app, InboxMessage)
    assert message.source == "erp:erp-main"
    assert message.external_id.startswith("sha256:")


def test_erp_feed__rows_are_counted_in_metrics(client, post_feed, auth):
    post_feed(batch())
    doc = batch()
    doc["receivables"][0]["amount"] = "x"
    post_feed(doc)

    text = client.get("/metrics", headers=auth).get_data(as_text=True)

    assert 'feed_rows_total{feed="erp",kind="receivables",outcome="accepted"} 6.0' in text
    assert 'feed_rows_total{feed="erp",kind="receivables",outcome="rejected"} 1.0' in text
    # The three customers wait for the worker; the request did not assess them.
    assert "assessment_queue_requests 3.0" in text
    assert "assessment_duration_seconds_count 0.0" in text


def test_erp_feed__concurrent_batch_on_the_same_rows_is_409_to_retry(post_feed, monkeypatch):
    def collide(*args, **kwargs):
        raise IntegrityError("INSERT INTO receivables ...", {}, Exception("duplicate key"))

    monkeypatch.setattr(erp, "apply_batch", collide)

    response = post_feed(batch())

    assert response.status_code == 409
    assert response.json["errors"][0]["code"] == "conflict"
    assert "duplicate key" not in response.get_data(as_text=True)


def test_erp_feed__changes_are_queued_for_salesforce_in_the_same_transaction(app, post_feed):
    post_feed(batch())

    targets = {m.target for m in rows(app, OutboxMessage)}
    customers = {c.number: c.id for c in rows(app, Customer)}
    items = {r.external_id: r.id for r in rows(app, Receivable)}
    # With the rows: the Receivable__c pushes and the Accounts' re-assessment requests.
    assert {f"Receivable__c:{items[i]}" for i in items} <= targets
    assert {r.customer_id for r in rows(app, AssessmentRequest)} == set(customers.values())
    # The Account pushes come with the re-assessment, in the drain's transaction.
    assert not any(t.startswith("Account:") for t in targets)
    drain_queue(app)
    targets = {m.target for m in rows(app, OutboxMessage)}
    assert {f"Account:{customers[n]}" for n in ("C-100", "C-200", "C-300")} <= targets


def test_erp_feed__refused_batch_queues_nothing(app, post_feed):
    doc = batch()
    doc["receivables"][0]["amount"] = "x"
    post_feed(doc)

    assert rows(app, OutboxMessage) == []
    assert rows(app, AssessmentRequest) == []


def test_erp_feed__reassesses_with_the_configured_credit_policy_file(db_url, tmp_path):
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"hold": {"days_past_due_over": 90}}))
    app = create_app(app_overrides(db_url, CREDIT_POLICY_FILE=str(policy)))
    client = app.test_client()
    body = json.dumps(batch()).encode()
    try:
        assert (
            client.post("/api/v1/feeds/erp", data=body, headers=signed_headers(body)).status_code
            == 200
        )
        credit = client.get(
            "/api/v1/accounts/C-100/credit", headers={"Authorization": f"Bearer {TOKEN}"}
        ).json
    finally:
        app.extensions[EXTENSION].engine.dispose()

    # 74 days past due: HOLD under the default policy (over 60), WATCH under this one (over 90).
    assert credit["status"] == "WATCH"
    assert "HOLD" not in credit["reason"]


def test_erp_feed__policy_is_read_once_at_start_up(db_url, tmp_path):
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"hold": {"days_past_due_over": 90}}))
    app = create_app(app_overrides(db_url, CREDIT_POLICY_FILE=str(policy)))
    policy.write_text("not json any more")  # an edit takes effect at the next start, not before
    try:
        assert app.extensions[EXTENSION].policy.hold_days_past_due == 90
        client = app.test_client()
        body = json.dumps(batch()).encode()
        assert (
            client.post("/api/v1/feeds/erp", data=body, headers=signed_headers(body)).status_code
            == 200
        )
    finally:
        app.extensions[EXTENSION].engine.dispose()
