"""The Account-field map: an assessment document as Salesforce Account fields (design.md).

The one place that knows which figure goes to which Account field. The engine answers in plain
figures (``service.credit.assessment_document``); the pusher, the dry run
(``credit-control assess --dry-run``) and the tests map that document here.
``Credit_Status_Updated__c`` is not in the map: the pusher stamps it when the status changes.

``canonical`` makes values from three places comparable: what we computed (Decimal, date),
what we stored in ``pushed_fields`` (JSON text) and what the org returns (floats, ISO strings).
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

STATUS_FIELD = "Credit_Status__c"
UPDATED_FIELD = "Credit_Status_Updated__c"

_MONEY = {
    "Balance_Outstanding__c": "balance_outstanding",
    "Overdue_Amount__c": "overdue_amount",
    "Disputed_Amount__c": "disputed_amount",
    "Last_Payment_Amount__c": "last_payment_amount",
    # Account.Amount_To_Release__c: added by the package beside design.md's list.
    "Amount_To_Release__c": "amount_to_release",
    # Account.In_Flight_Amount__c: provisional payments the ERP has not posted yet.
    "In_Flight_Amount__c": "in_flight_amount",
}
_AGING = {
    "Aging_Current__c": "current",
    "Aging_1_30__c": "1_30",
    "Aging_31_60__c": "31_60",
    "Aging_61_90__c": "61_90",
    "Aging_91_Plus__c": "91_plus",
}
_DATES = {
    "Promise_To_Pay_Date__c": "promise_to_pay_date",
    "Last_Payment_Date__c": "last_payment_date",
    "Next_Action_Date__c": "next_action_date",
    # Dunning (service.dunning): the day the next reminder is due. The pusher adds it, and
    # ``dunning_level`` (the level last sent, not the engine's count), from the customer row.
    "Next_Reminder_Date__c": "next_reminder_date",
}
# Text. Account.Pay_Link__c is added by the pusher to the document before mapping (it is signed
# with the pay-link secret, which the engine and its stored document never see).
# Account.Credit_Currency__c is the customer's currency, the one every figure above is in: the
# components format money in it (an org without multi-currency has no other way to know it).
_TEXT = {"Pay_Link__c": "pay_link", "Credit_Currency__c": "currency"}
_NUMBERS = {
    "Days_Past_Due__c": "days_past_due",
    "Risk_Score__c": "risk_score",
    "Dunning_Level__c": "dunning_level",
    "Avg_Days_To_Pay__c": "avg_days_to_pay",
    "Collection_Priority__c": "collection_priority",
}


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    return Decimal(str(value))


# The dates a Salesforce date field holds; outside them a write fails whole with
# FIELD_INTEGRITY_EXCEPTION (SOQL and SOSL Reference, "Minimum and Maximum Dates").
SALESFORCE_FIRST_DATE = date(1700, 1, 1)
SALESFORCE_LAST_DATE = date(4000, 12, 31)


def salesforce_date(value: date | None) -> date | None:
    """``value``, or None where Salesforce cannot hold it.

    ERPs use far dates as "none": SAP's 9999-12-31 for an item with no due date. The service
    keeps and assesses such dates as they are; the org is told "no date" rather than refusing
    the record (and with it every other field of the push).
    """
    if value is None:
        return None
    day = value.date() if isinstance(value, datetime) else value
    return value if SALESFORCE_FIRST_DATE <= day <= SALESFORCE_LAST_DATE else None


def _date(value: Any) -> date | None:
    if value in (None, ""):
        return None
    return salesforce_date(
        value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    )


def _number(value: Any) -> int | Decimal | None:
    if value is None:
        return None
    if isinstance(value, int):
        return value
    d = Decimal(str(value))
    return int(d) if d == d.to_integral_value() else d


ACCOUNT_FIELDS = (
    STATUS_FIELD,
    "Credit_Status_Reason__c",
    *_MONEY,
    *_AGING,
    *_NUMBERS,
    *_DATES,
    *_TEXT,
)
REASON_LENGTH = 255  # Credit_Status_Reason__c is text(255)


def account_fields(doc: dict[str, Any]) -> dict[str, Any]:
    """The Account fields of an assessment document: money as ``Decimal``, dates as ``date``."""
    aging = doc.get("aging") or {}
    out: dict[str, Any] = {
        STATUS_FIELD: doc.get("status"),
        "Credit_Status_Reason__c": (doc.get("reason") or "")[:REASON_LENGTH] or None,
    }
    out.update({f: _decimal(doc.get(k)) for f, k in _MONEY.items()})
    out.update({f: _decimal(aging.get(k)) for f, k in _AGING.items()})
    out.update({f: _number(doc.get(k)) for f, k in _NUMBERS.items()})
    out.update({f: _date(doc.get(k)) for f, k in _DATES.items()})
    out.update({f: doc.get(k) or None for f, k in _TEXT.items()})
    return {name: out[name] for name in ACCOUNT_FIELDS}


DUNNING_FIELDS = ("Dunning_Level__c", "Next_Reminder_Date__c")


def dunning_document(level_sent: int | None, next_reminder_date: date | None) -> dict[str, Any]:
    """What the pusher lays over an assessment document: Dunning_Level__c is the level of the
    last reminder sent (0: none), Next_Reminder_Date__c when the next one is due."""
    return {"dunning_level": level_sent or 0, "next_reminder_date": next_reminder_date}


def pushed_account_fields(
    document: dict[str, Any],
    *,
    pay_link: str | None,
    dunning_level_sent: int | None,
    next_reminder_date: date | None,
) -> dict[str, Any]:
    """The Account fields the pusher writes for a customer: its assessment, with its pay link
    and its dunning state laid over (what anything comparing the org with us must expect)."""
    return account_fields(
        {
            **document,
            "pay_link": pay_link,
            **dunning_document(dunning_level_sent, next_reminder_date),
        }
    )


def canonical(value: Any) -> Any:
    """One comparable, JSON-safe form: numbers as normalised decimal text, dates as ISO."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | float | Decimal):
        try:
            d = Decimal(str(value)).normalize()
        except InvalidOperation:
            return str(value)
        return format(d, "f") if d != 0 else "0"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        # The org answers dates as 'YYYY-MM-DD' and numbers as JSON numbers; strings stay.
        return value
    return str(value)


def canonical_fields(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: canonical(v) for k, v in fields.items()}


def diff(desired: dict[str, Any], baseline: dict[str, Any] | None) -> dict[str, Any]:
    """The fields of ``desired`` whose canonical value differs from ``baseline``'s.

    With no baseline (never pushed) every field is sent, nulls included, so stale values an
    earlier installation left in the org are cleared.
    """
    if baseline is None:
        return dict(desired)
    return {k: v for k, v in desired.items() if canonical(v) != canonical(baseline.get(k))}


def fields_hash(fields: dict[str, Any]) -> str:
    text = json.dumps(canonical_fields(fields), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


class _AccountFieldMap:
    """The map as the dry run asks for it (``service.assessments.shadow.AccountFields``)."""

    def of(self, document: dict[str, Any]) -> dict[str, Any]:
        fields = canonical_fields(account_fields(document))
        # Dunning's fields follow the reminders sent, not the policy being tried: leave them out.
        for name in DUNNING_FIELDS:
            fields.pop(name, None)
        return fields

    def status(self, fields: dict[str, Any]) -> str | None:
        return fields.get(STATUS_FIELD)


ACCOUNT_FIELD_MAP = _AccountFieldMap()
