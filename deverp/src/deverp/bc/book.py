"""What the local Business Central knows, in API v2.0's JSON shapes
(shared/fixtures/erp/bc-*.json): customers, sales invoices, sales credit memos and customer
payments (unposted payment journal lines) of one company, each with ``lastModifiedDateTime``.
Posted payments are customer ledger entries of type Payment (``payment``, ``post_journal``),
served by the Credit Control extension's page with the invoices each one closed.

For the closed loop it also keeps what the Credit Control extension (docs/connectors.md) reads
and writes: the customer ledger entries of posted invoices and credit memos (with the standard
``Promised Pay Date`` and ``Dispute Status`` and the extension's fields), the extension's
fields on customers, the dispute status codes set up, and the customer payment journals whose
lines are unposted until ``post_journal`` posts them, as an accountant does."""

from __future__ import annotations

import secrets
import threading
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

BLANK_DATE = "0001-01-01"  # how Business Central's APIs write an empty date


def stamp(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class BcBook:
    ENTITIES = ("customers", "salesInvoices", "salesCreditMemos", "customerPayments")

    def __init__(self, company_id: str | None = None) -> None:
        self.lock = threading.RLock()
        self.company_id = company_id or str(uuid.uuid4())
        self.rows: dict[str, list[dict[str, Any]]] = {name: [] for name in self.ENTITIES}
        self._clock = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
        # The closed loop's side (the Credit Control extension and the payment journals).
        self.ledger: list[dict[str, Any]] = []
        self.customer_fields: dict[str, dict[str, Any]] = {}  # customer id -> extension fields
        self.dispute_statuses: set[str] = {"DISPUTE"}
        self.journals: list[dict[str, Any]] = []
        self.writes: list[tuple[str, str, dict[str, Any]]] = []  # (method, path, body) received
        self.journal("CASHRCPT")

    def etag(self) -> str:
        return f'W/"JzE5OzE{secrets.token_hex(6)}Jw=="'

    def journal(self, code: str) -> str:
        """A customer payment journal batch (``customerPaymentJournals``)."""
        row = {"id": str(uuid.uuid4()), "code": code, "displayName": code,
               "lastModifiedDateTime": self._tick(),
               "balancingAccountId": "00000000-0000-0000-0000-000000000000",
               "balancingAccountNumber": ""}  # fmt: skip
        with self.lock:
            self.journals.append(row)
        return row["id"]

    def _entry(self, kind: str, row: dict[str, Any], amount: float, **extra: Any) -> None:
        self.ledger.append({
            "id": str(uuid.uuid4()), "entryNumber": len(self.ledger) + 1,
            "customerNumber": row["customerNumber"], "documentType": kind,
            "documentNumber": row.get("number") or row.get("documentNumber"),
            "externalDocumentNumber": row.get("externalDocumentNumber") or "",
            "postingDate": row["postingDate"], "dueDate": row.get("dueDate") or row["postingDate"],
            "amount": amount, "remainingAmount": amount, "open": amount != 0,
            "promisedPayDate": BLANK_DATE, "disputeStatus": "", "ccPromisedAmount": 0,
            "ccDisputedAmount": 0, "ccDisputeReason": "", "currencyCode": "", "reversed": False,
            "ccAppliedTo": "", "lastModifiedDateTime": self._tick(),
            "@odata.etag": self.etag(), **extra,
        })  # fmt: skip

    def _tick(self) -> str:
        self._clock += timedelta(seconds=1)
        return stamp(self._clock)

    def customer(self, number: str, name: str, currency: str = "EUR") -> str:
        row = {
            "id": str(uuid.uuid4()), "number": number, "displayName": name, "type": "Company",
            "email": "", "currencyCode": currency, "blocked": " ", "balanceDue": 0,
            "creditLimit": 0, "lastModifiedDateTime": self._tick(),
        }  # fmt: skip
        with self.lock:
            self.rows["customers"].append(row)
            self.customer_fields[row["id"]] = {
                "ccPromisedAmount": 0, "ccPromisedPayDate": BLANK_DATE,
                "ccHoldOverrideUntil": BLANK_DATE, "@odata.etag": self.etag(),
            }  # fmt: skip
        return row["id"]

    def _customer(self, number: str) -> dict[str, Any]:
        return next(r for r in self.rows["customers"] if r["number"] == number)

    def invoice(
        self, number: str, customer: str, amount: float, *, remaining: float | None = None,
        issued: date = date(2026, 3, 1), due: date = date(2026, 3, 31),
    ) -> str:  # fmt: skip
        owner = self._customer(customer)
        row = {
            "id": str(uuid.uuid4()), "number": number, "externalDocumentNumber": "",
            "invoiceDate": issued.isoformat(), "postingDate": issued.isoformat(),
            "dueDate": due.isoformat(), "customerId": owner["id"], "customerNumber": customer,
            "customerName": owner["displayName"], "currencyCode": owner["currencyCode"],
            "totalAmountExcludingTax": amount, "totalAmountIncludingTax": amount,
            "remainingAmount": amount if remaining is None else remaining, "status": "Open",
            "lastModifiedDateTime": self._tick(),
        }  # fmt: skip
        with self.lock:
            self.rows["salesInvoices"].append(row)
            self._entry("Invoice", row, row["totalAmountIncludingTax"],
                        remainingAmount=row["remainingAmount"])  # fmt: skip
        return row["id"]

    def credit_memo(self, number: str, customer: str, amount: float) -> str:
        owner = self._customer(customer)
        row = {
            "id": str(uuid.uuid4()), "number": number, "creditMemoDate": "2026-03-02",
            "postingDate": "2026-03-02", "dueDate": "2026-03-02", "customerId": owner["id"],
            "customerNumber": customer, "currencyCode": owner["currencyCode"],
            "totalAmountIncludingTax": amount, "remainingAmount": amount, "status": "Open",
            "lastModifiedDateTime": self._tick(),
        }  # fmt: skip
        with self.lock:
            self.rows["salesCreditMemos"].append(row)
            self._entry("Credit_x0020_Memo", row, -amount)  # the API page's enum value
        return row["id"]

    def payment(
        self, customer: str, amount: float, invoice_number: str | None = None, *,
        external: str = "",
    ) -> str:  # fmt: skip
        """A payment posted in Business Central (a cash receipt journal's line, posted): a
        customer ledger entry of type Payment, applied to ``invoice_number`` if given."""
        with self.lock:
            number = f"PAY{sum(e['documentType'] == 'Payment' for e in self.ledger) + 1:04d}"
            line = {"customerNumber": customer, "postingDate": "2026-03-05",
                    "documentNumber": number, "externalDocumentNumber": external,
                    "amount": -amount}  # fmt: skip
            invoices = [invoice_number] if invoice_number else []
            return self._post_payment(line, invoices)["id"]

    def _post_payment(self, line: dict[str, Any], invoice_numbers: list[str]) -> dict[str, Any]:
        """The payment ledger entry of a posted line (``amount`` negative, as on the line),
        applied to the invoices in order until its money runs out; the rest stays open."""
        left = -line["amount"]
        applied = []
        for number in invoice_numbers:
            invoice = next((r for r in self.rows["salesInvoices"] if r["number"] == number), None)
            if invoice is None or left <= 0:
                continue
            part = min(left, invoice["remainingAmount"])
            if part <= 0:
                continue
            self._settle(invoice, part)
            applied.append(f"{invoice['id']}:{part:.2f}")
            left = round(left - part, 2)
        self._entry(
            "Payment", line, line["amount"], remainingAmount=-left if left else 0, open=left != 0,
            ccAppliedTo=";".join(applied),
        )  # fmt: skip
        return self.ledger[-1]

    def _settle(self, invoice: dict[str, Any], amount: Any) -> None:
        """A posted payment takes ``amount`` off the invoice and its ledger entry."""
        invoice["remainingAmount"] = max(0, invoice["remainingAmount"] - amount)
        invoice["status"] = "Paid" if invoice["remainingAmount"] == 0 else "Open"
        invoice["lastModifiedDateTime"] = self._tick()
        for entry in self.ledger:
            if entry["documentType"] == "Invoice" and entry["documentNumber"] == invoice["number"]:
                entry["remainingAmount"] = invoice["remainingAmount"]
                entry["open"] = entry["remainingAmount"] != 0

    # --- the closed loop's side -------------------------------------------------------------

    def add_journal_line(self, journal: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        """A line written through ``customerPaymentJournals(<id>)/customerPayments``: unposted,
        so no amount of any document changes until ``post_journal``."""
        owner = self._customer(body["customerNumber"])
        invoice = next(
            (r for r in self.rows["salesInvoices"]
             if r["number"] == body.get("appliesToInvoiceNumber")),
            None,
        )  # fmt: skip
        lines = [r for r in self.rows["customerPayments"] if r["journalId"] == journal["id"]]
        row = {
            "id": str(uuid.uuid4()), "journalId": journal["id"],
            "journalDisplayName": journal["code"],
            "lineNumber": 10000 * (len(lines) + 1), "customerId": owner["id"],
            "customerNumber": owner["number"], "contactId": None,
            "postingDate": body.get("postingDate") or "2026-03-05",
            "documentNumber": body.get("documentNumber") or f"{journal['code'][:6]}{len(lines) + 1:04d}",
            "externalDocumentNumber": body.get("externalDocumentNumber") or "",
            "amount": body["amount"], "appliesToInvoiceId": invoice["id"] if invoice else None,
            "appliesToInvoiceNumber": invoice["number"] if invoice else "",
            "description": body.get("description") or "", "comment": body.get("comment") or "",
            "lastModifiedDateTime": self._tick(), "@odata.etag": self.etag(),
        }  # fmt: skip
        self.rows["customerPayments"].append(row)
        return row

    def post_journal(self, code: str, applies: dict[str, list[str]] | None = None) -> int:
        """Post every line of the journal, as the accountant does: each line leaves the journal
        and becomes a payment ledger entry, applied to its ``appliesToInvoiceNumber`` or, for
        a line whose external document number is in ``applies``, to those invoices (what the
        accountant chose with Apply Entries); money applied to nothing stays open on the entry.
        Returns the lines posted."""
        with self.lock:
            journal = next(j for j in self.journals if j["code"] == code)
            lines = [
                r for r in self.rows["customerPayments"] if r.get("journalId") == journal["id"]
            ]
            for line in lines:
                self.rows["customerPayments"].remove(line)
                invoices = (applies or {}).get(line["externalDocumentNumber"]) or (
                    [line["appliesToInvoiceNumber"]] if line["appliesToInvoiceNumber"] else []
                )
                self._post_payment(line, invoices)
        return len(lines)

    def amounts(self) -> list[tuple[str, str, Any, Any]]:
        """Every amount of every posted document and ledger entry (the loop never changes one)."""
        with self.lock:
            out = [
                (entity, row["id"], row.get("totalAmountIncludingTax"), row.get("remainingAmount"))
                for entity in ("salesInvoices", "salesCreditMemos")
                for row in self.rows[entity]
            ]
            out += [("ledger", e["id"], e["amount"], e["remainingAmount"]) for e in self.ledger]
        return sorted(out)
