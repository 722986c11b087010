"""Salesforce record ids: 15-character case-sensitive ids and their 18-character case-safe form.

The 3-character suffix encodes, for each 5-character chunk, which characters are upper case, so
clients that compare ids case-insensitively still tell them apart. devorg issues 18-character
ids and accepts either form.
"""

from __future__ import annotations

import functools
import re
import threading

_SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_ID_RE = re.compile(r"^[a-zA-Z0-9]{15}(?:[A-Z0-5]{3})?$")

# "Pod" characters after the key prefix; real orgs carry an instance marker here.
POD = "Dv"


def checksum(id15: str) -> str:
    """The 3-character case-safe suffix of a 15-character id."""
    suffix = ""
    for chunk in range(3):
        bits = 0
        for i, ch in enumerate(id15[chunk * 5 : chunk * 5 + 5]):
            if "A" <= ch <= "Z":
                bits |= 1 << i
        suffix += _SUFFIX_ALPHABET[bits]
    return suffix


def to18(record_id: str) -> str:
    """Normalise a 15- or 18-character id to 18 characters. Raises ValueError if malformed."""
    return _to18(record_id)


@functools.lru_cache(maxsize=16384)
def _to18(record_id: str) -> str:
    # Cached: every write and read by id normalises it, mostly the same ids again and again.
    # Errors are not cached (``lru_cache`` keeps results only); unhashable ids raise TypeError.
    if not _ID_RE.match(record_id or ""):
        raise ValueError(record_id)
    id15 = record_id[:15]
    full = id15 + checksum(id15)
    if len(record_id) == 18 and record_id[15:] != full[15:]:
        raise ValueError(record_id)
    return full


def is_valid(record_id: str) -> bool:
    try:
        to18(record_id)
    except (ValueError, TypeError):
        return False
    return True


def normalize(record_id: str) -> str | None:
    """18-character form of ``record_id`` or None when it is not a well-formed id."""
    try:
        return to18(record_id)
    except (ValueError, TypeError):
        return None


def prefix_of(record_id: str) -> str:
    return record_id[:3]


def _base62(n: int, width: int) -> str:
    out = ""
    while n:
        n, r = divmod(n, 62)
        out = _BASE62[r] + out
    return out.rjust(width, "0")


class IdFactory:
    """Issues unique ids. The counter is shared by all objects and persisted by the store."""

    def __init__(self, start: int = 0) -> None:
        self._n = start
        self._lock = threading.Lock()

    @property
    def counter(self) -> int:
        return self._n

    def advance_to(self, n: int) -> None:
        with self._lock:
            self._n = max(self._n, n)

    def new(self, key_prefix: str) -> str:
        with self._lock:
            self._n += 1
            n = self._n
        id15 = key_prefix + POD + "0" + _base62(n, 9)
        return id15 + checksum(id15)
