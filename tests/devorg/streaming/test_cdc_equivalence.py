"""The fast change-event body builder answers exactly as a plain reference builder.

``cdc._update_body`` compares stored values first and converts only the fields that differ;
``cdc.drafts`` merges identical changes with a cheap key instead of sorted JSON text. Both must
keep the wire output byte-identical, so they are checked here against the straightforward
reference (convert every field of both records, then diff; merge on ``json.dumps``) on
random records built to hit the traps: values equal in Python but not on the wire (``1``,
``1.0``, ``True``; ``0.0``, ``-0.0``), NaN, two datetimes in the same second, fields missing
on either side, compound address and person-name parts, formula and system fields.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from decimal import Decimal

from devorg.changes import Change

from devorg import cdc

# -- the reference: convert every field of both records, then diff ---------------------------


def _ref_flat(record, skip):
    return {
        k: cdc.cometd_value(v)
        for k, v in record.items()
        if k not in cdc._NEVER and k not in skip and not k.startswith("_")
    }


def _ref_full_body(entity, record, skip):
    flat = {k: v for k, v in _ref_flat(record, skip).items() if v is not None and v != ""}
    groups = cdc._compound_groups(entity, flat)
    if "Name" in groups:
        flat.pop("Name", None)
    grouped = {f for parts in groups.values() for f in parts}
    body = {k: v for k, v in flat.items() if k not in grouped}
    for compound, parts in groups.items():
        body[compound] = {comp: flat[f] for f, comp in parts.items()}
    return body


def _ref_update_body(entity, before, after, skip):
    old = _ref_flat(before, skip)
    new = _ref_flat(after, skip)
    changed = [k for k in new if old.get(k) != new[k]]
    changed += [k for k in old if k not in new and old[k] is not None]
    if "LastModifiedDate" in new and "LastModifiedDate" not in changed:
        changed.append("LastModifiedDate")
    groups = cdc._compound_groups(entity, set(old) | set(new))
    grouped = {f: (c, p) for c, parts in groups.items() for f, p in parts.items()}
    if "Name" in groups:
        changed = [k for k in changed if k != "Name"]
    body, names = {}, []
    for key in changed:
        value = new.get(key)
        if key in grouped:
            compound, comp = grouped[key]
            body.setdefault(compound, {})[comp] = value
            names.append(f"{compound}.{comp}")
        else:
            body[key] = value
            names.append(key)
    return body, names


def _ref_drafts(changes, skips):
    out, seen = [], {}
    for change in cdc.coalesce(changes):
        skip = skips.get(change.entity_name, frozenset())
        if change.change_type == "UPDATE":
            body, changed = _ref_update_body(
                change.entity_name, change.before or {}, change.after or {}, skip
            )
        elif change.change_type == "DELETE":
            body, changed = {}, []
        else:
            body, changed = _ref_full_body(change.entity_name, change.after or {}, skip), []
        key = (
            change.entity_name,
            change.change_type,
            json.dumps(body, sort_keys=True, default=str),
            tuple(changed),
        )
        if key in seen:
            seen[key][2].append(change.record_id)
            continue
        seen[key] = (change.entity_name, change.change_type, [change.record_id], body, changed)
        out.append(seen[key])
    return out


# -- random records -----------------------------------------------------------------------

NAN = float("nan")
VALUES = [
    None,
    "",
    "a",
    "HOLD",
    1,
    1.0,
    True,
    False,
    0,
    0.0,
    -0.0,
    NAN,
    2.5,
    Decimal("2.5"),
    Decimal("1"),
    "2026-01-02T03:04:05.000+0000",
    "2026-01-02T03:04:05.999+0000",
    "2026-01-02T03:04:06.000+0000",
    "2026-01-02T03:04:05Z",
    "2026-01-02",
    dt.date(2026, 1, 2),
    dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
    "x" * 25,
]
KEYS = [
    "Name",
    "FirstName",
    "LastName",
    "BillingStreet",
    "BillingCity",
    "Street",
    "City",
    "Country",
    "MailingCity",
    "Id",
    "IsDeleted",
    "SystemModstamp",
    "_private",
    "attributes",
    "LastModifiedDate",
    "Formula__c",
    "Amount__c",
    "Status__c",
]


class _Obj:
    def __init__(self, formulas):
        self.fields = {name: type("F", (), {"formula": "1"})() for name in formulas}


def _wire(value) -> str:
    return json.dumps(value, default=repr)


def _record(rng):
    return {k: rng.choice(VALUES) for k in rng.sample(KEYS, rng.randint(0, len(KEYS)))}


def _edited(rng, before):
    after = dict(before)  # like the store: unchanged fields share their objects
    for _ in range(rng.randint(0, 5)):
        if rng.random() < 0.2 and after:
            after.pop(rng.choice(list(after)))
        else:
            after[rng.choice(KEYS)] = rng.choice(VALUES)
    return after


def test_update_and_full_bodies__identical_to_the_reference():
    rng = random.Random(20261123)
    for _ in range(3000):
        entity = rng.choice(["Account", "Contact", "Lead", "Foo__c"])
        skip = frozenset(rng.sample(["Formula__c", "City", "Amount__c"], rng.randint(0, 2)))
        before = _record(rng)
        after = _edited(rng, before) if rng.random() < 0.8 else _record(rng)
        assert _wire(cdc._update_body(entity, before, after, skip)) == _wire(
            _ref_update_body(entity, before, after, skip)
        ), (entity, before, after, skip)
        assert _wire(cdc._full_body(entity, after, skip)) == _wire(
            _ref_full_body(entity, after, skip)
        ), (entity, after, skip)


def test_drafts__merge_exactly_the_changes_the_reference_merges():
    rng = random.Random(7)
    objects = {"Account": _Obj(["Formula__c"]), "Contact": _Obj([])}
    skips = {"Account": frozenset({"Formula__c"}), "Contact": frozenset()}
    for _ in range(600):
        entity = rng.choice(["Account", "Contact"])
        base = _record(rng)
        changes = []
        for j in range(rng.randint(1, 10)):
            kind = rng.choice(["UPDATE", "UPDATE", "CREATE", "DELETE", "UNDELETE"])
            after = _edited(rng, base)
            if rng.random() < 0.5:  # near-identical changes: 1 / 1.0 / True, -0.0, NaN
                after = dict(base, Amount__c=rng.choice([1, 1.0, True, 0.0, -0.0, NAN]))
            changes.append(
                Change(
                    entity,
                    kind,
                    f"001{j % 6:015d}",
                    None if kind == "CREATE" else base,
                    None if kind == "DELETE" else after,
                )
            )
        got = [
            (d.entity_name, d.change_type, d.record_ids, _wire(d.body), d.changed_fields)
            for d in cdc.drafts(changes, objects)
        ]
        want = [(e, t, ids, _wire(b), c) for e, t, ids, b, c in _ref_drafts(changes, skips)]
        assert got == want
