"""One entry to the parsers: bytes in, the format detected, a ``ParsedFile`` or ``NotAStatement``.

Detection looks at the first characters only: ``<`` is XML (camt), ``01,`` is BAI2, a SWIFT
block or ``:20:`` with ``:25:`` and a balance or ``:61:`` line is MT940/MT942. Anything else, or
a parser that finds no statement in what it was given, is ``NotAStatement`` with one line saying
what the file is not; no parser's exception escapes as anything else.
"""

from __future__ import annotations

from service.bank import bai2, camt, mt940
from service.bank.decoding import decode
from service.bank.statement import BadTransaction, NotAStatement, ParsedFile

EXPECTED = "expected a camt.052/053/054 XML file, an MT940/MT942 file or a BAI2 file"


def read_statement(data: bytes) -> ParsedFile:
    """Parse a statement file of any supported format."""
    if not data.strip():
        raise NotAStatement(f"the file is empty; {EXPECTED}")
    if b"\x00" in data[:4096]:
        raise NotAStatement(f"the file is binary (it holds NUL bytes); {EXPECTED}")
    text, encoding = decode(data)
    try:
        if camt.looks_like_camt(text):
            parsed = camt.parse(text)
        elif bai2.looks_like_bai2(text):
            parsed = bai2.parse(text)
        elif mt940.looks_like_mt940(text):
            parsed = mt940.parse(text)
        else:
            raise NotAStatement(f"the file is not a bank statement; {EXPECTED}")
    except (NotAStatement, MemoryError):
        raise
    except (BadTransaction, ValueError, ArithmeticError, LookupError, RecursionError) as error:
        # A parser met something it cannot place anywhere more precise than the whole file.
        raise NotAStatement(
            f"the file cannot be read ({type(error).__name__}: {error})"[:300]
        ) from None
    parsed.encoding = encoding
    return parsed
