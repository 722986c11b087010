"""Pay-link tokens: signed, expiring, naming a customer and invoices, with rotating keys."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from service.config import load_config
from service.errors import ConfigError
from service.paylinks import PayLinkRefused, PayLinks, Refusal, key_id

OLD = "old-secret-0123456789-0123456789"
NEW = "new-secret-9876543210-9876543210"
NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
BASE = "https://pay.example.com"


def _links(*secrets: str) -> PayLinks:
    return PayLinks(secrets, BASE, ttl_days=30)


def _reencode(token: str, change) -> str:
    """The token with its payload changed and the old signature kept (a tampering attempt)."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    change(claims)
    raw = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{raw}.{signature}"


def test_a_link_names_the_customer_and_invoices_and_opens_until_it_expires():
    links = _links(NEW)
    url = links.url("C-1", ["INV-1", "INV-2"], now=NOW)

    assert url.startswith(BASE + "/pay/")
    claims = links.verify(url.rsplit("/", 1)[1], now=NOW)
    assert (claims.customer, claims.invoices) == ("C-1", ("INV-1", "INV-2"))
    # Between one and two windows of 30 days.
    assert NOW + timedelta(days=30) <= claims.expires_at <= NOW + timedelta(days=60)
    assert jwt.get_unverified_header(url.rsplit("/", 1)[1])["kid"] == key_id(NEW)


def test_a_link_is_the_same_all_through_its_window_so_pushes_do_not_churn():
    links = _links(NEW)

    assert links.token("C-1", now=NOW) == links.token("C-1", now=NOW + timedelta(hours=5))
    assert links.token("C-1", now=NOW) != links.token("C-2", now=NOW)


def test_an_expired_link_is_refused_as_expired():
    links = _links(NEW)
    token = links.token("C-1", now=NOW)

    with pytest.raises(PayLinkRefused) as refused:
        links.verify(token, now=NOW + timedelta(days=61))

    assert refused.value.reason is Refusal.EXPIRED


@pytest.mark.parametrize(
    "change",
    [
        lambda c: c.update(inv=["INV-1", "INV-9"]),  # another invoice list
        lambda c: c.update(sub="C-2"),  # another customer
        lambda c: c.update(exp=c["exp"] + 86400 * 365),  # a longer life
        lambda c: c.pop("inv"),  # all invoices instead of some
    ],
    ids=["invoices", "customer", "expiry", "dropped-invoices"],
)
def test_a_modified_link_is_refused_as_tampered(change):
    links = _links(NEW)
    token = _reencode(links.token("C-1", ["INV-1"], now=NOW), change)

    with pytest.raises(PayLinkRefused) as refused:
        links.verify(token, now=NOW)

    assert refused.value.reason is Refusal.TAMPERED


@pytest.mark.parametrize(
    "token",
    [
        "",
        "not-a-token",
        "a.b.c",
        jwt.encode({"sub": "C-1", "exp": 4102444800}, "x" * 32, algorithm="HS256"),
        jwt.encode({"sub": "C-1", "exp": 4102444800}, None, algorithm="none"),
        jwt.encode(
            {"sub": "C-1", "exp": 4102444800},
            NEW,
            algorithm="HS512",
            headers={"kid": key_id(NEW)},
        ),
        jwt.encode({"sub": 7, "exp": 4102444800}, NEW, headers={"kid": key_id(NEW)}),
        jwt.encode({"sub": "C-1"}, NEW, headers={"kid": key_id(NEW)}),
    ],
    ids=["empty", "garbage", "three-parts", "no-kid", "alg-none", "hs512", "sub-int", "no-exp"],
)
def test_anything_but_our_own_signed_link_is_tampered(token):
    with pytest.raises(PayLinkRefused) as refused:
        _links(NEW).verify(token, now=NOW)

    assert refused.value.reason is Refusal.TAMPERED


def test_keys_rotate_the_new_key_signs_and_the_old_still_verifies_until_removed():
    before = _links(OLD).token("C-1", now=NOW)

    during = _links(NEW, OLD)
    assert during.verify(before, now=NOW).customer == "C-1"
    assert jwt.get_unverified_header(during.token("C-1", now=NOW))["kid"] == key_id(NEW)

    with pytest.raises(PayLinkRefused) as refused:
        _links(NEW).verify(before, now=NOW)
    assert refused.value.reason is Refusal.TAMPERED


GOOD = {
    "FEED_SIGNING_SECRET": "s" * 32,
    "SERVICE_API_TOKENS": "a" * 20,
    "DATABASE_URL": "sqlite://",
}


def test_settings_read_several_secrets_and_the_base_url():
    config = load_config(
        {**GOOD, "PAY_LINK_SECRET": f"{NEW}, {OLD}", "PUBLIC_BASE_URL": BASE + "/"},
    )

    assert config.pay_links.secrets == (NEW, OLD)
    assert config.pay_links.url("C-1").startswith(BASE + "/pay/")
    assert NEW not in repr(config)
    assert load_config(GOOD).pay_links is None


@pytest.mark.parametrize(
    ("env", "line"),
    [
        ({"PAY_LINK_SECRET": "s" * 31, "PUBLIC_BASE_URL": BASE}, "PAY_LINK_SECRET"),
        ({"PAY_LINK_SECRET": NEW}, "PUBLIC_BASE_URL is not set"),
        ({"PAY_LINK_SECRET": NEW, "PUBLIC_BASE_URL": "http://pay.example.com"}, "PUBLIC_BASE_URL"),
        ({"PAY_LINK_TTL_DAYS": "0"}, "PAY_LINK_TTL_DAYS"),
    ],
)
def test_a_bad_pay_link_setting_stops_start_up_with_one_line(env, line):
    with pytest.raises(ConfigError) as error:
        load_config({**GOOD, **env})

    assert line in str(error.value)
    assert "\n" not in str(error.value)
