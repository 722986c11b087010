"""Tokens of a SOQL statement, each with its 0-based offset for ``ERROR at Row:r:Column:c``."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import SalesforceError


@dataclass(frozen=True)
class Token:
    kind: str  # ident, string, number, date, datetime, dateliteral, op, punct, eof
    text: str  # raw text (string tokens: the unescaped value)
    pos: int
    value: object = None

    @property
    def upper(self) -> str:
        return self.text.upper()


_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:?\d{2})")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?![\dT])")
_NUMBER = re.compile(r"\d+(?:\.\d+)?|\.\d+")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_DATE_LITERAL_N = re.compile(r"[A-Za-z_]+:\d+")
_OPS = ("!=", "<>", "<=", ">=", "=", "<", ">")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}


def position(query: str, pos: int) -> tuple[int, int]:
    row = query.count("\n", 0, pos) + 1
    column = pos - (query.rfind("\n", 0, pos) + 1) + 1
    return row, column


def soql_error(query: str, pos: int, code: str, text: str) -> SalesforceError:
    """Salesforce's query error text: the query line, a caret, then ``ERROR at Row:r:Column:c``."""
    row, column = position(query, pos)
    line = query.split("\n")[row - 1]
    message = f"\n{line}\n{' ' * (column - 1)}^\nERROR at Row:{row}:Column:{column}\n{text}"
    return SalesforceError(code, message, 400, include_fields=False)


def tokenize(query: str) -> list[Token]:
    tokens: list[Token] = []
    i = 0
    n = len(query)
    while i < n:
        ch = query[i]
        if ch.isspace():
            i += 1
            continue
        if ch == "'":
            j = i + 1
            out = []
            while True:
                if j >= n:
                    raise soql_error(
                        query,
                        i,
                        "MALFORMED_QUERY",
                        f"line 1:{i} no viable alternative at character '\\''",
                    )
                c = query[j]
                if c == "\\":
                    if j + 1 >= n:
                        raise soql_error(query, j, "MALFORMED_QUERY", "Invalid string literal")
                    nxt = query[j + 1]
                    if nxt in _ESCAPES:
                        out.append(_ESCAPES[nxt])
                    elif nxt in "%_":
                        out.append("\\" + nxt)  # kept for LIKE; = treats it as the character
                    else:
                        raise soql_error(
                            query,
                            j,
                            "MALFORMED_QUERY",
                            f"Invalid string literal '{query[i : j + 2]}'. Illegal character sequence '\\{nxt}' in string literal.",
                        )
                    j += 2
                    continue
                if c == "'":
                    break
                out.append(c)
                j += 1
            tokens.append(Token("string", "".join(out), i, query[i : j + 1]))
            i = j + 1
            continue
        m = _DATETIME.match(query, i)
        if m:
            tokens.append(Token("datetime", m.group(0), i))
            i = m.end()
            continue
        m = _DATE.match(query, i)
        if m:
            tokens.append(Token("date", m.group(0), i))
            i = m.end()
            continue
        if ch.isdigit() or (ch == "." and i + 1 < n and query[i + 1].isdigit()):
            m = _NUMBER.match(query, i)
            assert m is not None
            tokens.append(Token("number", m.group(0), i))
            i = m.end()
            continue
        m = _DATE_LITERAL_N.match(query, i)
        if m:
            tokens.append(Token("dateliteral", m.group(0), i))
            i = m.end()
            continue
        m = _IDENT.match(query, i)
        if m:
            tokens.append(Token("ident", m.group(0), i))
            i = m.end()
            continue
        for op in _OPS:
            if query.startswith(op, i):
                tokens.append(Token("op", op, i))
                i += len(op)
                break
        else:
            if ch in "(),-+:":
                tokens.append(Token("punct", ch, i))
                i += 1
                continue
            raise soql_error(
                query, i, "MALFORMED_QUERY", f"line 1:{i} no viable alternative at character '{ch}'"
            )
    tokens.append(Token("eof", "", n))
    return tokens
