"""Engine behaviour beyond the golden table: currencies, reasons, worklist, replay."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from service.credit import (
    Allocation,
    MissingFxRate,
    Payment,
    Reason,
    Status,
    assess,
    assessment_document,
    default_policy,
    document_json,
    load_policy,
)
from tests.credit.creditbook import book

AS_OF = date(2026, 11, 23)
FX = load_policy({"base_currency": "EUR", "fx_rates": {"USD": "0.80"}})


def test_missing_rate__is_an_error_on_that_customer_never_a_rate_of_one():
    inputs = book(AS_OF, items_="inv 1000 dpd=5 cur=CHF", number="C-CHF")
    with pytest.raises(MissingFxRate) as caught:
        assess(inputs, FX, AS_OF)
    assert caught.value.customer == "C-CHF"
    assert (caught.value.from_currency, caught.value.to_currency) == ("CHF", "EUR")
    assert "CHF" in str(caught.value)


def test_missing_rate_on_a_payment__is_an_error_too():
    inputs = book(AS_OF, items_="inv 1000 dpd=5", payments_="cash 100 ago=1 cur=CHF")
    with pytest.raises(MissingFxRate):
        assess(inputs, FX, AS_OF)


def test_missing_rate_for_the_customer_currency__is_an_error_even_with_the_item_rate():
    inputs = book(AS_OF, items_="inv 1000 dpd=5 cur=USD", currency="SEK")
    with pytest.raises(MissingFxRate):
        assess(inputs, FX, AS_OF)


def test_no_conversion_needed__needs_no_rates():
    a = assess(book(AS_OF, items_="inv 1000 dpd=70", currency="CHF"), default_policy(), AS_OF)
    assert (a.currency, a.overdue_amount, a.status) == ("CHF", Decimal(1000), Status.HOLD)
    assert "CHF 1,000.00" in a.reason_text


def test_provisional_payment_in_another_currency__is_converted_before_it_is_applied():
    inputs = book(AS_OF, items_="inv 800 dpd=70")
    paid = Payment(
        "stripe-1", Decimal(1000), "USD", datetime(2026, 11, 23, 9, tzinfo=UTC), True,
        (Allocation("i1", Decimal(1000)),),
    )  # fmt: skip
    a = assess(dataclasses.replace(inputs, payments=(paid,)), FX, AS_OF)
    assert (a.status, a.overdue_amount, a.last_payment_amount) == (
        Status.OK,
        Decimal(0),
        Decimal("800.00"),
    )


def test_payments_and_promises_after_as_of__are_ignored_when_replaying_a_past_date():
    inputs = book(
        AS_OF,
        items_="inv 1000 dpd=70",
        payments_="prov 1000 to=i1 ago=-2",
        promises_="ptp 1000 date=+5 made=+1",
    )
    a = assess(inputs, default_policy(), AS_OF)
    assert a.status == Status.HOLD
    assert a.last_payment_date is None and a.promise_to_pay_date is None
    later = assess(inputs, default_policy(), AS_OF + timedelta(days=2))
    assert later.status == Status.OK


def test_reason_text__is_cut_to_255_characters():
    a = assess(book(AS_OF, items_="inv 1000 dpd=70"), default_policy(), AS_OF)
    long = Reason("X", Status.HOLD, "a very long reason " * 30, {})
    text = dataclasses.replace(a, reasons=(long,)).reason_text
    assert len(text) == 255 and text.startswith("HOLD: a very long reason") and text.endswith("…")


def test_assessment_document__is_json_with_the_http_contract_keys():
    a = assess(
        book(AS_OF, items_="inv 1000 dpd=20; inv 50 dpd=-3", limit="2000"), default_policy(), AS_OF
    )
    doc = json.loads(json.dumps(assessment_document(a)))
    for key in ("status", "reasons", "balance_outstanding", "overdue_amount", "disputed_amount",
                "aging", "days_past_due", "risk_score", "credit_limit", "as_of"):  # fmt: skip
        assert key in doc
    assert doc["aging"] == {
        "current": "50.00",
        "1_30": "1000.00",
        "31_60": "0.00",
        "61_90": "0.00",
        "91_plus": "0.00",
    }
    assert doc["reasons"][0]["code"] == "DAYS_PAST_DUE_WATCH"
    assert doc["reasons"][0]["params"]["amount"] == "1000"
    assert [f["name"] for f in doc["risk_factors"]] == [
        "days_late", "late_share", "trend", "broken_promises", "utilisation", "overdue_share", "oldest_overdue",
    ]  # fmt: skip


def test_risk_factors__add_up_to_the_score():
    inputs = book(
        AS_OF,
        items_="inv 4000 dpd=45; inv 1000 dpd=-5; settled 500 late=20 ago=30; settled 500 late=0 ago=150",
        promises_="ptp 100 date=-20 made=-30",
        limit="6000",
    )
    a = assess(inputs, default_policy(), AS_OF)
    total = sum(f.points for f in a.risk_factors)
    assert a.risk_score == int(total.quantize(Decimal(1), rounding="ROUND_HALF_UP"))
    assert all(0 <= f.points <= f.max_points for f in a.risk_factors)
    assert 0 < a.risk_score < 100


def test_priority__puts_more_money_and_older_debt_first():
    p = default_policy()

    def priority(items):
        return assess(book(AS_OF, items_=items), p, AS_OF).collection_priority

    assert priority("inv 1000 dpd=-5") == 0  # nothing to collect
    assert priority("inv 100000 dpd=20") > priority("inv 1000 dpd=20")
    assert priority("inv 1000 dpd=70") > priority("inv 1000 dpd=20")
    assert priority("inv 50000 dpd=70") > priority("inv 50000 dpd=20")


def test_a_promise_covering_the_overdue__halves_the_priority_and_pauses_dunning():
    p = default_policy()
    plain = assess(book(AS_OF, items_="inv 3000 dpd=40"), p, AS_OF)
    promised = assess(
        book(AS_OF, items_="inv 3000 dpd=40", promises_="ptp 3000 date=+7 made=-20"), p, AS_OF
    )
    assert promised.collection_priority < plain.collection_priority
    assert (plain.dunning_level, promised.dunning_level) == (3, 2)  # 40 days now, 20 when promised
    assert promised.next_action_date == AS_OF + timedelta(days=7 + 3 + 1)


def test_follow_up_date__brings_the_next_action_forward():
    inputs = book(AS_OF, items_="inv 1000 dpd=20")
    assert assess(inputs, default_policy(), AS_OF).next_action_date == AS_OF + timedelta(days=10)
    with_follow_up = dataclasses.replace(
        inputs, follow_ups=(AS_OF - timedelta(days=3), AS_OF + timedelta(days=2))
    )
    assert assess(with_follow_up, default_policy(), AS_OF).next_action_date == AS_OF + timedelta(
        days=2
    )


def test_override_can_be_set_to_cap_at_ok():
    p = load_policy({"override": {"caps_status_at": "OK"}})
    a = assess(book(AS_OF, items_="inv 1000 dpd=70", override="+5"), p, AS_OF)
    assert a.status == Status.OK and a.override_active
    assert a.reason_text.startswith("OK: 1 invoice over 60 days past due")
    assert "hold override until 2026-11-28" in a.reason_text


def test_segment__is_named_on_the_assessment():
    p = load_policy(
        {
            "segments": [
                {
                    "name": "gov",
                    "when": {"segment": "public"},
                    "policy": {"watch": {"days_past_due_over": 45}},
                }
            ]
        }
    )
    a = assess(book(AS_OF, items_="inv 1000 dpd=30", attrs="segment=public"), p, AS_OF)
    assert (a.segment, a.status, a.policy) == ("gov", Status.OK, "default r1")


def test_document_json__is_the_document_as_json_text_with_factors_rounded_for_display():
    a = assess(
        book(
            AS_OF, items_="inv 1000 dpd=20; inv 50 dpd=-3; settled 500 late=7 ago=30", limit="1500"
        ),
        default_policy(),
        AS_OF,
    )
    doc = json.loads(document_json(a))
    assert doc == json.loads(json.dumps(assessment_document(a)))
    factors = {f["name"]: f for f in doc["risk_factors"]}
    assert factors["broken_promises"] == {
        "name": "broken_promises", "value": "0.00", "points": "0.00", "max_points": "15",
    }  # fmt: skip
    assert factors["oldest_overdue"] == {
        "name": "oldest_overdue", "value": "20.00", "points": "3.33", "max_points": "20",
    }  # fmt: skip
    assert factors["utilisation"]["value"] == "0.70"  # 1050 / 1500
    assert doc["utilisation"] == "0.7000" and doc["avg_days_to_pay"] == "37.0"
