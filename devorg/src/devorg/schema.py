"""The org's schema: objects and fields, read from the package's SFDX source, plus standard objects.

devorg learns custom fields, picklists, platform events and CDC enablement from ``sfdx/`` so the
package and the emulator cannot drift apart. Standard objects (Account, Contact, ...) are not in
the package, so a small built-in subset of their standard fields is merged in here.

Field lookups are case-insensitive, as in Salesforce; canonical casing is kept for output.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from devorg.channel_filters import ChannelMember, FilterError

log = logging.getLogger(__name__)

_NS = "{http://soap.sforce.com/2006/04/metadata}"

# Metadata API field type -> describe type (what REST describe reports).
_METADATA_TYPES = {
    "Text": "string",
    "TextArea": "textarea",
    "LongTextArea": "textarea",
    "Html": "textarea",
    "EncryptedText": "encryptedstring",
    "Picklist": "picklist",
    "MultiselectPicklist": "multipicklist",
    "Checkbox": "boolean",
    "Number": "double",
    "Currency": "currency",
    "Percent": "percent",
    "Date": "date",
    "DateTime": "datetime",
    "Time": "time",
    "Lookup": "reference",
    "MasterDetail": "reference",
    "Url": "url",
    "Email": "email",
    "Phone": "phone",
    "AutoNumber": "string",
}

SYSTEM_FIELDS = (
    "Id",
    "IsDeleted",
    "CreatedDate",
    "CreatedById",
    "LastModifiedDate",
    "LastModifiedById",
    "SystemModstamp",
)


@dataclass
class PicklistValue:
    value: str
    label: str
    default: bool = False
    active: bool = True


@dataclass
class FieldDef:
    """One field as describe reports it. ``type`` is the describe type (string, double, ...)."""

    name: str
    type: str
    label: str
    length: int = 0
    precision: int = 0
    scale: int = 0
    required: bool = False
    unique: bool = False
    external_id: bool = False
    picklist_values: list[PicklistValue] = field(default_factory=list)
    restricted_picklist: bool = False
    reference_to: list[str] = field(default_factory=list)
    relationship_name: str | None = None
    formula: str | None = None
    updateable: bool = True
    createable: bool = True
    custom: bool = False
    nillable: bool = True
    case_sensitive: bool = False
    formula_blanks_as_zero: bool = False
    child_relationship_name: str | None = None
    auto_number: bool = False
    name_field: bool = False
    defaulted_on_create: bool = False
    default_value: object = None
    cascade_delete: bool = False
    display_format: str | None = None  # auto-number format, e.g. "W-{0000}"
    delete_constraint: str = "SetNull"  # Restrict | SetNull | Cascade (lookups)

    @property
    def calculated(self) -> bool:
        return self.formula is not None

    @property
    def is_numeric(self) -> bool:
        return self.type in ("double", "currency", "percent", "int")

    def picklist_value(self, value: str) -> PicklistValue | None:
        """The active picklist entry matching ``value`` (API values compare case-insensitively)."""
        lowered = value.lower()
        for entry in self.picklist_values:
            if entry.value.lower() == lowered and entry.active:
                return entry
        return None


@dataclass
class ValidationRule:
    name: str
    active: bool
    formula: str
    message: str
    display_field: str | None = None


@dataclass
class ObjectDef:
    name: str
    label: str
    key_prefix: str
    fields: dict[str, FieldDef] = field(default_factory=dict)
    cdc_enabled: bool = False
    is_platform_event: bool = False
    custom: bool = False
    label_plural: str = ""
    validation_rules: list[ValidationRule] = field(default_factory=list)
    _by_lower: dict[str, FieldDef] = field(default_factory=dict, repr=False)
    _by_relationship: dict[str, FieldDef] = field(default_factory=dict, repr=False)

    def add_field(self, fdef: FieldDef) -> None:
        self.fields[fdef.name] = fdef
        self._by_lower[fdef.name.lower()] = fdef
        if fdef.relationship_name:
            self._by_relationship[fdef.relationship_name.lower()] = fdef

    def field(self, name: str) -> FieldDef | None:
        """Case-insensitive field lookup."""
        return self._by_lower.get(name.lower())

    def relationship(self, name: str) -> FieldDef | None:
        """The reference field behind a parent relationship name (``Account__r``, ``Owner``)."""
        return self._by_relationship.get(name.lower())

    @property
    def name_field(self) -> FieldDef | None:
        for fdef in self.fields.values():
            if fdef.name_field:
                return fdef
        return None

    @property
    def external_id_fields(self) -> list[FieldDef]:
        return [f for f in self.fields.values() if f.external_id]


@dataclass
class Schema:
    objects: dict[str, ObjectDef] = field(default_factory=dict)
    # Custom change-event channels ("Name__chn") -> their members (``channel_filters``).
    channels: dict[str, list[ChannelMember]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._by_lower = {name.lower(): obj for name, obj in self.objects.items()}
        self._by_prefix = {obj.key_prefix: obj for obj in self.objects.values()}

    def add(self, obj: ObjectDef) -> None:
        self.objects[obj.name] = obj
        self._by_lower[obj.name.lower()] = obj
        self._by_prefix[obj.key_prefix] = obj

    def object(self, name: str) -> ObjectDef | None:
        """Case-insensitive object lookup."""
        return self._by_lower.get(name.lower())

    def object_for_prefix(self, prefix: str) -> ObjectDef | None:
        return self._by_prefix.get(prefix)

    @property
    def cdc_objects(self) -> list[ObjectDef]:
        return [o for o in self.objects.values() if o.cdc_enabled]

    @property
    def platform_events(self) -> list[ObjectDef]:
        return [o for o in self.objects.values() if o.is_platform_event]


# ---------------------------------------------------------------------------------------------
# Built-in standard schema


def _text(name, label, length=255, **kw) -> FieldDef:
    return FieldDef(name=name, type="string", label=label, length=length, **kw)


def _ref(name, label, to, rel, **kw) -> FieldDef:
    return FieldDef(
        name=name,
        type="reference",
        label=label,
        length=18,
        reference_to=[to],
        relationship_name=rel,
        **kw,
    )


def _pick(name, label, values, restricted=False, **kw) -> FieldDef:
    return FieldDef(
        name=name,
        type="picklist",
        label=label,
        length=255,
        picklist_values=[PicklistValue(v, v) for v in values],
        restricted_picklist=restricted,
        **kw,
    )


def _num(name, label, type_="double", precision=18, scale=0, **kw) -> FieldDef:
    return FieldDef(name=name, type=type_, label=label, precision=precision, scale=scale, **kw)


def _system_fields(with_owner: bool = True) -> list[FieldDef]:
    ro = {"createable": False, "updateable": False}
    fields = [
        FieldDef(name="Id", type="id", label="Record ID", length=18, nillable=False, **ro),
        FieldDef(name="IsDeleted", type="boolean", label="Deleted", nillable=False, **ro),
        FieldDef(name="CreatedDate", type="datetime", label="Created Date", nillable=False, **ro),
        _ref("CreatedById", "Created By ID", "User", "CreatedBy", nillable=False, **ro),
        FieldDef(
            name="LastModifiedDate",
            type="datetime",
            label="Last Modified Date",
            nillable=False,
            **ro,
        ),
        _ref(
            "LastModifiedById",
            "Last Modified By ID",
            "User",
            "LastModifiedBy",
            nillable=False,
            **ro,
        ),
        FieldDef(
            name="SystemModstamp", type="datetime", label="System Modstamp", nillable=False, **ro
        ),
    ]
    if with_owner:
        fields.insert(
            2,
            _ref("OwnerId", "Owner ID", "User", "Owner", nillable=False, defaulted_on_create=True),
        )
    return fields


_STANDARD_PREFIXES = {
    "Account": "001",
    "Contact": "003",
    "Opportunity": "006",
    "Order": "801",
    "Task": "00T",
    "User": "005",
}


def _standard_objects() -> list[ObjectDef]:
    def obj(name, label, plural, fields, with_owner=True):
        o = ObjectDef(
            name=name, label=label, key_prefix=_STANDARD_PREFIXES[name], label_plural=plural
        )
        for f in _system_fields(with_owner):
            o.add_field(f)
        for f in fields:
            o.add_field(f)
        return o

    account = obj(
        "Account",
        "Account",
        "Accounts",
        [
            _text("Name", "Account Name", nillable=False, name_field=True, required=True),
            _text("AccountNumber", "Account Number", 40),
            _pick(
                "Type",
                "Account Type",
                ["Prospect", "Customer - Direct", "Customer - Channel", "Other"],
            ),
            _pick(
                "Industry",
                "Industry",
                ["Agriculture", "Banking", "Manufacturing", "Retail", "Technology", "Other"],
            ),
            _num("AnnualRevenue", "Annual Revenue", "currency", 18, 0),
            FieldDef(name="NumberOfEmployees", type="int", label="Employees", precision=8),
            FieldDef(name="Phone", type="phone", label="Account Phone", length=40),
            FieldDef(name="Website", type="url", label="Website", length=255),
            _text("BillingStreet", "Billing Street", 255),
            _text("BillingCity", "Billing City", 40),
            _text("BillingPostalCode", "Billing Zip/Postal Code", 20),
            _text("BillingCountry", "Billing Country", 80),
            FieldDef(
                name="Description", type="textarea", label="Account Description", length=32000
            ),
            _ref("ParentId", "Parent Account ID", "Account", "Parent"),
        ],
    )
    contact = obj(
        "Contact",
        "Contact",
        "Contacts",
        [
            _ref("AccountId", "Account ID", "Account", "Account"),
            _text("FirstName", "First Name", 40),
            _text("LastName", "Last Name", 80, nillable=False, required=True),
            FieldDef(
                name="Name",
                type="string",
                label="Full Name",
                length=121,
                name_field=True,
                createable=False,
                updateable=False,
            ),
            FieldDef(name="Email", type="email", label="Email", length=80),
            FieldDef(name="Phone", type="phone", label="Business Phone", length=40),
            _text("Title", "Title", 128),
        ],
    )
    opportunity = obj(
        "Opportunity",
        "Opportunity",
        "Opportunities",
        [
            _ref("AccountId", "Account ID", "Account", "Account"),
            _text("Name", "Name", 120, nillable=False, name_field=True, required=True),
            _num("Amount", "Amount", "currency", 18, 2),
            FieldDef(
                name="CloseDate", type="date", label="Close Date", nillable=False, required=True
            ),
            _pick(
                "StageName",
                "Stage",
                [
                    "Prospecting",
                    "Qualification",
                    "Needs Analysis",
                    "Proposal/Price Quote",
                    "Negotiation/Review",
                    "Closed Won",
                    "Closed Lost",
                ],
                nillable=False,
                required=True,
            ),
            _num("Probability", "Probability (%)", "percent", 3, 0),
            FieldDef(
                name="IsClosed",
                type="boolean",
                label="Closed",
                createable=False,
                updateable=False,
                nillable=False,
            ),
            FieldDef(
                name="IsWon",
                type="boolean",
                label="Won",
                createable=False,
                updateable=False,
                nillable=False,
            ),
            FieldDef(name="Description", type="textarea", label="Description", length=32000),
        ],
    )
    order = obj(
        "Order",
        "Order",
        "Orders",
        [
            _ref("AccountId", "Account ID", "Account", "Account", nillable=False, required=True),
            FieldDef(
                name="EffectiveDate",
                type="date",
                label="Order Start Date",
                nillable=False,
                required=True,
            ),
            _pick(
                "Status",
                "Status",
                ["Draft", "Activated"],
                restricted=True,
                nillable=False,
                required=True,
            ),
            _pick(
                "StatusCode",
                "Status Category",
                ["Draft", "Activated"],
                createable=False,
                updateable=False,
            ),
            FieldDef(
                name="OrderNumber",
                type="string",
                label="Order Number",
                length=30,
                name_field=True,
                auto_number=True,
                createable=False,
                updateable=False,
                nillable=False,
            ),
            _num(
                "TotalAmount", "Order Amount", "currency", 18, 2, createable=False, updateable=False
            ),
            FieldDef(name="Description", type="textarea", label="Description", length=32000),
        ],
    )
    task = obj(
        "Task",
        "Task",
        "Tasks",
        [
            _text("Subject", "Subject", 255),
            FieldDef(name="ActivityDate", type="date", label="Due Date Only"),
            _pick(
                "Status",
                "Status",
                ["Not Started", "In Progress", "Completed", "Waiting on someone else", "Deferred"],
                nillable=False,
                defaulted_on_create=True,
                default_value="Not Started",
            ),
            _pick(
                "Priority",
                "Priority",
                ["High", "Normal", "Low"],
                nillable=False,
                defaulted_on_create=True,
                default_value="Normal",
            ),
            FieldDef(
                name="WhatId",
                type="reference",
                label="Related To ID",
                length=18,
                reference_to=["Account", "Opportunity", "Order"],
                relationship_name="What",
            ),
            FieldDef(
                name="WhoId",
                type="reference",
                label="Name ID",
                length=18,
                reference_to=["Contact"],
                relationship_name="Who",
            ),
            FieldDef(name="Description", type="textarea", label="Description", length=32000),
        ],
    )
    user = obj(
        "User",
        "User",
        "Users",
        [
            _text("Username", "Username", 80, nillable=False, required=True, unique=True),
            _text("LastName", "Last Name", 80, nillable=False, required=True),
            _text("FirstName", "First Name", 40),
            FieldDef(
                name="Name",
                type="string",
                label="Full Name",
                length=121,
                name_field=True,
                createable=False,
                updateable=False,
            ),
            FieldDef(
                name="Email", type="email", label="Email", length=128, nillable=False, required=True
            ),
            _text("Alias", "Alias", 8),
            FieldDef(
                name="IsActive",
                type="boolean",
                label="Active",
                nillable=False,
                defaulted_on_create=True,
                default_value=True,
            ),
        ],
        with_owner=False,
    )
    for o in (account, contact, opportunity, order, task, user):
        for f in o.fields.values():
            if f.type == "boolean":
                f.nillable = False
                if f.default_value is None and f.createable:
                    f.default_value = False
                    f.defaulted_on_create = True
    return [account, contact, opportunity, order, task, user]


# ---------------------------------------------------------------------------------------------
# SFDX source-format parsing


def _text_of(elem: ET.Element, tag: str, default: str | None = None) -> str | None:
    child = elem.find(_NS + tag)
    if child is None or child.text is None:
        return default
    return child.text.strip()


def _bool_of(elem: ET.Element, tag: str, default: bool = False) -> bool:
    value = _text_of(elem, tag)
    if value is None:
        return default
    return value.strip().lower() == "true"


def _int_of(elem: ET.Element, tag: str, default: int = 0) -> int:
    value = _text_of(elem, tag)
    return int(value) if value not in (None, "") else default


def parse_field(path: Path) -> FieldDef:
    """Parse one ``<F>.field-meta.xml`` into a FieldDef."""
    root = ET.parse(path).getroot()  # noqa: S314 - our own metadata files
    name = _text_of(root, "fullName") or path.name.split(".")[0]
    mtype = _text_of(root, "type") or "Text"
    formula = _text_of(root, "formula")
    dtype = _METADATA_TYPES.get(mtype, "string")
    fdef = FieldDef(
        name=name,
        type=dtype,
        label=_text_of(root, "label", name) or name,
        length=_int_of(root, "length", 0),
        precision=_int_of(root, "precision", 0),
        scale=_int_of(root, "scale", 0),
        required=_bool_of(root, "required"),
        unique=_bool_of(root, "unique"),
        external_id=_bool_of(root, "externalId"),
        case_sensitive=_bool_of(root, "caseSensitive"),
        custom=name.endswith("__c"),
        formula=formula,
        formula_blanks_as_zero=(_text_of(root, "formulaTreatBlanksAs") == "BlankAsZero"),
    )
    if mtype == "Checkbox":
        fdef.nillable = False
        fdef.defaulted_on_create = True
        fdef.default_value = _text_of(root, "defaultValue", "false").lower() == "true"
    if mtype in ("TextArea",) and not fdef.length:
        fdef.length = 255
    if mtype in ("LongTextArea", "Html") and not fdef.length:
        fdef.length = 32768
    if mtype == "Url" and not fdef.length:
        fdef.length = 255
    if mtype == "Email" and not fdef.length:
        fdef.length = 80
    if mtype == "Phone" and not fdef.length:
        fdef.length = 40
    if mtype == "AutoNumber":
        fdef.auto_number = True
        fdef.display_format = _text_of(root, "displayFormat")
        fdef.length = fdef.length or 30
    if mtype in ("Lookup", "MasterDetail"):
        fdef.length = 18
        target = _text_of(root, "referenceTo")
        fdef.reference_to = [target] if target else []
        fdef.relationship_name = name[:-3] + "__r" if name.endswith("__c") else name
        fdef.child_relationship_name = _text_of(root, "relationshipName")
        fdef.delete_constraint = _text_of(root, "deleteConstraint", "SetNull") or "SetNull"
        if mtype == "MasterDetail":
            fdef.required = True
            fdef.delete_constraint = "Cascade"
        fdef.cascade_delete = fdef.delete_constraint == "Cascade"
    if mtype in ("Picklist", "MultiselectPicklist"):
        fdef.length = fdef.length or 255
        value_set = root.find(_NS + "valueSet")
        if value_set is not None:
            fdef.restricted_picklist = _bool_of(value_set, "restricted")
            definition = value_set.find(_NS + "valueSetDefinition")
            if definition is not None:
                for value in definition.findall(_NS + "value"):
                    api = _text_of(value, "fullName") or ""
                    fdef.picklist_values.append(
                        PicklistValue(
                            value=api,
                            label=_text_of(value, "label", api) or api,
                            default=_bool_of(value, "default"),
                            active=_bool_of(value, "isActive", True),
                        )
                    )
            else:
                log.warning(
                    "picklist %s uses a global value set; devorg treats it as unrestricted", name
                )
                fdef.restricted_picklist = False
        defaults = [v.value for v in fdef.picklist_values if v.default]
        if defaults:
            fdef.defaulted_on_create = True
            fdef.default_value = defaults[0]
    if formula is not None:
        fdef.createable = False
        fdef.updateable = False
        fdef.required = False
    if fdef.required:
        fdef.nillable = False
    default = _text_of(root, "defaultValue")
    if default is not None and mtype not in ("Checkbox",) and fdef.default_value is None:
        # Formula-style defaults; only plain literals are understood.
        literal = default.strip()
        if literal.startswith('"') and literal.endswith('"'):
            fdef.default_value = literal[1:-1]
            fdef.defaulted_on_create = True
        else:
            try:
                fdef.default_value = float(literal)
                fdef.defaulted_on_create = True
            except ValueError:
                log.info("field %s: default %r is not a literal; ignored", name, literal)
    return fdef


def parse_validation_rule(path: Path) -> ValidationRule:
    root = ET.parse(path).getroot()  # noqa: S314 - our own metadata files
    return ValidationRule(
        name=_text_of(root, "fullName") or path.name.split(".")[0],
        active=_bool_of(root, "active", True),
        formula=_text_of(root, "errorConditionFormula", "false") or "false",
        message=_text_of(root, "errorMessage", "") or "",
        display_field=_text_of(root, "errorDisplayField"),
    )


def _custom_object(obj_dir: Path, prefix: str) -> ObjectDef:
    name = obj_dir.name
    meta = obj_dir / f"{name}.object-meta.xml"
    is_event = name.endswith("__e")
    label = name.removesuffix("__c").removesuffix("__e").replace("_", " ")
    plural = label + "s"
    name_field = FieldDef(
        name="Name", type="string", label=f"{label} Name", length=80, name_field=True
    )
    if meta.exists():
        root = ET.parse(meta).getroot()  # noqa: S314 - our own metadata files
        label = _text_of(root, "label", label) or label
        plural = _text_of(root, "pluralLabel", plural) or plural
        nf = root.find(_NS + "nameField")
        if nf is not None:
            name_field.label = _text_of(nf, "label", name_field.label) or name_field.label
            if _text_of(nf, "type") == "AutoNumber":
                name_field.auto_number = True
                name_field.display_format = _text_of(nf, "displayFormat")
                name_field.createable = False
                name_field.updateable = False
                name_field.length = 30
    obj = ObjectDef(
        name=name,
        label=label,
        label_plural=plural,
        key_prefix=prefix,
        is_platform_event=is_event,
        custom=True,
    )
    if is_event:
        ro = {"createable": False, "updateable": False}
        obj.add_field(FieldDef(name="ReplayId", type="string", label="Replay ID", length=255, **ro))
        obj.add_field(
            FieldDef(
                name="CreatedDate", type="datetime", label="Created Date", nillable=False, **ro
            )
        )
        obj.add_field(
            _ref("CreatedById", "Created By ID", "User", "CreatedBy", nillable=False, **ro)
        )
        obj.add_field(
            FieldDef(name="EventUuid", type="string", label="Event UUID", length=36, **ro)
        )
    else:
        fields_dir = obj_dir / "fields"
        has_master = False
        if fields_dir.is_dir():
            for path in fields_dir.glob("*.field-meta.xml"):
                root = ET.parse(path).getroot()  # noqa: S314 - our own metadata files
                if _text_of(root, "type") == "MasterDetail":
                    has_master = True
        for f in _system_fields(with_owner=not has_master):
            obj.add_field(f)
        if not name_field.auto_number:
            name_field.nillable = True
        obj.add_field(name_field)
    _add_field_files(obj, obj_dir)
    return obj


def _add_field_files(obj: ObjectDef, obj_dir: Path) -> None:
    fields_dir = obj_dir / "fields"
    if fields_dir.is_dir():
        for path in sorted(fields_dir.glob("*.field-meta.xml")):
            fdef = parse_field(path)
            existing = obj.field(fdef.name)
            if existing is not None and not fdef.custom:
                log.info("%s.%s: standard field in metadata kept as built in", obj.name, fdef.name)
                continue
            obj.add_field(fdef)
    rules_dir = obj_dir / "validationRules"
    if rules_dir.is_dir():
        for path in sorted(rules_dir.glob("*.validationRule-meta.xml")):
            obj.validation_rules.append(parse_validation_rule(path))


def _member_entity(selected: str) -> str:
    """``AccountChangeEvent`` -> ``Account``, ``Foo__ChangeEvent`` -> ``Foo__c`` (or, loosely,
    the object name itself)."""
    if selected.endswith("ChangeEvent"):
        base = selected[: -len("ChangeEvent")]
        return base[:-2] + "__c" if base.endswith("__") else base
    return selected


def _cdc_entities(default_dir: Path) -> set[str]:
    """Entities selected for the ChangeEvents channel (platformEventChannelMembers)."""
    selected: set[str] = set()
    members = default_dir / "platformEventChannelMembers"
    if not members.is_dir():
        return selected
    for path in members.glob("*.platformEventChannelMember-meta.xml"):
        root = ET.parse(path).getroot()  # noqa: S314 - our own metadata files
        channel = _text_of(root, "eventChannel", "ChangeEvents")
        entity = _text_of(root, "selectedEntity")
        if entity and channel == "ChangeEvents":
            selected.add(_member_entity(entity).lower())
    return selected


def _custom_channels(default_dir: Path) -> dict[str, list[ChannelMember]]:
    """Custom data channels (platformEventChannels) and their members with filter expressions.

    A member on a channel the package does not define, or a filter devorg cannot parse, is
    refused (``ValueError`` naming the file), as a deploy to Salesforce would be.
    """
    channels: dict[str, list[ChannelMember]] = {}
    folder = default_dir / "platformEventChannels"
    if folder.is_dir():
        for path in sorted(folder.glob("*.platformEventChannel-meta.xml")):
            root = ET.parse(path).getroot()  # noqa: S314 - our own metadata files
            if _text_of(root, "channelType", "data") == "data":
                channels[path.name.split(".")[0]] = []
    members = default_dir / "platformEventChannelMembers"
    for path in (
        sorted(members.glob("*.platformEventChannelMember-meta.xml")) if members.is_dir() else []
    ):
        root = ET.parse(path).getroot()  # noqa: S314 - our own metadata files
        channel = _text_of(root, "eventChannel", "ChangeEvents") or "ChangeEvents"
        entity = _text_of(root, "selectedEntity")
        if channel == "ChangeEvents" or not entity:
            continue
        if channel not in channels:
            raise ValueError(
                f"{path.name}: channel {channel} is not defined in platformEventChannels"
            )
        try:
            member = ChannelMember.build(
                channel, _member_entity(entity), _text_of(root, "filterExpression")
            )
        except FilterError as exc:
            raise ValueError(f"{path.name}: filterExpression: {exc}") from None
        channels[channel].append(member)
    return channels


def _base36ish(n: int) -> str:
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return alphabet[n // 36 % 36] + alphabet[n % 36]


def load_schema(sfdx_root: Path) -> Schema:
    """Read ``<sfdx_root>/main/default`` and merge it with the built-in standard objects.

    Custom objects get key prefixes a01, a02, ... and platform events e01, e02, ... in name order,
    so ids stay stable across restarts for the same package.
    """
    schema = Schema()
    for obj in _standard_objects():
        schema.add(obj)
    default_dir = Path(sfdx_root) / "main" / "default"
    objects_dir = default_dir / "objects"
    custom_n = 0
    event_n = 0
    if objects_dir.is_dir():
        for obj_dir in sorted(p for p in objects_dir.iterdir() if p.is_dir()):
            name = obj_dir.name
            standard = schema.object(name)
            if standard is not None and not name.endswith(("__c", "__e")):
                _add_field_files(standard, obj_dir)
                continue
            if name.endswith("__e"):
                event_n += 1
                prefix = "e" + _base36ish(event_n)
            elif name.endswith("__c"):
                custom_n += 1
                prefix = "a" + _base36ish(custom_n)
            else:
                log.info("objects/%s is neither standard-known nor custom; skipped", name)
                continue
            schema.add(_custom_object(obj_dir, prefix))
    else:
        log.warning(
            "no SFDX objects under %s; devorg serves the standard objects only", objects_dir
        )
    for entity in _cdc_entities(default_dir):
        obj = schema.object(entity)
        if obj is not None:
            obj.cdc_enabled = True
        else:
            log.warning("CDC member %s names no known object", entity)
    schema.channels = _custom_channels(default_dir)
    for members in schema.channels.values():
        for member in members:
            obj = schema.object(member.entity)
            if obj is None:
                log.warning("channel member %s names no known object", member.entity)
            else:
                member.entity = obj.name
    return schema
