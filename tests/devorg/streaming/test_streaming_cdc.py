"""Change event bodies for compound fields and value formats (wire facts §1.8)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from devorg.cdc import change_channel, change_event_payload, cometd_value
from devorg.changes import Change

HEADER = {"entityName": "Contact"}


def test_cdc_body__person_name_is_nested_and_the_derived_full_name_dropped(schema):
    rec = {"FirstName": "Ada", "LastName": "Lovelace", "Name": "Ada Lovelace", "Email": None}
    payload = change_event_payload(
        Change("Contact", "CREATE", "003000000000001AAA", None, rec),
        schema.objects["Contact"],
        header=HEADER,
    )
    assert payload == {
        "ChangeEventHeader": {**HEADER, "changedFields": []},
        "Name": {"FirstName": "Ada", "LastName": "Lovelace"},
    }


def test_cdc_body__compound_parts_are_named_compound_dot_part_in_changed_fields(schema):
    before = {"FirstName": "Ada", "LastName": "Lovelace", "Name": "Ada Lovelace"}
    after = {"FirstName": "Augusta", "LastName": "Lovelace", "Name": "Augusta Lovelace"}
    payload = change_event_payload(
        Change("Contact", "UPDATE", "003000000000001AAA", before, after),
        schema.objects["Contact"],
        header=HEADER,
    )
    assert payload["ChangeEventHeader"]["changedFields"] == ["Name.FirstName"]
    assert payload["Name"] == {"FirstName": "Augusta"}


def test_cdc_value__formats_match_cometd_json():
    assert cometd_value("2026-01-02T03:04:05.000+0000") == "2026-01-02T03:04:05Z"
    assert cometd_value(dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)) == "2026-01-02T03:04:05Z"
    assert cometd_value(dt.date(2026, 1, 2)) == "2026-01-02"
    assert cometd_value(Decimal("12.50")) == 12.5
    assert cometd_value(Decimal("12")) == 12
    assert cometd_value("2026-01-02") == "2026-01-02"
    # Platform events: to the millisecond, like their CreatedDate.
    assert cometd_value("2026-01-02T03:04:05.120+0000", millis=True) == "2026-01-02T03:04:05.120Z"
    assert cometd_value("2026-01-02T03:04:05Z", millis=True) == "2026-01-02T03:04:05.000Z"


def test_cdc_channel__names():
    assert change_channel("Account") == "/data/AccountChangeEvent"
    assert change_channel("Collection_Action__c") == "/data/Collection_Action__ChangeEvent"
