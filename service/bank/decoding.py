"""Bytes to text: UTF-8 (with or without BOM), else CP1252, else Latin-1.

Banks write statements in UTF-8, ISO-8859-1 or Windows-1252, and rarely say which. Valid UTF-8
is almost never accidental in a Latin-1 file, so UTF-8 is tried first. CP1252 is a superset of
Latin-1's printable range (it adds the euro sign and typographic quotes where Latin-1 has control
codes), so it comes next; Latin-1 decodes every byte and catches the five bytes CP1252 leaves
undefined. An XML declaration naming another encoding is honoured first when Python knows it.
"""

from __future__ import annotations

import codecs
import re

_XML_ENCODING = re.compile(rb"^\s*<\?xml[^>]*encoding=[\"']([A-Za-z0-9._-]{1,40})[\"']")


def decode(data: bytes) -> tuple[str, str]:
    """``(text, encoding used)``; never fails."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    declared = _declared_encoding(data)
    for encoding in ([declared] if declared else []) + ["utf-8", "cp1252", "latin-1"]:
        try:
            return data.decode(encoding), encoding
        except (UnicodeDecodeError, LookupError):
            continue
    raise AssertionError("latin-1 decodes every byte")  # pragma: no cover


def _declared_encoding(data: bytes) -> str | None:
    match = _XML_ENCODING.match(data[:200])
    if not match:
        return None
    name = match.group(1).decode("ascii").lower()
    try:
        codecs.lookup(name)
    except LookupError:
        return None
    # A UTF-16/32 declaration in a file that decoded as ASCII so far cannot be right.
    return None if name.startswith(("utf-16", "utf-32", "utf_16", "utf_32")) else name
