"""Resolve a parsed SOQL query against the schema, then run it over the store.

Name resolution happens once (``compile_query``) and reports Salesforce's INVALID_TYPE /
INVALID_FIELD texts at the column of the offending token; filter values are type-checked the
same way. Running is a scan of the object's records: fine for an emulator's data volumes.
SOQL semantics kept: string comparison is case-insensitive, ``!=`` and ``NOT IN`` match nulls,
ordering puts nulls first ascending and last descending unless told otherwise, date literals
are day ranges.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from .. import ids
from ..errors import SalesforceError
from ..schema import FieldDef, ObjectDef, Schema
from ..values import format_datetime, parse_datetime
from .dates import date_range
from .lexer import soql_error
from .parser import BoolOp, Compare, FieldRef, Includes, InList, Like, Not, Query, Value, parse

_TEXT = {
    "string",
    "picklist",
    "multipicklist",
    "textarea",
    "email",
    "url",
    "phone",
    "combobox",
    "encryptedstring",
}
_IDS = {"id", "reference"}
_NUMERIC = {"double", "currency", "percent", "int"}
MAX_OFFSET = 2000


@dataclass
class ResolvedPath:
    """A field path: relationship hops, then the final field."""

    text: str
    hops: list[tuple[FieldDef, ObjectDef]]  # (reference field, target object)
    final: FieldDef
    final_obj: ObjectDef
    keys: list[str]  # output keys: relationship names, then the field name


@dataclass
class QueryPlan:
    query: Query
    obj: ObjectDef
    select: list[ResolvedPath]
    where: Callable[[dict], bool] | None
    order: list[tuple[ResolvedPath, bool, bool]] = field(
        default_factory=list
    )  # path, desc, nulls_last

    @property
    def count_only(self) -> bool:
        return self.query.count_only


class _Compiler:
    def __init__(self, schema: Schema, records, text: str) -> None:
        self.schema = schema
        self.records = records
        self.store = records.store
        self.text = text

    def err(self, pos: int, code: str, message: str) -> SalesforceError:
        return soql_error(self.text, pos, code, message)

    # -- names --------------------------------------------------------------------------

    def resolve(self, obj: ObjectDef, ref: FieldRef) -> ResolvedPath:
        parts = ref.path.split(".")
        if (
            len(parts) > 1
            and parts[0].lower() == obj.name.lower()
            and obj.relationship(parts[0]) is None
        ):
            parts = parts[1:]
        hops: list[tuple[FieldDef, ObjectDef]] = []
        keys: list[str] = []
        current = obj
        for part in parts[:-1]:
            rel = current.relationship(part)
            target = self.schema.object(rel.reference_to[0]) if rel and rel.reference_to else None
            if rel is None or target is None:
                raise self.err(
                    ref.pos,
                    "INVALID_FIELD",
                    f"Didn't understand relationship '{part}' in field path. If you are attempting to use a "
                    "custom relationship, be sure to append the '__r' after the custom relationship name. "
                    "Please reference your WSDL or the describe call for the appropriate names.",
                )
            hops.append((rel, target))
            keys.append(rel.relationship_name or part)
            current = target
        final = current.field(parts[-1])
        if final is None:
            raise self.err(
                ref.pos,
                "INVALID_FIELD",
                f"No such column '{parts[-1]}' on entity '{current.name}'. If you are attempting to use a "
                "custom field, be sure to append the '__c' after the custom field name. Please reference "
                "your WSDL or the describe call for the appropriate names.",
            )
        keys.append(final.name)
        return ResolvedPath(ref.path, hops, final, current, keys)

    def getter(self, path: ResolvedPath) -> Callable[[dict], object]:
        store = self.store
        schema = self.schema
        records = self.records
        final = path.final
        hops = path.hops

        def get(rec: dict) -> object:
            cur = rec
            cur_obj = None
            for rel, target in hops:
                pid = cur.get(rel.name)
                if not pid:
                    return None
                cur = store.get(pid)
                if cur is None:
                    return None
                cur_obj = schema.objects.get(store.object_of(pid) or target.name, target)
            if final.formula is not None:
                return records.formula_value(cur_obj or path.final_obj, cur, final)
            return cur.get(final.name)

        return get

    # -- filters ------------------------------------------------------------------------

    def literal(self, fdef: FieldDef, value: Value):
        """A filter value converted for comparison with stored values of ``fdef``."""
        kind = fdef.type
        if value.kind == "null":
            return None
        if kind in _TEXT or kind in _IDS:
            if value.kind != "string":
                raise self.err(
                    value.pos,
                    "INVALID_FIELD",
                    f"value of filter criterion for field '{fdef.name}' must be of type string and should be enclosed in quotes",
                )
            text = str(value.value).replace("\\%", "%").replace("\\_", "_")
            if kind in _IDS:
                rid = ids.normalize(text)
                if rid is None:
                    raise SalesforceError(
                        "INVALID_QUERY_FILTER_OPERATOR",
                        f"invalid ID field: {text}",
                        400,
                        include_fields=False,
                    )
                return rid
            return text.lower()
        if kind in _NUMERIC:
            if value.kind != "number":
                raise self.err(
                    value.pos,
                    "INVALID_FIELD",
                    f"value of filter criterion for field '{fdef.name}' must be of type {'int' if kind == 'int' else 'double'} and should not be enclosed in quotes",
                )
            return float(value.value)
        if kind == "boolean":
            if value.kind != "boolean":
                raise self.err(
                    value.pos,
                    "INVALID_FIELD",
                    f"value of filter criterion for field '{fdef.name}' must be of type boolean and should not be enclosed in quotes",
                )
            return value.value
        if kind in ("date", "datetime"):
            type_name = "date" if kind == "date" else "dateTime"
            if value.kind == "dateliteral":
                name, n = value.value
                rng = date_range(name, n)
                if rng is None:
                    raise self.err(value.pos, "MALFORMED_QUERY", f"unexpected token: {value.text}")
                return ("range", rng[0].isoformat(), rng[1].isoformat())
            if kind == "date" and value.kind == "date":
                return value.value
            if kind == "datetime" and value.kind == "datetime":
                parsed = parse_datetime(str(value.value))
                if parsed is None:
                    raise self.err(value.pos, "MALFORMED_QUERY", f"unexpected token: {value.text}")
                return format_datetime(parsed)
            raise self.err(
                value.pos,
                "INVALID_FIELD",
                f"value of filter criterion for field '{fdef.name}' must be of type {type_name} and should not be enclosed in quotes",
            )
        if value.kind == "dateliteral":
            raise self.err(value.pos, "MALFORMED_QUERY", f"unexpected token: {value.text}")
        return value.value

    def compile_where(self, obj: ObjectDef, node) -> Callable[[dict], bool]:
        if isinstance(node, BoolOp):
            parts = [self.compile_where(obj, item) for item in node.items]
            if node.op == "AND":
                return lambda rec: all(p(rec) for p in parts)
            return lambda rec: any(p(rec) for p in parts)
        if isinstance(node, Not):
            inner = self.compile_where(obj, node.item)
            return lambda rec: not inner(rec)
        path = self.resolve(obj, node.field)
        get = self.getter(path)
        fdef = path.final
        norm = _normalizer(fdef)
        if isinstance(node, Compare):
            literal = self.literal(fdef, node.value)
            if fdef.type in ("date", "datetime") and isinstance(literal, tuple):
                return _range_predicate(
                    get, node.op, literal[1], literal[2], fdef.type == "datetime"
                )
            if fdef.type == "datetime" and isinstance(literal, str):
                pass
            return _compare_predicate(get, norm, node.op, literal)
        if isinstance(node, InList):
            literals = [self.literal(fdef, v) for v in node.values]
            wanted = {lit for lit in literals if not isinstance(lit, tuple)}
            negated = node.negated

            def in_list(rec: dict) -> bool:
                value = norm(get(rec))
                found = value in wanted
                return not found if negated else found

            return in_list
        if isinstance(node, Like):
            if fdef.type not in _TEXT and fdef.type not in _IDS:
                raise self.err(
                    node.field.pos, "INVALID_FIELD", f"invalid operator on field '{fdef.name}'"
                )
            regex = _like_regex(str(node.pattern.value))

            def like(rec: dict) -> bool:
                value = get(rec)
                return value is not None and regex.fullmatch(str(value)) is not None

            return like
        if isinstance(node, Includes):
            groups = [
                {p.strip().lower() for p in str(v.value).split(";")}
                for v in node.values
                if v.kind == "string"
            ]
            negated = node.negated

            def includes(rec: dict) -> bool:
                chosen = {p.strip().lower() for p in str(get(rec) or "").split(";") if p}
                hit = any(g <= chosen for g in groups)
                return not hit if negated else hit

            return includes
        raise self.err(0, "MALFORMED_QUERY", "unsupported condition")

    def compile(self) -> QueryPlan:
        query = parse(self.text)
        obj = self.schema.object(query.sobject)
        if obj is None or obj.is_platform_event:
            raise self.err(
                query.sobject_pos,
                "INVALID_TYPE",
                f"sObject type '{query.sobject}' is not supported. If you are attempting to use a custom "
                "object, be sure to append the '__c' after the entity name. Please reference your WSDL or "
                "the describe call for the appropriate names.",
            )
        select: list[ResolvedPath] = []
        seen: set[str] = set()
        for ref in query.fields:
            path = self.resolve(obj, ref)
            key = ".".join(path.keys).lower()
            if key in seen:
                raise self.err(ref.pos, "MALFORMED_QUERY", f"duplicate field selected: {ref.path}")
            seen.add(key)
            select.append(path)
        where = self.compile_where(obj, query.where) if query.where is not None else None
        order = []
        for item in query.order_by:
            path = self.resolve(obj, item.field)
            nulls_last = item.nulls_last if item.nulls_last is not None else item.descending
            order.append((path, item.descending, nulls_last))
        if query.offset is not None and query.offset > MAX_OFFSET:
            raise SalesforceError(
                "NUMBER_OUTSIDE_VALID_RANGE",
                f"Maximum SOQL offset allowed is {MAX_OFFSET}",
                400,
                include_fields=False,
            )
        return QueryPlan(query, obj, select, where, order)


def _normalizer(fdef: FieldDef) -> Callable[[object], object]:
    if fdef.type in _TEXT:
        return lambda v: None if v is None else str(v).lower()
    if fdef.type in _NUMERIC:
        return lambda v: None if v is None else float(v)
    return lambda v: v


def _compare_predicate(get, norm, op: str, literal) -> Callable[[dict], bool]:
    if op == "=":
        return lambda rec: norm(get(rec)) == literal
    if op == "!=":
        return lambda rec: norm(get(rec)) != literal

    def relational(rec: dict) -> bool:
        value = norm(get(rec))
        if value is None or literal is None:
            return False
        if op == "<":
            return value < literal
        if op == "<=":
            return value <= literal
        if op == ">":
            return value > literal
        return value >= literal

    return relational


def _range_predicate(
    get, op: str, first: str, last: str, is_datetime: bool
) -> Callable[[dict], bool]:
    def check(rec: dict) -> bool:
        value = get(rec)
        if value is None:
            return op == "!="
        day = str(value)[:10]
        inside = first <= day <= last
        if op == "=":
            return inside
        if op == "!=":
            return not inside
        if op == "<":
            return day < first
        if op == "<=":
            return day <= last
        if op == ">":
            return day > last
        return day >= first

    return check


def _like_regex(pattern: str) -> re.Pattern:
    out = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern) and pattern[i + 1] in "%_":
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        if ch == "%":
            out.append(".*")
        elif ch == "_":
            out.append(".")
        else:
            out.append(re.escape(ch))
        i += 1
    return re.compile("".join(out), re.IGNORECASE | re.DOTALL)


def compile_query(schema: Schema, records, text: str) -> QueryPlan:
    return _Compiler(schema, records, text).compile()


def run_plan(plan: QueryPlan, records, *, include_deleted: bool = False) -> list[str]:
    """Ids of matching records, ordered, after OFFSET and LIMIT."""
    compiler = _Compiler(records.schema, records, plan.query.text)
    rows = list(records.store.iter_object(plan.obj.name, include_deleted=include_deleted))
    if plan.where is not None:
        rows = [r for r in rows if plan.where(r)]
    if plan.order:
        getters = [
            (compiler.getter(p), _normalizer(p.final), desc, nl) for p, desc, nl in plan.order
        ]

        def cmp(a: dict, b: dict) -> int:
            for get, norm, desc, nulls_last in getters:
                va, vb = norm(get(a)), norm(get(b))
                if va == vb:
                    continue
                if va is None or vb is None:
                    a_null = va is None
                    return (1 if nulls_last else -1) if a_null else (-1 if nulls_last else 1)
                result = -1 if va < vb else 1
                return -result if desc else result
            return 0

        rows.sort(key=functools.cmp_to_key(cmp))
    if plan.query.offset:
        rows = rows[plan.query.offset :]
    if plan.query.limit is not None:
        rows = rows[: plan.query.limit]
    return [r["Id"] for r in rows]


def render_row(plan: QueryPlan, records, rec: dict, api_version: str) -> dict:
    """One query result record: attributes, then the selected fields (parents nested)."""
    compiler = _Compiler(records.schema, records, plan.query.text)
    out: dict = {
        "attributes": {
            "type": plan.obj.name,
            "url": records.record_url(plan.obj, rec["Id"], api_version),
        }
    }
    for path in plan.select:
        target = out
        cur = rec
        broken = False
        for (rel, rel_obj), key in zip(path.hops, path.keys, strict=False):
            if broken:
                break
            pid = cur.get(rel.name) if cur is not None else None
            parent = records.store.get(pid) if pid else None
            if parent is None:
                if key not in target:
                    target[key] = None
                broken = True
                break
            parent_obj = records.schema.objects.get(
                records.store.object_of(pid) or rel_obj.name, rel_obj
            )
            nested = target.get(key)
            if not isinstance(nested, dict):
                nested = {
                    "attributes": {
                        "type": parent_obj.name,
                        "url": records.record_url(parent_obj, pid, api_version),
                    }
                }
                target[key] = nested
            target = nested
            cur = parent
        if broken:
            continue
        target[path.keys[-1]] = compiler.getter(
            ResolvedPath(path.text, [], path.final, path.final_obj, [])
        )(cur)
    return out
