"""An assessment as a JSON-ready document (money as decimal strings, dates as ISO text).

Stored in ``assessments.document`` and served by ``GET /api/v1/accounts/<number>/credit``;
the keys match design.md's HTTP contract and add the rest of the engine's answer.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from service.credit.assessment import Assessment, RiskFactor
from service.credit.money import cents

_HUNDREDTH = Decimal("0.01")


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, int | str):
        return value
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def _money(value: Decimal | None) -> str | None:
    # A value rounded to the cent never prints with an exponent, so str() is plain text.
    return None if value is None else str(cents(value))


@functools.lru_cache(maxsize=4096)
def _factor(f: RiskFactor) -> tuple[tuple[str, str], ...]:
    """A risk factor as JSON text pairs; factors repeat a lot (zeros, full weights), so cached."""
    return (
        ("name", f.name),
        ("value", str(f.value.quantize(_HUNDREDTH, ROUND_HALF_UP))),
        ("points", str(f.points.quantize(_HUNDREDTH, ROUND_HALF_UP))),
        ("max_points", format(f.max_points, "f")),
    )


def assessment_document(a: Assessment) -> dict[str, Any]:
    return {
        "customer": a.customer,
        "currency": a.currency,
        "as_of": a.as_of.isoformat(),
        "policy": a.policy,
        "segment": a.segment,
        "status": a.status.value,
        "reason": a.reason_text,
        "reasons": [
            {
                "code": r.code,
                "level": r.level.value if r.level else None,
                "text": r.text,
                "params": _plain(r.params),
            }
            for r in a.reasons
        ],
        "balance_outstanding": _money(a.balance_outstanding),
        "overdue_amount": _money(a.overdue_amount),
        "disputed_amount": _money(a.disputed_amount),
        "aging": {
            "current": _money(a.aging.current),
            "1_30": _money(a.aging.d1_30),
            "31_60": _money(a.aging.d31_60),
            "61_90": _money(a.aging.d61_90),
            "91_plus": _money(a.aging.d91_plus),
        },
        "days_past_due": a.days_past_due,
        "credit_limit": _money(a.credit_limit),
        "exposure": _money(a.exposure),
        "utilisation": None
        if a.utilisation is None
        else format(a.utilisation.quantize(Decimal("0.0001")), "f"),
        "credit_available": _money(a.credit_available),
        "risk_score": a.risk_score,
        "risk_factors": [dict(_factor(f)) for f in a.risk_factors],
        "dunning_level": a.dunning_level,
        "promise_to_pay_date": _plain(a.promise_to_pay_date),
        "broken_promises": a.broken_promises,
        "last_payment_date": _plain(a.last_payment_date),
        "last_payment_amount": _money(a.last_payment_amount),
        "avg_days_to_pay": _plain(a.avg_days_to_pay),
        "collection_priority": a.collection_priority,
        "next_action_date": _plain(a.next_action_date),
        "amount_to_release": _money(a.amount_to_release),
        "override_active": a.override_active,
    }
