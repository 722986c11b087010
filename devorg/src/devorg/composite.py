"""Composite resources: sObject Collections (``/composite/sobjects``) and ``/composite``.

Collections: up to 200 records, one transaction, a savepoint per record; results in input order
with ``statusCode`` errors; allOrNone rolls everything back and marks the records that did not
fail ``ALL_OR_NONE_OPERATION_ROLLED_BACK``. ``/composite``: up to 25 subrequests run in order
through the same app (so each answers exactly as on its own), ``@{ref.path}`` references resolved
from earlier answers, always 200 with ``compositeResponse``; it counts as one API call.
"""

from __future__ import annotations

import json
import re

from flask import Blueprint, current_app, g, request

from . import ids
from .errors import SalesforceError, publish_limit
from .events import PUBLISH_LIMIT_MESSAGE, PublishLimitExceeded
from .records import MultipleMatches
from .rest import change_origin
from .wire import json_body, sf_json

MAX_COLLECTION = 200
MAX_SUBREQUESTS = 25
ROLLED_BACK = {
    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "message": "Record rolled back because not all records were valid and the request was using AllOrNone header",
    "fields": [],
}
HALTED = "The transaction was rolled back since another operation in the same transaction failed."
_REF = re.compile(r"@\{([A-Za-z0-9_]+)((?:\.[A-Za-z0-9_]+|\[\d+\])*)\}")


def _failure(err: SalesforceError, record_id: str | None = None) -> dict:
    out: dict = {}
    if record_id:
        out["id"] = record_id
    out.update({"success": False, "errors": [err.save_error()]})
    return out


def make_composite_blueprint(org) -> Blueprint:
    bp = Blueprint("devorg_composite", __name__)
    records = org.records

    def ctx():
        """One write context per request (built once: collections call it per record)."""
        context = g.get("write_context")
        if context is None:
            context = org.context(g.user, api_version=g.api_version, raw_body=g.get("raw_body"))
            g.write_context = context
        return context

    def run_collection(items: list, all_or_none: bool, op) -> list[dict]:
        """Apply ``op(tx, item) -> result dict`` to each item in one transaction."""
        results: list[dict | None] = []
        failed = False
        with org.store.lock:
            tx = org.store.begin()
            try:
                for item in items:
                    point = tx.savepoint()
                    try:
                        results.append(op(tx, item))
                    except SalesforceError as err:
                        if err.error_code == "JSON_PARSER_ERROR":
                            raise
                        tx.rollback_to(point)
                        results.append(_failure(err, getattr(err, "record_id", None)))
                        failed = True
            except BaseException:
                tx.rollback()
                raise
            if failed and all_or_none:
                tx.rollback()
                return [
                    r if not r.get("success") else {"success": False, "errors": [dict(ROLLED_BACK)]}
                    for r in results
                ]
            org.commit(tx, user_id=g.user.id, change_origin=change_origin(g.api_version))
        return results

    def collection_body():
        body = json_body()
        if not isinstance(body, dict) or not isinstance(body.get("records"), list):
            raise SalesforceError(
                "JSON_PARSER_ERROR",
                "The request body must contain records",
                400,
                include_fields=False,
            )
        if len(body["records"]) > MAX_COLLECTION:
            raise SalesforceError(
                "EXCEEDED_ID_LIMIT",
                "record limit reached. cannot submit more than 200 records into this call",
                400,
                include_fields=False,
            )
        return body["records"], bool(body.get("allOrNone", False))

    def object_of(item: dict, default: str | None = None):
        name = (item.get("attributes") or {}).get("type") if isinstance(item, dict) else None
        name = name or default
        obj = org.schema.object(name) if name else None
        if obj is None:
            raise SalesforceError("INVALID_TYPE", "Must send a concrete entity type.", 400, [])
        return obj

    @bp.post("/services/data/v<version>/composite/sobjects")
    def collection_create(version):
        items, all_or_none = collection_body()

        pending: list[tuple[dict, str, dict]] = []  # (result, event name, payload)
        remaining = getattr(org.bus, "hourly_publish_remaining", None)
        allowance = None if remaining is None else remaining()

        def create(tx, item):
            obj = object_of(item)
            if obj.is_platform_event:
                # Events publish after the transaction commits (publishBehavior PublishAfterCommit).
                payload = records.event_payload(obj, item, ctx())
                if allowance is not None and len(pending) >= allowance:
                    raise publish_limit(PUBLISH_LIMIT_MESSAGE)
                result = {"id": org.store.ids.new(obj.key_prefix), "success": True, "errors": []}
                pending.append((result, obj.name, payload))
                return result
            rec = records.create(tx, obj, item, ctx())
            return {"id": rec["Id"], "success": True, "errors": []}

        results = run_collection(items, all_or_none, create)
        kept = {id(r) for r in results}
        for result, name, payload in pending:
            if id(result) in kept and result.get("success"):  # not rolled back
                try:
                    uuid = org.bus.publish_platform_event(name, payload, created_by_id=g.user.id)
                except PublishLimitExceeded as spent:  # spent by another request meanwhile
                    result.clear()
                    result.update(_failure(publish_limit(spent.message)))
                    continue
                result["errors"] = [
                    {"statusCode": "OPERATION_ENQUEUED", "message": uuid, "fields": []}
                ]
        return sf_json(results)

    @bp.patch("/services/data/v<version>/composite/sobjects")
    def collection_update(version):
        items, all_or_none = collection_body()
        context = ctx()  # one per request, not one per record

        def update(tx, item):
            obj = object_of(item)
            rid = item.get("id") or item.get("Id")
            if not rid:
                raise SalesforceError(
                    "MISSING_ARGUMENT", "Id not specified in an update call", 400, []
                )
            try:
                rec = records.update(tx, obj, str(rid), item, context)
            except SalesforceError as err:
                err.record_id = (
                    ids.normalize(str(rid)) if err.error_code != "MALFORMED_ID" else None
                )
                raise
            return {"id": rec["Id"], "success": True, "errors": []}

        return sf_json(run_collection(items, all_or_none, update))

    @bp.patch("/services/data/v<version>/composite/sobjects/<sobject>/<field_name>")
    def collection_upsert(version, sobject, field_name):
        obj = records.object_or_404(sobject)
        fdef = obj.field(field_name)
        if fdef is None or not (fdef.external_id or fdef.name == "Id"):
            raise SalesforceError(
                "INVALID_FIELD",
                f"Field name provided, {field_name} is not an External ID or indexed field for {obj.name}",
                400,
                include_fields=False,
            )
        items, all_or_none = collection_body()
        context = ctx()

        def upsert(tx, item):
            item_obj = object_of(item, obj.name)
            if item_obj.name != obj.name:
                raise SalesforceError(
                    "INVALID_TYPE",
                    f"Record type {item_obj.name} does not match {obj.name}",
                    400,
                    [],
                )
            key = next((k for k in item if k.lower() == fdef.name.lower()), None)
            if key is None or item[key] in (None, ""):
                raise SalesforceError("MISSING_ARGUMENT", f"{fdef.name} not specified", 400, [])
            value = item[key]
            try:
                rec, created = records.upsert(tx, obj, fdef, value, item, context)
            except MultipleMatches as multi:
                raise SalesforceError(
                    "DUPLICATE_EXTERNAL_ID",
                    f"{fdef.name}: more than one record found for external id field: [{', '.join(multi.record_ids)}]",
                    300,
                    [fdef.name],
                ) from None
            return {"id": rec["Id"], "success": True, "errors": [], "created": created}

        return sf_json(run_collection(items, all_or_none, upsert))

    @bp.delete("/services/data/v<version>/composite/sobjects")
    def collection_delete(version):
        raw_ids = [i for i in request.args.get("ids", "").split(",") if i]
        if not raw_ids:
            raise SalesforceError(
                "MISSING_ARGUMENT", "ids parameter not specified", 400, include_fields=False
            )
        if len(raw_ids) > MAX_COLLECTION:
            raise SalesforceError(
                "EXCEEDED_ID_LIMIT",
                "record limit reached. cannot submit more than 200 records into this call",
                400,
                include_fields=False,
            )
        all_or_none = request.args.get("allOrNone", "false").lower() == "true"

        def delete(tx, rid):
            try:
                rec = records.delete(tx, None, rid, ctx())
            except SalesforceError as err:
                err.record_id = ids.normalize(rid)
                raise
            return {"id": rec["Id"], "success": True, "errors": []}

        return sf_json(run_collection(raw_ids, all_or_none, delete))

    @bp.route("/services/data/v<version>/composite/sobjects/<sobject>", methods=["GET", "POST"])
    def collection_retrieve(version, sobject):
        obj = records.object_or_404(sobject)
        if request.method == "POST":
            body = json_body() or {}
            wanted_ids, fields = body.get("ids", []), body.get("fields", [])
        else:
            wanted_ids = [i for i in request.args.get("ids", "").split(",") if i]
            fields = [f for f in request.args.get("fields", "").split(",") if f]
        names = []
        for name in fields:
            fdef = obj.field(name)
            if fdef is None:
                raise SalesforceError(
                    "INVALID_FIELD",
                    f"No such column '{name}' on entity '{obj.name}'",
                    400,
                    include_fields=False,
                )
            names.append(fdef.name)
        out = []
        for rid in wanted_ids:
            norm = ids.normalize(rid)
            rec = org.store.get(norm) if norm else None
            if rec is None or rec.get("IsDeleted") or org.store.object_of(norm) != obj.name:
                out.append(None)
            else:
                out.append(records.render(obj, rec, version, names or None))
        return sf_json(out)

    # -- /composite -----------------------------------------------------------------------

    def _lookup(answers: dict, ref: str, path: str):
        if ref not in answers:
            raise KeyError(ref)
        value = answers[ref]
        for part in re.findall(r"\.([A-Za-z0-9_]+)|\[(\d+)\]", path):
            name, index = part
            if name:
                value = value[name] if isinstance(value, dict) else None
            else:
                value = value[int(index)] if isinstance(value, list) else None
            if value is None:
                raise KeyError(ref + path)
        return value

    def _substitute(obj, answers: dict):
        if isinstance(obj, str):
            whole = _REF.fullmatch(obj)
            if whole:
                return _lookup(answers, whole.group(1), whole.group(2))
            return _REF.sub(lambda m: str(_lookup(answers, m.group(1), m.group(2))), obj)
        if isinstance(obj, list):
            return [_substitute(v, answers) for v in obj]
        if isinstance(obj, dict):
            return {k: _substitute(v, answers) for k, v in obj.items()}
        return obj

    @bp.post("/services/data/v<version>/composite")
    def composite(version):
        body = json_body()
        if not isinstance(body, dict) or not isinstance(body.get("compositeRequest"), list):
            raise SalesforceError(
                "JSON_PARSER_ERROR", "compositeRequest is required", 400, include_fields=False
            )
        subrequests = body["compositeRequest"]
        if len(subrequests) > MAX_SUBREQUESTS:
            raise SalesforceError(
                "LIMIT_EXCEEDED",
                f"Request contains {len(subrequests)} subrequests; the limit is {MAX_SUBREQUESTS}",
                400,
                include_fields=False,
            )
        all_or_none = bool(body.get("allOrNone", False))
        client = current_app.test_client()
        answers: dict[str, object] = {}
        responses: list[dict] = []
        failed = False
        headers_base = {
            "Authorization": request.headers.get("Authorization", ""),
            "X-Devorg-Subrequest": org.subrequest_secret,
        }
        for key in ("Sforce-Call-Options", "Sforce-Query-Options"):
            if key in request.headers:
                headers_base[key] = request.headers[key]

        def run_all():
            nonlocal failed
            for sub in subrequests:
                ref = sub.get("referenceId")
                if failed and all_or_none:
                    responses.append(
                        {
                            "body": [{"errorCode": "PROCESSING_HALTED", "message": HALTED}],
                            "httpHeaders": {},
                            "httpStatusCode": 400,
                            "referenceId": ref,
                        }
                    )
                    continue
                try:
                    url = _substitute(sub.get("url", ""), answers)
                    sub_body = _substitute(sub.get("body"), answers)
                except KeyError as missing:
                    failed = True
                    responses.append(
                        {
                            "body": [
                                {
                                    "errorCode": "PROCESSING_HALTED",
                                    "message": f"Invalid reference specified. No value for {missing.args[0]} found in {ref}. "
                                    f"Provided referenceId ('{ref}') must start with a letter or a number, and it can contain only letters, numbers and underscores ('_').",
                                }
                            ],
                            "httpHeaders": {},
                            "httpStatusCode": 400,
                            "referenceId": ref,
                        }
                    )
                    continue
                headers = dict(headers_base)
                headers.update(sub.get("httpHeaders") or {})
                method = str(sub.get("method", "GET")).upper()
                data = None if sub_body is None else json.dumps(sub_body)
                if data is not None:
                    headers["Content-Type"] = "application/json"
                answer = client.open(url, method=method, headers=headers, data=data)
                text = answer.get_data(as_text=True)
                parsed = json.loads(text) if text.strip() else None
                status = answer.status_code
                if status >= 400:
                    failed = True
                else:
                    answers[ref] = parsed
                out_headers = (
                    {"Location": answer.headers["Location"]} if "Location" in answer.headers else {}
                )
                responses.append(
                    {
                        "body": parsed,
                        "httpHeaders": out_headers,
                        "httpStatusCode": status,
                        "referenceId": ref,
                    }
                )

        if all_or_none:
            with org.store.lock:
                tx = org.store.begin()
                org.set_ambient_transaction(tx)
                try:
                    run_all()
                finally:
                    org.set_ambient_transaction(None)
                if failed:
                    tx.rollback()
                    for item in responses:
                        if item["httpStatusCode"] < 400:
                            item.update(
                                body=[{"errorCode": "PROCESSING_HALTED", "message": HALTED}],
                                httpHeaders={},
                                httpStatusCode=400,
                            )
                else:
                    org.commit(tx, user_id=g.user.id, change_origin=change_origin(version))
        else:
            run_all()
        return sf_json({"compositeResponse": responses})

    return bp
