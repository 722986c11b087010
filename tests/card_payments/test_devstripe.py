"""The local Stripe as the real ``stripe`` library sees it over HTTP: Stripe's shapes, errors and
idempotency, and webhooks that ``stripe.Webhook.construct_event`` verifies."""

from __future__ import annotations

import threading

import pytest
import stripe
from devstripe.server import DevStripe
from flask import Flask, request
from werkzeug.serving import make_server

SECRET = "whsec_devstripe_0123456789abcdef"


@pytest.fixture
def receiver():
    """A webhook endpoint that verifies like production and keeps the events it accepted."""
    got: list[stripe.Event] = []
    app = Flask("receiver")

    @app.post("/hook")
    def hook():
        try:
            got.append(
                stripe.Webhook.construct_event(
                    request.get_data(), request.headers.get("Stripe-Signature"), SECRET
                )
            )
        except stripe.SignatureVerificationError:
            return "", 400
        return "", 200

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/hook", got
    server.shutdown()


@pytest.fixture
def local_stripe(receiver):
    url, _ = receiver
    with DevStripe(url, SECRET) as running:
        yield running


@pytest.fixture
def api(local_stripe):
    return stripe.StripeClient(
        "sk_test_local", base_addresses={"api": local_stripe.base_url}, max_network_retries=0
    )


def _params(amount=12_345, **extra):
    return {
        "mode": "payment",
        "success_url": "https://pay.example.com/ok?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": "https://pay.example.com/no",
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": "eur",
                    "unit_amount": amount,
                    "product_data": {"name": "Invoice INV-1"},
                },
            }
        ],
        "metadata": {"credit_control_customer": "C-1"},
        "payment_intent_data": {"metadata": {"credit_control_customer": "C-1", "k": "v"}},
        **extra,
    }


def test_a_session_is_created_and_read_back_in_stripes_shape(api, local_stripe):
    created = api.v1.checkout.sessions.create(params=_params())

    read = api.v1.checkout.sessions.retrieve(created.id)
    assert read.id.startswith("cs_test_") and read.object == "checkout.session"
    assert (read.amount_total, read.currency, read.status, read.payment_status) == (
        12_345,
        "eur",
        "open",
        "unpaid",
    )
    assert read.metadata["credit_control_customer"] == "C-1"
    assert read.url.startswith(local_stripe.base_url) and read.payment_intent is None


def test_an_idempotency_key_gives_the_first_answer_and_refuses_other_parameters(api):
    first = api.v1.checkout.sessions.create(params=_params(), options={"idempotency_key": "a1"})
    again = api.v1.checkout.sessions.create(params=_params(), options={"idempotency_key": "a1"})
    assert again.id == first.id

    with pytest.raises(stripe.IdempotencyError):
        api.v1.checkout.sessions.create(params=_params(999), options={"idempotency_key": "a1"})


def test_errors_come_back_as_the_library_s_exceptions(api, local_stripe):
    with pytest.raises(stripe.InvalidRequestError) as missing:
        api.v1.payment_intents.retrieve("pi_missing")
    assert missing.value.http_status == 404 and missing.value.code == "resource_missing"

    wrong_key = stripe.StripeClient(
        "not-a-key", base_addresses={"api": local_stripe.base_url}, max_network_retries=0
    )
    with pytest.raises(stripe.AuthenticationError):
        wrong_key.v1.checkout.sessions.retrieve("cs_test_x")


def test_paying_completes_the_session_and_sends_verified_webhooks(api, local_stripe, receiver):
    _, got = receiver
    session = api.v1.checkout.sessions.create(params=_params())

    local_stripe.ledger.pay(session.id)

    paid = api.v1.checkout.sessions.retrieve(session.id)
    intent = api.v1.payment_intents.retrieve(paid.payment_intent)
    assert (paid.status, paid.payment_status) == ("complete", "paid")
    assert (intent.status, intent.amount_received) == ("succeeded", 12_345)
    assert intent.metadata["k"] == "v"  # payment_intent_data.metadata, as Stripe copies it
    assert [e.type for e in got] == ["checkout.session.completed", "payment_intent.succeeded"]
    assert got[0].data.object.payment_intent == intent.id


def test_refunds_partial_then_too_much(api, local_stripe, receiver):
    _, got = receiver
    session = api.v1.checkout.sessions.create(params=_params())
    local_stripe.ledger.pay(session.id)
    intent = api.v1.checkout.sessions.retrieve(session.id).payment_intent

    refund = api.v1.refunds.create(params={"payment_intent": intent, "amount": 345})

    assert (refund.object, refund.amount, refund.status) == ("refund", 345, "succeeded")
    refunded = [e for e in got if e.type == "charge.refunded"]
    assert refunded[-1].data.object.amount_refunded == 345
    with pytest.raises(stripe.InvalidRequestError):
        api.v1.refunds.create(params={"payment_intent": intent, "amount": 20_000})


def test_a_delayed_method_settles_later_and_a_dispute_can_be_lost(api, local_stripe, receiver):
    _, got = receiver
    session = api.v1.checkout.sessions.create(params=_params())

    local_stripe.ledger.pay(session.id, delayed=True)
    assert api.v1.checkout.sessions.retrieve(session.id).payment_status == "unpaid"
    local_stripe.ledger.settle(session.id, succeeded=True)
    charge = api.v1.payment_intents.retrieve(
        api.v1.checkout.sessions.retrieve(session.id).payment_intent
    ).latest_charge
    dispute = local_stripe.ledger.dispute(charge)
    local_stripe.ledger.close_dispute(dispute["id"], "lost")

    assert [e.type for e in got] == [
        "checkout.session.completed",
        "payment_intent.succeeded",
        "checkout.session.async_payment_succeeded",
        "charge.dispute.created",
        "charge.dispute.closed",
    ]
    assert got[-1].data.object.status == "lost"
    assert all(d.status == 200 for d in local_stripe.ledger.deliveries)
