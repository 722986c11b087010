"""The User Interface API subset that Lightning Data Service calls for the package's components
(docs/preview.md lists it):

- ``GET /ui-api/records/{id}?fields=&optionalFields=``: a record representation
  (``apiName``, ``id``, ``fields`` of ``{value, displayValue}``, parents nested as records);
- ``POST /ui-api/records`` (``{apiName, fields}``), ``PATCH`` and ``DELETE /ui-api/records/{id}``;
- ``GET /ui-api/object-info/{object}`` and
  ``GET /ui-api/object-info/{object}/picklist-values/{recordTypeId}``.

Reads and writes go through the same records, validation rules and change events as the REST
API. A request error is the UI API's error array (``[{errorCode, message}]``); a record that
cannot be saved answers the UI API's record error (``{enhancedErrorType: "RecordError",
output: {errors, fieldErrors}}``), which is what ``reduceErrors`` in the components reads.
"""

from __future__ import annotations

import hashlib

from flask import Blueprint, g, request

from . import ids
from .errors import SalesforceError
from .rest import change_origin
from .schema import FieldDef, ObjectDef
from .wire import json_body, no_content, sf_json

MASTER_RECORD_TYPE = "012000000000000AAA"
MAX_FIELDS = 500  # field names in one read; far beyond what a component asks for

# describe type -> UI API dataType
DATA_TYPES = {
    "id": "Id",
    "string": "String",
    "textarea": "TextArea",
    "picklist": "Picklist",
    "multipicklist": "MultiPicklist",
    "reference": "Reference",
    "currency": "Currency",
    "double": "Double",
    "int": "Int",
    "percent": "Percent",
    "boolean": "Boolean",
    "date": "Date",
    "datetime": "DateTime",
    "url": "Url",
    "email": "Email",
    "phone": "Phone",
}


def not_found() -> SalesforceError:
    return SalesforceError(
        "NOT_FOUND", "The requested resource does not exist", 404, include_fields=False
    )


def invalid_field(name: str, obj: ObjectDef) -> SalesforceError:
    return SalesforceError(
        "INVALID_FIELD",
        f"No such column '{name}' on entity '{obj.name}'. If you are attempting to use a custom "
        "field, be sure to append the '__c' after the custom field name. Please reference your "
        "WSDL or the describe call for the appropriate names.",
        400,
        include_fields=False,
    )


def record_error(err: SalesforceError, obj: ObjectDef) -> dict:
    """The UI API's RecordError body for a save that failed."""
    entry = {
        "constituentField": None,
        "duplicateRecordError": None,
        "errorCode": err.error_code,
        "message": err.message,
    }
    field_errors: dict[str, list] = {}
    errors: list[dict] = []
    for name in err.fields:
        fdef = obj.field(name)
        field_errors.setdefault(name, []).append(
            {**entry, "field": name, "fieldLabel": fdef.label if fdef else name}
        )
    if not field_errors:
        errors.append({**entry, "field": None, "fieldLabel": None})
    return {
        "enhancedErrorType": "RecordError",
        "message": "An error occurred while trying to update the record. Please try again.",
        "output": {"errors": errors, "fieldErrors": field_errors},
    }


class Representation:
    """Record representations of one org, for the fields a request names."""

    def __init__(self, org, api_version: str) -> None:
        self.org = org
        self.records = org.records
        self.schema = org.schema
        self.api_version = api_version

    def value(self, obj: ObjectDef, rec: dict, fdef: FieldDef):
        if fdef.formula is not None:
            return self.records.formula_value(obj, rec, fdef)
        return rec.get(fdef.name)

    @staticmethod
    def display_value(fdef: FieldDef, value):
        """The picklist label; other types carry no display value here (docs/preview.md)."""
        if value is None or fdef.type != "picklist":
            return None
        for option in fdef.picklist_values:
            if option.value == value:
                return option.label
        return value

    def resolve(self, obj: ObjectDef, path: list[str]) -> list[tuple[FieldDef, ObjectDef]] | None:
        """``["Owner", "Name"]`` -> the reference and final fields with their objects."""
        hops: list[tuple[FieldDef, ObjectDef]] = []
        current = obj
        for index, part in enumerate(path):
            last = index == len(path) - 1
            fdef = current.field(part) if last else current.relationship(part)
            if fdef is None:
                return None
            hops.append((fdef, current))
            if not last:
                target = fdef.reference_to[0] if fdef.reference_to else None
                current = self.schema.objects.get(target) if target else None
                if current is None:
                    return None
        return hops

    def skeleton(self, obj: ObjectDef, rec: dict) -> dict:
        stamp = rec.get("SystemModstamp") or rec.get("LastModifiedDate") or ""
        return {
            "apiName": obj.name,
            "childRelationships": {},
            "eTag": hashlib.md5(f"{rec['Id']}{stamp}".encode()).hexdigest(),  # noqa: S324
            "fields": {},
            "id": rec["Id"],
            "lastModifiedById": rec.get("LastModifiedById"),
            "lastModifiedDate": rec.get("LastModifiedDate"),
            "recordTypeId": MASTER_RECORD_TYPE,
            "recordTypeInfo": None,
            "systemModstamp": rec.get("SystemModstamp"),
            "weakEtag": int(hashlib.md5(stamp.encode()).hexdigest()[:12], 16),  # noqa: S324
        }

    def add(self, out: dict, obj: ObjectDef, rec: dict, hops) -> None:
        """Put one resolved field path into the representation ``out`` of ``rec``."""
        fdef, _ = hops[0]
        if len(hops) == 1:
            value = self.value(obj, rec, fdef)
            out["fields"][fdef.name] = {
                "displayValue": self.display_value(fdef, value),
                "value": value,
            }
            return
        rel_name = fdef.relationship_name or fdef.name
        parent_id = rec.get(fdef.name)
        parent = self.org.store.get(parent_id) if parent_id else None
        if parent is None or parent.get("IsDeleted"):
            out["fields"][rel_name] = {"displayValue": None, "value": None}
            return
        parent_obj = self.schema.objects[self.org.store.object_of(parent_id) or hops[1][1].name]
        entry = out["fields"].get(rel_name)
        if not entry or not entry.get("value"):
            name_field = parent_obj.name_field
            entry = {
                "displayValue": parent.get(name_field.name) if name_field else None,
                "value": self.skeleton(parent_obj, parent),
            }
            out["fields"][rel_name] = entry
        self.add(entry["value"], parent_obj, parent, hops[1:])

    def record(self, obj: ObjectDef, rec: dict, fields: list[str], optional: list[str]) -> dict:
        out = self.skeleton(obj, rec)
        for names, required in ((fields, True), (optional, False)):
            for qualified in names:
                head, _, rest = qualified.partition(".")
                if head.lower() != obj.name.lower() or not rest:
                    if required:
                        raise invalid_field(qualified, obj)
                    continue
                hops = self.resolve(obj, rest.split("."))
                if hops is None:
                    if required:
                        raise invalid_field(rest, obj)
                    continue
                self.add(out, obj, rec, hops)
        return out

    def all_fields(self, obj: ObjectDef, rec: dict) -> dict:
        names = [f"{obj.name}.{f.name}" for f in obj.fields.values()]
        return self.record(obj, rec, [], names)


def field_names(raw: str | None) -> list[str]:
    names = [part.strip() for part in (raw or "").split(",") if part.strip()]
    if len(names) > MAX_FIELDS:
        raise SalesforceError(
            "ILLEGAL_QUERY_PARAMETER_VALUE",
            f"Too many fields: at most {MAX_FIELDS} may be requested at once.",
            400,
            include_fields=False,
        )
    return names


def object_info(obj: ObjectDef, user) -> dict:
    fields = {}
    for fdef in obj.fields.values():
        fields[fdef.name] = {
            "apiName": fdef.name,
            "calculated": fdef.formula is not None,
            "createable": fdef.createable and fdef.formula is None,
            "custom": fdef.custom,
            "dataType": DATA_TYPES.get(fdef.type, fdef.type.capitalize()),
            "externalId": fdef.external_id,
            "label": fdef.label,
            "length": fdef.length,
            "nameField": fdef.name_field,
            "precision": fdef.precision,
            "reference": fdef.type == "reference",
            "referenceToInfos": [
                {"apiName": target, "nameFields": ["Name"]} for target in fdef.reference_to
            ],
            "relationshipName": fdef.relationship_name,
            "required": fdef.required,
            "scale": fdef.scale,
            "sortable": True,
            "unique": fdef.unique,
            "updateable": fdef.updateable and fdef.formula is None,
        }
    return {
        "apiName": obj.name,
        "associateEntityType": None,
        "associateParentEntity": None,
        "childRelationships": [],
        "createable": True,
        "custom": obj.custom,
        "defaultRecordTypeId": MASTER_RECORD_TYPE,
        "deletable": True,
        "dependentFields": {},
        "feedEnabled": False,
        "fields": fields,
        "keyPrefix": obj.key_prefix,
        "label": obj.label,
        "labelPlural": obj.label_plural or obj.label,
        "layoutable": True,
        "mruEnabled": True,
        "nameFields": [f.name for f in obj.fields.values() if f.name_field],
        "queryable": True,
        "recordTypeInfos": {
            MASTER_RECORD_TYPE: {
                "available": True,
                "defaultRecordTypeMapping": True,
                "master": True,
                "name": "Master",
                "recordTypeId": MASTER_RECORD_TYPE,
            }
        },
        "searchable": True,
        "themeInfo": None,
        "updateable": True,
    }


def picklist_values(obj: ObjectDef, version: str) -> dict:
    base = f"/services/data/v{version}/ui-api/object-info/{obj.name}/picklist-values/{MASTER_RECORD_TYPE}"
    out = {}
    for fdef in obj.fields.values():
        if fdef.type not in ("picklist", "multipicklist"):
            continue
        default = next((o.value for o in fdef.picklist_values if o.default), None)
        out[fdef.name] = {
            "controllerValues": {},
            "defaultValue": None
            if default is None
            else {"attributes": None, "label": default, "validFor": [], "value": default},
            "eTag": hashlib.md5(f"{obj.name}.{fdef.name}".encode()).hexdigest(),  # noqa: S324
            "url": f"{base}/{fdef.name}",
            "values": [
                {"attributes": None, "label": o.label, "validFor": [], "value": o.value}
                for o in fdef.picklist_values
                if o.active
            ],
        }
    return {"eTag": hashlib.md5(obj.name.encode()).hexdigest(), "picklistFieldValues": out}  # noqa: S324


def make_ui_api_blueprint(org) -> Blueprint:
    bp = Blueprint("devorg_ui_api", __name__)
    records = org.records

    def write(fn):
        with org.store.lock:
            tx = org.store.begin()
            try:
                result = fn(tx)
            except BaseException:
                tx.rollback()
                raise
            org.commit(tx, user_id=g.user.id, change_origin=change_origin(g.api_version))
            return result

    def ctx():
        return org.context(g.user, api_version=g.api_version, raw_body=g.get("raw_body"))

    def live(record_id: str) -> tuple[ObjectDef, dict]:
        rid = ids.normalize(record_id)
        name = org.store.object_of(rid) if rid else None
        rec = org.store.get(rid) if rid else None
        if rec is None or name is None or rec.get("IsDeleted"):
            raise not_found()
        return org.schema.objects[name], rec

    def saved(obj: ObjectDef, fn) -> tuple[dict | None, object]:
        """``(record, None)`` once saved, or ``(None, the RecordError response)``."""
        try:
            return write(fn), None
        except SalesforceError as err:
            if err.error_code in ("JSON_PARSER_ERROR", "REQUEST_LIMIT_EXCEEDED"):
                raise
            return None, sf_json(record_error(err, obj), 400)

    def input_fields(body) -> dict:
        fields = body.get("fields") if isinstance(body, dict) else None
        if not isinstance(fields, dict):
            raise SalesforceError(
                "INVALID_INPUT",
                "The request body must be a record input with a 'fields' object.",
                400,
                include_fields=False,
            )
        return fields

    @bp.get("/services/data/v<version>/ui-api/records/<record_id>")
    def get_record(version, record_id):
        fields = field_names(request.args.get("fields"))
        optional = field_names(request.args.get("optionalFields"))
        if not fields and not optional:
            raise SalesforceError(
                "ILLEGAL_QUERY_PARAMETER_VALUE",
                "Either fields, optionalFields or layoutTypes must be specified.",
                400,
                include_fields=False,
            )
        obj, rec = live(record_id)
        return sf_json(Representation(org, version).record(obj, rec, fields, optional))

    @bp.post("/services/data/v<version>/ui-api/records")
    def create_record(version):
        body = json_body()
        fields = input_fields(body)
        api_name = body.get("apiName")
        obj = org.schema.object(api_name) if isinstance(api_name, str) else None
        if obj is None or obj.is_platform_event:
            raise SalesforceError(
                "INVALID_TYPE", f"Invalid apiName: {api_name!r}", 400, include_fields=False
            )
        rec, failed = saved(obj, lambda tx: records.create(tx, obj, fields, ctx()))
        if failed is not None:
            return failed
        return sf_json(Representation(org, version).all_fields(obj, org.store.get(rec["Id"])), 201)

    @bp.route("/services/data/v<version>/ui-api/records/<record_id>", methods=["PATCH", "DELETE"])
    def change_record(version, record_id):
        obj, rec = live(record_id)
        if request.method == "DELETE":
            write(lambda tx: records.delete(tx, obj, rec["Id"], ctx()))
            return no_content()
        fields = {k: v for k, v in input_fields(json_body()).items() if k != "Id"}
        _, failed = saved(obj, lambda tx: records.update(tx, obj, rec["Id"], fields, ctx()))
        if failed is not None:
            return failed
        return sf_json(Representation(org, version).all_fields(obj, org.store.get(rec["Id"])))

    @bp.get("/services/data/v<version>/ui-api/object-info/<sobject>")
    def get_object_info(version, sobject):
        obj = org.schema.object(sobject)
        if obj is None or obj.is_platform_event:
            raise not_found()
        return sf_json(object_info(obj, g.user))

    @bp.get("/services/data/v<version>/ui-api/object-info/<sobject>/picklist-values/<record_type>")
    def get_picklist_values(version, sobject, record_type):
        obj = org.schema.object(sobject)
        if obj is None or obj.is_platform_event or ids.normalize(record_type) != MASTER_RECORD_TYPE:
            raise not_found()
        return sf_json(picklist_values(obj, version))

    return bp
