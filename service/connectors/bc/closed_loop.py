"""The closed loop with Business Central: what collectors did, and bank cash, written back.

Where each fact goes (docs/connectors.md says why and what the tenant installs):

* a promise or a dispute on an invoice: that invoice's customer ledger entry, through the
  Credit Control extension's API page ``customerLedgerEntries``
  (``/api/creditControl/closedLoop/v1.0``): the standard ``Promised Pay Date`` and ``Dispute
  Status`` fields (``BC_DISPUTE_STATUS`` when open, blank when resolved) and the extension's
  promised amount, disputed amount and reason;
* a promise without an invoice, and a hold override: the extension's fields on the customer
  (page ``creditControlCustomers``). The standard ``Blocked`` is never written;
* cash applied from a bank statement: one line per provisional payment (its whole amount, so
  that the posted payment supersedes it by ``service.payment_matching``'s rule) in the customer
  payment journal ``BC_PAYMENT_JOURNAL`` (standard API v2.0
  ``customerPaymentJournals(<id>)/customerPayments``), applied to the invoice when it pays
  exactly one, naming the invoices in its description otherwise; unposted until the accountant
  posts it, and never read back by the pull (only posted payments are). A reversed credit
  deletes the line if it is still there. A posted one cannot be undone from here: the write
  fails for good with the entry.

Every write is idempotent: a field is PATCHed (with the entity's ``@odata.etag`` in
``If-Match``) only when it differs from what Business Central holds, and a journal line is
looked up by its reference (``externalDocumentNumber``), in the journal and among the posted
payments, before one is created. No write changes an amount of a posted document.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from service.config import BcSettings
from service.connectors.http import ErpError, ErpHttp
from service.connectors.jsonbody import dumps

BLANK_DATE = "0001-01-01"  # how Business Central's APIs write an empty date
# API pages write enum values with spaces XML-encoded ("Credit Memo" is "Credit_x0020_Memo").
DOCUMENT_TYPES = {"invoice": "Invoice", "credit_note": "Credit_x0020_Memo"}


def _literal(text: str) -> str:
    """An OData string literal (quotes doubled)."""
    return "'" + str(text).replace("'", "''") + "'"


def _same(held: Any, wanted: Any) -> bool:
    if isinstance(wanted, Decimal):
        try:
            return Decimal(str(held)) == wanted
        except ArithmeticError:
            return False
    return held == wanted


class BcWriter:
    def __init__(self, http: ErpHttp, settings: BcSettings) -> None:
        self.http = http
        self.settings = settings
        api = f"{settings.base_url}/v2.0/{settings.tenant_id}/{settings.environment}/api"
        self.standard = f"{api}/v2.0/companies({settings.company_id})"
        self.extension = f"{api}/creditControl/closedLoop/v1.0/companies({settings.company_id})"
        self._journal: str | None = None

    def write(self, kind: str, key: str, payload: dict[str, Any]) -> str:
        amount = Decimal(payload["amount"]) if payload.get("amount") is not None else None
        if kind == "dispute_open":
            return self._entry(
                payload,
                {
                    "disputeStatus": self.settings.dispute_status,
                    "ccDisputedAmount": amount,
                    "ccDisputeReason": str(payload.get("reason") or "")[:250],
                },
            )
        if kind == "dispute_resolved":
            return self._entry(payload, {"disputeStatus": ""})
        if kind == "promise":
            if payload.get("item_number"):
                return self._entry(
                    payload, {"promisedPayDate": payload["date"], "ccPromisedAmount": amount}
                )
            return self._customer(
                payload["customer"],
                {"ccPromisedAmount": amount, "ccPromisedPayDate": payload["date"]},
            )
        if kind == "hold_override":
            return self._customer(
                payload["customer"], {"ccHoldOverrideUntil": payload.get("until") or BLANK_DATE}
            )
        if kind == "cash_applied":
            return self._add_line(payload, amount)
        if kind == "cash_reversed":
            return self._remove_line(payload)
        raise ErpError(f"no Business Central write for {kind}")

    # --- reading ----------------------------------------------------------------------------

    def _rows(self, url: str, where: str) -> list[dict[str, Any]]:
        response = self.http.request("GET", url, params={"$filter": where})
        try:
            rows = json.loads(response.text, parse_float=Decimal)["value"]
        except (ValueError, KeyError, TypeError):
            raise ErpError(f"GET {url}: not an API answer") from None
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise ErpError(f"GET {url}: not a collection")
        return rows

    # --- fields on ledger entries and customers ---------------------------------------------

    def _entry(self, payload: dict[str, Any], fields: dict[str, Any]) -> str:
        number = payload.get("item_number")
        kind = DOCUMENT_TYPES.get(payload.get("item_kind") or "")
        if not number or kind is None:
            raise ErpError("no Business Central document for this action (it names no invoice)")
        url = f"{self.extension}/customerLedgerEntries"
        where = (
            f"documentType eq {_literal(kind)} and documentNumber eq {_literal(number)}"
            f" and customerNumber eq {_literal(payload['customer'])}"
        )
        return self._set(url, lambda: self._rows(url, where), fields, f"{kind} {number}")

    def _customer(self, number: str, fields: dict[str, Any]) -> str:
        url = f"{self.extension}/creditControlCustomers"
        where = f"number eq {_literal(number)}"
        return self._set(url, lambda: self._rows(url, where), fields, f"customer {number}")

    def _set(
        self,
        url: str,
        find: Callable[[], list[dict[str, Any]]],
        fields: dict[str, Any],
        what: str,
    ) -> str:
        """PATCH the fields that differ; a record changed meanwhile (412) is read again once."""
        for attempt in (1, 2):
            rows = find()
            if not rows:
                raise ErpError(f"{what} is not in Business Central (yet)", retryable=True)
            row = rows[0]
            differs = {k: v for k, v in fields.items() if not _same(row.get(k), v)}
            if not differs:
                return str(row["id"])
            try:
                self.http.request(
                    "PATCH",
                    f"{url}({row['id']})",
                    data=dumps(differs),
                    headers={
                        "Content-Type": "application/json",
                        "If-Match": row.get("@odata.etag") or "*",
                    },
                )
            except ErpError as error:
                if error.status == 412 and attempt == 1:
                    continue
                raise
            return str(row["id"])
        raise AssertionError("unreachable")

    # --- payment journal lines ----------------------------------------------------------------

    def _journal_id(self) -> str:
        if self._journal is None:
            code = self.settings.payment_journal
            rows = self._rows(
                f"{self.standard}/customerPaymentJournals", f"code eq {_literal(code)}"
            )
            if not rows:
                raise ErpError(
                    f"the customer payment journal {code} does not exist in Business Central "
                    "(BC_PAYMENT_JOURNAL)"
                )
            self._journal = str(rows[0]["id"])
        return self._journal

    def _lines(self, reference: str) -> tuple[str, list[dict[str, Any]]]:
        url = f"{self.standard}/customerPaymentJournals({self._journal_id()})/customerPayments"
        return url, self._rows(url, f"externalDocumentNumber eq {_literal(reference)}")

    def _posted(self, reference: str) -> list[dict[str, Any]]:
        return self._rows(
            f"{self.extension}/customerLedgerEntries",
            f"documentType eq 'Payment' and externalDocumentNumber eq {_literal(reference)}",
        )

    def _add_line(self, payload: dict[str, Any], amount: Decimal | None) -> str:
        reference = payload["reference"]
        currency = payload.get("currency")
        if currency != self.settings.local_currency:
            raise ErpError(
                f"{payload['application']}: {currency} cash is posted from the export; the "
                f"journal takes {self.settings.local_currency} (BC_LOCAL_CURRENCY) only"
            )
        if amount is None or amount <= 0:
            raise ErpError(f"{payload['application']}: no amount to write")
        url, lines = self._lines(reference)
        if lines:
            return str(lines[0]["id"])
        posted = self._posted(reference)
        if posted:
            return f"entry {posted[0].get('entryNumber')}"
        body: dict[str, Any] = {
            "customerNumber": payload["customer"],
            "postingDate": payload["date"],
            "externalDocumentNumber": reference,
            "amount": -amount,  # a receipt credits the customer, as journal lines hold it
            "description": payload.get("description") or payload["application"],
        }
        if payload.get("item_number"):
            body["appliesToInvoiceNumber"] = payload["item_number"]
        response = self.http.request(
            "POST", url, data=dumps(body), headers={"Content-Type": "application/json"}
        )
        try:
            return str(response.json()["id"])
        except (ValueError, KeyError, TypeError):
            raise ErpError(f"POST {url}: no line in the answer") from None

    def _remove_line(self, payload: dict[str, Any]) -> str:
        reference = payload["reference"]
        url, lines = self._lines(reference)
        for line in lines:
            try:
                self.http.request(
                    "DELETE",
                    f"{url}({line['id']})",
                    headers={"If-Match": line.get("@odata.etag") or "*"},
                )
            except ErpError as error:
                if error.status != 404:  # gone meanwhile: what this write wanted
                    raise
        if lines:
            return f"deleted {lines[0]['id']}"
        posted = self._posted(reference)
        if posted:
            raise ErpError(
                f"{payload['application']} ({reference}) was posted as customer ledger entry "
                f"{posted[0].get('entryNumber')}: the bank reversed it, reverse the payment in "
                "Business Central"
            )
        return "nothing to undo"
