"""What the local Business Central knows, in API v2.0's JSON shapes
(shared/fixtures/erp/bc-*.json): customers, sales invoices, sales credit memos and customer
payments of one company, each with ``lastModifiedDateTime``."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any


def stamp(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class BcBook:
    ENTITIES = ("customers", "salesInvoices", "salesCreditMemos", "customerPayments")

    def __init__(self, company_id: str | None = None) -> None:
        self.lock = threading.RLock()
        self.company_id = company_id or str(uuid.uuid4())
        self.rows: dict[str, list[dict[str, Any]]] = {name: [] for name in self.ENTITIES}
        self._clock = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)

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
        return row["id"]

    def payment(self, customer: str, amount: float, invoice_number: str | None = None) -> str:
        owner = self._customer(customer)
        invoice = next(
            (r for r in self.rows["salesInvoices"] if r["number"] == invoice_number), None
        )
        row = {
            "id": str(uuid.uuid4()), "journalDisplayName": "CASHRCPT", "lineNumber": 10000,
            "customerId": owner["id"], "customerNumber": customer, "contactId": None,
            "postingDate": "2026-03-05", "documentNumber": f"PAY{len(self.rows['customerPayments']) + 1:04d}",
            "externalDocumentNumber": "", "amount": -amount,
            "appliesToInvoiceId": invoice["id"] if invoice else None,
            "appliesToInvoiceNumber": invoice_number or "", "description": "", "comment": "",
            "lastModifiedDateTime": self._tick(),
        }  # fmt: skip
        with self.lock:
            self.rows["customerPayments"].append(row)
            if invoice is not None:
                invoice["remainingAmount"] = max(0, invoice["remainingAmount"] - amount)
                invoice["status"] = "Paid" if invoice["remainingAmount"] == 0 else "Open"
                invoice["lastModifiedDateTime"] = self._tick()
        return row["id"]
