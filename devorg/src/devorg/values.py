"""Field values: from JSON or CSV input to the stored wire form, by describe type.

Stored values are what the REST API prints: strings for text, ``"2024-01-31"`` for dates,
``"2024-01-31T10:00:00.000+0000"`` for datetimes, floats for double/currency/percent, ints for
int, bools for checkboxes. Wrong JSON types are refused as the Salesforce JSON reader refuses
them (``JSON_PARSER_ERROR`` with a line and column); wrong CSV text as Bulk API does.
"""

from __future__ import annotations

import datetime as dt
import re

from .errors import SalesforceError
from .schema import FieldDef

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?\s*(Z|[+-]\d{2}:?\d{2})?$"
)
_NUMBER_RE = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")

TEXT_TYPES = frozenset(
    {
        "string",
        "textarea",
        "picklist",
        "multipicklist",
        "url",
        "email",
        "phone",
        "id",
        "reference",
        "encryptedstring",
        "combobox",
        "time",
    }
)


def format_datetime(value: dt.datetime) -> str:
    """Salesforce's REST datetime form: millisecond precision and ``+0000``."""
    value = value.astimezone(dt.UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


def now_stamp() -> str:
    return format_datetime(dt.datetime.now(dt.UTC))


def parse_datetime(text: str) -> dt.datetime | None:
    """Parse the ISO forms Salesforce accepts; naive times are UTC. None if unparseable."""
    match = _DATETIME_RE.match(text.strip())
    if not match:
        if _DATE_RE.match(text.strip()):
            try:
                day = dt.date.fromisoformat(text.strip())
            except ValueError:
                return None
            return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
        return None
    year, month, day, hour, minute, second, frac, zone = match.groups()
    try:
        micro = int((frac or "0")[:6].ljust(6, "0"))
        tz = dt.UTC
        if zone and zone != "Z":
            sign = 1 if zone[0] == "+" else -1
            digits = zone[1:].replace(":", "")
            tz = dt.timezone(sign * dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
        return dt.datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second or 0),
            micro,
            tzinfo=tz,
        ).astimezone(dt.UTC)
    except ValueError:
        return None


def parse_date(text: str) -> dt.date | None:
    text = text.strip()
    if _DATE_RE.match(text):
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            return None
    parsed = parse_datetime(text) if "T" in text else None
    return parsed.date() if parsed else None


class BadValue(Exception):
    """A value of the wrong type; the caller decides the error code (JSON vs CSV vs SOQL)."""

    def __init__(self, fdef: FieldDef, value: object, json_token: str) -> None:
        super().__init__(f"{fdef.name}: {value!r}")
        self.fdef = fdef
        self.value = value
        self.json_token = json_token


def _json_token(value: object) -> str:
    if isinstance(value, bool):
        return "VALUE_TRUE" if value else "VALUE_FALSE"
    if isinstance(value, int):
        return "VALUE_NUMBER_INT"
    if isinstance(value, float):
        return "VALUE_NUMBER_FLOAT"
    if isinstance(value, str):
        return "VALUE_STRING"
    if isinstance(value, dict):
        return "START_OBJECT"
    if isinstance(value, list):
        return "START_ARRAY"
    return "VALUE_NULL"


def coerce(fdef: FieldDef, value: object) -> object:
    """JSON input value -> stored value. Raises BadValue. ``None`` stays None."""
    if value is None:
        return None
    if isinstance(value, dict | list):
        raise BadValue(fdef, value, _json_token(value))
    kind = fdef.type
    if kind in TEXT_TYPES:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, float) and value.is_integer():
            return str(int(value)) if kind != "string" else repr(value)
        return str(value)
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise BadValue(fdef, value, _json_token(value))
    if kind in ("double", "currency", "percent", "int"):
        if isinstance(value, bool):
            raise BadValue(fdef, value, _json_token(value))
        if isinstance(value, str):
            if not _NUMBER_RE.match(value.strip()):
                raise BadValue(fdef, value, _json_token(value))
            value = float(value)
        number = float(value)
        if kind == "int":
            return int(number)
        return number
    if kind == "date":
        if not isinstance(value, str):
            raise BadValue(fdef, value, _json_token(value))
        parsed = parse_date(value)
        if parsed is None:
            raise BadValue(fdef, value, _json_token(value))
        return parsed.isoformat()
    if kind == "datetime":
        if not isinstance(value, str):
            raise BadValue(fdef, value, _json_token(value))
        parsed_dt = parse_datetime(value)
        if parsed_dt is None:
            raise BadValue(fdef, value, _json_token(value))
        return format_datetime(parsed_dt)
    return value


def coerce_csv(fdef: FieldDef, text: str) -> object:
    """Bulk API CSV cell -> stored value (``#N/A`` handled by the caller). Raises BadValue."""
    if fdef.type in TEXT_TYPES:
        return text
    if fdef.type == "boolean":
        lowered = text.strip().lower()
        if lowered in ("true", "1", "yes"):
            return True
        if lowered in ("false", "0", "no", ""):
            return False
        raise BadValue(fdef, text, "VALUE_STRING")
    return coerce(fdef, text)


def json_parser_error(fdef: FieldDef, bad: BadValue, raw_body: str | None) -> SalesforceError:
    """The Salesforce JSON reader's message for a value it cannot deserialize.

    Seen on the wire: ``Cannot deserialize instance of datetime from VALUE_STRING value X or
    request may be missing a required field at [line:1, column:129]`` and, for arrays/objects,
    ``Cannot deserialize instance of multipicklist from START_ARRAY value [line:1, column:842]``.
    """
    line, column = locate_json_value(raw_body or "", fdef.name)
    where = f"[line:{line}, column:{column}]"
    if bad.json_token in ("START_ARRAY", "START_OBJECT"):
        message = f"Cannot deserialize instance of {fdef.type} from {bad.json_token} value {where}"
    else:
        shown = bad.value
        if isinstance(shown, bool):
            shown = "true" if shown else "false"
        message = (
            f"Cannot deserialize instance of {fdef.type} from {bad.json_token} value {shown} "
            f"or request may be missing a required field at {where}"
        )
    return SalesforceError("JSON_PARSER_ERROR", message, 400, include_fields=False)


def locate_json_value(raw: str, field_name: str) -> tuple[int, int]:
    """1-based line and the column just after the value of ``"field_name":`` in ``raw``.

    That is where the Salesforce (Jackson) reader reports a value it could not convert.
    """
    match = re.search(r'"' + re.escape(field_name) + r'"\s*:\s*', raw, re.IGNORECASE)
    if not match:
        return 1, 1
    pos = match.end()
    if pos < len(raw) and raw[pos] in "[{":
        pos += 1
    elif pos < len(raw) and raw[pos] == '"':
        end = pos + 1
        while end < len(raw) and raw[end] != '"':
            end += 2 if raw[end] == "\\" else 1
        pos = end + 1
    else:
        while pos < len(raw) and raw[pos] not in ",}] \n\r\t":
            pos += 1
    line = raw.count("\n", 0, pos) + 1
    column = pos - (raw.rfind("\n", 0, pos) + 1) + 1
    return line, column


def to_soql_comparable(fdef: FieldDef | None, value: object) -> object:
    """Stored value -> a Python value that orders correctly (for SOQL and sorting)."""
    if value is None:
        return None
    if fdef is not None and fdef.type in (
        "string",
        "textarea",
        "picklist",
        "email",
        "url",
        "phone",
    ):
        return str(value).lower()
    return value
