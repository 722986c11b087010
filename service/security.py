"""Who may call: bearer tokens for people and systems, HMAC signatures for feeds.

Both comparisons are constant-time (``hmac.compare_digest``) and a bearer token is compared with
every configured token, so the time taken says nothing about which token, or how much of one,
was right. Feed signatures bind a timestamp to the raw body (``"<t>.<body>"``): a captured
request cannot be replayed after the tolerance window, and a changed byte breaks it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Iterable

from service.errors import Unauthorized

SIGNATURE_HEADER = "X-Signature"

# What a well-formed header can hold. A header is attacker-controlled text of any length and
# any Unicode (``str.isdigit`` is true for "²" and int() then fails; a 400-digit ``t`` parses
# but overflows the float clock arithmetic), so only ASCII digits and hex are taken, and only
# as many as a real signature needs: a unix time has 10 digits until the year 2286.
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_DIGEST = re.compile(r"[0-9a-fA-F]{1,128}")
_MAX_CANDIDATES = 8  # v1 values per header (secret rotation needs two)
_MALFORMED = "The X-Signature header is malformed; expected t=<unix>,v1=<hex>."


def bearer_token_ok(authorization: str | None, tokens: Iterable[str]) -> bool:
    """True when ``Authorization: Bearer <token>`` names one of ``tokens``."""
    if not authorization:
        return False
    scheme, _, presented = authorization.partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        return False
    try:
        presented_bytes = presented.strip().encode()
    except UnicodeEncodeError:  # a lone surrogate: no configured token can be that
        return False
    ok = False
    for token in tokens:
        # No early exit: every token is compared whatever the outcome.
        ok |= hmac.compare_digest(presented_bytes, token.encode())
    return ok


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The ``X-Signature`` value for ``body``; what an ERP connector (and our tests) send."""
    t = int(time.time()) if timestamp is None else int(timestamp)
    return f"t={t},v1={_digest(secret, t, body)}"


def parse_signature(header: str | None) -> tuple[int, list[str]]:
    """Split ``t=<unix>,v1=<hex>[,v1=<hex>]`` (several v1 values allow secret rotation).

    Anything else, whatever its characters or length, is ``Unauthorized``: a ``t`` of other than
    1-12 ASCII digits, a ``v1`` that is not ASCII hex, more than a handful of ``v1`` values.
    """
    if not header:
        raise Unauthorized("The X-Signature header is missing.")
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        value = value.strip()
        if key == "t":
            if not _TIMESTAMP.fullmatch(value):
                raise Unauthorized(_MALFORMED)
            timestamp = int(value)
        elif key == "v1":
            if not _DIGEST.fullmatch(value) or len(candidates) == _MAX_CANDIDATES:
                raise Unauthorized(_MALFORMED)
            candidates.append(value.lower())
    if timestamp is None or not candidates:
        raise Unauthorized(_MALFORMED)
    return timestamp, candidates


def check_fresh(timestamp: int, tolerance_seconds: int, now: float | None = None) -> None:
    """Refuse signatures older (or further in the future) than the window."""
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance_seconds:
        raise Unauthorized("The signature has expired; sign each request when it is sent.")


def check_body(secret: str, timestamp: int, candidates: list[str], body: bytes) -> None:
    expected = _digest(secret, timestamp, body).encode()
    ok = False
    for candidate in candidates:
        ok |= hmac.compare_digest(expected, candidate.encode())
    if not ok:
        raise Unauthorized("The signature does not match the body.")


def verify_signature(
    secret: str, header: str | None, body: bytes, tolerance_seconds: int, now: float | None = None
) -> None:
    """Raise ``Unauthorized`` unless ``header`` is a fresh signature of ``body``."""
    timestamp, candidates = parse_signature(header)
    check_fresh(timestamp, tolerance_seconds, now)
    check_body(secret, timestamp, candidates, body)


def _digest(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode(), hashlib.sha256)
    mac.update(body)
    return mac.hexdigest()
