"""Change Data Capture payloads, built from the record store's committed changes.

Salesforce publishes one change event per changed record of a CDC-enabled entity after the
transaction commits.  The CometD (JSON) form differs from the Pub/Sub (Avro) one, and the sync
service only reads the CometD form, so this module builds exactly that (wire facts §1.8):

- header ``entityName, recordIds, changeType, changeOrigin, transactionKey, sequenceNumber,
  isTransactionEnd, commitTimestamp (epoch ms), commitNumber, commitUser, changedFields``;
  no ``nulledFields``/``diffFields`` (Pub/Sub and Apex only);
- CREATE: every non-empty field plus system fields; UPDATE: changed fields only, a field set to
  null appears as ``null``, plus ``LastModifiedDate``; DELETE: no fields; UNDELETE: every
  non-empty field;
- never ``Id``, ``IsDeleted``, ``SystemModstamp`` or formula fields;
- compound fields (addresses; the person Name of Contact, Lead and User) are nested, and
  ``changedFields`` names their parts as ``BillingAddress.City``.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from itertools import compress, repeat
from operator import ne
from typing import Any, Protocol

# Fields a change event never carries (the record id travels in ``recordIds``).
_NEVER = frozenset(
    {"Id", "IsDeleted", "SystemModstamp", "LastViewedDate", "LastReferencedDate", "attributes"}
)
_ADDRESS_PARTS = (
    "Street",
    "City",
    "State",
    "PostalCode",
    "Country",
    "StateCode",
    "CountryCode",
    "Latitude",
    "Longitude",
    "GeocodeAccuracy",
)
_ADDRESS_PREFIXES = ("Billing", "Shipping", "Mailing", "Other", "")
_PERSON_NAME_ENTITIES = frozenset({"Contact", "Lead", "User"})
_PERSON_NAME_PARTS = ("Salutation", "FirstName", "MiddleName", "LastName", "Suffix")
_REST_DATETIME = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]00:?00)$")
# Every field name a compound group can hold: the only keys ``_compound_groups`` looks at.
_COMPOUND_CANDIDATES = frozenset(
    {prefix + part for prefix in _ADDRESS_PREFIXES for part in _ADDRESS_PARTS}
    | set(_PERSON_NAME_PARTS)
)
# Types ``cometd_value`` returns unchanged (exact types; subclasses take the general path).
_PLAIN = frozenset({int, float, bool, type(None)})
_ABSENT = object()


class ChangeLike(Protocol):
    """The store's ``devorg.changes.Change`` (entity_name, change_type, ...)."""

    entity_name: str
    change_type: str
    record_id: str
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None


def change_channel(entity_name: str) -> str:
    """``Account`` → ``/data/AccountChangeEvent``; ``Foo__c`` → ``/data/Foo__ChangeEvent``."""
    base = entity_name[:-3] + "__" if entity_name.endswith("__c") else entity_name
    return f"/data/{base}ChangeEvent"


def cometd_value(value: Any, *, millis: bool = False) -> Any:
    """A record value as CometD JSON carries it: datetimes as ``…Z`` strings, numbers as numbers.

    Change events show datetimes to the second (``2017-07-25T19:16:44Z``, wire facts §1.8);
    platform events to the millisecond like their ``CreatedDate`` (``millis=True``) [inf].
    """
    kind = type(value)
    if kind is str:
        # Only ``dddd-dd-ddTdd:dd:dd`` + ``Z``/offset (20+ characters) can be a REST datetime.
        if len(value) < 20 or value[10] != "T":
            return value
        return _datetime_text(value, bool(millis))
    if kind in _PLAIN:
        return value
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        text = value.strftime("%Y-%m-%dT%H:%M:%S")
        return text + (f".{value.microsecond // 1000:03d}Z" if millis else "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, str):
        m = _REST_DATETIME.match(value)
        if m:
            # REST says 2026-01-02T03:04:05.000+0000; CometD says …05Z (or …05.000Z).
            fraction = (m.group(2) or ".000")[:4].ljust(4, "0")
            return m.group(1) + (fraction + "Z" if millis else "Z")
    return value


@functools.lru_cache(maxsize=4096)
def _datetime_text(value: str, millis: bool) -> str:
    """``cometd_value`` of a str, remembered: a transaction's records share their timestamps."""
    m = _REST_DATETIME.match(value)
    if m:
        fraction = (m.group(2) or ".000")[:4].ljust(4, "0")
        return m.group(1) + (fraction + "Z" if millis else "Z")
    return value


def _formula_fields(obj: Any) -> frozenset[str]:
    fields = getattr(obj, "fields", None) or {}
    return frozenset(name for name, f in fields.items() if getattr(f, "formula", None))


def _flat_fields(record: Mapping[str, Any], skip: frozenset[str]) -> dict[str, Any]:
    return {
        k: cometd_value(v)
        for k, v in record.items()
        if k not in _NEVER and k not in skip and not k.startswith("_")
    }


def _compound_groups(entity: str, keys: Iterable[str]) -> dict[str, dict[str, str]]:
    """Compound field name → {flat field name: component name} for the fields present."""
    present = set(keys)
    groups: dict[str, dict[str, str]] = {}
    for prefix in _ADDRESS_PREFIXES:
        parts = {prefix + p: p for p in _ADDRESS_PARTS if prefix + p in present}
        # A bare "Street"/"City" group only exists on objects with a prefix-less address
        # (Lead, User); require Street or City so a lone "Country__c"-like name never groups.
        if parts and (prefix or {"Street", "City"} & present):
            groups[f"{prefix}Address"] = parts
    if entity in _PERSON_NAME_ENTITIES:
        parts = {p: p for p in _PERSON_NAME_PARTS if p in present}
        if parts:
            groups["Name"] = parts
    return groups


@functools.lru_cache(maxsize=512)
def _groups_for(
    entity: str, present: frozenset[str]
) -> tuple[dict[str, dict[str, str]], dict[str, tuple[str, str]]]:
    """``_compound_groups`` of the candidate names present, and flat name → (compound, part).

    Shared between calls: callers must not mutate either mapping.
    """
    groups = _compound_groups(entity, present)
    grouped = {
        f: (compound, comp) for compound, parts in groups.items() for f, comp in parts.items()
    }
    return groups, grouped


def _present_candidates(skip: frozenset[str], *records: Mapping[str, Any]) -> frozenset[str]:
    """The compound-candidate field names among the (kept) keys of ``records``."""
    present: set[str] = set()
    for record in records:
        present |= _COMPOUND_CANDIDATES.intersection(record)
    if skip:
        present -= skip
    return frozenset(present)


def _full_body(entity: str, record: Mapping[str, Any], skip: frozenset[str]) -> dict[str, Any]:
    """CREATE / UNDELETE body: every non-empty field, compound fields nested."""
    flat: dict[str, Any] = {}
    for k, v in record.items():
        if v is None or k in _NEVER or k in skip or k[:1] == "_":
            continue  # cometd_value(None) is None: dropped as empty
        value = cometd_value(v)
        if value is not None and value != "":
            flat[k] = value
    groups, grouped = _groups_for(entity, _present_candidates(skip, flat))
    if "Name" in groups:
        flat.pop("Name", None)  # the derived full name; the compound parts replace it
    body: dict[str, Any] = {}
    for key, value in flat.items():
        if key not in grouped:
            body[key] = value
    for compound, parts in groups.items():
        body[compound] = {comp: flat[f] for f, comp in parts.items()}
    return body


def _update_body(
    entity: str,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    skip: frozenset[str],
) -> tuple[dict[str, Any], list[str]]:
    """UPDATE body and changedFields: changed fields only (nulls kept), plus LastModifiedDate.

    A field counts as changed when its CometD values differ (so two datetimes within the same
    second do not).  Only fields whose stored values differ are converted: equal stored values
    always convert to equal CometD values.
    """
    changed: list[str] = []
    values: dict[str, Any] = {}  # CometD value of each changed field (None: removed)
    prior = before.get
    # Fields whose stored values differ (or that ``before`` lacks), found at C speed: most
    # fields of an update are unchanged, and equal stored values have equal CometD values.
    differing = compress(after, map(ne, map(prior, after, repeat(_ABSENT)), after.values()))
    for k in differing:
        new = after[k]
        old = prior(k, _ABSENT)
        if old is _ABSENT and new is None:  # absent before: compared with None
            continue
        if k in _NEVER or k in skip or k[:1] == "_":
            continue
        if type(new) in _PLAIN and type(old) in _PLAIN:  # both their own CometD values
            changed.append(k)
            values[k] = new
            continue
        value = cometd_value(new)
        if old is _ABSENT or cometd_value(old) != value:
            changed.append(k)
            values[k] = value
    extra = not before.keys() <= after.keys()  # ``before`` has keys ``after`` lacks
    if extra:
        for k, old in before.items():
            if old is not None and k not in after:
                if k in _NEVER or k in skip or k[:1] == "_":
                    continue
                changed.append(k)
                values[k] = None
    if (
        "LastModifiedDate" in after
        and "LastModifiedDate" not in values
        and "LastModifiedDate" not in skip
    ):
        changed.append("LastModifiedDate")
        values["LastModifiedDate"] = cometd_value(after["LastModifiedDate"])
    present = (
        _present_candidates(skip, before, after) if extra else _present_candidates(skip, after)
    )
    groups, grouped = _groups_for(entity, present)
    if "Name" in groups:
        changed = [k for k in changed if k != "Name"]
    body: dict[str, Any] = {}
    names: list[str] = []
    for key in changed:
        value = values[key]
        if key in grouped:
            compound, comp = grouped[key]
            body.setdefault(compound, {})[comp] = value
            names.append(f"{compound}.{comp}")
        else:
            body[key] = value
            names.append(key)
    return body, names


def change_event_body(change: ChangeLike, obj: Any) -> tuple[dict[str, Any], list[str]]:
    """The body of one change event and its ``changedFields`` (empty unless UPDATE)."""
    return _event_body(change, _formula_fields(obj))


def _event_body(change: ChangeLike, skip: frozenset[str]) -> tuple[dict[str, Any], list[str]]:
    kind = change.change_type
    if kind == "UPDATE":
        return _update_body(change.entity_name, change.before or {}, change.after or {}, skip)
    if kind in ("CREATE", "UNDELETE"):
        return _full_body(change.entity_name, change.after or {}, skip), []
    if kind == "DELETE":
        return {}, []
    raise ValueError(f"unknown change type {kind!r}")


def change_event_payload(
    change: ChangeLike,
    obj: Any,
    *,
    header: dict[str, Any],
) -> dict[str, Any]:
    """The ``payload`` of one change event: ``ChangeEventHeader`` first, then the body."""
    body, changed = change_event_body(change, obj)
    return {"ChangeEventHeader": {**header, "changedFields": changed}, **body}


@dataclass
class EventDraft:
    """One change event before numbering: possibly several records with identical changes."""

    entity_name: str
    change_type: str
    record_ids: list[str]
    body: dict[str, Any]
    changed_fields: list[str]


# Identity tags of ``_plain_key`` (never equal to a str, a tuple or each other).
_TRUE, _FALSE, _NULL, _INT, _FLOAT, _DICT = (object() for _ in range(6))
_KEY_JSON = json.JSONEncoder(sort_keys=True, default=str)


class _NotPlain(Exception):
    """A body value outside str/int/float/bool/None/dict: use the JSON merge key."""


def _plain_key(value: Any) -> Any:
    """A hashable key equal for two bodies exactly when their sorted-key JSON texts are equal.

    Cheaper than encoding: strings stand for themselves; numbers keep JSON's distinctions
    (``1`` vs ``1.0`` vs ``true``, ``0.0`` vs ``-0.0``; every NaN alike) through type tags and
    ``float.__repr__``.
    """
    kind = type(value)
    if kind is str:
        return value
    if value is None:
        return _NULL
    if kind is bool:
        return _TRUE if value else _FALSE
    if kind is int:
        return (_INT, value)
    if kind is float:
        return (_FLOAT, float.__repr__(value))
    if kind is dict and all(type(k) is str for k in value):
        return (_DICT, tuple((k, _plain_key(value[k])) for k in sorted(value)))
    raise _NotPlain


def drafts(changes: Iterable[ChangeLike], objects: Mapping[str, Any]) -> list[EventDraft]:
    """Change events of one transaction, identical changes merged into one ``recordIds`` list.

    Salesforce groups a transaction's identical changes to several records of one object
    into one event ("recordIds: identical changes in one transaction within one second are
    merged"), so subscribers must handle more than one record id per event.  One
    transaction commits at one instant here, so every identical change merges.
    """
    skips: dict[str, frozenset[str]] = {}
    built: list[tuple[ChangeLike, dict[str, Any], list[str]]] = []
    for change in coalesce(changes):
        skip = skips.get(change.entity_name)
        if skip is None:
            skip = skips[change.entity_name] = _formula_fields(objects.get(change.entity_name))
        body, changed = _event_body(change, skip)
        built.append((change, body, changed))
    # "Identical" means equal sorted-key JSON; every real body is plain, so the cheaper key
    # applies; any other value switches the whole transaction to the JSON text.
    try:
        bodies = [_plain_key(body) for _, body, _ in built]
    except _NotPlain:
        bodies = [_KEY_JSON.encode(body) for _, body, _ in built]
    out: list[EventDraft] = []
    seen: dict[tuple[str, str, Any, tuple[str, ...]], EventDraft] = {}
    for (change, body, changed), body_key in zip(built, bodies, strict=True):
        key = (change.entity_name, change.change_type, body_key, tuple(changed))
        if key in seen:
            seen[key].record_ids.append(change.record_id)
            continue
        draft = EventDraft(
            change.entity_name, change.change_type, [change.record_id], body, changed
        )
        seen[key] = draft
        out.append(draft)
    return out


class _Merged:
    """A change rebuilt from several changes to one record (same shape as ``Change``)."""

    __slots__ = ("after", "before", "change_type", "entity_name", "record_id")

    def __init__(self, first: ChangeLike, last: ChangeLike) -> None:
        self.entity_name = first.entity_name
        self.change_type = first.change_type
        self.record_id = first.record_id
        self.before = first.before
        self.after = last.after if last.after is not None else first.after


def coalesce(changes: Iterable[ChangeLike]) -> list[ChangeLike]:
    """One change per record per transaction, as Salesforce publishes.

    "If multiple DML operations are performed on a record within the same transaction, only
    one change event is generated for the initial change type", carrying the data committed
    at the end of the transaction.
    """
    firsts: dict[tuple[str, str], ChangeLike] = {}
    lasts: dict[tuple[str, str], ChangeLike] = {}
    for change in changes:
        key = (change.entity_name, change.record_id)
        firsts.setdefault(key, change)
        lasts[key] = change
    return [
        first if lasts[key] is first else _Merged(first, lasts[key])
        for key, first in firsts.items()
    ]
