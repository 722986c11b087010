"""Paying from the pay page through the local Stripe over real HTTP, with the real library: the
session carries the amount open now and our metadata, a repeated press is one session, and a
customer who pays on Stripe's page is back with the hold lifted."""

from __future__ import annotations

import json
import threading
from contextlib import contextmanager
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
import requests
import stripe
from devstripe.server import DevStripe
from werkzeug.serving import make_server

from service.app import EXTENSION, create_app
from tests.card_payments.conftest import (
    BASE_URL,
    PAY_SECRET,
    WEBHOOK_PATH,
    WEBHOOK_SECRET,
    credit,
)
from tests.conftest import NOW, app_overrides, load_fixture, signed_headers


@contextmanager
def serving(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


@pytest.fixture
def local_stripe():
    with DevStripe() as running:
        yield running


def _app(db_url, local_stripe, **extra):
    return create_app(
        app_overrides(
            db_url,
            STRIPE_API_KEY="sk_test_local_0123456789",
            STRIPE_API_BASE=local_stripe.base_url,
            STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
            PAY_LINK_SECRET=PAY_SECRET,
            PUBLIC_BASE_URL=BASE_URL,
            **extra,
        )
    )


@pytest.fixture
def shop(db_url, local_stripe):
    app = _app(db_url, local_stripe)
    web = app.test_client()
    batch = load_fixture("erp", "batch_small.json")
    body = json.dumps(batch).encode()
    assert web.post("/api/v1/feeds/erp", data=body, headers=signed_headers(body)).status_code == 200
    yield app, web, batch
    app.extensions[EXTENSION].engine.dispose()


def _pay_path(app, customer="C-100", at=NOW) -> str:
    url = app.extensions[EXTENSION].config.pay_links.url(customer, now=at)
    return url[len(BASE_URL) :]


def _session(local_stripe, location: str):
    api = stripe.StripeClient(
        "sk_test_x", base_addresses={"api": local_stripe.base_url}, max_network_retries=0
    )
    return api, api.v1.checkout.sessions.retrieve(location.rsplit("/", 1)[1])


def test_pay_redirects_to_a_session_for_the_amount_open_now_with_our_metadata(shop, local_stripe):
    app, web, batch = shop
    path = _pay_path(app)
    # The ERP lowers the open amount after the link was sent: the session charges what is open.
    batch["receivables"][0].update(open_amount="10000.00", updated_at="2026-03-10T08:00:00Z")
    body = json.dumps({**batch, "customers": [], "payments": []}).encode()
    web.post("/api/v1/feeds/erp", data=body, headers=signed_headers(body))

    answer = web.post(
        path + "/checkout", data={"invoice": ["INV-1001", "INV-1002"], "attempt": "a"}
    )

    assert answer.status_code == 303
    assert answer.location.startswith(local_stripe.base_url + "/c/pay/cs_test_")
    _, session = _session(local_stripe, answer.location)
    assert (session.amount_total, session.currency, session.mode) == (1_080_000, "eur", "payment")
    assert session.metadata["credit_control_customer"] == "C-100"
    assert session.metadata["credit_control_receivables"] == "INV-1001,INV-1002"
    assert session.metadata["credit_control_pay_link"]
    token = path.split("/")[2]
    assert session.success_url.startswith(f"{BASE_URL}/pay/{token}/paid")
    assert session.cancel_url == f"{BASE_URL}/pay/{token}/cancelled"


def test_pressing_pay_twice_is_one_session_and_another_choice_a_new_one(shop, local_stripe):
    app, web, _ = shop
    path = _pay_path(app) + "/checkout"

    first = web.post(path, data={"invoice": ["INV-1001"], "attempt": "same"})
    second = web.post(path, data={"invoice": ["INV-1001"], "attempt": "same"})
    other = web.post(path, data={"invoice": ["INV-1002"], "attempt": "same"})

    assert first.location == second.location
    assert other.location != first.location


def test_a_cancelled_payment_shows_the_page_again_with_a_notice(shop):
    app, web, _ = shop

    answer = web.get(_pay_path(app) + "/cancelled")

    assert answer.status_code == 200
    assert "Payment cancelled. Nothing was charged." in answer.get_data(as_text=True)


def test_stripe_unreachable_is_a_clear_page_not_an_error(db_url, local_stripe):
    app = _app(db_url, local_stripe)
    web = app.test_client()
    body = json.dumps(load_fixture("erp", "batch_small.json")).encode()
    web.post("/api/v1/feeds/erp", data=body, headers=signed_headers(body))
    local_stripe.stop()

    answer = web.post(_pay_path(app) + "/checkout", data={"invoice": ["INV-1001"]})

    assert answer.status_code == 502
    assert 'role="alert"' in answer.get_data(as_text=True)
    app.extensions[EXTENSION].engine.dispose()


def test_a_customer_pays_on_stripe_s_page_and_comes_back_with_the_hold_lifted(db_url, local_stripe):
    now = datetime.now(UTC)
    app = _app(db_url, local_stripe, CLOCK=lambda: datetime.now(UTC))
    web = app.test_client()
    body = json.dumps(load_fixture("erp", "batch_small.json")).encode()
    assert (
        web.post("/api/v1/feeds/erp", data=body, headers=signed_headers(body, at=now)).status_code
        == 200
    )
    assert credit(web)["status"] == "HOLD"
    with serving(app) as base:
        local_stripe.configure_webhooks(base + WEBHOOK_PATH, WEBHOOK_SECRET)
        pay = web.post(_pay_path(app, at=now) + "/checkout", data={"all": "1"})
        hosted = requests.get(pay.location, timeout=10)
        assert hosted.status_code == 200 and "4242" in hosted.text

        paid = requests.post(
            pay.location, data={"card": "4242 4242 4242 4242"}, allow_redirects=False, timeout=10
        )

    assert paid.status_code == 303
    assert urlsplit(paid.headers["Location"]).path.endswith("/paid")
    assert [d.status for d in local_stripe.ledger.deliveries] == [200, 200]
    after = credit(web)
    assert after["status"] in ("OK", "WATCH")
    assert after["in_flight_amount"] == "13200.00"
    back = web.get(urlsplit(paid.headers["Location"]).path)
    assert back.status_code == 200 and 'id="paid"' in back.get_data(as_text=True)
    assert web.get("/pay/not-a-link/paid").status_code == 403
    app.extensions[EXTENSION].engine.dispose()
