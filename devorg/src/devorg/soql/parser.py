"""Recursive-descent parser for the SOQL subset, producing a small AST (dataclasses).

Grammar (case-insensitive keywords)::

    query    := SELECT fields FROM ident [WHERE or] [ORDER BY order (, order)*] [LIMIT n] [OFFSET n]
    fields   := COUNT '(' ')' | path (, path)*
    or       := and (OR and)*        -- AND and OR may not be mixed without parentheses
    and      := not (AND not)*
    not      := NOT not | '(' or ')' | predicate
    predicate:= path op value | path [NOT] IN '(' value (, value)* ')' | path LIKE string
              | path INCLUDES|EXCLUDES '(' string, ... ')'
    value    := string | number | -number | NULL | TRUE | FALSE | date | datetime | dateliteral
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .lexer import Token, soql_error, tokenize

_CLAUSE_WORDS = {
    "FROM",
    "WHERE",
    "ORDER",
    "LIMIT",
    "OFFSET",
    "GROUP",
    "HAVING",
    "WITH",
    "FOR",
    "USING",
    "ALL",
}


@dataclass
class FieldRef:
    path: str
    pos: int


@dataclass
class Value:
    kind: str  # string number null boolean date datetime dateliteral
    value: object
    pos: int
    text: str = ""


@dataclass
class Compare:
    field: FieldRef
    op: str
    value: Value


@dataclass
class InList:
    field: FieldRef
    values: list[Value]
    negated: bool


@dataclass
class Like:
    field: FieldRef
    pattern: Value


@dataclass
class Includes:
    field: FieldRef
    values: list[Value]
    negated: bool


@dataclass
class BoolOp:
    op: str  # AND | OR
    items: list


@dataclass
class Not:
    item: object


@dataclass
class OrderItem:
    field: FieldRef
    descending: bool = False
    nulls_last: bool | None = None


@dataclass
class Query:
    text: str
    fields: list[FieldRef]
    count_only: bool
    sobject: str
    sobject_pos: int
    where: object = None
    order_by: list[OrderItem] = field(default_factory=list)
    limit: int | None = None
    offset: int | None = None


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = tokenize(text)
        self.i = 0

    @property
    def tok(self) -> Token:
        return self.toks[self.i]

    def advance(self) -> Token:
        tok = self.toks[self.i]
        if tok.kind != "eof":
            self.i += 1
        return tok

    def unexpected(self, tok: Token | None = None):
        tok = tok or self.tok
        if tok.kind == "eof":
            return soql_error(
                self.text,
                max(len(self.text.rstrip()), 0),
                "MALFORMED_QUERY",
                "unexpected token: <EOF>",
            )
        shown = tok.value if tok.kind == "string" else tok.text
        return soql_error(self.text, tok.pos, "MALFORMED_QUERY", f"unexpected token: {shown}")

    def is_word(self, word: str) -> bool:
        return self.tok.kind == "ident" and self.tok.upper == word

    def expect_word(self, word: str) -> Token:
        if not self.is_word(word):
            raise self.unexpected()
        return self.advance()

    def expect_punct(self, ch: str) -> Token:
        if not (self.tok.kind == "punct" and self.tok.text == ch):
            raise self.unexpected()
        return self.advance()

    def field_ref(self) -> FieldRef:
        tok = self.tok
        if tok.kind != "ident" or tok.upper in _CLAUSE_WORDS:
            raise self.unexpected()
        self.advance()
        return FieldRef(tok.text, tok.pos)

    def parse(self) -> Query:
        if not self.text.strip():
            raise soql_error(
                self.text or " ", 0, "MALFORMED_QUERY", "SOQL statements cannot be empty or null"
            )
        self.expect_word("SELECT")
        fields: list[FieldRef] = []
        count_only = False
        if self.is_word("COUNT") and self.toks[self.i + 1].text == "(":
            self.advance()
            self.expect_punct("(")
            if not (self.tok.kind == "punct" and self.tok.text == ")"):
                raise soql_error(
                    self.text,
                    self.tok.pos,
                    "MALFORMED_QUERY",
                    "devorg supports COUNT() only, not aggregate functions",
                )
            self.expect_punct(")")
            count_only = True
        else:
            if self.tok.kind == "punct" and self.tok.text == "(":
                raise soql_error(
                    self.text,
                    self.tok.pos,
                    "MALFORMED_QUERY",
                    "devorg does not support relationship subqueries",
                )
            fields.append(self.field_ref())
            while self.tok.kind == "punct" and self.tok.text == ",":
                self.advance()
                fields.append(self.field_ref())
        self.expect_word("FROM")
        obj_tok = self.tok
        if obj_tok.kind != "ident":
            raise self.unexpected()
        self.advance()
        query = Query(self.text, fields, count_only, obj_tok.text, obj_tok.pos)
        if self.is_word("WHERE"):
            self.advance()
            query.where = self.or_expr()
        if self.is_word("ORDER"):
            self.advance()
            self.expect_word("BY")
            query.order_by.append(self.order_item())
            while self.tok.kind == "punct" and self.tok.text == ",":
                self.advance()
                query.order_by.append(self.order_item())
        if self.is_word("LIMIT"):
            self.advance()
            query.limit = self.integer()
        if self.is_word("OFFSET"):
            self.advance()
            query.offset = self.integer()
        if self.tok.kind != "eof":
            raise self.unexpected()
        return query

    def integer(self) -> int:
        tok = self.tok
        if tok.kind != "number" or "." in tok.text:
            raise self.unexpected()
        self.advance()
        return int(tok.text)

    def order_item(self) -> OrderItem:
        item = OrderItem(self.field_ref())
        if self.is_word("ASC"):
            self.advance()
        elif self.is_word("DESC"):
            self.advance()
            item.descending = True
        if self.is_word("NULLS"):
            self.advance()
            if self.is_word("FIRST"):
                item.nulls_last = False
            elif self.is_word("LAST"):
                item.nulls_last = True
            else:
                raise self.unexpected()
            self.advance()
        return item

    def or_expr(self):
        items = [self.and_expr(in_or=False)]
        while self.is_word("OR"):
            self.advance()
            items.append(self.and_expr(in_or=True))
        return items[0] if len(items) == 1 else BoolOp("OR", items)

    def and_expr(self, in_or: bool):
        items = [self.not_expr()]
        while self.is_word("AND"):
            if in_or:
                raise self.unexpected()  # SOQL needs parentheses to mix AND and OR
            self.advance()
            items.append(self.not_expr())
        if len(items) > 1 and self.is_word("OR"):
            raise self.unexpected()
        return items[0] if len(items) == 1 else BoolOp("AND", items)

    def not_expr(self):
        if self.is_word("NOT"):
            self.advance()
            return Not(self.not_expr())
        if self.tok.kind == "punct" and self.tok.text == "(":
            self.advance()
            inner = self.or_expr()
            self.expect_punct(")")
            return inner
        return self.predicate()

    def predicate(self):
        ref = self.field_ref()
        tok = self.tok
        if tok.kind == "op":
            self.advance()
            return Compare(ref, "!=" if tok.text == "<>" else tok.text, self.value())
        negated = False
        if self.is_word("NOT"):
            self.advance()
            negated = True
            if not self.is_word("IN"):
                raise self.unexpected()
        if self.is_word("IN"):
            self.advance()
            return InList(ref, self.value_list(), negated)
        if self.is_word("LIKE"):
            self.advance()
            pattern = self.value()
            if pattern.kind != "string":
                raise soql_error(
                    self.text, pattern.pos, "MALFORMED_QUERY", f"unexpected token: {pattern.text}"
                )
            return Like(ref, pattern)
        if self.is_word("INCLUDES") or self.is_word("EXCLUDES"):
            neg = self.advance().upper == "EXCLUDES"
            return Includes(ref, self.value_list(), neg)
        raise self.unexpected()

    def value_list(self) -> list[Value]:
        self.expect_punct("(")
        if self.tok.kind == "ident" and self.tok.upper == "SELECT":
            raise soql_error(
                self.text,
                self.tok.pos,
                "MALFORMED_QUERY",
                "devorg does not support semi-join subqueries",
            )
        values = [self.value()]
        while self.tok.kind == "punct" and self.tok.text == ",":
            self.advance()
            values.append(self.value())
        self.expect_punct(")")
        return values

    def value(self) -> Value:
        tok = self.tok
        if tok.kind == "string":
            self.advance()
            return Value("string", tok.text, tok.pos, str(tok.value))
        if tok.kind == "punct" and tok.text in "-+" and self.toks[self.i + 1].kind == "number":
            self.advance()
            num = self.advance()
            number = float(num.text)
            return Value(
                "number", -number if tok.text == "-" else number, tok.pos, tok.text + num.text
            )
        if tok.kind == "number":
            self.advance()
            return Value("number", float(tok.text), tok.pos, tok.text)
        if tok.kind == "date":
            self.advance()
            return Value("date", tok.text, tok.pos, tok.text)
        if tok.kind == "datetime":
            self.advance()
            return Value("datetime", tok.text, tok.pos, tok.text)
        if tok.kind == "dateliteral":
            self.advance()
            name, _, n = tok.text.partition(":")
            return Value("dateliteral", (name.upper(), int(n)), tok.pos, tok.text)
        if tok.kind == "ident":
            upper = tok.upper
            if upper == "NULL":
                self.advance()
                return Value("null", None, tok.pos, tok.text)
            if upper in ("TRUE", "FALSE"):
                self.advance()
                return Value("boolean", upper == "TRUE", tok.pos, tok.text)
            if "." not in upper:
                self.advance()
                return Value("dateliteral", (upper, None), tok.pos, tok.text)
        raise self.unexpected()


def parse(text: str) -> Query:
    return _Parser(text).parse()
