"""OData V2 query options for the stand-ins: ``$filter`` parsed and evaluated, with a small
planner so a million rows answer in milliseconds.

Grammar (what SAP clients send): comparisons ``<Property> eq|ne|gt|ge|lt|le <literal>``
joined by ``and``/``or``, ``not``, parentheses; literals ``'text'`` (quotes doubled),
``datetime'2026-01-31T00:00:00'``, ``true``, ``false``, ``null``, numbers.

The planner: an ``eq`` on an indexed property reads the index; a ``ge``/``gt`` on the sorted
property reads a slice; a conjunct that says "after this row" in ``$orderby`` order (keyset
paging) seeks into the sorted result of the other conjuncts, which is cached until the data
changes. Everything else is a scan.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any


class QueryError(ValueError):
    """A query option the stand-in cannot read: answered 400 in OData's error shape."""


_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<dt>datetime'[^']*')|(?P<num>-?\d+(?:\.\d+)?)"
    r"|(?P<paren>[()])|(?P<word>[A-Za-z_][A-Za-z0-9_]*))"
)
_OPS = {"eq", "ne", "gt", "ge", "lt", "le"}
_DATE = re.compile(r"/Date\((-?\d+)(?:[+-]\d{4})?\)/")


def date_ms(value: Any) -> Any:
    """``/Date(ms)/`` -> ms (comparable); anything else as it is."""
    if isinstance(value, str) and value.startswith("/Date("):
        match = _DATE.fullmatch(value)
        if match:
            return int(match.group(1))
    return value


def _tokens(text: str) -> list[tuple[str, Any]]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise QueryError(f"Invalid token at position {pos} in $filter")
        pos = match.end()
        kind = match.lastgroup
        value = match.group(kind)
        if kind == "str":
            out.append(("lit", value[1:-1].replace("''", "'")))
        elif kind == "dt":
            try:
                stamp = datetime.fromisoformat(value[9:-1]).replace(tzinfo=UTC)
            except ValueError:
                raise QueryError(f"Invalid datetime literal {value}") from None
            out.append(("lit", int(stamp.timestamp() * 1000)))
        elif kind == "num":
            out.append(("lit", value))
        elif kind == "paren":
            out.append((value, value))
        elif value in ("true", "false"):
            out.append(("lit", value == "true"))
        elif value == "null":
            out.append(("lit", None))
        elif value in ("and", "or", "not") or value in _OPS:
            out.append((value, value))
        else:
            out.append(("name", value))
    return out


def parse_filter(text: str) -> tuple:
    tokens = _tokens(text)
    pos = 0

    def peek() -> str | None:
        return tokens[pos][0] if pos < len(tokens) else None

    def take(kind: str) -> Any:
        nonlocal pos
        if peek() != kind:
            raise QueryError(f"Expected {kind} in $filter")
        pos += 1
        return tokens[pos - 1][1]

    def expression() -> tuple:
        node = conjunction()
        while peek() == "or":
            take("or")
            node = ("or", node, conjunction())
        return node

    def conjunction() -> tuple:
        node = unary()
        while peek() == "and":
            take("and")
            node = ("and", node, unary())
        return node

    def unary() -> tuple:
        if peek() == "not":
            take("not")
            return ("not", unary())
        if peek() == "(":
            take("(")
            node = expression()
            take(")")
            return node
        name = take("name")
        op = peek()
        if op not in _OPS:
            raise QueryError(f"Expected a comparison after {name} in $filter")
        take(op)
        return (op, name, take("lit"))

    node = expression()
    if pos != len(tokens):
        raise QueryError("Unexpected text at the end of $filter")
    return node


def _compare(op: str, left: Any, right: Any) -> bool:
    if op == "eq":
        return left == right
    if op == "ne":
        return left != right
    if left is None or right is None:
        return False
    try:
        if op == "gt":
            return left > right
        if op == "ge":
            return left >= right
        if op == "lt":
            return left < right
        return left <= right
    except TypeError:
        return False


def predicate(node: tuple, fields: set[str]) -> Callable[[dict], bool]:
    kind = node[0]
    if kind == "and":
        a, b = predicate(node[1], fields), predicate(node[2], fields)
        return lambda row: a(row) and b(row)
    if kind == "or":
        a, b = predicate(node[1], fields), predicate(node[2], fields)
        return lambda row: a(row) or b(row)
    if kind == "not":
        a = predicate(node[1], fields)
        return lambda row: not a(row)
    op, name, value = node
    if name not in fields:
        raise QueryError(f"Property {name} not found")
    return lambda row: _compare(op, date_ms(row.get(name)), value)


def conjuncts(node: tuple) -> list[tuple]:
    if node[0] == "and":
        return conjuncts(node[1]) + conjuncts(node[2])
    return [node]


def keyset_values(node: tuple, columns: Sequence[str]) -> list[Any] | None:
    """The row ``node`` says "after" in ``columns`` order, when it has exactly that shape:
    ``c1 gt v1 or (c1 eq v1 and (c2 gt v2 or (...)))``."""
    if len(columns) == 1:
        if node[0] == "gt" and node[1] == columns[0]:
            return [node[2]]
        return None
    if node[0] != "or" or node[1][:2] != ("gt", columns[0]):
        return None
    inner = node[2]
    if inner[0] != "and" or inner[1][:2] != ("eq", columns[0]) or inner[1][2] != node[1][2]:
        return None
    rest = keyset_values(inner[2], columns[1:])
    return [node[1][2], *rest] if rest is not None else None


class Table:
    """Rows (dicts in the vendor's JSON shape) with indexes and a cache of sorted results."""

    def __init__(self, fields: set[str], indexed: Sequence[str] = (), ordered: str | None = None):
        self.fields = fields
        self.rows: list[dict] = []
        self.indexed = tuple(indexed)
        self.ordered = ordered
        self._version = 0
        self._built = -1
        self._index: dict[str, dict[Any, list[dict]]] = {}
        self._by_order: list[tuple[Any, int]] = []
        self._cache: dict[tuple, tuple[list[tuple], list[dict]]] = {}

    def changed(self) -> None:
        self._version += 1
        self._cache.clear()

    def build(self) -> None:
        if self._built == self._version:
            return
        self._index = {name: {} for name in self.indexed}
        for row in self.rows:
            for name in self.indexed:
                value = row.get(name)
                if value not in (None, ""):
                    self._index[name].setdefault(value, []).append(row)
        if self.ordered:
            self._by_order = sorted(
                (date_ms(row.get(self.ordered)), i) for i, row in enumerate(self.rows)
            )
        self._built = self._version

    def _candidates(self, node: tuple) -> list[dict] | None:
        kind = node[0]
        if kind == "and":
            a, b = self._candidates(node[1]), self._candidates(node[2])
            if a is None:
                return b
            if b is None:
                return a
            return a if len(a) <= len(b) else b
        if kind == "or":
            a, b = self._candidates(node[1]), self._candidates(node[2])
            if a is None or b is None:
                return None
            seen = {id(row) for row in a}
            return a + [row for row in b if id(row) not in seen]
        if kind in ("eq",) and node[1] in self._index:
            return self._index[node[1]].get(node[2], [])
        if kind in ("ge", "gt") and node[1] == self.ordered and node[2] is not None:
            keys = [k for k, _ in self._by_order]
            find = bisect.bisect_left if kind == "ge" else bisect.bisect_right
            start = find(keys, node[2])
            return [self.rows[i] for _, i in self._by_order[start:]]
        return None

    def select(
        self, filter_text: str | None, orderby: Sequence[str], top: int | None, skip: int
    ) -> list[dict]:
        self.build()
        node = parse_filter(filter_text) if filter_text else None
        seek: list[Any] | None = None
        base = node
        if node is not None and orderby:
            parts = conjuncts(node)
            for i, part in enumerate(parts):
                values = keyset_values(part, orderby)
                if values is not None:
                    seek = values
                    rest = parts[:i] + parts[i + 1 :]
                    base = None
                    for other in rest:
                        base = other if base is None else ("and", base, other)
                    break
        for name in orderby:
            if name not in self.fields:
                raise QueryError(f"Property {name} not found")
        cache_key = (repr(base), tuple(orderby))
        cached = self._cache.get(cache_key)
        if cached is None:
            if base is None:
                found = list(self.rows)
            else:
                test = predicate(base, self.fields)
                pool = self._candidates(base)
                found = [row for row in (self.rows if pool is None else pool) if test(row)]
            keys = [tuple(date_ms(row.get(name)) for name in orderby) for row in found]
            if orderby:
                order = sorted(range(len(found)), key=keys.__getitem__)
                found = [found[i] for i in order]
                keys = [keys[i] for i in order]
            cached = (keys, found)
            if len(self._cache) > 64:
                self._cache.clear()
            self._cache[cache_key] = cached
        keys, found = cached
        start = skip
        if seek is not None:
            start += bisect.bisect_right(keys, tuple(seek))
        end = None if top is None else start + top
        return found[start:end]
