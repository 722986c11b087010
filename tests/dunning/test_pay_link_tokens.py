"""The pay links in reminders are signed without going through ``jwt.encode`` on each call (a
run signs one per customer); they must stay exactly the tokens PyJWT makes, so links already
sent, pushed to Salesforce or compared on the next push do not change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from service.paylinks import ALGORITHM, PayLinks, key_id

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
SECRETS = ["bench-pay-link-secret-0123456789abcdef", "another-secret-with-ümlaut-and-more-bytes"]


@pytest.mark.parametrize("secret", SECRETS)
@pytest.mark.parametrize(
    ("customer", "invoices"),
    [
        ("C-000001", ()),
        ("C-1", ("INV-1", "INV-2")),
        ('Kunde Ä/ß "quoted" \\ 100', ("I-ü", "")),
        ("C-" + "9" * 200, tuple(f"INV-{n}" for n in range(50))),
    ],
)
def test_a_token_is_byte_for_byte_the_one_pyjwt_signs(secret, customer, invoices):
    links = PayLinks([secret, "older-secret-0123456789-0123456789"], "https://pay.example")
    for now in (NOW, NOW + timedelta(days=45)):
        token = links.token(customer, invoices, now=now)
        claims: dict[str, object] = {
            "sub": customer,
            "exp": links.verify(token, now=now).expires_at,
        }
        claims["exp"] = int(claims["exp"].timestamp())  # type: ignore[union-attr]
        if invoices:
            claims["inv"] = list(invoices)
        expected = jwt.encode(claims, secret, algorithm=ALGORITHM, headers={"kid": key_id(secret)})
        assert token == expected
        assert links.verify(token, now=now).invoices == tuple(invoices)


def test_a_token_signed_with_the_first_secret_is_verified_after_rotation():
    old = PayLinks(["first-secret-0123456789-0123456789"], "https://pay.example")
    rotated = PayLinks(
        ["second-secret-0123456789-012345678", old.secrets[0]], "https://pay.example"
    )

    token = old.token("C-7", now=NOW)

    assert rotated.verify(token, now=NOW).customer == "C-7"
    assert rotated.token("C-7", now=NOW) != token
