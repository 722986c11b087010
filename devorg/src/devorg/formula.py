"""A small evaluator for Salesforce formula expressions: formula fields and validation rules.

devorg needs the package's formula fields (Credit_Available__c, Credit_Utilization__c) computed
on read, and its credit-hold validation rules enforced on write. Both are plain expressions over
fields, so a hand-written tokenizer and recursive-descent parser covers them: arithmetic,
comparison, ``&&``/``||``/``&``, field paths (``Account.Credit_Status__c``, ``Account__r.X``),
``$Permission.Name``, ``$User.Id`` and the functions below. Anything else raises
``FormulaUnsupported`` and the caller decides (a rule it cannot evaluate is logged and skipped,
which docs/devorg.md states).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


class FormulaUnsupported(Exception):
    """The expression uses syntax or a function devorg does not evaluate."""


_TOKEN_RE = re.compile(
    r"""\s*(?:
        (?P<num>\d+(?:\.\d*)?|\.\d+)
      | (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<op>&&|\|\||<>|!=|==|<=|>=|[-+*/^&=<>(),!])
      | (?P<name>\$?[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
    )""",
    re.VERBOSE,
)
_COMMENT_RE = re.compile(r"/\*.*?\*/", re.DOTALL)


@dataclass
class Tok:
    kind: str
    text: str


def _tokenize(src: str) -> list[Tok]:
    src = _COMMENT_RE.sub(" ", src)
    pos = 0
    out: list[Tok] = []
    while pos < len(src):
        if src[pos:].strip() == "":
            break
        match = _TOKEN_RE.match(src, pos)
        if not match:
            raise FormulaUnsupported(f"cannot read formula at {src[pos : pos + 20]!r}")
        kind = match.lastgroup or ""
        out.append(Tok(kind, match.group(kind)))
        pos = match.end()
    return out


# AST nodes are tuples: ("num", v) ("str", v) ("ref", path) ("call", name, args) ("bin", op, a, b)
# ("neg", a) ("not", a)


class _Parser:
    def __init__(self, tokens: list[Tok]) -> None:
        self.toks = tokens
        self.i = 0

    def peek(self) -> Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, text: str | None = None) -> Tok:
        tok = self.peek()
        if tok is None or (text is not None and tok.text != text):
            raise FormulaUnsupported(f"expected {text!r}")
        self.i += 1
        return tok

    def parse(self):
        node = self.or_()
        if self.peek() is not None:
            raise FormulaUnsupported(f"unexpected {self.peek().text!r}")
        return node

    def or_(self):
        node = self.and_()
        while self.peek() and self.peek().text == "||":
            self.take()
            node = ("call", "OR", [node, self.and_()])
        return node

    def and_(self):
        node = self.cmp()
        while self.peek() and self.peek().text == "&&":
            self.take()
            node = ("call", "AND", [node, self.cmp()])
        return node

    def cmp(self):
        node = self.concat()
        while self.peek() and self.peek().text in ("=", "==", "!=", "<>", "<", ">", "<=", ">="):
            op = self.take().text
            node = ("bin", op, node, self.concat())
        return node

    def concat(self):
        node = self.add()
        while self.peek() and self.peek().text == "&":
            self.take()
            node = ("bin", "&", node, self.add())
        return node

    def add(self):
        node = self.mul()
        while self.peek() and self.peek().text in ("+", "-"):
            op = self.take().text
            node = ("bin", op, node, self.mul())
        return node

    def mul(self):
        node = self.power()
        while self.peek() and self.peek().text in ("*", "/"):
            op = self.take().text
            node = ("bin", op, node, self.power())
        return node

    def power(self):
        node = self.unary()
        if self.peek() and self.peek().text == "^":
            self.take()
            node = ("bin", "^", node, self.power())
        return node

    def unary(self):
        tok = self.peek()
        if tok and tok.text == "-":
            self.take()
            return ("neg", self.unary())
        if tok and tok.text == "+":
            self.take()
            return self.unary()
        if tok and tok.text == "!":
            self.take()
            return ("not", self.unary())
        return self.atom()

    def atom(self):
        tok = self.take()
        if tok.kind == "num":
            return ("num", float(tok.text))
        if tok.kind == "str":
            body = tok.text[1:-1]
            return ("str", re.sub(r"\\(.)", r"\1", body))
        if tok.text == "(":
            node = self.or_()
            self.take(")")
            return node
        if tok.kind == "name":
            upper = tok.text.upper()
            if self.peek() and self.peek().text == "(":
                self.take("(")
                args = []
                if self.peek() and self.peek().text != ")":
                    args.append(self.or_())
                    while self.peek() and self.peek().text == ",":
                        self.take()
                        args.append(self.or_())
                self.take(")")
                return ("call", upper, args)
            if upper == "TRUE":
                return ("bool", True)
            if upper == "FALSE":
                return ("bool", False)
            if upper == "NULL":
                return ("null",)
            return ("ref", tok.text)
        raise FormulaUnsupported(f"unexpected {tok.text!r}")


def compile_formula(src: str):
    """Parse once; evaluate many times."""
    return _Parser(_tokenize(src)).parse()


@dataclass
class FormulaContext:
    """How names resolve. ``resolve(path)`` returns a field value (path like ``Account.Name``);
    ``prior(path)`` the value before this write (for ISCHANGED/PRIORVALUE); ``is_new``;
    ``permissions`` the custom permissions the running user holds; ``user_id``."""

    resolve: Callable[[str], Any]
    prior: Callable[[str], Any] | None = None
    is_new: bool = False
    permissions: frozenset[str] = frozenset()
    user_id: str = ""
    blanks_as_zero: bool = False


def _num(value, ctx: FormulaContext):
    if value is None:
        return 0.0 if ctx.blanks_as_zero else None
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    return float(value)


def _blank(value) -> bool:
    return value is None or value == ""


def evaluate(node, ctx: FormulaContext) -> Any:
    kind = node[0]
    if kind == "num":
        return node[1]
    if kind == "str":
        return node[1]
    if kind == "bool":
        return node[1]
    if kind == "null":
        return None
    if kind == "ref":
        return _ref(node[1], ctx)
    if kind == "neg":
        value = _num(evaluate(node[1], ctx), ctx)
        return None if value is None else -value
    if kind == "not":
        return not bool(evaluate(node[1], ctx))
    if kind == "bin":
        return _binary(node[1], evaluate(node[2], ctx), evaluate(node[3], ctx), ctx)
    if kind == "call":
        return _call(node[1], node[2], ctx)
    raise FormulaUnsupported(kind)


def _ref(path: str, ctx: FormulaContext):
    lowered = path.lower()
    if lowered.startswith("$permission."):
        return path.split(".", 1)[1].lower() in {p.lower() for p in ctx.permissions}
    if lowered in ("$user.id",):
        return ctx.user_id
    if lowered.startswith("$"):
        raise FormulaUnsupported(path)
    return ctx.resolve(path)


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _as_date(value) -> dt.date | None:
    """A Date operand (a ``date`` or the org's ``YYYY-MM-DD`` text); None for anything else."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and _ISO_DATE.match(value):
        return dt.date.fromisoformat(value)
    return None


def _date_arithmetic(op, left, right, ctx: FormulaContext):
    """Salesforce date arithmetic: Date - Date is a number of days, Date +/- n is a Date.

    Returns ``NotImplemented`` when neither operand is a Date.
    """
    a, b = _as_date(left), _as_date(right)
    if a is None and b is None:
        return NotImplemented
    if a is not None and b is not None and op == "-":
        return float((a - b).days)
    if a is not None and b is None and right is not None and op in ("+", "-"):
        days = dt.timedelta(days=int(_num(right, ctx)))
        return (a + days if op == "+" else a - days).isoformat()
    if b is not None and a is None and left is not None and op == "+":
        return (b + dt.timedelta(days=int(_num(left, ctx)))).isoformat()
    if left is None or right is None:
        return None
    raise FormulaUnsupported(f"Date {op} {right!r}")


def _binary(op, left, right, ctx: FormulaContext):
    if op == "&":
        return ("" if left is None else str(left)) + ("" if right is None else str(right))
    if op in ("+", "-"):
        dated = _date_arithmetic(op, left, right, ctx)
        if dated is not NotImplemented:
            return dated
    if op in ("+", "-", "*", "/", "^"):
        if isinstance(left, str) and op == "+":
            return left + ("" if right is None else str(right))
        a, b = _num(left, ctx), _num(right, ctx)
        if a is None or b is None:
            return None
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if op == "/":
            return None if b == 0 else a / b
        return a**b
    if left is None or right is None:
        if op in ("=", "=="):
            return _blank(left) and _blank(right)
        if op in ("!=", "<>"):
            return not (_blank(left) and _blank(right))
        return False
    if isinstance(left, int | float) or isinstance(right, int | float):
        left, right = _num(left, ctx), _num(right, ctx)
    if op in ("=", "=="):
        return left == right
    if op in ("!=", "<>"):
        return left != right
    if op == "<":
        return left < right
    if op == ">":
        return left > right
    if op == "<=":
        return left <= right
    return left >= right


def _call(name: str, args: list, ctx: FormulaContext):
    if name == "IF":
        cond = evaluate(args[0], ctx)
        return (
            evaluate(args[1], ctx) if cond else (evaluate(args[2], ctx) if len(args) > 2 else None)
        )
    if name == "AND":
        return all(bool(evaluate(a, ctx)) for a in args)
    if name == "OR":
        return any(bool(evaluate(a, ctx)) for a in args)
    if name == "NOT":
        return not bool(evaluate(args[0], ctx))
    if name == "CASE":
        subject = evaluate(args[0], ctx)
        rest = args[1:]
        for i in range(0, len(rest) - 1, 2):
            if evaluate(rest[i], ctx) == subject:
                return evaluate(rest[i + 1], ctx)
        return evaluate(rest[-1], ctx) if len(rest) % 2 else None
    if name == "ISNEW":
        return ctx.is_new
    if name in ("ISCHANGED", "PRIORVALUE"):
        if args[0][0] != "ref" or ctx.prior is None:
            raise FormulaUnsupported(name)
        before = None if ctx.is_new else ctx.prior(args[0][1])
        if name == "PRIORVALUE":
            return before
        return (not ctx.is_new) and before != evaluate(args[0], ctx)
    values = [evaluate(a, ctx) for a in args]
    if name in ("ISBLANK", "ISNULL"):
        return _blank(values[0])
    if name in ("BLANKVALUE", "NULLVALUE"):
        return values[1] if _blank(values[0]) else values[0]
    if name == "ISPICKVAL":
        return (values[0] or "") == (values[1] or "")
    if name == "TEXT":
        value = values[0]
        if value is None:
            return ""
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)
    if name == "VALUE":
        return None if _blank(values[0]) else float(values[0])
    if name == "LEN":
        return len(values[0] or "")
    if name == "ABS":
        return None if values[0] is None else abs(values[0])
    if name == "ROUND":
        if values[0] is None:
            return None
        return float(round(values[0], int(values[1] if len(values) > 1 else 0)))
    if name in ("MIN", "MAX"):
        nums = [_num(v, ctx) for v in values]
        if any(n is None for n in nums):
            return None
        return min(nums) if name == "MIN" else max(nums)
    if name == "TODAY":
        return dt.datetime.now(dt.UTC).date().isoformat()
    if name == "NOW":
        return dt.datetime.now(dt.UTC).isoformat()
    if name == "INCLUDES":
        return str(values[1]) in (values[0] or "").split(";")
    raise FormulaUnsupported(name)
