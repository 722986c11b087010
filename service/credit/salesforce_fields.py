"""An assessment as Salesforce Account field values (API names from design.md).

Pure and shared by the sync (what to push) and shadow mode (what would change).
``Credit_Status_Updated__c`` is not here: the sync stamps it when the status is pushed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal

from service.credit.assessment import Assessment
from service.credit.money import cents

FieldValue = str | Decimal | int | date | None

ACCOUNT_FIELDS = (
    "Credit_Status__c",
    "Credit_Status_Reason__c",
    "Balance_Outstanding__c",
    "Overdue_Amount__c",
    "Disputed_Amount__c",
    "Aging_Current__c",
    "Aging_1_30__c",
    "Aging_31_60__c",
    "Aging_61_90__c",
    "Aging_91_Plus__c",
    "Days_Past_Due__c",
    "Risk_Score__c",
    "Dunning_Level__c",
    "Promise_To_Pay_Date__c",
    "Last_Payment_Date__c",
    "Last_Payment_Amount__c",
    "Avg_Days_To_Pay__c",
    "Collection_Priority__c",
    "Next_Action_Date__c",
    # Not in design.md's list: the package adds it so the banner can show what lifts a HOLD.
    "Amount_To_Release__c",
)


def account_fields(a: Assessment) -> dict[str, FieldValue]:
    """Field API name -> value; money as ``Decimal`` (2 places), dates as ``date``."""
    aging = a.aging

    def money(v: Decimal | None) -> Decimal | None:
        return None if v is None else cents(v)

    return {
        "Credit_Status__c": a.status.value,
        "Credit_Status_Reason__c": a.reason_text,
        "Balance_Outstanding__c": money(a.balance_outstanding),
        "Overdue_Amount__c": money(a.overdue_amount),
        "Disputed_Amount__c": money(a.disputed_amount),
        "Aging_Current__c": money(aging.current),
        "Aging_1_30__c": money(aging.d1_30),
        "Aging_31_60__c": money(aging.d31_60),
        "Aging_61_90__c": money(aging.d61_90),
        "Aging_91_Plus__c": money(aging.d91_plus),
        "Days_Past_Due__c": a.days_past_due,
        "Risk_Score__c": a.risk_score,
        "Dunning_Level__c": a.dunning_level,
        "Promise_To_Pay_Date__c": a.promise_to_pay_date,
        "Last_Payment_Date__c": a.last_payment_date,
        "Last_Payment_Amount__c": money(a.last_payment_amount),
        "Avg_Days_To_Pay__c": a.avg_days_to_pay,
        "Collection_Priority__c": a.collection_priority,
        "Next_Action_Date__c": a.next_action_date,
        "Amount_To_Release__c": money(a.amount_to_release),
    }


def changed_fields(
    before: Mapping[str, FieldValue] | None, after: Mapping[str, FieldValue]
) -> dict[str, tuple[FieldValue, FieldValue]]:
    """Fields whose value differs: name -> (before, after). ``before`` None means all new.

    Money compares by value (``Decimal("1.0") == Decimal("1.00")``), so a change of scale is
    not a change.
    """
    before = before or {}
    return {
        name: (before.get(name), value)
        for name, value in after.items()
        if name not in before or before[name] != value
    }
