"""Marshmallow fields whose whole rule is one plain ``parse`` function.

The ERP feed takes up to 5,000 rows a request and the import a million rows a file. Marshmallow's
generic machinery costs ~40 µs a row before any field is checked, which alone would eat the
throughput target, so ``service.feeds.schemas.RowLoader`` runs the same schemas by calling each
field's ``parse`` directly. The fields remain ordinary marshmallow fields (subclasses of the
matching built-in type, so the OpenAPI document shows the right types), and ``Schema.load`` gives
the same answers: one rule, written once.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal

from marshmallow import ValidationError, fields

from service.credit.money import MAX_AMOUNT
from service.feeds.currencies import is_currency
from service.mail_address import is_address
from service.salesforce_ids import to18

# ASCII digits only (``\d`` takes "٣") and nothing after (``$`` lets a trailing newline through).
_AMOUNT = re.compile(r"-?[0-9]{1,14}(\.[0-9]{1,4})?")
_ANY_DECIMAL = re.compile(r"-?[0-9]{1,50}(\.[0-9]{1,50})?")  # to say "too large" if it is
AMOUNT_LIMIT = (
    f"Must be at most {MAX_AMOUNT}: the largest amount the database and Salesforce's "
    "currency fields hold."
)
_INSTANT_RANGE = (
    "Must be within 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z once converted to UTC."
)


class Parsed:
    """Mixin: ``_deserialize`` delegates to ``parse``, which raises ``ValueError`` with the message."""

    def parse(self, value):  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return self.parse(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


def check_storable_text(value: str) -> None:
    """Refuse what no database column can hold: NUL (PostgreSQL's text types cannot store it)
    and lone UTF-16 surrogates (JSON's ``"\\ud800"`` escape decodes to one, and no UTF-8
    encoder takes it). ASCII text, nearly every value, costs two C calls."""
    if "\x00" in value:
        raise ValueError("Must not contain NUL characters (\\u0000).")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError(
                "Must not contain unpaired UTF-16 surrogates (\\ud800-\\udfff)."
            ) from None


class Text(Parsed, fields.String):
    def __init__(self, *, max_length: int, **kwargs) -> None:
        kwargs.setdefault("metadata", {})["maxLength"] = max_length
        super().__init__(**kwargs)
        self.max_length = max_length

    def parse(self, value):
        if not isinstance(value, str):
            raise ValueError("Not a valid string.")
        if not value.strip():
            raise ValueError("Must not be empty.")
        if len(value) > self.max_length:
            raise ValueError(f"Longer than {self.max_length} characters.")
        check_storable_text(value)
        return value


class Choice(Parsed, fields.String):
    def __init__(self, choices: tuple[str, ...], **kwargs) -> None:
        kwargs.setdefault("metadata", {})["enum"] = list(choices)
        super().__init__(**kwargs)
        self.choices = frozenset(choices)
        self._message = "Must be one of: " + ", ".join(choices) + "."

    def parse(self, value):
        if value not in self.choices:
            raise ValueError(self._message)
        return value


class CurrencyCode(Parsed, fields.String):
    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("metadata", {}).update(
            {"pattern": "^[A-Z]{3}$", "example": "EUR", "description": "ISO 4217 code"}
        )
        super().__init__(**kwargs)

    def parse(self, value):
        if not isinstance(value, str) or not is_currency(value):
            raise ValueError("Not an ISO 4217 currency code in use (e.g. EUR, USD, JPY).")
        return value


class Amount(Parsed, fields.String):
    """A decimal string (never a JSON number: floats cannot carry money exactly), at most
    ``MAX_AMOUNT``.

    Places are checked against the row's currency by the schema, which knows the currency.
    """

    def __init__(self, *, positive: bool = False, **kwargs) -> None:
        kwargs.setdefault("metadata", {}).update(
            {
                "pattern": f"^{_AMOUNT.pattern}$",
                "example": "1250.00",
                "description": f"decimal string, at most {MAX_AMOUNT}",
            }
        )
        super().__init__(**kwargs)
        self.positive = positive

    def parse(self, value):
        if isinstance(value, str) and _AMOUNT.fullmatch(value):
            amount = Decimal(value)
        elif isinstance(value, str) and _ANY_DECIMAL.fullmatch(value):
            # A decimal, but too long: say which way, if it is not simply too many places.
            amount = Decimal(value)
            if amount >= 0 and amount <= MAX_AMOUNT:
                raise ValueError('Must be a decimal string such as "1250.00".')
        else:
            raise ValueError('Must be a decimal string such as "1250.00".')
        if amount < 0 or (self.positive and amount == 0):
            raise ValueError(
                "Must be greater than 0." if self.positive else "Must not be negative."
            )
        if amount > MAX_AMOUNT:  # 99999999999999.9999 fits the pattern and is still too much
            raise ValueError(AMOUNT_LIMIT)
        return amount


class IsoDate(Parsed, fields.Date):
    def parse(self, value):
        # Cheaper than a regex; fromisoformat then insists on digits in the right places.
        if (
            not isinstance(value, str)
            or len(value) != 10
            or value[4] != "-"
            or value[7] != "-"
            or not value.isascii()  # str.isdigit is true for "²" and "٣"
        ):
            raise ValueError("Must be an ISO date (YYYY-MM-DD).")
        if not (value[:4].isdigit() and value[5:7].isdigit() and value[8:].isdigit()):
            raise ValueError("Must be an ISO date (YYYY-MM-DD).")
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValueError("Not a real calendar date.") from None


class Instant(Parsed, fields.AwareDateTime):
    """An ISO 8601 instant with an offset; a naive time would be guessed, so it is refused."""

    def parse(self, value):
        # fromisoformat stops reading at a NUL ("...Z\\x00anything" parses), so ISO 8601's
        # alphabet, ASCII without NUL, is checked first.
        if not isinstance(value, str) or len(value) < 19 or not value.isascii() or "\x00" in value:
            raise ValueError(
                "Must be an ISO 8601 date-time with an offset, e.g. 2026-03-01T10:00:00Z."
            )
        try:
            instant = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(
                "Must be an ISO 8601 date-time with an offset, e.g. 2026-03-01T10:00:00Z."
            ) from None
        if instant.tzinfo is None or instant.utcoffset() is None:
            raise ValueError("Must include a time zone offset, e.g. 2026-03-01T10:00:00Z.")
        try:
            # Instants are stored and compared in UTC; 0001-01-01T00:00:00+01:00 is a moment in
            # year 0, which no datetime (and so neither database's driver) can hold.
            instant.astimezone(UTC)
        except OverflowError:
            raise ValueError(_INSTANT_RANGE) from None
        return instant


class Count(Parsed, fields.Integer):
    def __init__(self, *, maximum: int, **kwargs) -> None:
        kwargs.setdefault("metadata", {}).update({"minimum": 0, "maximum": maximum})
        super().__init__(**kwargs)
        self.maximum = maximum

    def parse(self, value):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("Must be a whole number.")
        if not 0 <= value <= self.maximum:
            raise ValueError(f"Must be between 0 and {self.maximum}.")
        return value


class SalesforceId(Parsed, fields.String):
    """A record id in either form, stored in its 18-character form (``service.salesforce_ids``)."""

    def parse(self, value):
        try:
            return to18(value)
        except ValueError:
            raise ValueError(
                "Must be a 15- or 18-character Salesforce record id (an 18-character id's "
                "last 3 characters are the checksum of the first 15)."
            ) from None


class HttpsUrl(Parsed, fields.Url):
    """An absolute ``https://`` URL with a host, no spaces or control characters (a pay link
    shown to customers: plain http, ``javascript:`` and relative links are refused)."""

    def __init__(self, *, max_length: int, **kwargs) -> None:
        kwargs.setdefault("metadata", {})["maxLength"] = max_length
        super().__init__(**kwargs)
        self.max_length = max_length

    def parse(self, value):
        if not isinstance(value, str):
            raise ValueError("Not a valid string.")
        if len(value) > self.max_length:
            raise ValueError(f"Longer than {self.max_length} characters.")
        if not _HTTPS_URL.fullmatch(value):
            raise ValueError("Must be an absolute https:// URL.")
        return value


class LanguageTag(Parsed, fields.String):
    """A language as ``de`` or ``de-AT`` (BCP 47 language and optional region), lower-cased."""

    def parse(self, value):
        if not isinstance(value, str) or not _LANGUAGE.fullmatch(value):
            raise ValueError("Must be a language code such as de or de-AT.")
        return value.lower()


class EmailAddress(Parsed, fields.String):
    """One e-mail address (``billing_email``): ``local@domain``, no name, no line breaks."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("metadata", {})["maxLength"] = 320
        super().__init__(**kwargs)

    def parse(self, value):
        if not is_address(value):
            raise ValueError("Must be one e-mail address such as billing@example.com.")
        return value


_HTTPS_URL = re.compile(r"https://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[!#-;=?-~]*)?")
_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z]{2})?")
