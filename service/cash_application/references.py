"""Reading references out of a bank credit: check-digit schemes and invoice-number keys.

Pure functions, no I/O. Written by hand because each is a few lines of arithmetic that no
maintained library covers together with our own key rules (docs/adr/0012-cash-application-matching.md):

* ISO 11649 creditor references (``RF`` + two check digits + up to 21 characters): valid when
  the reference, its first four characters moved to the end and letters read as numbers
  (A=10 ... Z=35), leaves 1 modulo 97. Printed references come in groups of four, so spaces
  inside are removed before checking.
* Swiss QR references (QRR): 27 digits, the last a check digit by the recursive modulo-10
  scheme of the Swiss payment standards.
* Invoice-number keys: a number is compared by its digit runs with leading zeros dropped,
  whatever separators and prefix letters surround them ("INV-2024-0042", "RE 2024/42" and
  "2024.0042" share the key ``2024.42``); a different digit anywhere is a different key, so a
  typo never matches another invoice.
"""

from __future__ import annotations

import re

_QRR_TABLE = (0, 9, 4, 6, 8, 2, 7, 1, 3, 5)
RF_MAX_BODY = 21
QRR_LENGTH = 27
# A number's key needs this many digits before it is looked up by digits alone: shorter runs
# ("7", "12") are quantities, days and house numbers far more often than invoice numbers.
MIN_KEY_DIGITS = 4

_RUNS = re.compile(r"[A-Z]+|[0-9]+")
_NOT_DIGITS = re.compile(r"[^0-9]+")
_WORD = re.compile(r"[A-Za-z0-9]+(?:[-/._][A-Za-z0-9]+)*")
_RF_IN_TEXT = re.compile(r"RF\d{2}(?:[ ]?[A-Z0-9]{1,4}){1,6}", re.IGNORECASE)
_QRR_IN_TEXT = re.compile(r"(?<!\d)(?:\d[ ]?){26}\d(?!\d)")


def _alnum(text: str) -> str:
    return "".join(ch for ch in text.upper() if ch.isascii() and ch.isalnum())


def is_valid_rf(reference: str) -> bool:
    """ISO 11649: ``RF``, two check digits, 1-21 letters or digits, mod 97 == 1."""
    ref = _alnum(reference)
    if not (ref.startswith("RF") and 5 <= len(ref) <= 4 + RF_MAX_BODY and ref[2:4].isdigit()):
        return False
    moved = ref[4:] + ref[:4]
    return int("".join(str(int(ch, 36)) for ch in moved)) % 97 == 1


def rf_reference(body: str) -> str:
    """The ISO 11649 reference for ``body`` (our invoice numbers, without separators)."""
    body = _alnum(body)
    if not 1 <= len(body) <= RF_MAX_BODY:
        raise ValueError("an RF reference body has 1 to 21 letters or digits")
    check = 98 - int("".join(str(int(ch, 36)) for ch in body + "RF00")) % 97
    return f"RF{check:02d}{body}"


def qrr_check_digit(digits: str) -> int:
    carry = 0
    for ch in digits:
        carry = _QRR_TABLE[(carry + int(ch)) % 10]
    return (10 - carry) % 10


def is_valid_qrr(reference: str) -> bool:
    ref = reference.replace(" ", "")
    return (
        len(ref) == QRR_LENGTH
        and ref.isascii()
        and ref.isdigit()
        and qrr_check_digit(ref[:-1]) == int(ref[-1])
    )


def qrr_reference(number: str) -> str:
    """Our QRR for an invoice: its digits right-aligned in 26, then the check digit."""
    digits = "".join(ch for ch in number if ch.isascii() and ch.isdigit())
    if not 1 <= len(digits) <= QRR_LENGTH - 1:
        raise ValueError("a QR reference holds 1 to 26 digits")
    body = digits.zfill(QRR_LENGTH - 1)
    return body + str(qrr_check_digit(body))


def rf_body(reference: str) -> str:
    return _alnum(reference)[4:]


def qrr_body(reference: str) -> str:
    return reference.replace(" ", "")[:-1].lstrip("0") or "0"


def structured_in_text(text: str) -> list[str]:
    """RF references and QRRs printed inside remittance text, as written (checked later)."""
    found: list[str] = []
    for match in _RF_IN_TEXT.finditer(text):
        # The greedy pattern may swallow a following word; shorten until the checksum holds.
        parts = match.group(0).split(" ")
        for end in range(len(parts), 0, -1):
            candidate = "".join(parts[:end])
            if is_valid_rf(candidate):
                found.append(candidate)
                break
        else:
            found.append(match.group(0).replace(" ", ""))
    found += [m.group(0).replace(" ", "") for m in _QRR_IN_TEXT.finditer(text)]
    return found


def keys(number: str) -> tuple[str | None, str | None, str | None]:
    """A number's three keys: (full, digits, concatenated).

    * digits: its digit runs (and letters between them), leading zeros dropped, joined by dots;
      letters before the first digit and after the last are a prefix or suffix and dropped:
      "INV-2024-0042" -> ``2024.42``. None with fewer than ``MIN_KEY_DIGITS`` digits.
    * full: the same with the prefix kept (``INV.2024.42``), preferred when a remittance names
      it (so "A-1001" and "B-1001" stay apart when the letters are written).
    * concatenated: all digits run together, leading zeros dropped ("20240042"), for a number
      written without its separators; None unless longer than ``MIN_KEY_DIGITS``.
    """
    runs = _RUNS.findall(number.upper())
    digit_runs = [r for r in runs if r[0] <= "9"]
    if not digit_runs:
        return None, None, None
    norm = [r.lstrip("0") or "0" if r[0] <= "9" else r for r in runs]
    full = ".".join(norm)
    first = 0
    while runs[first][0] > "9":
        first += 1
    last = len(runs)
    while runs[last - 1][0] > "9":
        last -= 1
    count = sum(map(len, digit_runs))
    digits = ".".join(norm[first:last]) if count >= MIN_KEY_DIGITS else None
    concat = "".join(digit_runs).lstrip("0")
    return full, digits, concat if len(concat) > MIN_KEY_DIGITS else None


def digit_key(number: str) -> str | None:
    return keys(number)[1]


def words(text: str) -> list[str]:
    """The candidate numbers in a text: words, and runs of two or three adjacent words (so
    "INV 2024 0042" is read as one number as well as three)."""
    tokens = _WORD.findall(text)
    out = list(tokens)
    for size in (2, 3):
        out += ["-".join(tokens[i : i + size]) for i in range(len(tokens) - size + 1)]
    return out
