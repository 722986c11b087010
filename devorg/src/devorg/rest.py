"""REST resources under ``/services/data``: versions, resources, limits, describe, sObject CRUD,
upsert by external id, platform event publishing, query / queryMore / queryAll.

Status codes, bodies and headers follow the wire facts (§3.2-3.5): create answers 201 with
``Location``, update and delete 204, upsert 201 / 200 (204 up to API 45) / 300 / 404.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from flask import Blueprint, g, request

from . import ids
from .describe import describe_global, describe_object, object_summary
from .errors import SalesforceError, not_found, publish_limit
from .events import PublishLimitExceeded
from .records import MultipleMatches
from .soql.evaluator import compile_query, render_row, run_plan
from .wire import json_body, no_content, sf_json

DEFAULT_BATCH = 2000
MIN_BATCH = 200
MAX_CURSORS = 500


def release_label(version: float) -> str:
    """Release name of an API version: v59.0 is Winter '24, three releases a year."""
    idx = int(version) - 59
    season = ("Winter", "Spring", "Summer")[idx % 3]
    return f"{season} '{24 + idx // 3:02d}"


def call_options_client() -> str:
    """``client`` of the request's ``Sforce-Call-Options`` header ("" when none)."""
    client = ""
    options = request.headers.get("Sforce-Call-Options", "")
    for part in options.split(","):
        key, _, value = part.strip().partition("=")
        if key == "client" and value:
            client = value
    return client


def change_origin(version: str) -> str:
    client = call_options_client()
    return f"com/salesforce/api/rest/{version}" + (f";client={client}" if client else "")


class Cursors:
    """Query locators for queryMore: the ids of a result, paged by ``nextRecordsUrl``."""

    def __init__(self, org) -> None:
        self._org = org
        self._lock = threading.Lock()
        self._cursors: OrderedDict[str, tuple] = OrderedDict()

    def add(self, plan, rids: list[str], batch: int) -> str:
        locator = self._org.store.ids.new("01g")
        with self._lock:
            self._cursors[locator] = (plan, rids, batch)
            while len(self._cursors) > MAX_CURSORS:
                self._cursors.popitem(last=False)
        return locator

    def get(self, locator: str):
        with self._lock:
            return self._cursors.get(locator)


def _batch_size() -> int:
    options = request.headers.get("Sforce-Query-Options", "")
    for part in options.split(","):
        key, _, value = part.strip().partition("=")
        if key.strip() == "batchSize" and value.strip().isdigit():
            return max(MIN_BATCH, min(DEFAULT_BATCH, int(value)))
    return DEFAULT_BATCH


def record_body(obj) -> dict:
    """The request's JSON object for one record; an array is refused as Salesforce's parser does."""
    body = json_body()
    if not isinstance(body, dict):
        raise SalesforceError(
            "JSON_PARSER_ERROR",
            f"Cannot deserialize instance of {obj.name} from START_ARRAY value [line:1, column:1]",
            400,
            include_fields=False,
        )
    return body


def make_rest_blueprint(org) -> Blueprint:
    bp = Blueprint("devorg_rest", __name__)
    cursors = Cursors(org)
    records = org.records

    def ctx():
        return org.context(g.user, api_version=g.api_version, raw_body=g.get("raw_body"))

    def write(fn):
        """Run ``fn(tx)`` as one transaction; commit and notify the bus, or roll back.

        Inside an allOrNone ``/composite`` request the composite's transaction is used instead
        (a savepoint per subrequest); it commits once at the end.
        """
        ambient = org.ambient_transaction()
        if ambient is not None:
            point = ambient.savepoint()
            try:
                return fn(ambient)
            except BaseException:
                ambient.rollback_to(point)
                raise
        with org.store.lock:
            tx = org.store.begin()
            try:
                result = fn(tx)
            except BaseException:
                tx.rollback()
                raise
            org.commit(tx, user_id=g.user.id, change_origin=change_origin(g.api_version))
            return result

    # -- versions, resources, limits ----------------------------------------------------

    @bp.get("/services/data")
    @bp.get("/services/data/")
    def versions():
        top = int(float(org.api_version_max))
        return sf_json(
            [
                {"label": release_label(v), "url": f"/services/data/v{v}.0", "version": f"{v}.0"}
                for v in range(31, top + 1)
            ]
        )

    @bp.get("/services/data/v<version>")
    @bp.get("/services/data/v<version>/")
    def resources(version):
        base = f"/services/data/v{version}"
        names = [
            "tooling",
            "metadata",
            "eclair",
            "folders",
            "prechatForms",
            "connect",
            "chatter",
            "tabs",
            "appMenu",
            "quickActions",
            "queryAll",
            "commerce",
            "analytics",
            "search",
            "identity",
            "composite",
            "parameterizedSearch",
            "fingerprint",
            "theme",
            "nouns",
            "event",
            "serviceTemplates",
            "recent",
            "connect",
            "licensing",
            "limits",
            "process",
            "async-queries",
            "query",
            "jobs",
            "match",
            "emailConnect",
            "compactLayouts",
            "knowledgeManagement",
            "sobjects",
            "actions",
            "support",
        ]
        body = {name: f"{base}/{name}" for name in names}
        body["identity"] = f"{org.login_url}/id/{org.org_id}/{g.user.id}"
        return sf_json(body)

    @bp.get("/services/data/v<version>/limits")
    @bp.get("/services/data/v<version>/limits/")
    def limits(version):
        extra = None
        bus_limits = getattr(org.bus, "limits", None)
        if callable(bus_limits):
            extra = bus_limits()
        return sf_json(org.limits.body(extra))

    # -- describe -----------------------------------------------------------------------

    @bp.get("/services/data/v<version>/sobjects")
    @bp.get("/services/data/v<version>/sobjects/")
    def sobjects(version):
        return sf_json(describe_global(org.schema, version))

    @bp.get("/services/data/v<version>/sobjects/<sobject>/describe")
    @bp.get("/services/data/v<version>/sobjects/<sobject>/describe/")
    def describe(version, sobject):
        obj = records.object_or_404(sobject)
        return sf_json(
            describe_object(obj, org.schema, version, records.children.get(obj.name, []))
        )

    # -- create / basic info --------------------------------------------------------------

    @bp.route("/services/data/v<version>/sobjects/<sobject>", methods=["GET", "POST"])
    @bp.route("/services/data/v<version>/sobjects/<sobject>/", methods=["GET", "POST"])
    def sobject_root(version, sobject):
        obj = records.object_or_404(sobject)
        if request.method == "GET":
            return sf_json({"objectDescribe": object_summary(obj, version), "recentItems": []})
        body = record_body(obj)
        if obj.is_platform_event:
            return publish_event(obj, body)
        rec = write(lambda tx: records.create(tx, obj, body, ctx()))
        return sf_json(
            {"id": rec["Id"], "success": True, "errors": []},
            201,
            {"Location": records.record_url(obj, rec["Id"], version)},
        )

    def publish_event(obj, body):
        payload = records.event_payload(obj, body, ctx())
        try:
            uuid = org.bus.publish_platform_event(obj.name, payload, created_by_id=g.user.id)
        except PublishLimitExceeded as spent:
            raise publish_limit(spent.message) from None
        return sf_json(
            {
                "id": org.store.ids.new(obj.key_prefix),
                "success": True,
                "errors": [{"statusCode": "OPERATION_ENQUEUED", "message": uuid, "fields": []}],
            },
            201,
        )

    # -- by id --------------------------------------------------------------------------

    def _select_fields(obj, raw: str | None) -> list[str] | None:
        if not raw:
            return None
        names = []
        for part in raw.split(","):
            fdef = obj.field(part.strip())
            if fdef is None:
                raise SalesforceError(
                    "INVALID_FIELD",
                    f"No such column '{part.strip()}' on entity '{obj.name}'. If you are attempting to use a "
                    "custom field, be sure to append the '__c' after the custom field name. Please reference "
                    "your WSDL or the describe call for the appropriate names.",
                    400,
                    include_fields=False,
                )
            names.append(fdef.name)
        return names

    def _is_field_segment(obj, segment: str) -> bool:
        return ids.normalize(segment) is None and obj.field(segment) is not None

    @bp.route(
        "/services/data/v<version>/sobjects/<sobject>/<record_id>",
        methods=["GET", "PATCH", "DELETE", "POST"],
    )
    def by_id(version, sobject, record_id):
        obj = records.object_or_404(sobject)
        if request.method == "POST":
            # POST /sobjects/Account/Id or /sobjects/Account/<ExtId__c>: create (API >= 37)
            fdef = obj.field(record_id)
            if fdef is None or not (fdef.external_id or fdef.name == "Id"):
                raise not_found()
            body = record_body(obj)
            rec = write(
                lambda tx: records.create(
                    tx, obj, {k: v for k, v in body.items() if k.lower() != "id"}, ctx()
                )
            )
            return sf_json(
                {"id": rec["Id"], "success": True, "errors": [], "created": True},
                201,
                {"Location": records.record_url(obj, rec["Id"], version)},
            )
        rid = ids.normalize(record_id)
        if rid is None:
            raise SalesforceError(
                "NOT_FOUND",
                f"Provided external ID field does not exist or is not accessible: {record_id}",
                404,
                include_fields=False,
            )
        if ids.prefix_of(rid) != obj.key_prefix:
            raise SalesforceError(
                "MALFORMED_ID",
                f"{obj.label} ID: id value of incorrect type: {record_id}",
                404 if request.method == "GET" else 400,
                ["Id"],
            )
        if request.method == "GET":
            rec = records.live_record(obj, rid)
            return sf_json(
                records.render(obj, rec, version, _select_fields(obj, request.args.get("fields")))
            )
        if request.method == "PATCH":
            body = record_body(obj)
            write(lambda tx: records.update(tx, obj, rid, body, ctx()))
            return no_content()
        write(lambda tx: records.delete(tx, obj, rid, ctx()))
        return no_content()

    # -- by external id (upsert) --------------------------------------------------------

    @bp.route(
        "/services/data/v<version>/sobjects/<sobject>/<field_name>/<path:value>",
        methods=["GET", "PATCH", "DELETE"],
    )
    def by_external_id(version, sobject, field_name, value):
        obj = records.object_or_404(sobject)
        fdef = obj.field(field_name)
        if fdef is None or not (fdef.external_id or fdef.name == "Id"):
            raise not_found()
        if request.method == "PATCH":
            body = record_body(obj)
            update_only = request.args.get("updateOnly", "").lower() == "true"
            try:
                rec, created = write(
                    lambda tx: records.upsert(
                        tx, obj, fdef, value, body, ctx(), update_only=update_only
                    )
                )
            except MultipleMatches as multi:
                return sf_json(
                    [records.record_url(obj, rid, version) for rid in multi.record_ids], 300
                )
            if created:
                return sf_json(
                    {"id": rec["Id"], "success": True, "errors": [], "created": True},
                    201,
                    {"Location": records.record_url(obj, rec["Id"], version)},
                )
            if float(version) <= 45.0:
                return no_content()
            return sf_json({"id": rec["Id"], "success": True, "errors": [], "created": False}, 200)
        if fdef.name == "Id":
            matches = (
                [ids.normalize(value)]
                if ids.normalize(value) and org.store.get(ids.normalize(value))
                else []
            )
        else:
            matches = org.store.find_by(obj, fdef.name, value)
        if not matches:
            raise not_found()
        if len(matches) > 1:
            return sf_json([records.record_url(obj, rid, version) for rid in matches], 300)
        if request.method == "GET":
            rec = records.live_record(obj, matches[0])
            return sf_json(
                records.render(obj, rec, version, _select_fields(obj, request.args.get("fields")))
            )
        write(lambda tx: records.delete(tx, obj, matches[0], ctx()))
        return no_content()

    # -- query ----------------------------------------------------------------------------

    def page(version: str, plan, rids: list[str], offset: int, batch: int, locator: str | None):
        chunk = rids[offset : offset + batch]
        out_records = []
        for rid in chunk:
            rec = org.store.get(rid)
            if rec is not None:
                out_records.append(render_row(plan, records, rec, version))
        body: dict = {"totalSize": len(rids), "done": offset + batch >= len(rids)}
        if not body["done"]:
            if locator is None:
                locator = cursors.add(plan, rids, batch)
            body["nextRecordsUrl"] = f"/services/data/v{version}/query/{locator}-{offset + batch}"
        body["records"] = out_records
        return sf_json(body)

    def run_query(version: str, include_deleted: bool):
        text = request.args.get("q")
        if text is None:
            raise SalesforceError(
                "MALFORMED_QUERY", "A query string has to be specified", 400, include_fields=False
            )
        plan = compile_query(org.schema, records, text)
        rids = run_plan(plan, records, include_deleted=include_deleted)
        if plan.count_only:
            return sf_json({"totalSize": len(rids), "done": True, "records": []})
        return page(version, plan, rids, 0, _batch_size(), None)

    @bp.get("/services/data/v<version>/query")
    @bp.get("/services/data/v<version>/query/")
    def query(version):
        return run_query(version, include_deleted=False)

    @bp.get("/services/data/v<version>/queryAll")
    @bp.get("/services/data/v<version>/queryAll/")
    def query_all(version):
        return run_query(version, include_deleted=True)

    @bp.get("/services/data/v<version>/query/<cursor>")
    @bp.get("/services/data/v<version>/queryAll/<cursor>")
    def query_more(version, cursor):
        locator, _, offset = cursor.rpartition("-")
        found = cursors.get(locator) if offset.isdigit() else None
        if found is None:
            raise SalesforceError(
                "INVALID_QUERY_LOCATOR", "invalid query locator", 400, include_fields=False
            )
        plan, rids, batch = found
        return page(version, plan, rids, int(offset), batch, locator)

    return bp
