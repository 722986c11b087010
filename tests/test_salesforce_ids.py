"""Salesforce ids: both forms normalised to 18 characters by the checksum, malformed refused."""

from __future__ import annotations

import pytest

from service.salesforce_ids import checksum, to18, to18_or_none

# Real ids: 15-character forms and the 18-character forms Salesforce gives for them.
REAL = [
    ("001D000000IRFma", "001D000000IRFmaIAH"),  # Salesforce's documentation example
    ("00190000001pPvH", "00190000001pPvHAAU"),
    ("0011U00000V0tkD", "0011U00000V0tkDQAR"),
    ("001A0000006Vm9r", "001A0000006Vm9rIAC"),
]


@pytest.mark.parametrize(("id15", "id18"), REAL)
def test_checksum__real_ids(id15, id18):
    assert id15 + checksum(id15) == id18
    assert to18(id15) == to18(id18) == id18


def test_suffix__compared_without_case_and_returned_canonical():
    assert to18("001D000000IRFmaiah") == "001D000000IRFmaIAH"


def test_case_matters_in_the_15_characters():
    # Two different records: only the case of one letter differs, so the suffix differs.
    assert to18("001D000000IRFma") != to18("001D000000IRFMa")


@pytest.mark.parametrize(
    "value",
    [
        "001",  # a key prefix: matched every Account with LIKE
        "001D000000IRFm",  # 14
        "001D000000IRFmaIA",  # 17
        "001D000000IRFmaAAA",  # suffix of another id
        "001D000000IRFmaIAH\n",
        "001D000000IRF-a",
        "001D000000IRFmaIA9",  # 9 is not a suffix character
        "",
        None,
        1234,
    ],
)
def test_malformed__value_error(value):
    with pytest.raises(ValueError):
        to18(value)


def test_empty__none():
    assert to18_or_none(None) is None
    assert to18_or_none("") is None
    assert to18_or_none("001D000000IRFma") == "001D000000IRFmaIAH"
