"""The local Business Central's write side, for the closed loop (docs/connectors.md).

Standard API v2.0:

* ``GET .../api/v2.0/companies(<id>)/customerPaymentJournals`` (``$filter=code eq '...'``)
* ``GET|POST .../customerPaymentJournals(<id>)/customerPayments``: unposted journal lines
  (``$filter=externalDocumentNumber eq '...'``); ``DELETE .../customerPayments(<id>)``

The Credit Control extension's API pages (``/api/creditControl/closedLoop/v1.0/...``):

* ``customerLedgerEntries``: read (also ``lastModifiedDateTime ge|gt <instant>`` in
  ``$filter``, ``$orderby=lastModifiedDateTime``, server paging with ``@odata.nextLink``);
  payment entries carry ``ccAppliedTo``, the invoices they closed (``<invoice id>:<amount>``
  joined by ``;``); ``PATCH`` of ``promisedPayDate``, ``disputeStatus`` (a code
  set up in Dispute Statuses, or blank) and the extension's ``ccPromisedAmount``,
  ``ccDisputedAmount``, ``ccDisputeReason`` only
* ``creditControlCustomers``: read; ``PATCH`` of ``ccPromisedAmount``, ``ccPromisedPayDate``,
  ``ccHoldOverrideUntil`` only

OData v4 JSON: every entity carries ``@odata.etag``; ``PATCH`` and ``DELETE`` need ``If-Match``
with it (or ``*``), else 412; errors are ``{"error": {"code", "message"}}``. A ``$filter`` is
comparisons joined by ``and`` (``eq`` on the entity's properties). No write here changes an
amount of a posted document: the pages refuse every other property.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import orjson
from flask import Flask, Response, request

from deverp.odata import QueryError, parse_filter, predicate

if TYPE_CHECKING:
    from deverp.bc.server import DevBc

LEDGER_FIELDS = {
    "promisedPayDate": "date",
    "disputeStatus": "dispute",
    "ccPromisedAmount": "amount",
    "ccDisputedAmount": "amount",
    "ccDisputeReason": "text",
}
CUSTOMER_FIELDS = {
    "ccPromisedAmount": "amount",
    "ccPromisedPayDate": "date",
    "ccHoldOverrideUntil": "date",
}
LEDGER_FILTERS = {
    "id", "entryNumber", "customerNumber", "documentType", "documentNumber",
    "externalDocumentNumber", "open", "reversed",
}  # fmt: skip
_SINCE = re.compile(r"lastModifiedDateTime (ge|gt) (\S+)")
JOURNAL_LINE_FIELDS = {
    "customerNumber", "postingDate", "documentNumber", "externalDocumentNumber", "amount",
    "appliesToInvoiceNumber", "description", "comment",
}  # fmt: skip


def register(app: Flask, server: DevBc, json: Callable, error: Callable) -> None:
    book = server.book
    tenant = server.TENANT
    standard = f"/v2.0/{tenant}/<environment>/api/v2.0/companies(<company>)"
    extension = (
        f"/v2.0/{tenant}/<environment>/api/creditControl/closedLoop/v1.0/companies(<company>)"
    )

    def gate(environment: str, company: str) -> Response | None:
        refused = server.gate()
        if refused is not None:
            return refused
        if not server.extension_installed and "/creditControl/" in request.path:
            return error(
                404, "BadRequest_NotFound",
                f"No HTTP resource was found that matches the request URI '{request.base_url}'.",
            )  # fmt: skip
        if environment != server.ENVIRONMENT or company != book.company_id:
            return error(404, "BadRequest_NotFound", "The company does not exist.")
        return None

    def collection(rows: list[dict[str, Any]], fields: set[str]) -> Response:
        text = request.args.get("$filter")
        if text:
            try:
                keep = predicate(parse_filter(text), fields)
            except QueryError as exc:
                return error(400, "BadRequest", str(exc))
            rows = [r for r in rows if keep(r)]
        return json({"@odata.context": request.base_url, "value": rows})

    def etag_matches(row: dict[str, Any]) -> Response | None:
        with book.lock:
            if server.conflicts > 0:  # another user changes the record just before this write
                server.conflicts -= 1
                row["@odata.etag"] = book.etag()
        wanted = request.headers.get("If-Match")
        if wanted is None:
            return error(400, "BadRequest", "An If-Match header is required.")
        if wanted not in ("*", row["@odata.etag"]):
            return error(
                412, "Request_EntityChanged",
                "Another user has already changed the record.",
            )  # fmt: skip
        return None

    def body() -> dict[str, Any] | Response:
        try:
            parsed = orjson.loads(request.get_data())
        except orjson.JSONDecodeError:
            return error(400, "BadRequest", "The request body is not valid JSON.")
        if not isinstance(parsed, dict):
            return error(400, "BadRequest", "The request body must be an object.")
        return parsed

    def patch(row: dict[str, Any], editable: dict[str, str], table: str) -> Response:
        changes = body()
        if isinstance(changes, Response):
            return changes
        for name, value in changes.items():
            kind = editable.get(name)
            if kind is None:
                return error(
                    400, "BadRequest_InvalidRequestBody",
                    f"The property '{name}' cannot be modified on this page.",
                )  # fmt: skip
            problem = _invalid(kind, value, book.dispute_statuses, table)
            if problem:
                return error(
                    400,
                    "Internal_FieldValueInvalid" if kind == "dispute" else "BadRequest",
                    problem,
                )
        refused = etag_matches(row)
        if refused is not None:
            return refused
        with book.lock:
            row.update(changes)
            row["@odata.etag"] = book.etag()
        book.writes.append(("PATCH", request.path, changes))
        return json(row)

    # --- the extension's pages --------------------------------------------------------------

    @app.get(f"{extension}/customerLedgerEntries")
    def ledger_entries(environment: str, company: str):
        server.filters.append(f"customerLedgerEntries?{request.args.get('$filter', '')}")
        refused = gate(environment, company)
        if refused is not None:
            return refused
        text = request.args.get("$filter") or ""
        since = _SINCE.search(text)
        rows = list(book.ledger)
        if since is not None:
            try:
                instant = datetime.fromisoformat(since.group(2).replace("Z", "+00:00"))
            except ValueError:
                return error(400, "BadRequest", f"Invalid filter: {text[:80]}")
            inclusive = since.group(1) == "ge"
            rows = [r for r in rows if _modified_after(r, instant, inclusive=inclusive)]
            rest = (text[: since.start()] + " " + text[since.end() :]).strip()
            text = re.sub(r"^and\s+|\s+and$", "", re.sub(r"\s+and\s+and\s+", " and ", rest))
        if text:
            try:
                keep = predicate(parse_filter(text), LEDGER_FILTERS)
            except QueryError as exc:
                return error(400, "BadRequest", str(exc))
            rows = [r for r in rows if keep(r)]
        if request.args.get("$orderby") == "lastModifiedDateTime":
            rows.sort(key=lambda r: (r["lastModifiedDateTime"], r["id"]))
        try:
            skip = int(request.args.get("$skiptoken", "0"))
        except ValueError:
            return error(400, "BadRequest", "Invalid $skiptoken")
        answer: dict[str, Any] = {
            "@odata.context": request.base_url,
            "value": rows[skip : skip + server.page_size],
        }
        if skip + server.page_size < len(rows):
            query = {k: v for k, v in request.args.items() if k != "$skiptoken"}
            query["$skiptoken"] = str(skip + server.page_size)
            answer["@odata.nextLink"] = request.base_url + "?" + urlencode(query)
        return json(answer)

    @app.route(f"{extension}/customerLedgerEntries(<rid>)", methods=["PATCH"])
    def ledger_entry(environment: str, company: str, rid: str):
        refused = gate(environment, company)
        if refused is not None:
            return refused
        row = next((e for e in book.ledger if e["id"] == rid), None)
        if row is None:
            return error(404, "BadRequest_NotFound", "The customer ledger entry does not exist.")
        return patch(row, LEDGER_FIELDS, "Cust. Ledger Entry")

    def customer_rows() -> list[dict[str, Any]]:
        return [
            {"id": c["id"], "number": c["number"], "displayName": c["displayName"],
             "blocked": c["blocked"], **book.customer_fields[c["id"]]}
            for c in book.rows["customers"]
        ]  # fmt: skip

    @app.get(f"{extension}/creditControlCustomers")
    def customers(environment: str, company: str):
        return gate(environment, company) or collection(customer_rows(), {"id", "number"})

    @app.route(f"{extension}/creditControlCustomers(<rid>)", methods=["PATCH"])
    def customer(environment: str, company: str, rid: str):
        refused = gate(environment, company)
        if refused is not None:
            return refused
        if rid not in book.customer_fields:
            return error(404, "BadRequest_NotFound", "The customer does not exist.")
        answer = patch(book.customer_fields[rid], CUSTOMER_FIELDS, "Customer")
        if answer.status_code != 200:
            return answer
        return json(next(r for r in customer_rows() if r["id"] == rid))

    # --- the standard payment journals ------------------------------------------------------

    @app.get(f"{standard}/customerPaymentJournals")
    def journals(environment: str, company: str):
        return gate(environment, company) or collection(list(book.journals), {"id", "code"})

    def journal_of(jid: str) -> dict[str, Any] | None:
        return next((j for j in book.journals if j["id"] == jid), None)

    @app.route(
        f"{standard}/customerPaymentJournals(<jid>)/customerPayments", methods=["GET", "POST"]
    )
    def journal_lines(environment: str, company: str, jid: str):
        refused = gate(environment, company)
        if refused is not None:
            return refused
        journal = journal_of(jid)
        if journal is None:
            return error(404, "BadRequest_NotFound", "The customer payment journal does not exist.")
        if request.method == "GET":
            return collection(
                [r for r in book.rows["customerPayments"] if r.get("journalId") == jid],
                {"id", "customerNumber", "documentNumber", "externalDocumentNumber"},
            )
        line = body()
        if isinstance(line, Response):
            return line
        unknown = sorted(set(line) - JOURNAL_LINE_FIELDS)
        if unknown:
            return error(
                400, "BadRequest_InvalidRequestBody", f"The property '{unknown[0]}' does not exist."
            )
        number = line.get("customerNumber")
        if not any(c["number"] == number for c in book.rows["customers"]):
            return error(
                400, "Internal_RecordNotFound",
                f"The Customer does not exist. Identification fields and values: No.='{number}'",
            )  # fmt: skip
        if (
            not isinstance(line.get("amount"), int | float)
            or len(str(line.get("externalDocumentNumber", ""))) > 35
        ):
            return error(
                400,
                "BadRequest",
                "amount must be a number; externalDocumentNumber at most 35 characters.",
            )
        with book.lock:
            row = book.add_journal_line(journal, line)
        book.writes.append(("POST", request.path, line))
        return json(row, 201)

    @app.route(
        f"{standard}/customerPaymentJournals(<jid>)/customerPayments(<lid>)", methods=["DELETE"]
    )
    def journal_line(environment: str, company: str, jid: str, lid: str):
        refused = gate(environment, company)
        if refused is not None:
            return refused
        row = next(
            (r for r in book.rows["customerPayments"] if r["id"] == lid and r.get("journalId") == jid),
            None,
        )  # fmt: skip
        if row is None:
            return error(404, "BadRequest_NotFound", "The customer payment does not exist.")
        refused = etag_matches(row)
        if refused is not None:
            return refused
        with book.lock:
            book.rows["customerPayments"].remove(row)
        book.writes.append(("DELETE", request.path, {}))
        return Response(status=204)


def _modified_after(row: dict[str, Any], since: datetime, *, inclusive: bool) -> bool:
    at = datetime.fromisoformat(row["lastModifiedDateTime"].replace("Z", "+00:00"))
    return at >= since if inclusive else at > since


def _invalid(kind: str, value: Any, statuses: set[str], table: str) -> str | None:
    if kind == "amount":
        return (
            None
            if isinstance(value, int | float) and not isinstance(value, bool)
            else "A number is expected."
        )
    if kind == "text":
        return (
            None
            if isinstance(value, str) and len(value) <= 250
            else "A text of 250 characters at most is expected."
        )
    if kind == "date":
        try:
            date.fromisoformat(value)
        except (TypeError, ValueError):
            return f"'{value}' is not a valid date."
        return None
    if value == "" or value in statuses:
        return None
    return (
        f"The field Dispute Status of table {table} contains a value ({value}) that cannot be "
        "found in the related table (Dispute Status)."
    )
