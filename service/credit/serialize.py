"""An assessment as a JSON-ready document (money as decimal strings, dates as ISO text).

Stored in ``assessments.document`` and served by ``GET /api/v1/accounts/<number>/credit``;
the keys match design.md's HTTP contract and add the rest of the engine's answer.

Building the document runs once per customer in every re-assessment of the book (100k times
a day), so this module is written for speed: exact type checks instead of ABC ``isinstance``,
one quantize per amount, cached zero risk factors and weights, and ``document_json``
serialises with orjson (several times faster than ``json`` on these documents) for the writer
in ``service.assessments.storing``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import orjson

from service.credit.assessment import Assessment, Reason, RiskFactor

_CENT = Decimal("0.01")
_HUNDREDTH = _CENT
_TEN_THOUSANDTH = Decimal("0.0001")


def _plain(value: Any) -> Any:
    """Any engine value as JSON: Decimal as plain text, dates as ISO, mappings and tuples deep."""
    kind = type(value)
    if value is None or kind is str or kind is int or kind is bool:
        return value
    if kind is Decimal:
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
    return None if value is None else str(value.quantize(_CENT, ROUND_HALF_UP))


def _day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


@functools.lru_cache(maxsize=256)
def _weight(points: Decimal) -> str:
    """A factor's weight as text: a handful of distinct values per policy, so cached."""
    return format(points, "f")


@functools.lru_cache(maxsize=256)
def _nothing(name: str, weight: Decimal) -> tuple[tuple[str, str], ...]:
    """A factor that measured nothing: most customers have several, and they never differ."""
    return (("name", name), ("value", "0.00"), ("points", "0.00"), ("max_points", _weight(weight)))


def _factor(f: RiskFactor) -> dict[str, str]:
    """A risk factor as JSON text. Measured values rarely repeat (ratios to 28 digits), so only
    the zero factors and the weights are cached; a cache keyed on every factor would thrash."""
    name, value, points, weight = f
    if not value and not points and not (value.is_signed() or points.is_signed()):
        return dict(_nothing(name, weight))
    return {
        "name": name,
        "value": str(value.quantize(_HUNDREDTH, ROUND_HALF_UP)),
        "points": str(points.quantize(_HUNDREDTH, ROUND_HALF_UP)),
        "max_points": _weight(weight),
    }


def _reason(r: Reason) -> dict[str, Any]:
    params = {}
    for key, value in r.params.items():
        kind = type(value)
        if kind is Decimal:
            value = format(value, "f")
        elif kind is date:
            value = value.isoformat()
        elif not (value is None or kind is str or kind is int):
            value = _plain(value)
        params[key] = value
    return {
        "code": r.code,
        "level": None if r.level is None else r.level.value,
        "text": r.text,
        "params": params,
    }


def assessment_document(a: Assessment) -> dict[str, Any]:
    aging = a.aging
    utilisation = a.utilisation
    return {
        "customer": a.customer,
        "currency": a.currency,
        "as_of": a.as_of.isoformat(),
        "policy": a.policy,
        "segment": a.segment,
        "status": a.status.value,
        "reason": a.reason_text,
        "reasons": [_reason(r) for r in a.reasons],
        "balance_outstanding": _money(a.balance_outstanding),
        "overdue_amount": _money(a.overdue_amount),
        "disputed_amount": _money(a.disputed_amount),
        "aging": {
            "current": _money(aging.current),
            "1_30": _money(aging.d1_30),
            "31_60": _money(aging.d31_60),
            "61_90": _money(aging.d61_90),
            "91_plus": _money(aging.d91_plus),
        },
        "days_past_due": a.days_past_due,
        "credit_limit": _money(a.credit_limit),
        "exposure": _money(a.exposure),
        "utilisation": None
        if utilisation is None
        else format(utilisation.quantize(_TEN_THOUSANDTH), "f"),
        "credit_available": _money(a.credit_available),
        "risk_score": a.risk_score,
        "risk_factors": [_factor(f) for f in a.risk_factors],
        "dunning_level": a.dunning_level,
        "promise_to_pay_date": _day(a.promise_to_pay_date),
        "broken_promises": a.broken_promises,
        "last_payment_date": _day(a.last_payment_date),
        "last_payment_amount": _money(a.last_payment_amount),
        "avg_days_to_pay": None if a.avg_days_to_pay is None else format(a.avg_days_to_pay, "f"),
        "collection_priority": a.collection_priority,
        "next_action_date": _day(a.next_action_date),
        "amount_to_release": _money(a.amount_to_release),
        "in_flight_amount": _money(a.in_flight_amount),
        "override_active": a.override_active,
    }


def document_json(a: Assessment) -> str:
    """The document as JSON text, ready for the ``assessments.document`` column."""
    return orjson.dumps(assessment_document(a)).decode()
