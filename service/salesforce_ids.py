"""Salesforce record ids, compared exactly: every id is kept in its 18-character form.

A record id has a 15-character form, case-sensitive, and an 18-character form: the same 15
characters and a 3-character suffix that says, for each 5-character chunk, which of its
characters are upper case (bit ``i`` set when character ``i`` of the chunk is ``A``-``Z``; the
5-bit number indexes ``A``-``Z0``-``5``). Salesforce hands out both forms (the API the 18,
reports and URLs often the 15), so one record arrives under two spellings. Normalising both
to the 18-character form lets every comparison be plain equality. A prefix match is never
right: ``LIKE '001%'`` matches every Account of the org.

The suffix is compared without regard to case (Salesforce does so), and must agree with the
15 characters: an 18-character id whose suffix does not is corrupt, not another record.
"""

from __future__ import annotations

import re

_SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_ID = re.compile(r"[A-Za-z0-9]{15}(?:[A-Za-z0-5]{3})?")


def checksum(id15: str) -> str:
    """The 3-character suffix of a 15-character id."""
    suffix = ""
    for start in (0, 5, 10):
        bits = 0
        for i, char in enumerate(id15[start : start + 5]):
            if "A" <= char <= "Z":
                bits |= 1 << i
        suffix += _SUFFIX_ALPHABET[bits]
    return suffix


def to18(record_id: object) -> str:
    """The 18-character form of a 15- or 18-character id; ``ValueError`` when malformed."""
    if not isinstance(record_id, str) or not _ID.fullmatch(record_id):
        raise ValueError(f"not a 15- or 18-character Salesforce id: {record_id!r}")
    id15 = record_id[:15]
    full = id15 + checksum(id15)
    if len(record_id) == 18 and record_id[15:].upper() != full[15:]:
        raise ValueError(f"Salesforce id {record_id!r}: the suffix does not match its checksum")
    return full


def to18_or_none(record_id: object) -> str | None:
    """``to18`` for values that may be empty: None and "" stay None."""
    if record_id is None or record_id == "":
        return None
    return to18(record_id)
