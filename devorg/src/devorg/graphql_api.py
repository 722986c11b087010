"""The GraphQL API's read subset (``POST /services/data/vXX.X/graphql``) that the package's
components query through ``lightning/graphql``:

    query name($var: Type) {
      uiapi { query { Account(where: {...}, orderBy: {...}, first: 10, after: "cursor") {
        edges { node { Id  Name { value displayValue }  Owner { Name { value } } } }
        pageInfo { hasNextPage endCursor }  totalCount
      } } }
    }

A connection is turned into one SOQL query (the UI API's GraphQL is SOQL underneath) and run by
devorg's SOQL engine, so filters, ordering and nulls behave as they do in queries over REST.
``where`` takes ``and`` / ``or`` / ``not`` and per-field operators ``eq ne lt lte gt gte in nin
like`` (values: literals or ``{value: ...}`` for dates), on fields and parent relationships;
``orderBy`` takes ``{Field: {order: ASC|DESC, nulls: FIRST|LAST}}``. Answers are GraphQL's
``{"data": ..., "errors": [...]}``; a query devorg does not understand is an error with the
place it was found, never a partial answer. The query text is parsed by graphql-core.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field

from flask import Blueprint
from graphql import GraphQLError, parse
from graphql.language import FieldNode, OperationDefinitionNode
from graphql.pyutils import Undefined
from graphql.utilities import value_from_ast_untyped

from .errors import SalesforceError
from .schema import FieldDef, ObjectDef
from .soql.evaluator import compile_query, render_row, run_plan
from .ui_api import Representation
from .wire import json_body, sf_json

MAX_TOKENS = 20_000
DEFAULT_FIRST = 10
MAX_FIRST = 2000
MAX_OFFSET = 2000
OPERATORS = {"eq": "=", "ne": "!=", "lt": "<", "lte": "<=", "gt": ">", "gte": ">="}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:?\d{2})$")
_LITERAL = re.compile(r"^[A-Z_]+(:\d+)?$")


class QueryError(Exception):
    """A query devorg cannot answer; ``path`` says where."""

    def __init__(self, message: str, node=None) -> None:
        super().__init__(message)
        self.message = message
        self.node = node

    def body(self) -> dict:
        error: dict = {"message": self.message, "locations": [], "path": None}
        loc = getattr(self.node, "loc", None)
        if loc is not None and loc.source is not None:
            start = loc.source.get_location(loc.start)
            error["locations"] = [{"line": start.line, "column": start.column}]
        error["extensions"] = {"ErrorType": "ValidationError"}
        return error


def soql_string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    escaped = escaped.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    return f"'{escaped}'"


def soql_literal(fdef: FieldDef, value, node) -> str:
    """A filter value as a SOQL literal of the field's type; anything else is refused."""
    if isinstance(value, dict):
        if "literal" in value and isinstance(value["literal"], str):
            if not _LITERAL.match(value["literal"]):
                raise QueryError(f"Unknown date literal {value['literal']!r}", node)
            return value["literal"]
        value = value.get("value")
    if value is None:
        return "null"
    kind = fdef.type
    if kind == "boolean":
        if not isinstance(value, bool):
            raise QueryError(f"{fdef.name} takes true or false", node)
        return "TRUE" if value else "FALSE"
    if kind in ("double", "currency", "percent", "int"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise QueryError(f"{fdef.name} takes a number", node)
        return repr(value) if isinstance(value, float) else str(value)
    if not isinstance(value, str):
        raise QueryError(f"{fdef.name} takes a string", node)
    if kind == "date":
        if not _DATE.match(value):
            raise QueryError(f"{fdef.name} takes a date (YYYY-MM-DD)", node)
        return value
    if kind == "datetime":
        if not _DATETIME.match(value):
            raise QueryError(f"{fdef.name} takes a date and time (ISO 8601)", node)
        return value
    return soql_string(value)


@dataclass
class Selection:
    """What a node asks for: scalar fields, field values, and parents (nested)."""

    obj: ObjectDef
    prefix: str  # SOQL path prefix, "" or "Owner."
    items: list = field(default_factory=list)  # (response key, kind, name, sub)


class Connection:
    """One ``Object(where, orderBy, first, after) { edges ... pageInfo ... totalCount }``."""

    def __init__(self, org, node: FieldNode, variables: dict) -> None:
        self.org = org
        self.node = node
        self.variables = variables
        self.obj = org.schema.object(node.name.value)
        if self.obj is None or self.obj.is_platform_event:
            raise QueryError(
                f"Validation error of type FieldUndefined: Field '{node.name.value}' in type 'RecordQuery' is undefined",
                node,
            )
        self.paths: list[str] = ["Id"]
        self.args = {}
        for arg in node.arguments or ():
            value = defined(value_from_ast_untyped(arg.value, variables))
            if value is not None:
                self.args[arg.name.value] = value

    # -- selection -------------------------------------------------------------------------

    def fields_of(self, node: FieldNode) -> list[FieldNode]:
        selections = node.selection_set.selections if node.selection_set else []
        out = []
        for item in selections:
            if not isinstance(item, FieldNode):
                raise QueryError("Fragments are not supported by devorg's GraphQL", item)
            out.append(item)
        return out

    def selection(self, obj: ObjectDef, node: FieldNode, prefix: str) -> Selection:
        sel = Selection(obj, prefix)
        for item in self.fields_of(node):
            name = item.name.value
            key = item.alias.value if item.alias else name
            if name in ("Id", "ApiName", "__typename"):
                sel.items.append((key, "scalar", name, None))
                if name == "Id" and prefix:
                    self.paths.append(f"{prefix}Id")
                continue
            fdef = obj.field(name)
            if fdef is not None and item.selection_set is not None:
                subs = [s.name.value for s in self.fields_of(item)]
                unknown = [s for s in subs if s not in ("value", "displayValue", "label")]
                if unknown:
                    raise QueryError(
                        f"Validation error of type FieldUndefined: Field '{unknown[0]}' is undefined on a field value",
                        item,
                    )
                sel.items.append((key, "value", fdef.name, self.fields_of(item)))
                self.paths.append(f"{prefix}{fdef.name}")
                continue
            rel = obj.relationship(name)
            if rel is not None and rel.reference_to and item.selection_set is not None:
                parent = self.org.schema.objects.get(rel.reference_to[0])
                if parent is None:
                    raise QueryError(f"Relationship '{name}' leads nowhere", item)
                relationship = rel.relationship_name or name
                self.paths.append(f"{prefix}{relationship}.Id")
                sub = self.selection(parent, item, f"{prefix}{relationship}.")
                sel.items.append((key, "parent", relationship, sub))
                continue
            raise QueryError(
                f"Validation error of type FieldUndefined: Field '{name}' in type '{obj.name}' is undefined",
                item,
            )
        return sel

    # -- where and orderBy -------------------------------------------------------------------

    def field_path(self, obj: ObjectDef, name: str, node) -> tuple[FieldDef | None, ObjectDef]:
        fdef = obj.field(name)
        if fdef is not None:
            return fdef, obj
        rel = obj.relationship(name)
        if rel is not None and rel.reference_to:
            return None, self.org.schema.objects[rel.reference_to[0]]
        raise QueryError(f"Field '{name}' is not defined on '{obj.name}'", node)

    def where(self, obj: ObjectDef, clause, prefix: str = "") -> str:
        if not isinstance(clause, dict) or not clause:
            raise QueryError("A where clause is an object of fields and operators", self.node)
        parts = []
        for key, value in clause.items():
            if key in ("and", "or"):
                if not isinstance(value, list) or not value:
                    raise QueryError(f"'{key}' takes a list of conditions", self.node)
                inner = [self.where(obj, item, prefix) for item in value]
                parts.append("(" + f" {key.upper()} ".join(inner) + ")")
            elif key == "not":
                parts.append(f"(NOT {self.where(obj, value, prefix)})")
            else:
                fdef, target = self.field_path(obj, key, self.node)
                if fdef is None:  # a parent relationship: filter on its fields
                    rel = obj.relationship(key)
                    relationship = rel.relationship_name or key
                    parts.append(self.where(target, value, f"{prefix}{relationship}."))
                else:
                    parts.append(self.condition(fdef, f"{prefix}{fdef.name}", value))
        return "(" + " AND ".join(parts) + ")"

    def condition(self, fdef: FieldDef, path: str, ops) -> str:
        if not isinstance(ops, dict) or not ops:
            raise QueryError(f"{fdef.name} needs an operator such as eq", self.node)
        out = []
        for op, value in ops.items():
            if op in OPERATORS:
                out.append(f"{path} {OPERATORS[op]} {soql_literal(fdef, value, self.node)}")
            elif op in ("in", "nin"):
                if not isinstance(value, list) or not value:
                    raise QueryError(f"'{op}' takes a non-empty list", self.node)
                items = ", ".join(soql_literal(fdef, v, self.node) for v in value)
                out.append(f"{path} {'IN' if op == 'in' else 'NOT IN'} ({items})")
            elif op == "like":
                if not isinstance(value, str):
                    raise QueryError("'like' takes a string", self.node)
                out.append(f"{path} LIKE {soql_string(value)}")
            else:
                raise QueryError(f"Unknown operator '{op}' on {fdef.name}", self.node)
        return "(" + " AND ".join(out) + ")"

    def order_by(self, obj: ObjectDef, clause, prefix: str = "") -> list[str]:
        if not isinstance(clause, dict):
            raise QueryError("orderBy is an object of fields", self.node)
        out = []
        for key, value in clause.items():
            fdef, target = self.field_path(obj, key, self.node)
            if not isinstance(value, dict):
                raise QueryError(f"orderBy {key} takes {{order, nulls}}", self.node)
            if fdef is None:
                rel = obj.relationship(key)
                out += self.order_by(target, value, f"{prefix}{rel.relationship_name or key}.")
                continue
            order = value.get("order", "ASC")
            nulls = value.get("nulls")
            if order not in ("ASC", "DESC") or nulls not in (None, "FIRST", "LAST"):
                raise QueryError(
                    f"orderBy {key}: order is ASC or DESC, nulls FIRST or LAST", self.node
                )
            out.append(f"{prefix}{fdef.name} {order}" + (f" NULLS {nulls}" if nulls else ""))
        return out

    # -- run ---------------------------------------------------------------------------------

    def page(self) -> tuple[int, int]:
        first = self.args.get("first", DEFAULT_FIRST)
        if isinstance(first, bool) or not isinstance(first, int) or not 0 < first <= MAX_FIRST:
            raise QueryError(f"'first' must be between 1 and {MAX_FIRST}", self.node)
        offset = 0
        after = self.args.get("after")
        if after is not None:
            try:
                offset = int(
                    base64.b64decode(str(after), validate=True).decode().removeprefix("v1:")
                )
            except ValueError:
                raise QueryError("'after' is not a cursor this query returned", self.node) from None
            offset += 1
        if offset > MAX_OFFSET:
            raise QueryError(f"Paging beyond {MAX_OFFSET} records is not supported", self.node)
        return first, offset

    def run(self, api_version: str) -> dict:
        unknown = set(self.args) - {"where", "orderBy", "first", "after"}
        if unknown:
            raise QueryError(f"Unknown argument '{sorted(unknown)[0]}'", self.node)
        wanted = {item.name.value: item for item in self.fields_of(self.node)}
        edges_node = wanted.get("edges")
        node_sel = None
        if edges_node is not None:
            node_field = next(
                (f for f in self.fields_of(edges_node) if f.name.value == "node"), None
            )
            if node_field is not None:
                node_sel = self.selection(self.obj, node_field, "")
        first, offset = self.page()
        # Names come from the schema, values through soql_literal: nothing is spliced raw.
        soql = f"SELECT {', '.join(dict.fromkeys(self.paths))} FROM {self.obj.name}"  # noqa: S608
        if self.args.get("where") is not None:
            soql += f" WHERE {self.where(self.obj, self.args['where'])}"
        order = self.order_by(self.obj, self.args["orderBy"]) if self.args.get("orderBy") else []
        soql += f" ORDER BY {', '.join([*order, 'Id ASC'])}"
        records = self.org.records
        try:
            plan = compile_query(self.org.schema, records, soql)
            all_ids = run_plan(plan, records)
        except SalesforceError as err:
            raise QueryError(err.message, self.node) from None
        window = all_ids[offset : offset + first]
        rows = [render_row(plan, records, self.org.store.get(rid), api_version) for rid in window]
        reps = Representation(self.org, api_version)
        out: dict = {}
        for key, item in (
            (f.alias.value if f.alias else f.name.value, f) for f in self.fields_of(self.node)
        ):
            name = item.name.value
            if name == "edges":
                out[key] = [
                    self.edge(item, node_sel, row, reps, offset + index)
                    for index, row in enumerate(rows)
                ]
            elif name == "pageInfo":
                info = {
                    "hasNextPage": offset + first < len(all_ids),
                    "hasPreviousPage": offset > 0,
                    "startCursor": cursor(offset) if rows else None,
                    "endCursor": cursor(offset + len(rows) - 1) if rows else None,
                }
                out[key] = {
                    (s.alias.value if s.alias else s.name.value): info.get(s.name.value)
                    for s in self.fields_of(item)
                }
            elif name == "totalCount":
                out[key] = len(all_ids)
            else:
                raise QueryError(f"Field '{name}' is undefined on a connection", item)
        return out

    def edge(self, edge_node, node_sel, row, reps, position) -> dict:
        out = {}
        for item in self.fields_of(edge_node):
            key = item.alias.value if item.alias else item.name.value
            if item.name.value == "node":
                out[key] = self.render(node_sel, row, reps)
            elif item.name.value == "cursor":
                out[key] = cursor(position)
            else:
                raise QueryError(f"Field '{item.name.value}' is undefined on an edge", item)
        return out

    def render(self, sel: Selection, row: dict, reps: Representation) -> dict:
        out = {}
        for key, kind, name, sub in sel.items:
            if kind == "scalar":
                out[key] = row.get("Id") if name == "Id" else sel.obj.name
            elif kind == "value":
                fdef = sel.obj.fields[name]
                value = row.get(name)
                shown = {
                    "value": value,
                    "displayValue": reps.display_value(fdef, value),
                    "label": fdef.label,
                }
                out[key] = {
                    (s.alias.value if s.alias else s.name.value): shown[s.name.value] for s in sub
                }
            else:
                parent = row.get(name)
                out[key] = self.render(sub, parent, reps) if parent else None
        return out


def defined(value):
    """A variable the request did not give is null, as in Salesforce's GraphQL."""
    if value is Undefined:
        return None
    if isinstance(value, dict):
        return {k: defined(v) for k, v in value.items()}
    if isinstance(value, list):
        return [defined(v) for v in value]
    return value


def cursor(position: int) -> str:
    return base64.b64encode(f"v1:{position}".encode()).decode()


def execute(org, text, variables, api_version: str) -> dict:
    if not isinstance(text, str) or not text.strip():
        raise QueryError("The request has no query")
    if variables is None:
        variables = {}
    if not isinstance(variables, dict):
        raise QueryError("'variables' must be an object")
    try:
        document = parse(text, no_location=False, max_tokens=MAX_TOKENS)
    except GraphQLError as err:
        raise QueryError(f"Invalid Syntax : {err.message}") from None
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != 1 or len(document.definitions) != 1:
        raise QueryError("devorg's GraphQL runs exactly one query and no fragments")
    operation = operations[0]
    if operation.operation.value != "query":
        raise QueryError("devorg's GraphQL answers queries only (no mutations)", operation)
    data: dict = {}
    for top in operation.selection_set.selections:
        if not isinstance(top, FieldNode) or top.name.value != "uiapi":
            raise QueryError("A query starts with uiapi", top)
        uiapi: dict = {}
        for part in top.selection_set.selections if top.selection_set else []:
            if not isinstance(part, FieldNode) or part.name.value != "query":
                raise QueryError("devorg's GraphQL supports uiapi { query { ... } } only", part)
            result: dict = {}
            for conn in part.selection_set.selections if part.selection_set else []:
                if not isinstance(conn, FieldNode):
                    raise QueryError("Fragments are not supported by devorg's GraphQL", conn)
                key = conn.alias.value if conn.alias else conn.name.value
                result[key] = Connection(org, conn, variables).run(api_version)
            uiapi[part.alias.value if part.alias else "query"] = result
        data[top.alias.value if top.alias else "uiapi"] = uiapi
    return data


def make_graphql_blueprint(org) -> Blueprint:
    bp = Blueprint("devorg_graphql", __name__)

    @bp.post("/services/data/v<version>/graphql")
    def graphql(version):
        body = json_body()
        if not isinstance(body, dict):
            raise SalesforceError(
                "JSON_PARSER_ERROR",
                "The request body must be a JSON object",
                400,
                include_fields=False,
            )
        try:
            data = execute(org, body.get("query"), body.get("variables"), version)
        except QueryError as err:
            return sf_json({"data": None, "errors": [err.body()]})
        return sf_json({"data": data, "errors": []})

    return bp
