"""``Bank_Credit_Review__c``: bank credits waiting for a credit controller, and their choice.

The service upserts one record per cash application that it did not apply on its own (by
``Cash_Application_Id__c`` = ``ca-<id>``, so a retried push creates nothing twice): the credit,
its candidates numbered best first with confidence and reason, the status and the outcome. A
person picks a number in ``Apply_Candidate__c``; the change event reaches ``Handlers`` and the
cash-application side applies that candidate (injected as ``decide``: this package does not
import ``service.cash_application``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from service.models import CashApplication

OBJECT = "Bank_Credit_Review__c"
CHANNEL = "/data/Bank_Credit_Review__ChangeEvent"
KEY = "Cash_Application_Id__c"
CHOICE = "Apply_Candidate__c"
TARGET = f"{OBJECT}:"
LONG_TEXT = 32_768
STATUS = {
    "review": "Needs Review",
    "unmatched": "Unmatched",
    "applied": "Applied",
    "reversed": "Reversed",
}


def key(application_id: int) -> str:
    return f"ca-{application_id}"


def application_id(value: Any) -> int | None:
    """The cash application a record's key names, or None when it is not one of ours."""
    text = str(value or "")
    number = text[3:] if text.startswith("ca-") else ""
    return int(number) if number.isascii() and number.isdigit() else None


def _money(value: str) -> str:
    return f"{Decimal(value):,.2f}"


def candidates_text(app: CashApplication) -> str:
    """The candidates as a person reads them, one numbered paragraph each."""
    out = []
    for c in app.candidates or []:
        parts = [
            f"{a.get('customer')} {a.get('document_number') or a.get('receivable')} "
            f"{_money(a['amount'])}"
            for a in c.get("allocations", [])
        ]
        parts += [
            f"{u.get('customer')} unapplied {_money(u['amount'])}" for u in c.get("unapplied", [])
        ]
        out.append(
            f"{c.get('number')}) {c.get('confidence')}% {app.currency}: {'; '.join(parts)}\n"
            f"   {c.get('reason')}"
        )
    return ("\n".join(out) or "No candidate: no open invoice or known payer matches.")[:LONG_TEXT]


def review_record(app: CashApplication) -> dict[str, Any]:
    remittance = " ".join([app.remittance or "", *(app.references or [])]).strip()
    name = f"{key(app.id)} {app.currency} {_money(str(app.amount))} {app.payer_name or ''}"
    return {
        "attributes": {"type": OBJECT},
        KEY: key(app.id),
        "Name": name.strip()[:80],
        "Amount__c": app.amount,
        "Currency_Code__c": app.currency,
        "Booking_Date__c": app.booking_date,
        "Payer_Name__c": (app.payer_name or None) and app.payer_name[:255],
        "Payer_IBAN__c": app.payer_iban,
        "Bank_Reference__c": app.bank_reference,
        "Remittance__c": remittance[:LONG_TEXT] or None,
        "Candidates__c": candidates_text(app),
        "Confidence__c": app.confidence,
        "Status__c": STATUS.get(app.status, "Needs Review"),
        "Outcome__c": (app.reason or "")[:255] or None,
    }
