"""The SAP S/4HANA connector: pulls (incremental and full) and the closed loop's writes.

Incremental pull: customer items (``FinancialAccountType eq 'D'``) changed on or after the
cursor's day, in ``(LastChangeDate, key)`` order, a page at a time. Each page's documents are
read whole (every item of each document the page touched, the open partial payments pointing at
its invoices, the items its payments cleared) and mapped (``mapping``). The cursor after a page
is ``{"changed_on": <day>, "after": <last item's key>}``; when a pull reaches the end it keeps
the day and drops ``after``, so the next pull reads that day again (SAP's marker is a day: items
changed again later that day are read again; rows not newer change nothing).

Full reconciliation: every open customer item (``IsCleared eq false``) in key order, so a
document's items arrive together (a document cut by a page boundary waits for the next page);
the open partial payments are read first, by the invoice they reference. It reconciles
receivables; payments come from incremental pulls (an open payment item alone would lose the
allocations its clearings gave it).

Customers are read from ``API_BUSINESS_PARTNER/A_Customer`` when a page names customers not yet
stored (their currency is the company code's currency of their items), and all of them on a
full reconciliation (names of stored customers).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from service.config import SapSettings
from service.connectors.base import Page, Record, StoredCustomers
from service.connectors.http import ErpError, ErpHttp
from service.connectors.prefetch import prefetched
from service.connectors.sap import mapping
from service.connectors.sap.auth import BasicAuth, ClientCredentials
from service.connectors.sap.mapping import Documents, Key, Rules, key_of
from service.connectors.sap.odata import (
    ODataService,
    after,
    all_of,
    any_of,
    describe,
    eq,
    literal,
)
from service.db import utcnow

ITEMS = "A_OperationalAcctgDocItemCube"
KEY = ("CompanyCode", "FiscalYear", "AccountingDocument", "AccountingDocumentItem")
CHANGED = ("LastChangeDate", *KEY)
CASES = "A_DisputeCase"
# Documents per lookup request: short enough for any gateway's URL limit.
LOOKUP = 25
CUSTOMER_LOOKUP = 40


class SapConnector:
    name = "sap"
    # Cases only: a hold override and cash from bank statements have no place in SAP here
    # (docs/connectors.md, "The closed loop").
    write_kinds = frozenset({"promise", "dispute_open", "dispute_resolved"})
    share_min = 50_000  # open items below which a full run stays in one process

    def __init__(
        self,
        settings: SapSettings,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.source = settings.source
        self.clock = clock
        if settings.client_id:
            assert settings.token_url and settings.client_secret
            auth = ClientCredentials(settings.token_url, settings.client_id, settings.client_secret)
        else:
            assert settings.user and settings.password is not None
            auth = BasicAuth(settings.user, settings.password)
        self.http = ErpHttp(auth, sleep=sleep, describe=describe, attempts=settings.attempts)
        self.items = ODataService(self.http, settings.base_url, "API_OPLACCTGDOCITEMCUBE_SRV")
        self.partners = ODataService(self.http, settings.base_url, "API_BUSINESS_PARTNER")
        self.cases = ODataService(self.http, settings.base_url, settings.case_service)
        self.rules = Rules(payment_types=frozenset(settings.payment_types))

    # --- pulls ----------------------------------------------------------------------------

    def _scope(self) -> str:
        clauses = [eq("FinancialAccountType", "D")]
        if self.settings.company_codes:
            clauses.append(any_of([eq("CompanyCode", c) for c in self.settings.company_codes]))
        return all_of(clauses)

    def pull(
        self, position: dict[str, Any] | None, *, full: bool, stored_customers: StoredCustomers
    ) -> Iterator[Page]:
        if full:
            yield from self._full(stored_customers)
        else:
            yield from self._incremental(position, stored_customers)

    def full_position(self) -> dict[str, Any]:
        # SAP's day is the system's time zone; a day's margin covers any offset from UTC.
        return {"changed_on": (self.clock() - timedelta(days=1)).date().isoformat()}

    def _incremental(
        self, position: dict[str, Any] | None, stored_customers: StoredCustomers
    ) -> Iterator[Page]:
        where = [self._scope()]
        start = None
        changed_on = (position or {}).get("changed_on")
        if changed_on:
            where.append(f"LastChangeDate ge {literal(_day(changed_on))}")
            if position.get("after"):
                start = [_day(changed_on), *position["after"]]
        pages = prefetched(
            self.items.keyset(
                ITEMS,
                where=all_of(where),
                order=CHANGED,
                select=mapping.SELECT,
                top=self.settings.page_size,
                start=start,
            )
        )
        last_day = changed_on
        for items in pages:
            _require_keys(items)
            read_at = self.clock()
            documents = self._documents_of(items)
            keys = sorted(documents.own)
            records, problems = mapping.map_documents(documents, keys, self.rules, read_at)
            last = items[-1]
            last_day = mapping.sap_date(last["LastChangeDate"]).isoformat()
            page = Page(
                records=self._customers(records, documents, stored_customers) + records,
                problems=problems,
                position={"changed_on": last_day, "after": [last[k] for k in KEY]},
                read=len(items),
            )
            yield page
        if last_day:
            yield Page(position={"changed_on": last_day})

    def _documents_of(self, changed: list[dict]) -> Documents:
        """Every item of the documents ``changed`` touched, with what points at them."""
        touched: set[Key] = set()
        for item in changed:
            touched.add(key_of(item))
            for linked in (mapping.reference_of(item), mapping.clearing_of(item)):
                if linked is not None:
                    touched.add(linked)
        documents = Documents()
        ordered = sorted(touched)
        for start in range(0, len(ordered), LOOKUP):
            part = ordered[start : start + LOOKUP]
            own = any_of(
                [
                    all_of(
                        [
                            eq("CompanyCode", cc),
                            eq("FiscalYear", fy),
                            eq("AccountingDocument", doc),
                        ]
                    )
                    for cc, fy, doc in part
                ]
            )
            documents.add_own(self._items(own))
            links = any_of(
                [
                    all_of([eq("CompanyCode", cc), eq(column, doc)])
                    for cc, _, doc in part
                    for column in ("InvoiceReference", "ClearingAccountingDocument")
                ]
            )
            documents.add_links(self._items(links))
        return documents

    def _items(self, where: str) -> list[dict]:
        rows: list[dict] = []
        for page in self.items.keyset(
            ITEMS,
            where=all_of([self._scope(), where]),
            order=KEY,
            select=mapping.SELECT,
            top=self.settings.page_size,
        ):
            _require_keys(page)
            rows.extend(page)
        return rows

    def shares(self, count: int) -> list[dict[str, Any]]:
        """Key ranges that split the open items into ``count`` parts of about equal size, for
        a full reconciliation in several processes (each range starts at a document).

        One part when there are fewer than ``SHARE_MIN`` open items: a helper process's start
        (about a second) would not pay.
        """
        where = all_of([self._scope(), "IsCleared eq false"])
        total = self.items.count(ITEMS, where) if count > 1 else 0
        if total < self.share_min:
            return [{}]
        bounds: list[list[str]] = []
        for n in range(1, count):
            found = self.items.results(
                ITEMS,
                {
                    "$filter": where,
                    "$orderby": ",".join(KEY),
                    "$select": ",".join(KEY),
                    "$top": "1",
                    "$skip": str(total * n // count),
                },
            )
            if found:
                bound = [found[0][name] for name in KEY[:3]] + [""]
                if not bounds or bound != bounds[-1]:
                    bounds.append(bound)
        edges: list[list[str] | None] = [None, *bounds, None]
        return [
            {"after": edges[i], "until": edges[i + 1], "first": i == 0}
            for i in range(len(edges) - 1)
        ]

    def spawn_args(self) -> tuple[str, Any]:
        """How a helper process builds this connector: ``(module:class, settings)``."""
        return ("service.connectors.sap.connector:SapConnector", self.settings)

    def pull_share(
        self, share: dict[str, Any], *, stored_customers: StoredCustomers
    ) -> Iterator[Page]:
        return self._full(stored_customers, share)

    def _full(
        self, stored_customers: StoredCustomers, share: dict[str, Any] | None = None
    ) -> Iterator[Page]:
        share = share or {}
        documents = Documents()
        partial = all_of([self._scope(), "IsCleared eq false", "InvoiceReference ne ''"])
        for items in self.items.keyset(
            ITEMS, where=partial, order=KEY, select=mapping.SELECT, top=self.settings.page_size
        ):
            _require_keys(items)
            documents.add_links(items)
        if share.get("first", True):
            yield from self._all_customers(stored_customers)
        held: list[dict] = []  # the last document of a page, completed by the next page
        where = [self._scope(), "IsCleared eq false"]
        if share.get("until"):
            where.append(f"not {after(KEY, share['until'])}")
        pages = prefetched(
            self.items.keyset(
                ITEMS,
                where=all_of(where),
                order=KEY,
                select=mapping.SELECT,
                top=self.settings.page_size,
                start=share.get("after"),
            )
        )
        for items in pages:
            _require_keys(items)
            items = held + items
            tail = key_of(items[-1])
            held = [item for item in items if key_of(item) == tail]
            yield self._full_page(
                [i for i in items if key_of(i) != tail], documents, stored_customers
            )
        if held:
            yield self._full_page(held, documents, stored_customers)

    def _full_page(
        self, items: list[dict], links: Documents, stored_customers: StoredCustomers
    ) -> Page:
        documents = Documents(referencing=links.referencing)
        documents.add_own(
            item
            for item in items
            if item.get("AccountingDocumentType") not in self.rules.payment_types
        )
        records, problems = mapping.map_documents(
            documents, list(documents.own), self.rules, self.clock()
        )
        customers = self._customers(records, documents, stored_customers)
        return Page(records=customers + records, problems=problems, read=len(items))

    # --- customers ------------------------------------------------------------------------

    def _customers(
        self, records: list[Record], documents: Documents, stored_customers: StoredCustomers
    ) -> list[Record]:
        numbers = sorted({r.row["customer"] for r in records})
        if not numbers:
            return []
        known = stored_customers(numbers)
        missing = [n for n in numbers if n not in known]
        if not missing:
            return []
        currency: dict[str, str] = {}
        fallback_name: dict[str, str] = {}
        for items in documents.own.values():
            for item in items:
                number = item.get("Customer")
                currency.setdefault(number, item.get("CompanyCodeCurrency") or "")
                if item.get("CustomerName"):
                    fallback_name.setdefault(number, item["CustomerName"])
        names = {}
        for start in range(0, len(missing), CUSTOMER_LOOKUP):
            part = missing[start : start + CUSTOMER_LOOKUP]
            rows = self.partners.results(
                "A_Customer",
                {
                    "$filter": any_of([eq("Customer", n) for n in part]),
                    "$select": "Customer,CustomerName,CustomerFullName",
                },
            )
            for row in rows:
                names[row.get("Customer")] = row.get("CustomerFullName") or row.get("CustomerName")
        return [
            Record(
                "customers",
                number,
                {
                    "number": number,
                    "name": names.get(number) or fallback_name.get(number),
                    "currency": currency.get(number),
                },
            )
            for number in missing
        ]

    def _all_customers(self, stored_customers: StoredCustomers) -> Iterator[Page]:
        """Names of the stored customers, refreshed from the business partners."""
        for rows in self.partners.keyset(
            "A_Customer",
            where="",
            order=("Customer",),
            select=("Customer", "CustomerName", "CustomerFullName"),
            top=self.settings.page_size,
        ):
            stored = stored_customers([row["Customer"] for row in rows])
            records = [
                Record(
                    "customers",
                    row["Customer"],
                    {
                        "number": row["Customer"],
                        "name": row.get("CustomerFullName") or row.get("CustomerName"),
                        "currency": stored[row["Customer"]],
                    },
                )
                for row in rows
                if row["Customer"] in stored
            ]
            yield Page(records=records)

    # --- the closed loop ------------------------------------------------------------------

    def write(self, kind: str, key: str, payload: dict[str, Any]) -> str:
        """Create or close the case ``payload["reference"]`` names; never an item's amount.

        Looked up by ``CaseExternalReference`` first, so a write repeated after a crash (sent,
        not yet acknowledged here) finds the case it made instead of making a second one.
        Property names are SAP's for its accounts-receivable dispute case where they could be
        checked (docs/connectors.md, "The closed loop", says which could not).
        """
        reference = payload["reference"]
        found = self.cases.results(
            CASES,
            {
                "$filter": eq("CaseExternalReference", reference),
                "$select": "DisputeCaseUUID,CaseStatus,CaseTitle",
            },
        )
        if kind == "dispute_resolved":
            if not found:
                raise ErpError(f"no case {reference} to resolve yet", retryable=True)
            case = found[0]
            closed = self.settings.case_closed_status
            if closed is None:  # permanent until set; --retry-failed sends it again then
                raise ErpError(
                    "SAP_CASE_CLOSED_STATUS is not set: the status that closes a dispute case"
                )
            if case.get("CaseStatus") != closed:
                title = case.get("CaseTitle") or ""
                outcome = payload.get("outcome", "")
                self.cases.write(
                    "PATCH",
                    f"{CASES}(guid'{case['DisputeCaseUUID']}')",
                    {"CaseStatus": closed, "CaseTitle": f"{title} ({outcome})"[:80]},
                )
            return case["DisputeCaseUUID"]
        if found:
            return found[0]["DisputeCaseUUID"]
        body = {
            "DisputeCaseUUID": str(uuid.uuid4()),
            "CaseExternalReference": reference,
            "CaseType": self.settings.dispute_case_type
            if kind == "dispute_open"
            else self.settings.promise_case_type,
            "Customer": payload["customer"],
            "CompanyCode": payload.get("company_code", ""),
            "FiscalYear": payload.get("fiscal_year", ""),
            "AccountingDocument": payload.get("document", ""),
        }
        title = payload.get("title", "")
        if kind == "dispute_open":
            # CaseReason is a four-character reason code in SAP: the collector's words go in
            # the title.
            reason = payload.get("reason", "")
            body["CaseTitle"] = (f"{title}: {reason}" if reason else title)[:80]
            body["CustomerDisputedAmount"] = payload["amount"]
            body["CustomerDisputedCurrency"] = payload.get("currency", "")
        else:
            body["CaseTitle"] = title[:80]
            body["PromisedAmount"] = payload["amount"]
            body["PromiseToPayDueDate"] = payload["date"]
            body["DisputeCaseCurrency"] = payload.get("currency", "")
        created = self.cases.write("POST", CASES, body)
        return created.get("DisputeCaseUUID") or body["DisputeCaseUUID"]

    def stats(self) -> dict[str, int]:
        return {"throttled": self.http.throttled, "tokens_renewed": self.http.refreshed}


def _require_keys(items: list[dict]) -> None:
    """Items are named by their key: an answer with an item lacking it is broken whole."""
    for item in items:
        try:
            if not (
                item["CompanyCode"]
                and item["FiscalYear"]
                and item["AccountingDocument"]
                and item["AccountingDocumentItem"]
            ) or not isinstance(item["FiscalYear"], str):
                raise KeyError
        except KeyError:
            raise ErpError(f"{ITEMS}: an item without its {', '.join(KEY)}") from None


def _day(value: str):
    return datetime.fromisoformat(value).date()
