"""Describe documents (global, sObject basic info, full describe) built from the schema."""

from __future__ import annotations

from .schema import FieldDef, ObjectDef, Schema

_SOAP_TYPES = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "boolean": "xsd:boolean",
    "double": "xsd:double",
    "currency": "xsd:double",
    "percent": "xsd:double",
    "int": "xsd:int",
    "date": "xsd:date",
    "datetime": "xsd:dateTime",
    "time": "xsd:time",
}


def _urls(obj: ObjectDef, version: str) -> dict:
    base = f"/services/data/v{version}/sobjects/{obj.name}"
    urls = {
        "rowTemplate": base + "/{ID}",
        "defaultValues": base + "/defaultValues?recordTypeId&fields",
        "describe": base + "/describe",
        "sobject": base,
    }
    if obj.is_platform_event:
        urls = {
            "eventSchema": base + "/eventSchema",
            "describe": base + "/describe",
            "sobject": base,
        }
    return urls


def object_summary(obj: ObjectDef, version: str) -> dict:
    event = obj.is_platform_event
    return {
        "activateable": False,
        "createable": True,
        "custom": obj.custom,
        "customSetting": False,
        "deepCloneable": False,
        "deletable": not event,
        "deprecatedAndHidden": False,
        "feedEnabled": False,
        "hasSubtypes": False,
        "isInterface": False,
        "isSubtype": False,
        "keyPrefix": obj.key_prefix,
        "label": obj.label,
        "labelPlural": obj.label_plural or obj.label + "s",
        "layoutable": not event,
        "mergeable": obj.name in ("Account", "Contact"),
        "mruEnabled": not event,
        "name": obj.name,
        "queryable": not event,
        "replicateable": not event,
        "retrieveable": not event,
        "searchable": not event,
        "triggerable": True,
        "undeletable": not event,
        "updateable": not event,
        "urls": _urls(obj, version),
    }


def describe_global(schema: Schema, version: str) -> dict:
    return {
        "encoding": "UTF-8",
        "maxBatchSize": 200,
        "sobjects": [
            object_summary(o, version)
            for o in sorted(schema.objects.values(), key=lambda o: o.name)
        ],
    }


def describe_field(fdef: FieldDef) -> dict:
    text_like = fdef.type not in _SOAP_TYPES
    return {
        "aggregatable": fdef.type not in ("textarea",),
        "autoNumber": fdef.auto_number,
        "byteLength": fdef.length * 3 if text_like else 0,
        "calculated": fdef.calculated,
        "calculatedFormula": fdef.formula,
        "caseSensitive": fdef.case_sensitive,
        "createable": fdef.createable,
        "custom": fdef.custom,
        "defaultValue": fdef.default_value if fdef.type in ("boolean",) else None,
        "defaultedOnCreate": fdef.defaulted_on_create
        or fdef.name
        in (
            "Id",
            "OwnerId",
            "CreatedDate",
            "CreatedById",
            "LastModifiedDate",
            "LastModifiedById",
            "SystemModstamp",
            "IsDeleted",
        ),
        "digits": fdef.precision if fdef.type == "int" else 0,
        "externalId": fdef.external_id,
        "filterable": fdef.type != "textarea" or fdef.length <= 255,
        "groupable": fdef.type not in ("double", "currency", "percent", "textarea", "datetime"),
        "idLookup": fdef.name == "Id" or fdef.external_id,
        "label": fdef.label,
        "length": fdef.length if text_like else 0,
        "name": fdef.name,
        "nameField": fdef.name_field,
        "nillable": fdef.nillable and fdef.type != "boolean",
        "picklistValues": [
            {
                "active": v.active,
                "defaultValue": v.default,
                "label": v.label,
                "validFor": None,
                "value": v.value,
            }
            for v in fdef.picklist_values
        ],
        "precision": fdef.precision if fdef.type in ("double", "currency", "percent") else 0,
        "referenceTo": list(fdef.reference_to),
        "relationshipName": fdef.relationship_name,
        "restrictedPicklist": fdef.restricted_picklist,
        "scale": fdef.scale if fdef.type in ("double", "currency", "percent") else 0,
        "soapType": _SOAP_TYPES.get(fdef.type, "xsd:string"),
        "sortable": fdef.type != "textarea" or fdef.length <= 255,
        "type": fdef.type,
        "unique": fdef.unique,
        "updateable": fdef.updateable,
    }


def describe_object(obj: ObjectDef, schema: Schema, version: str, children: list) -> dict:
    doc = object_summary(obj, version)
    doc["fields"] = [describe_field(f) for f in obj.fields.values()]
    doc["childRelationships"] = [
        {
            "cascadeDelete": fdef.cascade_delete,
            "childSObject": child.name,
            "field": fdef.name,
            "relationshipName": fdef.child_relationship_name,
            "restrictedDelete": fdef.delete_constraint == "Restrict",
        }
        for child, fdef in children
    ]
    doc["recordTypeInfos"] = []
    return dict(sorted(doc.items()))
