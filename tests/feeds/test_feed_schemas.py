"""The feed's row rules: the fast loader and marshmallow's ``Schema.load`` give the same answers."""

from __future__ import annotations

import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.feeds.currencies import is_currency, minor_units
from service.feeds.schemas import ErpBatchIn, flatten_messages, load_batch
from tests.conftest import load_fixture


def both(doc):
    _, fast = load_batch(doc)
    slow = flatten_messages(ErpBatchIn().validate(doc))
    return sorted((e.path, e.message) for e in fast), sorted((e.path, e.message) for e in slow)


def test_load_batch__fixture_is_valid_for_both():
    fast, slow = both(load_fixture("erp", "batch_small.json"))

    assert fast == slow == []


def test_load_batch__many_errors_at_once_agree_with_marshmallow():
    doc = load_fixture("erp", "batch_small.json")
    doc["extra"] = 1
    doc["customers"][1] = 5
    doc["customers"][0]["unknown_field"] = "x"
    doc["customers"][2]["credit_limit"] = "10.5"  # JPY has no minor unit
    doc["receivables"][0]["due_date"] = "2025-11-01"  # before the issue date
    doc["receivables"][1]["amount"] = 800
    del doc["receivables"][2]["number"]
    doc["receivables"][3]["updated_at"] = None
    doc["payments"][0]["applied_to"][0]["amount"] = "1.001"
    doc["payments"][0]["applied_to"].append({"receivable": "INV-2001", "amount": "1.00"})

    fast, slow = both(doc)

    assert fast == slow
    assert ("receivables[0].due_date", "Must not be before issue_date.") in fast
    assert ("customers[2].credit_limit", "JPY amounts have at most 0 decimal places.") in fast
    assert ("receivables[3].updated_at", "Field may not be null.") in fast
    assert ("payments[0].applied_to[2].receivable", "Applied to this receivable twice.") in fast


values = st.one_of(
    st.none(),
    st.integers(-5, 10**6),
    st.floats(allow_nan=False),
    st.text(max_size=12),
    st.sampled_from(
        ["2026-02-29", "2026-03-01", "12.345", "0.00", "EUR", "JPY", "2026-03-01T10:00:00Z"]
    ),
)


@settings(max_examples=150, deadline=None)
@given(
    field=st.sampled_from(list(load_fixture("erp", "batch_small.json")["receivables"][0])),
    value=values,
)
def test_load_batch__any_single_bad_value_agrees_with_marshmallow(field, value):
    doc = copy.deepcopy(load_fixture("erp", "batch_small.json"))
    doc["receivables"][0][field] = value

    fast, slow = both(doc)

    assert fast == slow


@pytest.mark.parametrize(
    ("code", "places"), [("EUR", 2), ("JPY", 0), ("BHD", 3), ("GBP", 2), ("KWD", 3)]
)
def test_currencies__minor_units_come_from_cldr(code, places):
    assert is_currency(code)
    assert minor_units(code) == places


@pytest.mark.parametrize("code", ["DEM", "HRK", "XAU", "EURO", "", "eur"])
def test_currencies__retired_or_invented_codes_are_refused(code):
    assert not is_currency(code)
