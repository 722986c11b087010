"""Stripe webhooks through the app on both databases: verified, once, in any order, and the
money counted once when the ERP posts it."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from service import outbox
from service.models import InboxMessage, OutboxMessage, Payment
from tests.card_payments.conftest import (
    OLD_SECRET,
    WEBHOOK_PATH,
    charge_object,
    credit,
    deliver,
    our_metadata,
    session_object,
    sign,
    stripe_event,
)
from tests.conftest import TOKEN, signed_headers, snapshot

STRIPE_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "stripe"


def _paid(web, pi="pi_test_1", amount=1_240_000):
    return deliver(web, stripe_event("checkout.session.completed", session_object(pi, amount)))


def test_a_paid_session_lifts_the_hold_and_shows_the_money_in_flight(web, fed, factory):
    assert credit(web)["status"] == "HOLD"

    answer = _paid(web)

    assert answer.status_code == 200
    assert answer.get_json() == {"received": True, "outcome": "in flight"}
    after = credit(web)
    assert after["status"] in ("OK", "WATCH")
    assert after["in_flight_amount"] == "12400.00"
    assert Decimal(after["overdue_amount"]) == 0
    with factory() as s:
        payment = s.scalars(select(Payment).where(Payment.source == "stripe")).one()
        assert (payment.status, payment.reference, payment.amount) == (
            "provisional",
            "pi_test_1",
            Decimal("12400.00"),
        )
        assert [a.amount for a in payment.allocations] == [Decimal("12400.00")]
        # The Account is queued for Salesforce in the same transaction.
        targets = set(s.scalars(select(OutboxMessage.target)))
    assert any(t.startswith("Account:") for t in targets)
    assert outbox.account_target(payment.customer_id) in targets


@pytest.mark.parametrize(
    "spoil",
    [
        lambda body, headers: (body.replace(b"1240000", b"9240000"), headers),
        lambda body, headers: (body, sign(body, "whsec_someone_else_0123456789")),
        lambda body, headers: (body, {"Content-Type": "application/json"}),
        lambda body, headers: (body, sign(body, timestamp=int(time.time()) - 301)),
        lambda body, headers: (body, {**headers, "Stripe-Signature": "t=abc,v1=zz"}),
    ],
    ids=["tampered-body", "wrong-secret", "no-header", "stale", "garbled-header"],
)
def test_an_unverified_webhook_gets_400_and_changes_nothing(web, fed, db, spoil):
    engine, _ = db
    credit(web)  # assessed first, so the snapshot holds a settled state
    before = snapshot(engine)
    body = json.dumps(stripe_event("checkout.session.completed", session_object())).encode()
    body, headers = spoil(body, sign(body))

    answer = web.post(WEBHOOK_PATH, data=body, headers=headers)

    assert answer.status_code == 400
    assert answer.get_json()["errors"][0]["code"] == "bad_signature"
    assert snapshot(engine) == before


def test_the_same_event_twice_changes_nothing_the_second_time(web, fed, db):
    engine, _ = db
    event = stripe_event("checkout.session.completed", session_object())
    assert deliver(web, event).get_json()["outcome"] == "in flight"
    credit(web)
    before = snapshot(engine)

    again = deliver(web, event)

    assert again.status_code == 200 and again.get_json()["outcome"] == "duplicate"
    assert snapshot(engine) == before


def test_the_session_and_its_payment_intent_are_one_payment(web, fed, factory):
    _paid(web)
    intent = {
        "id": "pi_test_1",
        "object": "payment_intent",
        "amount": 1_240_000,
        "amount_received": 1_240_000,
        "currency": "eur",
        "latest_charge": "ch_pi_test_1",
        "metadata": our_metadata(),
        "status": "succeeded",
    }

    deliver(web, stripe_event("payment_intent.succeeded", intent))

    assert credit(web)["in_flight_amount"] == "12400.00"
    with factory() as s:
        assert len(s.scalars(select(Payment).where(Payment.source == "stripe")).all()) == 1


def test_a_secret_being_rolled_still_verifies(web, fed):
    answer = deliver(
        web, stripe_event("checkout.session.completed", session_object()), secret=OLD_SECRET
    )

    assert answer.status_code == 200 and answer.get_json()["outcome"] == "in flight"


def _erp_posts(web, fed, reference, received_at="2026-03-15T10:00:00Z"):
    batch = {
        "source": fed["source"],
        "customers": [],
        "receivables": [
            {
                **fed["receivables"][0],
                "open_amount": "0.00",
                "updated_at": "2026-03-15T10:00:00Z",
            }
        ],
        "payments": [
            {
                "id": "PAY-CARD-1",
                "customer": "C-100",
                "amount": "12400.00",
                "currency": "EUR",
                "received_at": received_at,
                "reference": reference,
                "applied_to": [{"receivable": "INV-1001", "amount": "12400.00"}],
            }
        ],
    }
    body = json.dumps(batch).encode()
    answer = web.post("/api/v1/feeds/erp", data=body, headers=signed_headers(body))
    assert answer.status_code == 200, answer.get_data(as_text=True)


@pytest.mark.parametrize(
    "reference",
    ["pi_test_1", "Stripe payout PI_TEST_1 / March", None],
    ids=["by-reference", "named-in-remittance", "by-amount"],
)
def test_the_erp_posting_the_payment_afterwards_leaves_the_balance_unchanged(
    web, fed, factory, reference
):
    _paid(web)
    paid = credit(web)

    _erp_posts(web, fed, reference)

    posted = credit(web)
    assert Decimal(posted["balance_outstanding"]) == Decimal(paid["balance_outstanding"])
    assert posted["status"] == paid["status"]
    assert posted["in_flight_amount"] == "0.00"
    with factory() as s:
        card = s.scalars(select(Payment).where(Payment.source == "stripe")).one()
        assert card.status == "superseded"


def test_the_erp_posting_first_then_the_webhook_counts_the_money_once(web, fed):
    _erp_posts(web, fed, "pi_test_1")
    posted = credit(web)

    answer = _paid(web)

    assert answer.get_json()["outcome"] == "posted"
    assert credit(web)["balance_outstanding"] == posted["balance_outstanding"]
    assert credit(web)["in_flight_amount"] == "0.00"


def test_refunds_partial_then_full_take_the_money_back(web, fed):
    _paid(web)
    refund = stripe_event("charge.refunded", charge_object(refunded=400_000), event_id="evt_r1")

    assert deliver(web, refund).get_json()["outcome"] == "in flight"
    assert credit(web)["in_flight_amount"] == "8400.00"

    full = stripe_event("charge.refunded", charge_object(refunded=1_240_000), event_id="evt_r2")
    assert deliver(web, full).get_json()["outcome"] == "reversed"
    after = credit(web)
    assert after["in_flight_amount"] == "0.00" and after["status"] == "HOLD"


def test_a_refund_seen_before_the_payment_is_taken_off_when_it_arrives(web, fed):
    refund = stripe_event("charge.refunded", charge_object(refunded=400_000))
    assert deliver(web, refund).get_json()["outcome"] == "recorded"

    _paid(web)

    assert credit(web)["in_flight_amount"] == "8400.00"


def test_a_lost_dispute_reverses_the_payment_a_won_one_does_not(web, fed):
    _paid(web)
    dispute = {
        "id": "dp_1",
        "object": "dispute",
        "amount": 1_240_000,
        "charge": "ch_pi_test_1",
        "currency": "eur",
        "payment_intent": "pi_test_1",
        "status": "needs_response",
    }
    deliver(web, stripe_event("charge.dispute.created", dispute))
    assert credit(web)["in_flight_amount"] == "12400.00"

    closed = stripe_event("charge.dispute.closed", {**dispute, "status": "lost"})
    assert deliver(web, closed).get_json()["outcome"] == "reversed"
    assert credit(web)["status"] == "HOLD"


def test_a_delayed_payment_counts_only_once_it_succeeds(web, fed):
    waiting = session_object(payment_status="unpaid")
    assert (
        deliver(web, stripe_event("checkout.session.completed", waiting)).get_json()["outcome"]
        == "recorded"
    )
    assert credit(web)["status"] == "HOLD"

    cleared = stripe_event(
        "checkout.session.async_payment_succeeded", {**waiting, "payment_status": "paid"}
    )
    assert deliver(web, cleared).get_json()["outcome"] == "in flight"
    assert credit(web)["status"] in ("OK", "WATCH")


def test_a_delayed_payment_that_fails_never_counts(web, fed):
    waiting = session_object(payment_status="unpaid")
    deliver(web, stripe_event("checkout.session.completed", waiting))

    failed = stripe_event("checkout.session.async_payment_failed", waiting)

    assert deliver(web, failed).get_json()["outcome"] == "recorded"
    assert credit(web)["in_flight_amount"] == "0.00"


def test_a_payment_made_elsewhere_with_our_metadata_counts(web, fed):
    intent = {
        "id": "pi_elsewhere",
        "object": "payment_intent",
        "amount": 80_000,
        "amount_received": 80_000,
        "currency": "eur",
        "metadata": our_metadata(receivables="INV-1002"),
        "status": "succeeded",
    }

    assert (
        deliver(web, stripe_event("payment_intent.succeeded", intent)).get_json()["outcome"]
        == "in flight"
    )
    assert credit(web)["in_flight_amount"] == "800.00"


def _fixture_event(kind: str, name: str) -> dict:
    data = json.loads((STRIPE_FIXTURES / name).read_text())
    if "type" in data:
        return data
    return stripe_event(kind, data["object"], event_id=f"evt_old_{kind}")


@pytest.mark.parametrize(
    ("kind", "name", "outcome"),
    [
        ("checkout.session.completed", "captured/pay-rails-checkout.session.completed.json", "ignored"),
        ("charge.refunded", "captured/pay-rails-charge.refunded.json", "recorded"),
        ("invoice.payment_failed", "captured/pay-rails-invoice.payment_failed.json", "ignored"),
        ("checkout.session.completed", "events/checkout.session.completed.json", "recorded"),
        ("payment_intent.succeeded", "events/payment_intent.succeeded.json", "recorded"),
        ("charge.refunded", "events/charge.refunded.json", "recorded"),
        ("charge.dispute.created", "events/charge.dispute.created.json", "recorded"),
        ("invoice.paid", "events/invoice.paid.json", "ignored"),
    ],
)  # fmt: skip
def test_payloads_of_other_api_versions_and_payments_not_ours_are_understood(
    web, fed, factory, kind, name, outcome
):
    answer = deliver(web, _fixture_event(kind, name))

    assert answer.status_code == 200
    assert answer.get_json()["outcome"] == outcome
    with factory() as s:
        assert not s.scalars(select(Payment).where(Payment.source == "stripe")).all()
        assert s.scalars(select(InboxMessage.kind).where(InboxMessage.source == "stripe")).all()


def test_the_webhook_is_in_the_openapi_document_signed_by_stripe(web):
    spec = web.get("/openapi.json", headers={"Authorization": f"Bearer {TOKEN}"}).get_json()

    operation = spec["paths"]["/api/v1/webhooks/stripe"]["post"]
    assert operation["security"] == [{"stripeSignature": []}]
    assert {"200", "400"} <= set(operation["responses"])
