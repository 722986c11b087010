"""Custom event channels and the filter expressions of their members (change data capture).

Salesforce lets a ``PlatformEventChannel`` (``MyChannel__chn``, ``channelType`` ``data``) carry
change events of the entities its ``PlatformEventChannelMember``s select, each member with an
optional ``filterExpression``; a subscriber of ``/data/MyChannel__chn`` receives only the events
that match ("Filter Your Stream of Change Events with Channels", Change Data Capture Developer
Guide). The documented expression language is a SOQL subset, implemented here:

- ``<field> <op> <value>`` joined by ``AND`` / ``OR`` with parentheses;
- operators ``=``, ``!=``, ``<``, ``>``, ``<=``, ``>=``, ``LIKE`` (``%`` and ``_`` wildcards),
  ``IN (...)``, ``NOT IN (...)``; there is no ``NOT`` operator of its own;
- fields: the entity's fields and ``ChangeEventHeader.<field>`` except the array fields
  (``recordIds``, ``changedFields``, ``diffFields``, ``nulledFields``);
- values: ``'text'`` (single quotes, ``\\'`` escapes), numbers, ``true``/``false``, ``null``,
  dates ``YYYY-MM-DD`` and date-times;
- text compares case-insensitively (the guide: "Text values are case-insensitive");
- an entity field named in the filter is added to the event sent on that channel (automatic
  enrichment), when not empty.

``!=`` and ``NOT IN`` match a missing (null) value, as in SOQL [inf]. A filter devorg cannot
parse is refused when the package is loaded (Salesforce refuses it at deploy), with the file.
No maintained Python library parses this dialect, so it is a small recursive-descent parser.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

HEADER_PREFIX = "ChangeEventHeader."
_ARRAY_HEADER_FIELDS = frozenset({"recordids", "changedfields", "difffields", "nulledfields"})

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<str>'(?:[^'\\]|\\.)*')
      | (?P<op><=|>=|!=|<>|=|<|>|\(|\)|,)
      | (?P<datetime>\d{4}-\d\d-\d\dT[0-9:.]+(?:Z|[+-]\d\d:?\d\d))
      | (?P<date>\d{4}-\d\d-\d\d)
      | (?P<num>-?\d+(?:\.\d+)?)
      | (?P<word>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
    )""",
    re.VERBOSE,
)


class FilterError(ValueError):
    """The filter expression is not in the documented form."""


@dataclass(frozen=True)
class Comparison:
    field: str  # as written: "Industry" or "ChangeEventHeader.changeOrigin"
    op: str  # =, !=, <, >, <=, >=, LIKE, IN, NOT IN
    value: Any  # a scalar, or a tuple for IN / NOT IN


@dataclass(frozen=True)
class Junction:
    op: str  # AND, OR
    parts: tuple[Any, ...]


@dataclass
class ChannelMember:
    """One entity selected on a custom channel, with its filter (None: every event)."""

    channel: str  # "CreditControlSync__chn"
    entity: str  # the object: "Account", "Foo__c"
    expression: str | None = None
    tree: Any = None
    entity_fields: tuple[str, ...] = field(default_factory=tuple)

    @classmethod
    def build(cls, channel: str, entity: str, expression: str | None) -> ChannelMember:
        text = (expression or "").strip() or None
        tree = parse(text) if text else None
        return cls(channel, entity, text, tree, tuple(sorted(_entity_fields(tree))))

    def matches(self, header: Mapping[str, Any], record: Callable[[str], Any]) -> bool:
        """Does an event with this header, about a record whose fields ``record`` reads, pass?"""
        return self.tree is None or _evaluate(self.tree, header, record)


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise FilterError(f"unexpected text at position {pos}: {text[pos : pos + 20]!r}")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise FilterError("the expression ends too early")
        self.i += 1
        return tok

    def keyword(self, word: str) -> bool:
        tok = self.peek()
        if tok and tok[0] == "word" and tok[1].upper() == word:
            self.i += 1
            return True
        return False

    def expect(self, text: str) -> None:
        _kind, value = self.take()
        if value != text:
            raise FilterError(f"expected {text!r}, found {value!r}")

    def parse(self) -> Any:
        tree = self.disjunction()
        if self.peek() is not None:
            raise FilterError(f"unexpected {self.peek()[1]!r}")  # type: ignore[index]
        return tree

    def disjunction(self) -> Any:
        parts = [self.conjunction()]
        while self.keyword("OR"):
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else Junction("OR", tuple(parts))

    def conjunction(self) -> Any:
        parts = [self.primary()]
        while self.keyword("AND"):
            parts.append(self.primary())
        return parts[0] if len(parts) == 1 else Junction("AND", tuple(parts))

    def primary(self) -> Any:
        tok = self.peek()
        if tok == ("op", "("):
            self.take()
            inner = self.disjunction()
            self.expect(")")
            return inner
        kind, name = self.take()
        if kind != "word" or name.upper() in {"AND", "OR", "NOT", "IN", "LIKE"}:
            raise FilterError(f"expected a field name, found {name!r}")
        if name.startswith(HEADER_PREFIX):
            if name[len(HEADER_PREFIX) :].lower() in _ARRAY_HEADER_FIELDS:
                raise FilterError(f"{name} is an array field and cannot be filtered on")
        elif "." in name:
            raise FilterError(f"{name}: only the entity's own fields and ChangeEventHeader")
        if self.keyword("NOT"):
            if not self.keyword("IN"):
                raise FilterError("NOT is allowed only in NOT IN")
            return Comparison(name, "NOT IN", self.values())
        if self.keyword("IN"):
            return Comparison(name, "IN", self.values())
        if self.keyword("LIKE"):
            return Comparison(name, "LIKE", self.scalar())
        kind, op = self.take()
        if kind != "op" or op in {"(", ")", ","}:
            raise FilterError(f"expected an operator after {name}, found {op!r}")
        return Comparison(name, "!=" if op == "<>" else op, self.scalar())

    def values(self) -> tuple[Any, ...]:
        self.expect("(")
        values = [self.scalar()]
        while self.peek() == ("op", ","):
            self.take()
            values.append(self.scalar())
        self.expect(")")
        return tuple(values)

    def scalar(self) -> Any:
        kind, text = self.take()
        if kind == "str":
            return re.sub(r"\\(.)", r"\1", text[1:-1])
        if kind == "num":
            return float(text)
        if kind == "date":
            return dt.date.fromisoformat(text)
        if kind == "datetime":
            return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        if kind == "word" and text.lower() in {"true", "false"}:
            return text.lower() == "true"
        if kind == "word" and text.lower() == "null":
            return None
        raise FilterError(f"expected a value, found {text!r}")


def parse(expression: str) -> Any:
    """The expression's tree; raises ``FilterError`` when it is not in the documented form."""
    return _Parser(_tokens(expression)).parse()


def _entity_fields(tree: Any) -> set[str]:
    if tree is None:
        return set()
    if isinstance(tree, Junction):
        return set().union(*(_entity_fields(p) for p in tree.parts))
    return set() if tree.field.startswith(HEADER_PREFIX) else {tree.field}


def _comparable(left: Any, right: Any) -> tuple[Any, Any] | None:
    """Both sides in one type, or None when they cannot be compared."""
    if isinstance(right, bool) or isinstance(left, bool):
        return bool(left), bool(right)  # a null checkbox compares as false
    if isinstance(right, float):
        try:
            return float(left), right
        except (TypeError, ValueError):
            return None
    if isinstance(right, dt.datetime):
        try:
            text = str(left).replace("Z", "+00:00")
            if re.search(r"[+-]\d{4}$", text):
                text = text[:-2] + ":" + text[-2:]
            return dt.datetime.fromisoformat(text), right
        except ValueError:
            return None
    if isinstance(right, dt.date):
        try:
            return dt.date.fromisoformat(str(left)[:10]), right
        except ValueError:
            return None
    return str(left).lower(), str(right).lower()


def _like(value: Any, pattern: str) -> bool:
    regex = "".join(
        ".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern.lower()
    )
    return re.fullmatch(regex, str(value).lower(), re.DOTALL) is not None


def _compare(value: Any, op: str, target: Any) -> bool:
    if op in ("IN", "NOT IN"):
        hit = any(_compare(value, "=", t) for t in target)
        return hit if op == "IN" else not hit
    if value is None and isinstance(target, bool):
        value = False  # "Comparing a Checkbox field to null is equivalent to ... false"
    if target is None or value is None:
        if op == "=":
            return value is None and target is None
        if op == "!=":
            return (value is None) != (target is None)
        return False
    if op == "LIKE":
        return _like(value, str(target))
    pair = _comparable(value, target)
    if pair is None:
        return op == "!="
    a, b = pair
    return {
        "=": a == b,
        "!=": a != b,
        "<": a < b,
        ">": a > b,
        "<=": a <= b,
        ">=": a >= b,
    }[op]


def _evaluate(tree: Any, header: Mapping[str, Any], record: Callable[[str], Any]) -> bool:
    if isinstance(tree, Junction):
        results = (_evaluate(p, header, record) for p in tree.parts)
        return all(results) if tree.op == "AND" else any(results)
    if tree.field.startswith(HEADER_PREFIX):
        wanted = tree.field[len(HEADER_PREFIX) :].lower()
        value = next((v for k, v in header.items() if k.lower() == wanted), None)
    else:
        value = record(tree.field)
    return _compare(value, tree.op, tree.value)
