"""What the local SAP knows: customers (business partners), journal-entry items, dispute cases.

Items are kept in the OData V2 JSON shape of ``A_OperationalAcctgDocItemCube``
(shared/fixtures/erp/sap-s4-open-items.json): signed amounts as decimal strings with three
places, ``DebitCreditCode`` ``S``/``H``, dates as ``/Date(ms)/``. Helpers post invoices, credit
memos, partial and clearing payments the way FI does: a payment that clears an invoice marks
both documents' items cleared by the payment document; a partial payment posts an open credit
item pointing at the invoice (``InvoiceReference``).
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from deverp.odata import Table

ITEM_FIELDS = {
    "CompanyCode", "FiscalYear", "AccountingDocument", "AccountingDocumentItem",
    "AccountingDocumentType", "AccountingDocumentItemType", "FinancialAccountType", "Customer",
    "CustomerName", "DocumentReferenceID", "BillingDocument", "AssignmentReference",
    "PaymentReference", "PostingDate", "DocumentDate", "DueCalculationBaseDate", "NetDueDate",
    "PaymentTerms", "DebitCreditCode", "TransactionCurrency", "AmountInTransactionCurrency",
    "CompanyCodeCurrency", "AmountInCompanyCodeCurrency", "ClearingAccountingDocument",
    "ClearingDocFiscalYear", "ClearingDate", "IsCleared", "InvoiceReference",
    "InvoiceReferenceFiscalYear", "DunningLevel", "LastDunningDate", "DunningBlockingReason",
    "LastChangeDate",
}  # fmt: skip
CUSTOMER_FIELDS = {"Customer", "CustomerName", "CustomerFullName", "CreationDate"}
# Names of SAP's accounts-receivable dispute case (DisputeCaseUUID, CaseExternalReference,
# CaseType, CaseTitle, CaseStatus, CaseReason, Customer, CompanyCode, CustomerDisputedAmount,
# CustomerDisputedCurrency, DisputedAmount, DisputeCaseCurrency), and of its promise to pay
# (PromisedAmount, PromiseToPayDueDate); FiscalYear and AccountingDocument name the disputed
# invoice flat, where SAP links disputed items to the case (docs/connectors.md says so).
CASE_FIELDS = {
    "DisputeCaseUUID", "CaseExternalReference", "CaseType", "CaseTitle", "CaseStatus",
    "CaseReason", "Customer", "CompanyCode", "FiscalYear", "AccountingDocument",
    "CustomerDisputedAmount", "CustomerDisputedCurrency", "DisputedAmount",
    "DisputeCaseCurrency", "PromisedAmount", "PromiseToPayDueDate",
}  # fmt: skip
# CaseStatus is a number of the case type's status profile, configured per tenant; this
# stand-in's profile:
CASE_STATUSES = {"10": "New", "20": "Being Processed", "30": "Closed"}


def odata_date(day: date | None) -> str | None:
    if day is None:
        return None
    stamp = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return f"/Date({int(stamp.timestamp() * 1000)})/"


def _amount(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.001")))


class SapBook:
    def __init__(self, today: date | None = None) -> None:
        self.lock = threading.RLock()
        self.today = today or datetime.now(UTC).date()
        self.items = Table(
            ITEM_FIELDS,
            indexed=("AccountingDocument", "InvoiceReference", "ClearingAccountingDocument"),
            ordered="LastChangeDate",
        )
        self.customers = Table(CUSTOMER_FIELDS, indexed=("Customer",))
        self.cases = Table(CASE_FIELDS, indexed=("CaseExternalReference", "DisputeCaseUUID"))
        self.case_writes: list[tuple[str, dict[str, Any]]] = []  # (method, body) as received
        self._next_document = 1_400_000_000

    # --- master data ------------------------------------------------------------------------

    def add_customer(self, number: str, name: str) -> None:
        with self.lock:
            self.customers.rows.append(
                {
                    "Customer": number,
                    "CustomerName": name[:80],
                    "CustomerFullName": name,
                    "CreationDate": odata_date(self.today),
                }
            )
            self.customers.changed()

    def _name(self, number: str) -> str:
        for row in self.customers.rows:
            if row["Customer"] == number:
                return row["CustomerName"]
        return ""

    # --- postings ---------------------------------------------------------------------------

    def document_number(self) -> str:
        self._next_document += 1
        return str(self._next_document)

    def post(
        self,
        customer: str,
        amount: Decimal | str,
        *,
        document: str | None = None,
        doc_type: str = "RV",
        company_code: str = "1010",
        currency: str = "EUR",
        posted: date | None = None,
        due: date | None = None,
        reference: str = "",
        invoice_reference: str = "",
        items: int = 1,
        changed: date | None = None,
    ) -> str:
        """Post a document of ``items`` customer items summing to the signed ``amount``."""
        amount = Decimal(amount)
        posted = posted or self.today
        document = document or self.document_number()
        base, rest = divmod(abs(amount) * 1000, items)
        with self.lock:
            for n in range(1, items + 1):
                part = (base + (rest if n == items else 0)) / 1000
                signed = part if amount > 0 else -part
                self.items.rows.append(
                    self._item(
                        customer, signed, document, n, doc_type, company_code, currency,
                        posted, due or posted, reference, invoice_reference, changed or posted,
                    )
                )  # fmt: skip
            self.items.changed()
        return document

    def _item(
        self, customer, signed, document, n, doc_type, company_code, currency, posted, due,
        reference, invoice_reference, changed,
    ) -> dict[str, Any]:  # fmt: skip
        year = str(posted.year)
        uri = (
            "/sap/opu/odata/sap/API_OPLACCTGDOCITEMCUBE_SRV/A_OperationalAcctgDocItemCube("
            f"CompanyCode='{company_code}',FiscalYear='{year}',AccountingDocument='{document}',"
            f"AccountingDocumentItem='{n}')"
        )
        return {
            "__metadata": {
                "id": uri,
                "uri": uri,
                "type": "API_OPLACCTGDOCITEMCUBE_SRV.A_OperationalAcctgDocItemCubeType",
            },
            "CompanyCode": company_code,
            "FiscalYear": year,
            "AccountingDocument": document,
            "AccountingDocumentItem": str(n),
            "AccountingDocumentType": doc_type,
            "AccountingDocumentItemType": "D",
            "FinancialAccountType": "D",
            "Customer": customer,
            "CustomerName": self._name(customer),
            "DocumentReferenceID": reference,
            "BillingDocument": reference if doc_type == "RV" else "",
            "AssignmentReference": reference,
            "PaymentReference": "",
            "PostingDate": odata_date(posted),
            "DocumentDate": odata_date(posted),
            "DueCalculationBaseDate": odata_date(posted),
            "NetDueDate": odata_date(due),
            "PaymentTerms": "0004" if signed > 0 else "",
            "DebitCreditCode": "S" if signed > 0 else "H",
            "TransactionCurrency": currency,
            "AmountInTransactionCurrency": _amount(signed),
            "CompanyCodeCurrency": currency,
            "AmountInCompanyCodeCurrency": _amount(signed),
            "ClearingAccountingDocument": "",
            "ClearingDocFiscalYear": "",
            "ClearingDate": None,
            "IsCleared": False,
            "InvoiceReference": invoice_reference,
            "InvoiceReferenceFiscalYear": str(posted.year) if invoice_reference else "",
            "DunningLevel": "0",
            "LastDunningDate": None,
            "DunningBlockingReason": "",
            "LastChangeDate": odata_date(changed),
        }

    def invoice(self, customer: str, amount: str, **kwargs: Any) -> str:
        return self.post(customer, Decimal(amount), doc_type="RV", **kwargs)

    def credit_memo(self, customer: str, amount: str, **kwargs: Any) -> str:
        return self.post(customer, -Decimal(amount), doc_type="DG", **kwargs)

    def partial_payment(self, customer: str, invoice: str, amount: str, **kwargs: Any) -> str:
        """A payment posted as an open credit item that references ``invoice``."""
        return self.post(
            customer, -Decimal(amount), doc_type="DZ", invoice_reference=invoice, **kwargs
        )

    def clearing_payment(
        self, customer: str, invoices: list[str], amount: str, *, on: date | None = None, **kwargs
    ) -> str:
        """A payment that clears ``invoices`` (and itself) in full, on ``on``."""
        on = on or self.today
        document = self.post(
            customer, -Decimal(amount), doc_type="DZ", posted=on, changed=on, **kwargs
        )
        self.clear([*invoices, document], document, on)
        return document

    def clear(self, documents: list[str], by: str, on: date) -> None:
        with self.lock:
            for row in self.items.rows:
                if row["AccountingDocument"] in documents:
                    row["IsCleared"] = True
                    row["ClearingAccountingDocument"] = by
                    row["ClearingDocFiscalYear"] = str(on.year)
                    row["ClearingDate"] = odata_date(on)
                    row["LastChangeDate"] = odata_date(on)
            self.items.changed()

    def touch(self, document: str, on: date, **changes: Any) -> None:
        """Change items of a document (e.g. ``NetDueDate``), as a change on day ``on``."""
        with self.lock:
            for row in self.items.rows:
                if row["AccountingDocument"] == document:
                    row.update(changes)
                    row["LastChangeDate"] = odata_date(on)
            self.items.changed()

    def generate(self, open_items: int, customers: int, *, company_code: str = "1010") -> None:
        """A big book fast (benchmarks): ``open_items`` open invoices of one item each, spread
        over ``customers`` customers, posted and last changed within the last year."""
        from datetime import timedelta

        days = [self.today - timedelta(days=d) for d in range(2, 367)]
        dates = [odata_date(d) for d in days]
        dues = [odata_date(d + timedelta(days=30)) for d in days]
        amounts = [_amount(Decimal(n) / 4) for n in range(400, 4_000_000, 9_973)]
        numbers = [f"{20000000 + n}" for n in range(customers)]
        with self.lock:
            for n, number in enumerate(numbers):
                self.customers.rows.append(
                    {"Customer": number, "CustomerName": f"Customer {n}",
                     "CustomerFullName": f"Customer {n}", "CreationDate": dates[-1]}
                )  # fmt: skip
            year = str(self.today.year)
            rows = self.items.rows
            for i in range(open_items):
                day = i % len(days)
                amount = amounts[i % len(amounts)]
                document = str(1_000_000_000 + i)
                rows.append(
                    {
                        "CompanyCode": company_code, "FiscalYear": year,
                        "AccountingDocument": document, "AccountingDocumentItem": "1",
                        "AccountingDocumentType": "RV", "AccountingDocumentItemType": "D",
                        "FinancialAccountType": "D", "Customer": numbers[i % customers],
                        "CustomerName": "", "DocumentReferenceID": document,
                        "BillingDocument": document, "AssignmentReference": document,
                        "PaymentReference": "", "PostingDate": dates[day],
                        "DocumentDate": dates[day], "DueCalculationBaseDate": dates[day],
                        "NetDueDate": dues[day], "PaymentTerms": "0004", "DebitCreditCode": "S",
                        "TransactionCurrency": "EUR", "AmountInTransactionCurrency": amount,
                        "CompanyCodeCurrency": "EUR", "AmountInCompanyCodeCurrency": amount,
                        "ClearingAccountingDocument": "", "ClearingDocFiscalYear": "",
                        "ClearingDate": None, "IsCleared": False, "InvoiceReference": "",
                        "InvoiceReferenceFiscalYear": "", "DunningLevel": "0",
                        "LastDunningDate": None, "DunningBlockingReason": "",
                        "LastChangeDate": dates[day],
                    }
                )  # fmt: skip
            self.customers.changed()
            self.items.changed()

    def change_many(self, documents: int, on: date) -> int:
        """Change ``documents`` open invoices on day ``on`` (benchmarks): half are cleared by a
        payment each, half get a new due date. Returns the items changed or posted."""
        with self.lock:
            open_rows = [r for r in self.items.rows if not r["IsCleared"]]
            step = max(1, len(open_rows) // max(1, documents))
            chosen = open_rows[::step][:documents]
            stamp = odata_date(on)
            posted = []
            for n, row in enumerate(chosen):
                if n % 2:
                    row["NetDueDate"] = stamp
                    row["LastChangeDate"] = stamp
                    continue
                payment = self.document_number()
                posted.append(
                    self._item(
                        row["Customer"], -Decimal(row["AmountInTransactionCurrency"]), payment, 1,
                        "DZ", row["CompanyCode"], row["TransactionCurrency"], on, on, "", "", on,
                    )
                )  # fmt: skip
                for target in (row, posted[-1]):
                    target.update(
                        IsCleared=True, ClearingAccountingDocument=payment,
                        ClearingDocFiscalYear=str(on.year), ClearingDate=stamp,
                        LastChangeDate=stamp,
                    )  # fmt: skip
            self.items.rows.extend(posted)
            self.items.changed()
            return len(chosen) + len(posted)

    def amounts(self) -> dict[tuple[str, str], str]:
        """Every item's amount by (document, item): what the closed loop must never change."""
        return {
            (row["AccountingDocument"], row["AccountingDocumentItem"]): row[
                "AmountInTransactionCurrency"
            ]
            for row in self.items.rows
        }
