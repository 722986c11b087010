"""The policy document: design.md's defaults exactly, validation that names the field, segments."""

from __future__ import annotations

from decimal import Decimal

import pytest

from service.credit import DEFAULT_POLICY_DOCUMENT, PolicyError, Status, default_policy, load_policy


def test_default_policy__matches_design_md():
    p = default_policy()
    assert p.version == 1
    assert p.bucket_edges == (30, 60, 90)  # current, 1-30, 31-60, 61-90, 91+
    assert (p.hold_days_past_due, p.hold_over_limit, p.hold_broken_promises) == (60, True, 2)
    assert (p.watch_days_past_due, p.watch_utilisation, p.watch_broken_promises) == (
        15,
        Decimal("0.80"),
        1,
    )
    assert (p.promise_grace_days, p.broken_promise_window_days) == (3, 90)
    assert p.override_cap == Status.WATCH
    assert p.fx_rates == {} and p.base_currency is None
    assert sum(p.risk.weights.values()) == 100
    assert sum(p.priority.weights.values()) == 100


def test_empty_document__is_the_default_policy():
    assert load_policy({}).document == default_policy().document
    assert load_policy(None).label == "default r1"


def test_document__only_says_what_it_changes():
    p = load_policy({"name": "strict", "revision": 4, "hold": {"days_past_due_over": 45}})
    assert p.label == "strict r4"
    assert p.hold_days_past_due == 45
    assert p.hold_broken_promises == 2  # untouched default
    assert p.watch_days_past_due == 15


@pytest.mark.parametrize(
    ("document", "path"),
    [
        ({"version": 2}, "version"),
        ({"hold": {"days_past_due_over": -1}}, "hold.days_past_due_over"),
        ({"hold": {"days_past_due_over": "60"}}, "hold.days_past_due_over"),
        ({"watch": {"utilisation_at_least": "lots"}}, "watch.utilisation_at_least"),
        ({"watch": {"days_past_due_over": 90}}, "watch"),
        ({"aging": {"bucket_edges": [60, 30, 90]}}, "aging.bucket_edges"),
        ({"dunning": {"level_days_past_due": [1, 1]}}, "dunning.level_days_past_due"),
        ({"fx_rates": {"USD": "0.9"}}, "base_currency"),
        ({"base_currency": "EUR", "fx_rates": {"usd": "0.9"}}, "fx_rates.usd.key"),
        ({"base_currency": "EUR", "fx_rates": {"USD": "0"}}, "fx_rates.USD.value"),
        ({"override": {"caps_status_at": "HOLD"}}, "override.caps_status_at"),
        ({"risk": {"weights": {"days_late": 90}}}, "risk.weights"),
        ({"holdd": {}}, "holdd"),
        (
            {
                "segments": [
                    {
                        "name": "a",
                        "when": {"segment": "x"},
                        "policy": {"hold": {"broken_promises": 0}},
                    }
                ]
            },
            "segments.0.policy.hold.broken_promises",
        ),
    ],
)
def test_invalid_document__is_refused_naming_the_field(document, path):
    with pytest.raises(PolicyError) as caught:
        load_policy(document)
    assert path in caught.value.errors, caught.value.errors


def test_segments__first_match_wins_and_inherits_the_rest():
    p = load_policy(
        {
            "watch": {"utilisation_at_least": "0.90"},
            "segments": [
                {
                    "name": "key",
                    "when": {"segment": "key"},
                    "policy": {"hold": {"days_past_due_over": 90}},
                },
                {
                    "name": "key-too",
                    "when": {"segment": "key"},
                    "policy": {"hold": {"days_past_due_over": 30}},
                },
                {
                    "name": "public-uk",
                    "when": {"segment": "public", "country": "GB"},
                    "policy": {"override": {"caps_status_at": "OK"}},
                },
            ],
        }
    )
    key, name = p.for_customer({"segment": "key"})
    assert (name, key.hold_days_past_due, key.watch_utilisation) == ("key", 90, Decimal("0.90"))
    assert p.for_customer({"segment": "public"}) == (p, None)  # every attribute must match
    uk, name = p.for_customer({"segment": "public", "country": "GB"})
    assert (name, uk.override_cap) == ("public-uk", Status.OK)
    assert p.for_customer({}) == (p, None)


def test_default_document__is_read_only():
    with pytest.raises(TypeError):
        DEFAULT_POLICY_DOCUMENT["name"] = "changed"  # type: ignore[index]
