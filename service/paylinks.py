"""Signed pay links: ``<PUBLIC_BASE_URL>/pay/<token>``, the customer's way onto the pay page.

A token is a JWT (HS256, PyJWT) that names the customer (``sub``, the ERP customer number) and,
optionally, invoices (``inv``, receivable ids as the ERP sent them), with an expiry (``exp``) and
a key id in its header (``kid``). Nobody logs in: whoever holds the link sees that customer's pay
page, so the token carries no amount (amounts are read at click time) and nothing it names can
be changed without breaking the signature.

Keys rotate: ``PAY_LINK_SECRET`` lists several secrets, the first signs new links and every one
verifies; a key's id is derived from the secret, so an admin only ever lists secrets.

Links are the same all through an expiry window (``exp`` is the end of the next window of
``PAY_LINK_TTL_DAYS``, so a link lives between one and two windows and no ``iat`` or nonce is
signed): pushing Accounts and Receivable__c mirrors compares fields with what was last pushed,
and a link that changed at every push would rewrite every record each time.

Tokens are signed with a key prepared once per secret (``_Signer``) rather than through
``jwt.encode``, which prepares the key and rebuilds the header on every call: a dunning run signs
one link per customer. The header is PyJWT's own, taken from a token it signed, and the claims
are serialised as PyJWT serialises them, so the tokens are byte for byte what ``jwt.encode``
gives (a test compares them); verifying stays with PyJWT.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import Enum

import jwt

ALGORITHM = "HS256"
DEFAULT_TTL_DAYS = 30
PATH = "/pay/"
LINK_ID_LENGTH = 16


class Refusal(Enum):
    """Why a token opens no pay page; each has its own page."""

    TAMPERED = "tampered"
    EXPIRED = "expired"


class PayLinkRefused(Exception):
    """A token that is not a valid, current pay link."""

    def __init__(self, reason: Refusal) -> None:
        super().__init__(reason.value)
        self.reason = reason


@dataclass(frozen=True)
class PayLinkClaims:
    """What a valid token names."""

    customer: str
    invoices: tuple[str, ...]
    expires_at: datetime
    link_id: str


def key_id(secret: str) -> str:
    """A key's public id: a short digest of the secret (a lookup key, not a secret itself)."""
    return hashlib.sha256(b"pay-link-kid:" + secret.encode()).hexdigest()[:12]


def link_id(token: str) -> str:
    """A short, stable id for one link (for logs and, later, a payment's metadata)."""
    return hashlib.sha256(token.encode()).hexdigest()[:LINK_ID_LENGTH]


class _Signer:
    """HS256 signing with one secret: PyJWT's header and an HMAC key prepared once."""

    def __init__(self, secret: str) -> None:
        # PyJWT signs a probe: its checks on the key run, and its header (``alg``, ``kid``,
        # ``typ``, sorted) is the one every token of this secret carries.
        probe = jwt.encode({}, secret, algorithm=ALGORITHM, headers={"kid": key_id(secret)})
        self._header = probe.split(".", 1)[0].encode("ascii") + b"."
        self._mac = hmac.new(secret.encode("utf-8"), digestmod=hashlib.sha256)

    def sign(self, claims: dict[str, object]) -> str:
        payload = json.dumps(claims, separators=(",", ":")).encode("utf-8")
        signing_input = self._header + _base64url(payload)
        mac = self._mac.copy()
        mac.update(signing_input)
        return (signing_input + b"." + _base64url(mac.digest())).decode("ascii")


def _base64url(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


@functools.lru_cache(maxsize=16)
def _signer(secret: str) -> _Signer:
    return _Signer(secret)


@dataclass(frozen=True)
class PayLinks:
    """Issues and verifies pay links with the configured secrets and base URL."""

    secrets: Sequence[str] = field(repr=False)
    base_url: str
    ttl_days: int = DEFAULT_TTL_DAYS

    def __post_init__(self) -> None:
        if not self.secrets:
            raise ValueError("a pay link needs at least one secret")

    def _expiry(self, now: datetime) -> datetime:
        window = timedelta(days=self.ttl_days)
        epoch = datetime(1970, 1, 1, tzinfo=UTC)
        windows = (now - epoch) // window
        return epoch + window * (windows + 2)

    def token(
        self, customer: str, invoices: Sequence[str] = (), *, now: datetime | None = None
    ) -> str:
        """A signed token for ``customer`` (and these invoices), valid one to two windows."""
        now = now or datetime.now(UTC)
        claims: dict[str, object] = {
            "sub": customer,
            "exp": int(self._expiry(now).timestamp()),
        }
        if invoices:
            claims["inv"] = list(invoices)
        return _signer(self.secrets[0]).sign(claims)

    def url(self, customer: str, invoices: Sequence[str] = (), *, now: datetime | None = None):
        return self.base_url.rstrip("/") + PATH + self.token(customer, invoices, now=now)

    def verify(self, token: str, *, now: datetime | None = None) -> PayLinkClaims:
        """The claims of a valid token; ``PayLinkRefused`` (tampered or expired) otherwise."""
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.InvalidTokenError:
            raise PayLinkRefused(Refusal.TAMPERED) from None
        secret = next((s for s in self.secrets if key_id(s) == kid), None)
        if secret is None:  # never ours, or signed with a key since retired
            raise PayLinkRefused(Refusal.TAMPERED)
        now = now or datetime.now(UTC)
        try:
            claims = jwt.decode(
                token,
                secret,
                algorithms=[ALGORITHM],
                options={"require": ["exp", "sub"], "verify_exp": False},
            )
        except jwt.InvalidTokenError:
            raise PayLinkRefused(Refusal.TAMPERED) from None
        invoices = claims.get("inv", [])
        if not isinstance(claims["sub"], str) or not (
            isinstance(invoices, list) and all(isinstance(i, str) for i in invoices)
        ):
            raise PayLinkRefused(Refusal.TAMPERED)
        if not isinstance(claims["exp"], int):
            raise PayLinkRefused(Refusal.TAMPERED)
        expires_at = datetime.fromtimestamp(claims["exp"], UTC)
        # Checked here rather than by PyJWT, so the page can say "expired" only for a genuine link.
        if expires_at <= now:
            raise PayLinkRefused(Refusal.EXPIRED)
        return PayLinkClaims(claims["sub"], tuple(invoices), expires_at, link_id(token))
