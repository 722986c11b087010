"""Check digits and number keys: a reference is read only when its check digits hold, and a
number matches whatever its separators, prefix and leading zeros, never with another digit."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.cash_application import references as refs


@pytest.mark.parametrize(
    "reference",
    ["RF18539007547034", "RF18 5390 0754 7034", "rf18539007547034", "RF712348231"],
)
def test_iso_11649_references_from_the_standard_verify(reference):
    assert refs.is_valid_rf(reference)


@pytest.mark.parametrize(
    "reference", ["RF19539007547034", "RF18539007547035", "RF1", "RF18", "XX18539007547034", ""]
)
def test_a_mistyped_or_malformed_rf_reference_does_not(reference):
    assert not refs.is_valid_rf(reference)


def test_swiss_qr_references_check_digit():
    # The Swiss implementation guidelines' example QR reference.
    assert refs.is_valid_qrr("210000000003139471430009017")
    assert refs.is_valid_qrr("21 00000 00003 13947 14300 09017")
    assert not refs.is_valid_qrr("210000000003139471430009018")
    assert not refs.is_valid_qrr("21000000000313947143000901")


@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=21))
def test_every_rf_reference_we_make_verifies_and_one_changed_digit_never(body):
    reference = refs.rf_reference(body)
    assert refs.is_valid_rf(reference) and refs.rf_body(reference) == body
    # MOD 97-10 catches every single changed digit (a letter counts as two digits, so a letter
    # changed into a digit is not covered by the standard's guarantee).
    digits = [i for i, ch in enumerate(reference) if ch.isdigit()]
    for i in digits:
        changed = str((int(reference[i]) + 1) % 10)
        assert not refs.is_valid_rf(reference[:i] + changed + reference[i + 1 :])


@given(st.integers(min_value=1, max_value=10**26 - 1), st.integers(0, 25))
def test_every_qrr_we_make_verifies_and_one_changed_digit_never(number, position):
    reference = refs.qrr_reference(str(number))
    assert refs.is_valid_qrr(reference)
    digit = str((int(reference[position]) + 1) % 10)
    assert not refs.is_valid_qrr(reference[:position] + digit + reference[position + 1 :])


@pytest.mark.parametrize(
    "written", ["INV-2024-00042", "inv 2024/42", "Rechnung 2024.0042", "RE2024-42", "2024-042"]
)
def test_separators_prefixes_and_leading_zeros_do_not_matter(written):
    assert refs.digit_key(written) == refs.digit_key("INV-2024-00042") == "2024.42"


@pytest.mark.parametrize(
    "written", ["INV-2024-00043", "2024-420", "2025-42", "2024-4-2", "20-2442"]
)
def test_another_digit_is_another_number(written):
    assert refs.digit_key(written) != refs.digit_key("INV-2024-00042")


def test_short_numbers_are_not_keys_and_structured_references_are_found_in_text():
    assert refs.digit_key("KW 42") is None
    text = "Zahlung RF18 5390 0754 7034 danke 210000000003139471430009017"
    assert refs.structured_in_text(text) == ["RF18539007547034", "210000000003139471430009017"]
