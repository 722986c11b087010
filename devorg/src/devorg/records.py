"""Record writes and reads with Salesforce's validation, in the order Salesforce applies it.

Every write path (REST, composite, collections, Bulk API 2.0) goes through ``Records`` inside a
store transaction, so unknown fields, wrong types, restricted picklists, required fields, unique
values, references, formula fields and the package's validation rules answer the same way
whatever the door. Callers hold ``store.lock``; nothing here publishes to the event bus.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from . import ids
from .auth import User
from .errors import SalesforceError, entity_deleted, not_found
from .formula import FormulaContext, FormulaUnsupported, compile_formula, evaluate
from .schema import FieldDef, ObjectDef, Schema
from .store import Store, Transaction
from .values import BadValue, coerce, coerce_csv, json_parser_error

log = logging.getLogger(__name__)


@dataclass
class WriteContext:
    """Who writes and through which door (errors differ between JSON and CSV input)."""

    user: User
    api_version: str = "66.0"
    raw_body: str | None = None
    source: str = "rest"  # rest | bulk
    permissions: frozenset[str] = field(default_factory=frozenset)


class MultipleMatches(Exception):
    """An upsert's external id matched several records (REST answers 300)."""

    def __init__(self, record_ids: list[str]) -> None:
        super().__init__(record_ids)
        self.record_ids = record_ids


def _auto_number(display_format: str | None, n: int) -> str:
    """``W-{0000}`` and 7 -> ``W-0007``; without a format, 8 digits (Order numbers)."""
    if not display_format:
        return str(n).rjust(8, "0")
    return re.sub(
        r"\{(0+)\}", lambda m: str(n).rjust(len(m.group(1)), "0"), display_format, count=1
    )


# Salesforce stores dates from 1700-01-01 to 4000-12-31 (SOQL and SOSL Reference, "Minimum and
# Maximum Dates"); a write outside them fails with FIELD_INTEGRITY_EXCEPTION.
_FIRST_DAY, _LAST_DAY = "1700-01-01", "4000-12-31"


def _check_date_range(fdef: FieldDef, stored: str) -> None:
    day = stored[:10]
    if len(day) == 10 and _FIRST_DAY <= day <= _LAST_DAY:
        return
    raise SalesforceError(
        "FIELD_INTEGRITY_EXCEPTION",
        f"{_label_or_name(fdef)}: invalid date: {stored}",
        400,
        [fdef.name],
    )


def _label_or_name(fdef: FieldDef) -> str:
    return fdef.label or fdef.name


class Records:
    def __init__(self, schema: Schema, store: Store, faults) -> None:
        self.schema = schema
        self.store = store
        self.faults = faults
        self._compiled: dict[tuple[str, str], object] = {}
        self._unsupported_logged: set[str] = set()
        self._autonumber: dict[str, int] = {}
        self._required_cache: dict[str, list[str]] = {}
        # (object, body key) -> (parent relationship, field): what ``prepare`` resolves per key.
        self._key_cache: dict[tuple[str, str], tuple[FieldDef | None, FieldDef | None]] = {}
        self._unique_cache: dict[str, list[FieldDef]] = {}
        # children pointing at each object: (child object, lookup field)
        self.children: dict[str, list[tuple[ObjectDef, FieldDef]]] = {}
        for obj in schema.objects.values():
            for fdef in obj.fields.values():
                if fdef.type == "reference" and fdef.custom:
                    for target in fdef.reference_to:
                        self.children.setdefault(target, []).append((obj, fdef))

    # -- lookups ----------------------------------------------------------------------------

    def object_or_404(self, name: str) -> ObjectDef:
        obj = self.schema.object(name)
        if obj is None:
            raise not_found()
        return obj

    def live_record(self, obj: ObjectDef, record_id: str) -> dict:
        """The record for a write or read by id: MALFORMED_ID / NOT_FOUND / ENTITY_IS_DELETED."""
        rid = ids.normalize(record_id)
        if rid is None or ids.prefix_of(rid) != obj.key_prefix:
            raise SalesforceError(
                "MALFORMED_ID",
                f"{obj.label} ID: id value of incorrect type: {record_id}",
                400,
                ["Id"],
            )
        rec = self.store.get(rid)
        if rec is None:
            raise not_found()
        if rec.get("IsDeleted"):
            raise entity_deleted()
        return rec

    # -- formulas and paths -----------------------------------------------------------------

    def _compiled_formula(self, obj: ObjectDef, key: str, src: str):
        cache_key = (obj.name, key)
        if cache_key not in self._compiled:
            try:
                self._compiled[cache_key] = compile_formula(src)
            except FormulaUnsupported as exc:
                self._compiled[cache_key] = exc
        return self._compiled[cache_key]

    def resolve(self, obj: ObjectDef, rec: dict | None, path: str) -> object:
        """Value of ``Field`` or ``Rel.Field`` (any depth) on ``rec``; formulas computed."""
        if rec is None:
            return None
        head, _, rest = path.partition(".")
        if rest:
            rel = obj.relationship(head)
            if rel is None:
                fdef = obj.field(head)
                if fdef is not None and fdef.type == "reference":
                    rel = fdef
            if rel is None:
                raise FormulaUnsupported(path)
            parent_id = rec.get(rel.name)
            if not parent_id:
                return None
            parent = self.store.get(parent_id)
            if parent is None:
                return None
            parent_obj = self.schema.objects[self.store.object_of(parent_id) or rel.reference_to[0]]
            return self.resolve(parent_obj, parent, rest)
        fdef = obj.field(head)
        if fdef is None:
            raise FormulaUnsupported(path)
        if fdef.formula is not None:
            return self.formula_value(obj, rec, fdef)
        return rec.get(fdef.name)

    def formula_value(self, obj: ObjectDef, rec: dict, fdef: FieldDef, user: User | None = None):
        node = self._compiled_formula(obj, fdef.name, fdef.formula or "")
        if isinstance(node, Exception):
            self._log_unsupported(f"{obj.name}.{fdef.name}", node)
            return None
        ctx = FormulaContext(
            resolve=lambda p: self.resolve(obj, rec, p),
            blanks_as_zero=fdef.formula_blanks_as_zero,
            permissions=frozenset(user.permissions) if user else frozenset(),
            user_id=user.id if user else "",
        )
        try:
            value = evaluate(node, ctx)
        except (FormulaUnsupported, TypeError, ValueError, ZeroDivisionError) as exc:
            self._log_unsupported(f"{obj.name}.{fdef.name}", exc)
            return None
        if value is None or value == "":
            return None
        if fdef.type in ("double", "currency", "percent", "int"):
            number = float(value)
            if fdef.type == "percent":
                number *= 100.0  # a percent formula's API value is the percentage
            return round(number, fdef.scale) if fdef.type != "int" else int(number)
        if fdef.type == "boolean":
            return bool(value)
        return value

    def _log_unsupported(self, what: str, exc: Exception) -> None:
        if what not in self._unsupported_logged:
            self._unsupported_logged.add(what)
            log.warning("devorg cannot evaluate %s (%s); it is skipped", what, exc)

    # -- rendering --------------------------------------------------------------------------

    def record_url(self, obj: ObjectDef, rid: str, api_version: str) -> str:
        return f"/services/data/v{api_version}/sobjects/{obj.name}/{rid}"

    def render(
        self, obj: ObjectDef, rec: dict, api_version: str, fields: list[str] | None = None
    ) -> dict:
        """The REST JSON of a record: attributes first, then fields in describe order."""
        out: dict = {
            "attributes": {"type": obj.name, "url": self.record_url(obj, rec["Id"], api_version)}
        }
        selected = obj.fields.values() if fields is None else [obj.fields[f] for f in fields]
        for fdef in selected:
            if fdef.formula is not None:
                out[fdef.name] = self.formula_value(obj, rec, fdef)
            else:
                out[fdef.name] = rec.get(fdef.name)
        return out

    # -- value preparation ------------------------------------------------------------------

    def _resolve_parent_ref(
        self, obj: ObjectDef, rel: FieldDef, value: object, ctx: WriteContext
    ) -> str:
        """``"Account__r": {"ERP_Customer_Number__c": "C1"}`` -> the parent's id."""
        target = self.schema.object(rel.reference_to[0]) if rel.reference_to else None
        if not isinstance(value, dict) or target is None:
            raise SalesforceError(
                "INVALID_FIELD",
                f"Cannot deserialize instance of reference from {type(value).__name__}",
                400,
            )
        keys = [k for k in value if k != "attributes"]
        if len(keys) != 1:
            raise SalesforceError(
                "INVALID_FIELD",
                f"The foreign key for {rel.relationship_name} must specify exactly one external id field",
                400,
                [rel.name],
            )
        key_field = target.field(keys[0])
        if key_field is None or not (key_field.external_id or key_field.name == "Id"):
            raise SalesforceError(
                "INVALID_FIELD",
                f"Field name provided, {keys[0]} is not an External ID or indexed field for {target.name}",
                400,
                [rel.name],
            )
        raw = value[keys[0]]
        if key_field.name == "Id":
            rid = ids.normalize(str(raw))
            matches = (
                [rid]
                if rid and self.store.get(rid) and not self.store.get(rid).get("IsDeleted")
                else []
            )
        else:
            try:
                key_value = coerce(key_field, raw)
            except BadValue:
                key_value = str(raw)
            matches = self.store.find_by(target, key_field.name, key_value)
        if not matches:
            raise SalesforceError(
                "INVALID_FIELD",
                f"Foreign key external ID: {raw} not found for field {key_field.name} in entity {target.name}",
                400,
                [],
            )
        if len(matches) > 1:
            raise SalesforceError(
                "INVALID_FIELD",
                f"Foreign key external ID: {raw} matches more than one record for field "
                f"{key_field.name} in entity {target.name}",
                400,
                [],
            )
        return matches[0]

    def event_payload(self, obj: ObjectDef, body: dict, ctx: WriteContext) -> dict:
        """A platform event's published fields: validated like a create, required ones present.

        Events are never stored, so this is the whole of "insert" for them (REST and composite).
        """
        values = self.prepare(obj, body, ctx, is_create=True)
        missing = [
            f.name for f in obj.fields.values() if f.required and values.get(f.name) in (None, "")
        ]
        if missing:
            raise SalesforceError(
                "REQUIRED_FIELD_MISSING",
                f"Required fields are missing: [{', '.join(missing)}]",
                400,
                missing,
            )
        return {
            f.name: values.get(f.name)
            for f in obj.fields.values()
            if f.createable and f.formula is None
        }

    def prepare(self, obj: ObjectDef, body: dict, ctx: WriteContext, *, is_create: bool) -> dict:
        """Body -> {canonical field: stored value}, refusing what Salesforce refuses."""
        values: dict[str, object] = {}
        not_writable: list[str] = []
        key_cache = self._key_cache
        for key, raw in body.items():
            if key == "attributes":
                continue
            resolved = key_cache.get((obj.name, key))
            if resolved is None:
                resolved = (obj.relationship(key), obj.field(key))
                if resolved != (None, None):  # unknown keys are refused, not remembered
                    key_cache[(obj.name, key)] = resolved
            rel, fdef = resolved
            if rel is not None and (isinstance(raw, dict) or raw is None):
                values[rel.name] = (
                    None if raw is None else self._resolve_parent_ref(obj, rel, raw, ctx)
                )
                continue
            if fdef is None:
                raise SalesforceError(
                    "INVALID_FIELD",
                    f"No such column '{key}' on sobject of type {obj.name}",
                    400,
                    [],
                )
            if fdef.name == "Id":
                if is_create:
                    raise SalesforceError(
                        "INVALID_FIELD", "cannot specify Id in an insert call", 400, ["Id"]
                    )
                continue
            if (is_create and not fdef.createable) or (not is_create and not fdef.updateable):
                not_writable.append(fdef.name)
                continue
            try:
                if ctx.source == "bulk" and isinstance(raw, str):
                    value = coerce_csv(fdef, raw)
                else:
                    value = coerce(fdef, raw)
            except BadValue as bad:
                if ctx.source == "rest":
                    raise json_parser_error(fdef, bad, ctx.raw_body) from None
                raise SalesforceError(
                    "INVALID_TYPE_ON_FIELD_IN_RECORD",
                    f"{_label_or_name(fdef)}: value not of required type: {raw}",
                    400,
                    [fdef.name],
                ) from None
            if fdef.type in ("date", "datetime") and isinstance(value, str):
                _check_date_range(fdef, value)
            values[fdef.name] = value
        if not_writable:
            raise SalesforceError(
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                f"Unable to create/update fields: {', '.join(not_writable)}. Please check the security "
                "settings of this field and verify that it is read/write for your profile or permission set.",
                400,
                not_writable,
            )
        for name, value in list(values.items()):
            values[name] = self._check_value(obj, obj.fields[name], value)
        return values

    def _check_value(self, obj: ObjectDef, fdef: FieldDef, value: object) -> object:
        if value is None or value == "":
            return None  # Salesforce stores an empty string as null
        if (
            fdef.type in ("string", "textarea", "url", "email", "phone", "encryptedstring")
            and fdef.length
        ):
            if len(str(value)) > fdef.length:
                raise SalesforceError(
                    "STRING_TOO_LONG",
                    f"{_label_or_name(fdef)}: data value too large: {value} (max length={fdef.length})",
                    400,
                    [fdef.name],
                )
        if fdef.type == "picklist":
            entry = fdef.picklist_value(str(value))
            if entry is not None:
                return entry.value
            if fdef.restricted_picklist:
                raise SalesforceError(
                    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                    f"{_label_or_name(fdef)}: bad value for restricted picklist field: {value}",
                    400,
                    [fdef.name],
                )
            if len(str(value)) > 255:
                raise SalesforceError(
                    "STRING_TOO_LONG",
                    f"{_label_or_name(fdef)}: data value too large: {value} (max length=255)",
                    400,
                    [fdef.name],
                )
        if fdef.type == "multipicklist" and fdef.restricted_picklist:
            for part in str(value).split(";"):
                if fdef.picklist_value(part) is None:
                    raise SalesforceError(
                        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                        f"{_label_or_name(fdef)}: bad value for restricted picklist field: {part}",
                        400,
                        [fdef.name],
                    )
        if fdef.type == "reference":
            return self._check_reference(fdef, str(value))
        if fdef.type in ("double", "currency", "percent") and isinstance(value, float):
            if fdef.precision:
                limit = 10 ** (fdef.precision - fdef.scale)
                if abs(value) >= limit:
                    raise SalesforceError(
                        "NUMBER_OUTSIDE_VALID_RANGE",
                        f"{_label_or_name(fdef)}: value outside of valid range on numeric field: {value}",
                        400,
                        [fdef.name],
                    )
                value = round(value, fdef.scale)
        return value

    def _check_reference(self, fdef: FieldDef, value: str) -> str:
        rid = ids.normalize(value)
        targets = [self.schema.object(t) for t in fdef.reference_to]
        prefixes = {t.key_prefix for t in targets if t is not None}
        if rid is None or ids.prefix_of(rid) not in prefixes:
            label = targets[0].label if targets and targets[0] is not None else fdef.label
            raise SalesforceError(
                "MALFORMED_ID" if rid is None else "FIELD_INTEGRITY_EXCEPTION",
                f"{label} ID: id value of incorrect type: {value}"
                if rid is None
                else f"field integrity exception: unknown ({label} ID: id value of incorrect type: {value})",
                400,
                [fdef.name],
            )
        target = self.store.get(rid)
        if target is None:
            raise SalesforceError(
                "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", 400, [fdef.name]
            )
        if target.get("IsDeleted"):
            raise SalesforceError("ENTITY_IS_DELETED", "entity is deleted", 400, [fdef.name])
        return rid

    # -- derived values, required, unique, rules --------------------------------------------

    def _derive(self, obj: ObjectDef, rec: dict) -> None:
        if obj.name == "Opportunity":
            stage = rec.get("StageName") or ""
            rec["IsClosed"] = stage in ("Closed Won", "Closed Lost")
            rec["IsWon"] = stage == "Closed Won"
        elif obj.name in ("Contact", "User"):
            rec["Name"] = " ".join(p for p in (rec.get("FirstName"), rec.get("LastName")) if p)
        elif obj.name == "Order":
            rec["StatusCode"] = "Activated" if rec.get("Status") == "Activated" else "Draft"

    def _assign_autonumbers(self, obj: ObjectDef, rec: dict) -> None:
        for fdef in obj.fields.values():
            if fdef.auto_number and rec.get(fdef.name) is None:
                n = self._autonumber.get(obj.name)
                if n is None:
                    n = len(self.store.by_object[obj.name])
                n += 1
                self._autonumber[obj.name] = n
                rec[fdef.name] = _auto_number(fdef.display_format, n)

    def _check_required(self, obj: ObjectDef, rec: dict) -> None:
        required = self._required_cache.get(obj.name)
        if required is None:
            required = [
                f.name
                for f in obj.fields.values()
                if f.required and not f.auto_number and f.formula is None and f.createable
            ]
            self._required_cache[obj.name] = required
        missing = [name for name in required if rec.get(name) is None or rec.get(name) == ""]
        if missing:
            raise SalesforceError(
                "REQUIRED_FIELD_MISSING",
                f"Required fields are missing: [{', '.join(missing)}]",
                400,
                missing,
            )

    def _check_unique(self, obj: ObjectDef, rec: dict, changed: dict | None = None) -> None:
        uniques = self._unique_cache.get(obj.name)
        if uniques is None:
            uniques = [f for f in obj.fields.values() if f.unique]
            self._unique_cache[obj.name] = uniques
        for fdef in uniques:
            if changed is not None and fdef.name not in changed:
                continue
            value = rec.get(fdef.name)
            if value is None or value == "":
                continue
            others = [rid for rid in self.store.find_by(obj, fdef.name, value) if rid != rec["Id"]]
            if others:
                raise SalesforceError(
                    "DUPLICATE_VALUE",
                    f"duplicate value found: {fdef.name} duplicates value on record with id: {others[0]}",
                    400,
                    [],
                )

    def _check_rules(
        self, obj: ObjectDef, rec: dict, before: dict | None, ctx: WriteContext
    ) -> None:
        for rule in obj.validation_rules:
            if not rule.active:
                continue
            node = self._compiled_formula(obj, "rule:" + rule.name, rule.formula)
            if isinstance(node, Exception):
                self._log_unsupported(f"{obj.name} rule {rule.name}", node)
                continue
            fctx = FormulaContext(
                resolve=lambda p: self.resolve(obj, rec, p),
                prior=lambda p: self.resolve(obj, before, p),
                is_new=before is None,
                permissions=frozenset(ctx.user.permissions) | ctx.permissions,
                user_id=ctx.user.id,
            )
            try:
                failed = bool(evaluate(node, fctx))
            except (FormulaUnsupported, TypeError, ValueError) as exc:
                self._log_unsupported(f"{obj.name} rule {rule.name}", exc)
                continue
            if failed:
                raise SalesforceError(
                    "FIELD_CUSTOM_VALIDATION_EXCEPTION",
                    rule.message,
                    400,
                    [rule.display_field] if rule.display_field else [],
                )

    def _check_lock(self, rid: str) -> None:
        if self.faults is not None and self.faults.is_locked(rid):
            raise SalesforceError(
                "UNABLE_TO_LOCK_ROW",
                f"unable to obtain exclusive access to this record or 1 records: {rid}",
                400,
                [],
            )

    # -- operations -------------------------------------------------------------------------

    def create(self, tx: Transaction, obj: ObjectDef, body: dict, ctx: WriteContext) -> dict:
        if not isinstance(body, dict):
            raise SalesforceError("JSON_PARSER_ERROR", "Expected an object for the record", 400)
        values = self.prepare(obj, body, ctx, is_create=True)
        stamp = tx.now()
        rec: dict = {}
        for fdef in obj.fields.values():
            if fdef.formula is None:
                rec[fdef.name] = fdef.default_value if fdef.defaulted_on_create else None
        rec.update(values)
        rec["Id"] = self.store.ids.new(obj.key_prefix)
        rec["IsDeleted"] = False
        for name in ("CreatedDate", "LastModifiedDate", "SystemModstamp"):
            if name in obj.fields:
                rec[name] = stamp
        for name in ("CreatedById", "LastModifiedById"):
            if name in obj.fields:
                rec[name] = ctx.user.id
        if "OwnerId" in obj.fields and not rec.get("OwnerId"):
            rec["OwnerId"] = ctx.user.id
        self._derive(obj, rec)
        self._assign_autonumbers(obj, rec)
        self._check_required(obj, rec)
        self._check_unique(obj, rec)
        self._check_rules(obj, rec, None, ctx)
        tx.insert(obj.name, rec)
        return rec

    def update(
        self, tx: Transaction, obj: ObjectDef, record_id: str, body: dict, ctx: WriteContext
    ) -> dict:
        existing = self.live_record(obj, record_id)
        self._check_lock(existing["Id"])
        values = self.prepare(obj, body, ctx, is_create=False)
        return self._apply_update(tx, obj, existing, values, ctx)

    def _apply_update(
        self, tx: Transaction, obj: ObjectDef, existing: dict, values: dict, ctx
    ) -> dict:
        after = dict(existing)
        after.update(values)
        stamp = tx.now()
        after["LastModifiedDate"] = stamp
        after["SystemModstamp"] = stamp
        after["LastModifiedById"] = ctx.user.id
        self._derive(obj, after)
        self._check_required(obj, after)
        self._check_unique(obj, after, values)
        self._check_rules(obj, after, existing, ctx)
        tx.update(obj.name, existing, after)
        return after

    def upsert(
        self,
        tx: Transaction,
        obj: ObjectDef,
        ext_field: FieldDef,
        ext_value: object,
        body: dict,
        ctx: WriteContext,
        *,
        update_only: bool = False,
    ) -> tuple[dict, bool]:
        """Create or update by external id. Returns (record, created). Raises MultipleMatches."""
        if ext_field.name == "Id":
            rid = ids.normalize(str(ext_value)) if ext_value else None
            matches = [rid] if rid and self.store.get(rid) else []
        else:
            try:
                key = coerce(ext_field, ext_value)
            except BadValue:
                key = str(ext_value)
            matches = self.store.find_by(obj, ext_field.name, key)
        if len(matches) > 1:
            raise MultipleMatches(matches)
        body = {k: v for k, v in body.items() if k.lower() != "id"}
        if not matches:
            if update_only:
                raise not_found()
            if ext_field.name != "Id":
                body = {k: v for k, v in body.items() if k.lower() != ext_field.name.lower()}
                body[ext_field.name] = ext_value
            return self.create(tx, obj, body, ctx), True
        existing = self.live_record(obj, matches[0])
        self._check_lock(existing["Id"])
        values = self.prepare(obj, body, ctx, is_create=False)
        return self._apply_update(tx, obj, existing, values, ctx), False

    def delete(
        self, tx: Transaction, obj: ObjectDef | None, record_id: str, ctx: WriteContext
    ) -> dict:
        if obj is None:
            rid = ids.normalize(record_id)
            sobject = self.store.object_of(rid) if rid else None
            if rid is None:
                raise SalesforceError("MALFORMED_ID", f"malformed id {record_id}", 400, [])
            if sobject is None:
                raise SalesforceError(
                    "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", 400, []
                )
            obj = self.schema.objects[sobject]
        existing = self.live_record(obj, record_id)
        self._check_lock(existing["Id"])
        for child_obj, lookup in self.children.get(obj.name, []):
            kids = [
                r
                for r in self.store.iter_object(child_obj.name)
                if r.get(lookup.name) == existing["Id"]
            ]
            if not kids:
                continue
            if lookup.delete_constraint == "Restrict":
                names = ", ".join(str(k.get("Name") or k["Id"]) for k in kids[:5])
                raise SalesforceError(
                    "DELETE_FAILED",
                    f"Your attempt to delete {existing.get('Name') or existing['Id']} could not be "
                    f"completed because it is associated with the following "
                    f"{child_obj.label_plural.lower()}.: {names}",
                    400,
                    [],
                )
            for kid in kids:
                if lookup.delete_constraint == "Cascade":
                    self.delete(tx, child_obj, kid["Id"], ctx)
                else:
                    after = dict(kid)
                    after[lookup.name] = None
                    tx.update(child_obj.name, kid, after)
        after = dict(existing)
        after["IsDeleted"] = True
        stamp = tx.now()
        after["LastModifiedDate"] = stamp
        after["SystemModstamp"] = stamp
        after["LastModifiedById"] = ctx.user.id
        tx.soft_delete(obj.name, existing, after)
        return after

    def hard_delete(
        self, tx: Transaction, obj: ObjectDef, record_id: str, ctx: WriteContext
    ) -> None:
        rid = ids.normalize(record_id)
        if rid is None or ids.prefix_of(rid) != obj.key_prefix or self.store.get(rid) is None:
            raise SalesforceError("ENTITY_IS_DELETED", "entity is deleted", 400, [])
        self._check_lock(rid)
        tx.hard_delete(obj.name, rid)
