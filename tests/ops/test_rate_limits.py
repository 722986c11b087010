"""Rate limits on the public endpoints: signed feeds, the Stripe webhook, the pay page.

Attacked as a flood would: forged and well-signed bodies alike are refused with 429 and
Retry-After once a client's budget is spent, nothing of a refused request is stored, other
clients and the token-protected API are untouched, a forged X-Forwarded-For does not buy a new
budget, and a Redis store shares the count between processes (or, unreachable, lets requests
through rather than failing them).
"""

from __future__ import annotations

import json
import socket
import uuid

import pytest

from service.app import EXTENSION, create_app
from service.config import load_config
from service.errors import ConfigError
from tests.conftest import TOKEN, app_overrides, load_fixture, signed_headers, snapshot

AUTH = {"Authorization": f"Bearer {TOKEN}"}
FEED = "/api/v1/feeds/erp"
WEBHOOK = "/api/v1/webhooks/stripe"


def _app(db_url, **settings):
    return create_app(app_overrides(db_url, **settings))


def _feed(client, *, signed=True, address="203.0.113.7", headers=None):
    body = json.dumps(load_fixture("erp", "batch_small.json")).encode()
    all_headers = signed_headers(body) if signed else {"Content-Type": "application/json"}
    all_headers.update(headers or {})
    return client.post(FEED, data=body, headers=all_headers, environ_base={"REMOTE_ADDR": address})


def _assert_limited(response, *, within: int = 60):
    assert response.status_code == 429
    retry_after = int(response.headers["Retry-After"])
    assert 1 <= retry_after <= within


def test_feeds__a_flood_is_refused_with_429_and_retry_after_and_nothing_is_stored(db_url):
    app = _app(db_url, RATE_LIMIT_FEEDS="3 per minute")
    client = app.test_client()
    engine = app.extensions[EXTENSION].engine

    forged = [_feed(client, signed=False).status_code for _ in range(3)]
    before = snapshot(engine)
    refused = _feed(client)  # well signed, but over the budget all the same

    assert all(400 <= status < 500 and status != 429 for status in forged)
    _assert_limited(refused)
    assert refused.json["errors"][0]["code"] == "rate_limited"
    assert snapshot(engine) == before
    # Another client has its own budget; the token-protected API and /healthz have none.
    assert _feed(client, address="198.51.100.9").status_code == 200
    assert client.get("/healthz", environ_base={"REMOTE_ADDR": "203.0.113.7"}).status_code == 200
    assert client.get("/readyz", headers=AUTH).status_code in (200, 503)


def test_feeds__a_forged_forwarded_for_buys_no_new_budget_unless_a_proxy_is_trusted(db_url):
    direct = _app(db_url, RATE_LIMIT_FEEDS="2 per minute").test_client()
    for n in range(2):
        _feed(direct, signed=False, headers={"X-Forwarded-For": f"192.0.2.{n}"})
    spoofed = _feed(direct, signed=False, headers={"X-Forwarded-For": "192.0.2.99"})
    _assert_limited(spoofed)

    # Behind one trusted proxy (Heroku's router), the address it appends is the client's.
    proxied = _app(db_url, RATE_LIMIT_FEEDS="2 per minute", TRUSTED_PROXY_HOPS="1").test_client()
    statuses = [
        _feed(proxied, signed=False, headers={"X-Forwarded-For": f"192.0.2.{n}"}).status_code
        for n in range(5)
    ]
    assert 429 not in statuses
    for _ in range(2):
        _feed(proxied, signed=False, headers={"X-Forwarded-For": "192.0.2.50"})
    _assert_limited(_feed(proxied, signed=False, headers={"X-Forwarded-For": "192.0.2.50"}))


def test_stripe_webhook__limited_per_client(db_url):
    client = _app(db_url, RATE_LIMIT_WEBHOOKS="2/minute").test_client()
    body = b'{"id": "evt_1", "type": "checkout.session.completed"}'

    statuses = [
        client.post(WEBHOOK, data=body, headers={"Stripe-Signature": "t=1,v1=00"}).status_code
        for _ in range(3)
    ]

    assert statuses[:2] == [400, 400]
    assert statuses[2] == 429


def test_pay_page__guessing_links_is_refused_in_plain_words_with_retry_after(db_url):
    client = _app(db_url, RATE_LIMIT_PAY_PAGE="5 per minute").test_client()

    answers = [client.get(f"/pay/{uuid.uuid4().hex}") for _ in range(6)]

    assert all(a.status_code != 429 for a in answers[:5])
    refused = answers[5]
    _assert_limited(refused)
    assert refused.mimetype == "text/plain"
    assert "try again" in refused.get_data(as_text=True)


def _redis_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


def test_redis_storage__two_processes_share_one_budget(db_url):
    pytest.importorskip("redis", reason="the redis extra is not installed")
    if not _redis_answers():
        pytest.skip("no Redis at 127.0.0.1:6379 (apt-get install redis-server)")
    # A database of its own and a fresh key per run: runs never share counts.
    url = f"redis://127.0.0.1:6379/{uuid.uuid4().int % 15 + 1}"
    settings = {"RATE_LIMIT_FEEDS": "3 per minute", "RATE_LIMIT_STORAGE_URL": url}
    one = _app(db_url, **settings).test_client()
    two = _app(db_url, **settings).test_client()
    address = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.1"

    statuses = [_feed(c, signed=False, address=address).status_code for c in (one, two, one, two)]

    assert 429 not in statuses[:3]
    assert statuses[3] == 429


def test_storage_unreachable__requests_pass_rather_than_fail(db_url):
    pytest.importorskip("redis", reason="the redis extra is not installed")
    client = _app(
        db_url, RATE_LIMIT_FEEDS="1 per minute", RATE_LIMIT_STORAGE_URL="redis://127.0.0.1:1"
    ).test_client()

    statuses = [_feed(client).status_code for _ in range(3)]

    assert statuses == [200, 200, 200]


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("RATE_LIMIT_FEEDS", "lots"),
        ("RATE_LIMIT_PAY_PAGE", "5 per fortnight"),
        ("RATE_LIMIT_STORAGE_URL", "memcached://127.0.0.1"),
        ("TRUSTED_PROXY_HOPS", "-1"),
    ],
)
def test_bad_settings__one_line_naming_the_variable(variable, value):
    with pytest.raises(ConfigError) as refused:
        load_config({"DATABASE_URL": "sqlite://", variable: value}, require=())

    assert str(refused.value).startswith(f"{variable} is malformed")
    assert "\n" not in str(refused.value)
