"""The NetSuite connector: REST SuiteQL (``POST /services/rest/query/v1/suiteql``).

Three queries, each paged by internal id (``id > <last>``, ``limit``), so a stored position
resumes exactly: customers, then invoices, credit memos and customer payments
(``transaction`` types ``CustInvc``, ``CustCred``, ``CustPymt``), then the payments' applications
(``NextTransactionLineLink``, link type ``Payment``) for the payments of each page. Changes are
found by ``lastmodifieddate`` by day (SuiteQL compares dates), like SAP: rows carry the instant
they were read, a pull reads its last day again, and the daily full run reads every open item
(``foreignamountunpaid <> 0``) and closes what it did not see. Amounts are the transaction
currency's (``foreign*`` columns); dates are asked for as ``YYYY-MM-DD`` (``TO_CHAR``), not in
the account's display format. Queries hold only dates and ids this module formats itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import requests

from service.config import NetSuiteSettings
from service.connectors.base import Page, Problem, Record, StoredCustomers
from service.connectors.http import ErpError, ErpHttp
from service.connectors.jsonbody import dumps
from service.connectors.netsuite.auth import MachineToMachine, TokenBased
from service.db import utcnow

CUSTOMERS = (
    "SELECT c.id, c.entityid, c.companyname, c.creditlimit, cur.symbol AS currency "
    "FROM customer c JOIN currency cur ON cur.id = c.currency "
    "WHERE {since}c.id > {after} ORDER BY c.id"
)
TRANSACTIONS = (
    "SELECT t.id, t.tranid, t.type, c.entityid AS customer, "
    "TO_CHAR(t.trandate, 'YYYY-MM-DD') AS trandate, TO_CHAR(t.duedate, 'YYYY-MM-DD') AS duedate, "
    "cur.symbol AS currency, t.foreigntotal, t.foreignamountunpaid "
    "FROM transaction t JOIN customer c ON c.id = t.entity JOIN currency cur ON cur.id = t.currency "
    "WHERE t.type IN ({types}) AND {since}{open}t.id > {after} ORDER BY t.id"
)
APPLICATIONS = (
    "SELECT l.nextdoc AS payment, l.previousdoc AS invoice, l.foreignamount AS amount "
    "FROM NextTransactionLineLink l WHERE l.linktype = 'Payment' AND l.nextdoc IN ({ids})"
)
KINDS = {"CustInvc": "invoice", "CustCred": "credit_note", "CustPymt": "payment"}


def _since(alias: str, day: str | None) -> str:
    if not day:
        return ""
    date.fromisoformat(day)  # only a date goes into the query
    return f"{alias}.lastmodifieddate >= TO_DATE('{day}', 'YYYY-MM-DD') AND "


def _describe(response: requests.Response) -> str:
    try:
        body = response.json()
        details = body.get("o:errorDetails") or [{}]
        return f"{details[0].get('o:errorCode', '')}: {details[0].get('detail') or body.get('title', '')}"[
            :300
        ]
    except (ValueError, AttributeError, IndexError):
        return response.text[:200]


# The closed loop's fields: custom body fields on invoices, custom entity fields on customers
# (created in the account for this integration; their ids are settings).
DISPUTE_STATUS = "custbody_cc_dispute_status"
DISPUTED_AMOUNT = "custbody_cc_disputed_amount"
DISPUTE_REASON = "custbody_cc_dispute_reason"
PROMISED_AMOUNT = "custbody_cc_promised_amount"
PROMISE_DATE = "custbody_cc_promise_date"
CUSTOMER_PROMISED_AMOUNT = "custentity_cc_promised_amount"
CUSTOMER_PROMISE_DATE = "custentity_cc_promise_date"
CUSTOMER_HOLD_OVERRIDE_UNTIL = "custentity_cc_hold_override_until"


class NetSuiteConnector:
    name = "netsuite"
    write_kinds = frozenset({"promise", "dispute_open", "dispute_resolved", "hold_override"})

    def __init__(
        self,
        settings: NetSuiteSettings,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.source = settings.source
        self.clock = clock
        auth = MachineToMachine(settings) if settings.client_id else TokenBased(settings)
        self.http = ErpHttp(auth, sleep=sleep, describe=_describe, attempts=settings.attempts)
        self.url = f"{settings.base_url}/services/rest/query/v1/suiteql"

    def full_position(self) -> dict[str, Any]:
        return {"changed_on": (self.clock() - timedelta(days=1)).date().isoformat()}

    def pull(
        self, position: dict[str, Any] | None, *, full: bool, stored_customers: StoredCustomers
    ) -> Iterator[Page]:
        position = dict(position or {})
        day = None if full else position.get("changed_on")
        reached = dict(position)
        if not full:
            for rows in self._query(CUSTOMERS, "c", day, position.get("customers_after", 0)):
                reached["customers_after"] = int(rows[-1]["id"])
                yield self._page("customers", rows, reached)
        types = "'CustInvc', 'CustCred'" if full else "'CustInvc', 'CustCred', 'CustPymt'"
        open_only = "t.foreignamountunpaid <> 0 AND " if full else ""
        start = 0 if full else position.get("transactions_after", 0)
        query = TRANSACTIONS.replace("{types}", types).replace("{open}", open_only)
        for rows in self._query(query, "t", day, start):
            reached["transactions_after"] = int(rows[-1]["id"])
            yield self._page("transactions", rows, None if full else reached)
        if not full:
            yield Page(position={"changed_on": self.full_position()["changed_on"]})

    def _query(self, template: str, alias: str, day: str | None, after: int) -> Iterator[list]:
        after = int(after)
        while True:
            query = template.replace("{since}", _since(alias, day)).replace("{after}", str(after))
            rows = self._suiteql(query)
            if not rows:
                return
            yield rows
            if len(rows) < self.settings.page_size:
                return
            after = int(rows[-1]["id"])

    def _suiteql(self, query: str) -> list[dict[str, Any]]:
        response = self.http.request(
            "POST",
            self.url,
            params={"limit": str(self.settings.page_size), "offset": "0"},
            json={"q": query},
            headers={"Prefer": "transient"},
        )
        try:
            body = response.json()
            rows = body["items"]
        except (ValueError, KeyError, TypeError):
            raise ErpError("suiteql: not a SuiteQL answer") from None
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise ErpError("suiteql: not a list of rows")
        for row in rows:
            if not str(row.get("id", row.get("payment", ""))).isdigit():
                raise ErpError("suiteql: a row without its internal id")
        return rows

    def _page(self, what: str, rows: list[dict], position: dict | None) -> Page:
        stamp = self.clock().isoformat()
        records: list[Record] = []
        problems: list[Problem] = []
        applications: dict[str, list[dict]] = {}
        if what == "transactions":
            payments = [r["id"] for r in rows if r.get("type") == "CustPymt"]
            if payments:
                ids = ", ".join(str(int(i)) for i in payments)
                for link in self._suiteql(APPLICATIONS.replace("{ids}", ids)):
                    applications.setdefault(str(link["payment"]), []).append(link)
        for row in rows:
            kind = "customers" if what == "customers" else (
                "payments" if row.get("type") == "CustPymt" else "receivables"
            )  # fmt: skip
            source_id = str(row.get("tranid") or row.get("entityid") or row["id"])
            try:
                mapped = self._map(what, row, stamp, applications.get(str(row["id"]), []))
            except (KeyError, TypeError, ValueError, InvalidOperation) as error:
                problems.append(Problem(kind, source_id, "", f"unreadable row: {error}"))
                continue
            if mapped is not None:
                records.append(Record(kind, source_id, mapped))
        return Page(
            records=records, problems=problems, position=position and dict(position), read=len(rows)
        )

    def _map(self, what: str, row: dict, stamp: str, links: list[dict]) -> dict | None:
        if what == "customers":
            limit = row.get("creditlimit")
            return {
                "number": row["entityid"],
                "name": row.get("companyname") or row["entityid"],
                "currency": row["currency"],
                "credit_limit": _amount(limit) if limit not in (None, "") else None,
            }
        kind = KINDS.get(row.get("type"))
        if kind is None:
            raise ValueError(f"type {row.get('type')!r}")
        if kind == "payment":
            return {
                "id": str(row["id"]),
                "customer": row["customer"],
                "amount": _amount(row["foreigntotal"]),
                "currency": row["currency"],
                "received_at": datetime.combine(
                    date.fromisoformat(row["trandate"]), datetime.min.time(), UTC
                ).isoformat(),
                "reference": row.get("tranid") or None,
                "applied_to": [
                    {"receivable": invoice, "amount": _amount(amount)}
                    for invoice, amount in _per_invoice(links).items()
                ],
                "updated_at": stamp,
            }
        return {
            "id": str(row["id"]),
            "customer": row["customer"],
            "type": kind,
            "number": row.get("tranid") or str(row["id"]),
            "issue_date": row["trandate"],
            "due_date": row.get("duedate") or row["trandate"],
            "currency": row["currency"],
            "amount": _amount(row["foreigntotal"]),
            "open_amount": _amount(row.get("foreignamountunpaid") or "0"),
            "updated_at": stamp,
        }

    def write(self, kind: str, key: str, payload: dict[str, Any]) -> str:
        """Set the closed loop's custom fields on the invoice (or the customer, for a promise
        without one and for a hold override) with ``PATCH /services/rest/record/v1/...``: the
        same fields set twice are the same record, so a repeated write changes nothing; no
        amount of the transaction, and no standard field (the customer's own credit hold
        included), is ever among them."""
        item = payload.get("item")
        amount = payload.get("amount")
        if amount is not None:
            amount = Decimal(amount)  # a decimal string, written into the body as a JSON number
        if kind in ("dispute_open", "dispute_resolved"):
            if not item or not str(item).isdigit():
                raise ErpError("a dispute without its NetSuite invoice")
            fields: dict[str, Any] = {DISPUTE_STATUS: "Open"}
            if kind == "dispute_open":
                fields[DISPUTED_AMOUNT] = amount
                fields[DISPUTE_REASON] = str(payload.get("reason") or "")[:300]
            else:
                fields[DISPUTE_STATUS] = str(payload.get("outcome") or "Resolved")[:40]
            return self._patch("invoice", str(item), fields)
        if kind == "promise":
            if item and str(item).isdigit():
                return self._patch(
                    "invoice",
                    str(item),
                    {PROMISED_AMOUNT: amount, PROMISE_DATE: payload["date"]},
                )
            internal = self._customer_id(payload["customer"])
            return self._patch(
                "customer",
                internal,
                {CUSTOMER_PROMISED_AMOUNT: amount, CUSTOMER_PROMISE_DATE: payload["date"]},
            )
        if kind == "hold_override":
            internal = self._customer_id(payload["customer"])
            return self._patch(
                "customer", internal, {CUSTOMER_HOLD_OVERRIDE_UNTIL: payload.get("until")}
            )
        raise ErpError(f"no NetSuite write for {kind}")

    def _customer_id(self, number: str) -> str:
        # SuiteQL over REST takes no bind parameters: the number becomes a string literal, its
        # quotes doubled, and only printable text is let in.
        if not number.isprintable():
            raise ErpError(f"customer number {number!r} cannot be looked up")
        quoted = number.replace("'", "''")
        query = (
            f"SELECT c.id FROM customer c WHERE c.entityid = '{quoted}' AND c.id > 0 ORDER BY c.id"  # noqa: S608
        )
        rows = self._suiteql(query)
        if not rows:
            raise ErpError(f"customer {number} is not in NetSuite", retryable=True)
        return str(rows[0]["id"])

    def _patch(self, record: str, internal_id: str, fields: dict[str, Any]) -> str:
        self.http.request(
            "PATCH",
            f"{self.settings.base_url}/services/rest/record/v1/{record}/{internal_id}",
            data=dumps(fields),
            headers={"Content-Type": "application/json"},
        )
        return f"{record}/{internal_id}"

    def stats(self) -> dict[str, int]:
        return {"throttled": self.http.throttled, "tokens_renewed": self.http.refreshed}


def _per_invoice(links: list[dict]) -> dict[str, Decimal]:
    """A payment's applications by invoice: the link table is per transaction line, so an
    invoice can be linked by more than one row; its allocation is their sum."""
    applied: dict[str, Decimal] = {}
    for link in links:
        invoice = str(link["invoice"])
        applied[invoice] = applied.get(invoice, Decimal(0)) + abs(Decimal(str(link["amount"])))
    return applied


def _amount(value: Any) -> str:
    """SuiteQL's numbers are strings ("4320.5"), signed by the transaction's direction."""
    amount = abs(Decimal(str(value)))
    cents = amount.quantize(Decimal("0.01"))
    return str(cents if cents == amount else amount)
