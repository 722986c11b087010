"""The Business Central connector: API v2.0 collections pulled by ``lastModifiedDateTime``.

Tokens come from Entra ID with ``msal`` (client credentials, scope
``<base url>/.default``); msal keeps a token until it expires, and after a 401 the connector
drops it (``remove_tokens_for_client``) so the next request gets a fresh one.

Each collection is read with ``$filter=lastModifiedDateTime ge <cursor>`` and
``$orderby=lastModifiedDateTime``, following ``@odata.nextLink``; the cursor is an instant per
collection (``{"customers": "...", "salesInvoices": "...", ...}``), moved after each page.
``ge`` rather than ``gt``: records sharing the last instant are read again rather than missed;
rows not newer change nothing. Amounts are JSON numbers in Business Central: they are read as
``Decimal`` straight from the text, never through float.

Mapping: customers -> customers (``currencyCode`` blank is the local currency); posted sales
invoices and credit memos -> receivables (``remainingAmount`` is the open amount; drafts are
skipped); posted payments -> confirmed payments. API v2.0 has no posted payments (its
``customerPayments`` are unposted journal lines, reflected in no open amount, so they are not
read): they are the customer ledger entries of type Payment on the Credit Control extension's
page ``customerLedgerEntries``, read by the same cursor rule (``lastModifiedDateTime`` is the
entry's SystemModifiedAt); ``amount`` credits the customer (negative), the external document
number is the reference, and ``ccAppliedTo`` (the invoices the entry closed) the allocations,
so only money applied to nothing counts as unapplied cash. Without the extension (the page
answers 404) no payments are read, and that is logged once per connector.

The closed loop's writes are in ``service.connectors.bc.closed_loop``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

import msal
import requests

from service.config import BcSettings
from service.connectors.base import Page, Problem, Record, StoredCustomers
from service.connectors.bc.closed_loop import BcWriter
from service.connectors.http import Auth, ErpError, ErpHttp
from service.db import utcnow

log = logging.getLogger(__name__)

# The standard API v2.0 collections read (and subscribed to by webhooks).
ENTITIES = ("customers", "salesInvoices", "salesCreditMemos")
# Posted payments: the Credit Control extension's page, read after the standard collections.
PAYMENTS = "customerLedgerEntries"


class MsalAuth(Auth):
    """msal's confidential client, made on first use: msal reads the authority's OpenID
    configuration when it is built, which must not stop a worker from starting while Entra ID
    is unreachable (the pull fails and is tried again at its next slot instead)."""

    def __init__(self, settings: BcSettings) -> None:
        self.settings = settings
        self._app: msal.ConfidentialClientApplication | None = None
        # The API's resource, whatever URL the API is reached at.
        self.scopes = ["https://api.businesscentral.dynamics.com/.default"]

    @property
    def app(self) -> msal.ConfidentialClientApplication:
        if self._app is None:
            settings = self.settings
            self._app = msal.ConfidentialClientApplication(
                settings.client_id,
                client_credential=settings.client_secret,
                authority=f"{settings.authority_host}/{settings.tenant_id}",
                instance_discovery=False,
                validate_authority=False,
            )
        return self._app

    def apply(self, session: requests.Session, headers: dict[str, str]) -> None:
        try:
            result = self.app.acquire_token_for_client(scopes=self.scopes)
        except (requests.RequestException, ValueError) as error:
            raise ErpError(f"Entra ID: {type(error).__name__}", retryable=True) from None
        token = result.get("access_token") if isinstance(result, dict) else None
        if not token:
            reason = result.get("error", "no token") if isinstance(result, dict) else "no token"
            raise ErpError(f"Entra ID refused the client credentials: {reason}")
        headers["Authorization"] = f"Bearer {token}"

    def refresh(self, session: requests.Session) -> bool:
        if self._app is not None:
            self._app.remove_tokens_for_client()
        return True


def _describe(response: requests.Response) -> str:
    try:
        error = response.json().get("error") or {}
        return f"{error.get('code', '')}: {error.get('message', '')}"[:300]
    except (ValueError, AttributeError):
        return response.text[:200]


class BcConnector:
    name = "bc"
    write_kinds = frozenset(
        {"promise", "dispute_open", "dispute_resolved", "hold_override"}
        | {"cash_applied", "cash_reversed"}
    )

    def __init__(
        self,
        settings: BcSettings,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.source = settings.source
        self.clock = clock
        self.http = ErpHttp(
            MsalAuth(settings), sleep=sleep, describe=_describe, attempts=settings.attempts
        )
        self._reached: dict[str, Any] = {}
        self.root = (
            f"{settings.base_url}/v2.0/{settings.tenant_id}/{settings.environment}"
            f"/api/v2.0/companies({settings.company_id})"
        )
        self.writer = BcWriter(self.http, settings)
        self.extension_root = self.writer.extension
        self.without_extension = False  # the ledger page answered 404 (logged once)

    def pull(
        self, position: dict[str, Any] | None, *, full: bool, stored_customers: StoredCustomers
    ) -> Iterator[Page]:
        position = dict(position or {})
        self._reached = position
        for entity in (*ENTITIES, PAYMENTS):
            since = None if full else position.get(entity)
            for rows in self._read(entity, since):
                # A full run stamps rows with the instant they were read, so that every open
                # item it saw is rewritten and the reconciliation closes only the others.
                records, problems = self._map(entity, rows, self.clock() if full else None)
                newest = max((r.get("lastModifiedDateTime") or "" for r in rows), default="")
                if newest and (position.get(entity) or "") < newest:
                    position[entity] = newest
                yield Page(
                    records=records,
                    problems=problems,
                    position=None if full else dict(position),
                    read=len(rows),
                )

    def full_position(self) -> dict[str, Any]:
        """Where the full run's reading ended, per collection."""
        return dict(self._reached)

    def _read(self, entity: str, since: str | None) -> Iterator[list[dict]]:
        if entity != PAYMENTS:
            yield from self._pages(self.root, entity, since)
            return
        try:
            yield from self._pages(self.extension_root, entity, since, "documentType eq 'Payment'")
        except ErpError as error:
            if error.status != 404:
                raise
            if not self.without_extension:
                log.warning(
                    "Business Central: the Credit Control extension's customerLedgerEntries "
                    "page is not there (404): no payments are read until it is installed"
                )
            self.without_extension = True

    def _pages(
        self, root: str, entity: str, since: str | None, where: str = ""
    ) -> Iterator[list[dict]]:
        params: dict[str, str] | None = {"$orderby": "lastModifiedDateTime"}
        conditions = [c for c in (where, f"lastModifiedDateTime ge {since}" if since else "") if c]
        if conditions:
            params["$filter"] = " and ".join(conditions)
        url: str | None = f"{root}/{entity}"
        while url:
            response = self.http.request("GET", url, params=params)
            try:
                body = json.loads(response.text, parse_float=Decimal)
                rows = body["value"]
            except (ValueError, KeyError, TypeError):
                raise ErpError(f"GET {root}/{entity}: not an API answer") from None
            if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
                raise ErpError(f"GET {root}/{entity}: not a collection")
            if rows:
                yield rows
            following = body.get("@odata.nextLink")
            if following and not str(following).startswith(root + "/"):
                raise ErpError(f"GET {root}/{entity}: nextLink leads off the company")
            url, params = following, None

    def _map(
        self, entity: str, rows: list[dict], read_at: datetime | None
    ) -> tuple[list[Record], list[Problem]]:
        records: list[Record] = []
        problems: list[Problem] = []
        kind = {"customers": "customers", PAYMENTS: "payments"}.get(entity, "receivables")
        for row in rows:
            source_id = str(row.get("number") or row.get("documentNumber") or row.get("id"))
            try:
                mapped = getattr(self, f"_{entity}")(row)
            except (KeyError, TypeError, ValueError, ArithmeticError) as error:
                problems.append(Problem(kind, source_id, "", f"unreadable record: {error}"))
                continue
            if mapped is not None:
                if read_at is not None and "updated_at" in mapped:
                    mapped["updated_at"] = read_at.isoformat()
                records.append(Record(kind, source_id, mapped))
        return records, problems

    def _currency(self, code: Any) -> str:
        return code if isinstance(code, str) and code.strip() else self.settings.local_currency

    def _customers(self, row: dict) -> dict:
        limit = row.get("creditLimit")
        return {
            "number": row["number"],
            "name": row["displayName"],
            "currency": self._currency(row.get("currencyCode")),
            "credit_limit": _money(limit) if limit else None,
            "updated_at": _instant(row["lastModifiedDateTime"]),
        }

    def _receivable(self, row: dict, kind: str, issued: str) -> dict | None:
        if row.get("status") == "Draft":
            return None
        open_amount = ZERO if row.get("status") == "Canceled" else row["remainingAmount"]
        return {
            "id": row["id"],
            "customer": row["customerNumber"],
            "type": kind,
            "number": row["number"],
            "issue_date": row[issued],
            "due_date": row.get("dueDate") or row[issued],
            "currency": self._currency(row.get("currencyCode")),
            "amount": _money(row["totalAmountIncludingTax"]),
            "open_amount": _money(open_amount),
            "updated_at": _instant(row["lastModifiedDateTime"]),
        }

    def _salesInvoices(self, row: dict) -> dict | None:
        return self._receivable(row, "invoice", "invoiceDate")

    def _salesCreditMemos(self, row: dict) -> dict | None:
        return self._receivable(row, "credit_note", "creditMemoDate")

    def _customerLedgerEntries(self, row: dict) -> dict | None:
        """A posted payment. Reversed entries (the payment and its reversal) are not read."""
        if row["documentType"] != "Payment" or row.get("reversed"):
            return None
        amount = -Decimal(row["amount"])  # a receipt credits the customer
        if amount <= 0:
            return None  # not a receipt (money paid out, keyed as a payment)
        return {
            "id": row["id"],
            "customer": row["customerNumber"],
            "amount": _money(amount),
            "currency": self._currency(row.get("currencyCode")),
            "received_at": f"{row['postingDate']}T00:00:00+00:00",
            "reference": (row.get("externalDocumentNumber") or "").strip() or None,
            "applied_to": _applied(row.get("ccAppliedTo")),
            "updated_at": _instant(row["lastModifiedDateTime"]),
        }

    entities = ENTITIES

    def subscriptions(self, method: str, held: dict | None, entity: str) -> dict[str, Any]:
        """Create (``POST``) or renew (``PATCH``) the webhook subscription of ``entity``."""
        settings = self.settings
        api = f"{settings.base_url}/v2.0/{settings.tenant_id}/{settings.environment}/api/v2.0"
        body = {
            "notificationUrl": settings.webhook_url,
            "resource": f"api/v2.0/companies({settings.company_id})/{entity}",
            "clientState": settings.webhook_client_state,
        }
        if method == "POST":
            response = self.http.request("POST", f"{api}/subscriptions", json=body)
        else:
            assert held is not None
            response = self.http.request(
                "PATCH",
                f"{api}/subscriptions('{held['id']}')",
                json=body,
                headers={"If-Match": held["etag"] or "*"},
            )
        try:
            answer = response.json()
            answer["subscriptionId"], answer["expirationDateTime"]
        except (ValueError, KeyError, TypeError):
            raise ErpError("subscriptions: not a subscription in the answer") from None
        return answer

    def after_run(self, sessions, now: datetime) -> None:
        """Keep the webhook subscriptions alive (``service.connectors.bc.subscriptions``)."""
        from service.connectors.bc.subscriptions import keep_subscribed

        keep_subscribed(sessions, self, now)

    def write(self, kind: str, key: str, payload: dict[str, Any]) -> str:
        return self.writer.write(kind, key, payload)

    def stats(self) -> dict[str, int]:
        return {"throttled": self.http.throttled, "tokens_renewed": self.http.refreshed}


ZERO = Decimal(0)


def _money(value: Any) -> str:
    amount = Decimal(str(value)) if not isinstance(value, Decimal) else value
    return (
        str(amount.quantize(Decimal("0.01")))
        if amount == amount.quantize(Decimal("0.01"))
        else str(amount)
    )


def _applied(text: Any) -> list[dict[str, str]]:
    """``<invoice id>:<amount>;...`` (the extension's ``ccAppliedTo``) -> the feed's allocations."""
    out = []
    for part in str(text or "").split(";"):
        if part.strip():
            invoice, _, amount = part.rpartition(":")
            if not invoice.strip():
                raise ValueError(f"ccAppliedTo: {part!r} names no invoice")
            out.append({"receivable": invoice.strip(), "amount": _money(Decimal(amount))})
    return out


def _instant(value: str) -> str:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).isoformat()
