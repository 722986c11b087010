"""Bulk API 2.0: ingest jobs (insert, update, upsert, delete, hardDelete) and query jobs.

An ingest job moves Open -> UploadComplete -> InProgress -> JobComplete (or Failed, Aborted).
Nothing is processed before ``UploadComplete``; then a background thread applies the CSV in
chunks of 200 rows, each chunk one transaction (so CDC sees one transaction per chunk, as in
Salesforce). Results are CSVs starting ``"sf__Id","sf__Created"`` / ``"sf__Id","sf__Error"``.
Query jobs page their CSV by ``Sforce-Locator`` (``null`` when done).
"""

from __future__ import annotations

import csv
import io
import threading
import time
from dataclasses import dataclass, field

from flask import Blueprint, Response, g, request

from .errors import SalesforceError
from .records import MultipleMatches
from .rest import call_options_client
from .soql.evaluator import compile_query, render_row, run_plan
from .values import format_datetime, now_stamp
from .wire import json_body, no_content, sf_json

CHUNK = 200
INGEST_OPERATIONS = ("insert", "update", "upsert", "delete", "hardDelete")
QUERY_OPERATIONS = ("query", "queryAll")
_DELIMITERS = {
    "COMMA": ",",
    "TAB": "\t",
    "PIPE": "|",
    "SEMICOLON": ";",
    "CARET": "^",
    "BACKQUOTE": "`",
}


@dataclass
class Job:
    id: str
    operation: str
    object: str
    created_by_id: str
    api_version: str
    external_id_field: str | None = None
    # ``client=`` of the job-creating request's Sforce-Call-Options (Bulk API 2.0 documents
    # the header); the job's change events name it in changeOrigin [inf].
    client: str = ""
    line_ending: str = "LF"
    column_delimiter: str = "COMMA"
    query: str | None = None
    state: str = "Open"
    created_date: str = field(default_factory=now_stamp)
    system_modstamp: str = field(default_factory=now_stamp)
    data: list[str] = field(default_factory=list)
    processed: int = 0
    failed: int = 0
    error_message: str | None = None
    started: float = 0.0
    finished: float = 0.0
    header: list[str] = field(default_factory=list)
    successes: list[list[str]] = field(default_factory=list)
    failures: list[list[str]] = field(default_factory=list)
    unprocessed: list[list[str]] = field(default_factory=list)
    query_rows: list[list[str]] = field(default_factory=list)

    @property
    def is_query(self) -> bool:
        return self.operation in QUERY_OPERATIONS

    def info(self) -> dict:
        elapsed_ms = int((self.finished - self.started) * 1000) if self.finished else 0
        body = {
            "id": self.id,
            "operation": self.operation,
            "object": self.object,
            "createdById": self.created_by_id,
            "createdDate": self.created_date,
            "systemModstamp": self.system_modstamp,
            "state": self.state,
        }
        if self.is_query:
            body.update(
                {
                    "concurrencyMode": "Parallel",
                    "contentType": "CSV",
                    "apiVersion": float(self.api_version),
                    "jobType": "V2Query",
                    "lineEnding": self.line_ending,
                    "columnDelimiter": self.column_delimiter,
                    "numberRecordsProcessed": self.processed,
                    "retries": 0,
                    "totalProcessingTime": elapsed_ms,
                }
            )
        else:
            if self.external_id_field:
                body["externalIdFieldName"] = self.external_id_field
            body.update(
                {
                    "concurrencyMode": "Parallel",
                    "contentType": "CSV",
                    "apiVersion": float(self.api_version),
                    "jobType": "V2Ingest",
                    "contentUrl": f"services/data/v{self.api_version}/jobs/ingest/{self.id}/batches",
                    "lineEnding": self.line_ending,
                    "columnDelimiter": self.column_delimiter,
                    "numberRecordsProcessed": self.processed,
                    "numberRecordsFailed": self.failed,
                    "retries": 0,
                    "totalProcessingTime": elapsed_ms,
                    "apiActiveProcessingTime": elapsed_ms,
                    "apexProcessingTime": 0,
                }
            )
        if self.error_message:
            body["errorMessage"] = self.error_message
        return body


def _csv_text(
    header: list[str], rows: list[list[str]], delimiter: str = ",", line_ending: str = "\n"
) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, quoting=csv.QUOTE_ALL, lineterminator=line_ending)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


class BulkJobs:
    def __init__(self, org) -> None:
        self.org = org
        self.jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def reset(self) -> None:
        with self._lock:
            self.jobs.clear()

    def stop(self) -> None:
        for thread in self._threads:
            thread.join(timeout=10)

    def get(self, job_id: str, query: bool) -> Job:
        job = self.jobs.get(job_id)
        if job is None or job.is_query != query:
            raise SalesforceError(
                "NOT_FOUND", "The requested resource does not exist", 404, include_fields=False
            )
        return job

    def start(self, job: Job) -> None:
        job.state = "UploadComplete"
        job.system_modstamp = now_stamp()
        thread = threading.Thread(
            target=self._process, args=(job,), name=f"bulk-{job.id}", daemon=True
        )
        self._threads = [t for t in self._threads if t.is_alive()]
        self._threads.append(thread)
        thread.start()

    # -- processing -------------------------------------------------------------------------

    def _process(self, job: Job) -> None:
        job.started = time.time()
        job.state = "InProgress"
        try:
            if job.is_query:
                self._run_query(job)
            else:
                self._run_ingest(job)
            if job.state != "Aborted":
                job.state = "JobComplete"
        except SalesforceError as err:
            job.state = "Failed"
            job.error_message = f"{err.error_code} : {err.message}"
        except Exception as exc:  # a bad upload must fail the job, not the thread
            job.state = "Failed"
            job.error_message = f"InvalidBatch : {exc}"
        job.finished = time.time()
        job.system_modstamp = now_stamp()

    def _run_query(self, job: Job) -> None:
        org = self.org
        plan = compile_query(org.schema, org.records, job.query or "")
        rids = run_plan(plan, org.records, include_deleted=job.operation == "queryAll")
        job.header = [".".join(p.keys) for p in plan.select]
        for rid in rids:
            rec = org.store.get(rid)
            row = render_row(plan, org.records, rec, job.api_version)
            values = []
            for path in plan.select:
                value = row
                for key in path.keys:
                    value = value.get(key) if isinstance(value, dict) else None
                values.append(
                    ""
                    if value is None
                    else ("true" if value is True else "false" if value is False else str(value))
                )
            job.query_rows.append(values)
        job.processed = len(job.query_rows)

    def _run_ingest(self, job: Job) -> None:
        org = self.org
        text = "".join(job.data)
        delimiter = _DELIMITERS.get(job.column_delimiter, ",")
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        rows = [r for r in reader if r]
        if not rows:
            raise SalesforceError("InvalidBatch", "Empty CSV file", 400)
        job.header = rows[0]
        data_rows = rows[1:]
        obj = org.schema.object(job.object)
        user = org.auth.user_by_id(job.created_by_id) or org.integration_user
        ext_field = obj.field(job.external_id_field) if job.external_id_field else None
        if job.operation == "upsert" and ext_field is None:
            raise SalesforceError(
                "InvalidJob", f"External ID field {job.external_id_field} not found", 400
            )
        for fieldname in job.header:
            if "." in fieldname:
                continue
            if obj.field(fieldname) is None:
                raise SalesforceError("InvalidBatch", f"Field name not found : {fieldname}", 400)
        for start in range(0, len(data_rows), CHUNK):
            if job.state == "Aborted":
                job.unprocessed.extend(data_rows[start:])
                return
            chunk = data_rows[start : start + CHUNK]
            with org.store.lock:
                tx = org.store.begin()
                for row in chunk:
                    point = tx.savepoint()
                    try:
                        rid, created = self._apply_row(tx, job, obj, ext_field, row, user)
                    except SalesforceError as err:
                        tx.rollback_to(point)
                        job.failures.append([_row_id(job, row) or "", err.bulk_error(), *row])
                        job.failed += 1
                    except MultipleMatches as multi:
                        tx.rollback_to(point)
                        err = SalesforceError(
                            "DUPLICATE_EXTERNAL_ID",
                            f"{ext_field.name}: more than one record found for external id field: [{', '.join(multi.record_ids)}]",
                            400,
                            [ext_field.name],
                        )
                        job.failures.append(["", err.bulk_error(), *row])
                        job.failed += 1
                    else:
                        job.successes.append([rid, "true" if created else "false", *row])
                    job.processed += 1
                org.commit(
                    tx,
                    user_id=user.id,
                    change_origin=f"com/salesforce/api/bulkapi/{job.api_version}"
                    + (f";client={job.client}" if job.client else ""),
                )

    def _apply_row(self, tx, job: Job, obj, ext_field, row: list[str], user):
        org = self.org
        ctx = org.context(user, api_version=job.api_version, source="bulk")
        body: dict = {}
        for name, value in zip(job.header, row, strict=False):
            if "." in name:
                rel, _, key = name.partition(".")
                if value != "":
                    body[rel] = {key: value}
                continue
            if value == "#N/A":
                body[name] = None
            elif value == "":
                continue  # an empty cell sets nothing (use #N/A to clear a field)
            else:
                body[name] = value
        if job.operation == "insert":
            body.pop("Id", None)
            body.pop("id", None)
            rec = org.records.create(tx, obj, body, ctx)
            return rec["Id"], True
        if job.operation == "upsert":
            key = next((k for k in body if k.lower() == ext_field.name.lower()), None)
            if key is None or body.get(key) in (None, ""):
                raise SalesforceError(
                    "MISSING_ARGUMENT", f"{ext_field.name} not specified", 400, []
                )
            rec, created = org.records.upsert(tx, obj, ext_field, body[key], body, ctx)
            return rec["Id"], created
        rid = _row_id(job, row)
        if not rid:
            raise SalesforceError("MISSING_ARGUMENT", "Id not specified in an update call", 400, [])
        if job.operation == "update":
            rec = org.records.update(tx, obj, rid, body, ctx)
            return rec["Id"], False
        if job.operation == "delete":
            rec = org.records.delete(tx, obj, rid, ctx)
            return rec["Id"], False
        org.records.hard_delete(tx, obj, rid, ctx)
        return rid, False


def _row_id(job: Job, row: list[str]) -> str | None:
    for name, value in zip(job.header, row, strict=False):
        if name.lower() == "id":
            return value or None
    return None


def make_bulk_blueprint(org) -> Blueprint:
    bp = Blueprint("devorg_bulk", __name__)
    jobs = org.bulk

    def csv_response(text: str, headers: dict | None = None) -> Response:
        response = Response(text.encode("utf-8"), status=200, content_type="text/csv")
        for key, value in (headers or {}).items():
            response.headers[key] = value
        return response

    @bp.post("/services/data/v<version>/jobs/ingest")
    @bp.post("/services/data/v<version>/jobs/ingest/")
    def create_ingest(version):
        body = json_body() or {}
        operation = body.get("operation")
        obj = org.schema.object(str(body.get("object", "")))
        if obj is None or obj.is_platform_event:
            raise SalesforceError(
                "INVALIDENTITY",
                f"Entity '{body.get('object')}' is not supported by the Bulk API.",
                400,
                include_fields=False,
            )
        if operation not in INGEST_OPERATIONS:
            raise SalesforceError(
                "INVALIDJOB",
                f"InvalidJob : Invalid operation: {operation}",
                400,
                include_fields=False,
            )
        ext = body.get("externalIdFieldName")
        if operation == "upsert":
            fdef = obj.field(ext or "")
            if fdef is None or not (fdef.external_id or fdef.name == "Id"):
                raise SalesforceError(
                    "INVALIDJOB",
                    f"InvalidJob : The field {ext} is not an External ID or indexed field for {obj.name}",
                    400,
                    include_fields=False,
                )
            ext = fdef.name
        job = Job(
            id=org.store.ids.new("750"),
            operation=operation,
            object=obj.name,
            created_by_id=g.user.id,
            api_version=version,
            external_id_field=ext,
            client=call_options_client(),
            line_ending=body.get("lineEnding", "LF"),
            column_delimiter=body.get("columnDelimiter", "COMMA"),
        )
        jobs.jobs[job.id] = job
        return sf_json(job.info())

    @bp.get("/services/data/v<version>/jobs/ingest")
    @bp.get("/services/data/v<version>/jobs/ingest/")
    def list_ingest(version):
        return sf_json(
            {
                "done": True,
                "records": [j.info() for j in jobs.jobs.values() if not j.is_query],
                "nextRecordsUrl": None,
            }
        )

    @bp.put("/services/data/v<version>/jobs/ingest/<job_id>/batches")
    @bp.put("/services/data/v<version>/jobs/ingest/<job_id>/batches/")
    def upload(version, job_id):
        job = jobs.get(job_id, query=False)
        if job.state != "Open":
            raise SalesforceError(
                "INVALIDJOBSTATE",
                f"Job is not in a state to accept data: {job.state}",
                409,
                include_fields=False,
            )
        job.data.append(request.get_data(as_text=True))
        return Response(b"", status=201)

    @bp.route("/services/data/v<version>/jobs/ingest/<job_id>", methods=["GET", "PATCH", "DELETE"])
    @bp.route("/services/data/v<version>/jobs/ingest/<job_id>/", methods=["GET", "PATCH", "DELETE"])
    def ingest_job(version, job_id):
        job = jobs.get(job_id, query=False)
        return _job_state(job)

    def _job_state(job: Job):
        if request.method == "GET":
            return sf_json(job.info())
        if request.method == "DELETE":
            if job.state not in ("JobComplete", "Failed", "Aborted", "UploadComplete") or (
                job.state == "UploadComplete" and not job.is_query
            ):
                raise SalesforceError(
                    "INVALIDJOBSTATE", f"Job is in state {job.state}", 400, include_fields=False
                )
            jobs.jobs.pop(job.id, None)
            return no_content()
        body = json_body() or {}
        state = body.get("state")
        if state == "UploadComplete" and job.state == "Open" and not job.is_query:
            jobs.start(job)
        elif state == "Aborted" and job.state in ("Open", "UploadComplete", "InProgress"):
            job.state = "Aborted"
            job.system_modstamp = now_stamp()
        else:
            raise SalesforceError(
                "INVALIDJOBSTATE",
                f"Invalid state transition from {job.state} to {state}",
                400,
                include_fields=False,
            )
        return sf_json(job.info())

    def results(job_id: str, kind: str):
        job = jobs.get(job_id, query=False)
        if job.state not in ("JobComplete", "Failed", "Aborted"):
            raise SalesforceError(
                "INVALIDJOBSTATE", f"Job is in state {job.state}", 400, include_fields=False
            )
        if kind == "success":
            return csv_response(_csv_text(["sf__Id", "sf__Created", *job.header], job.successes))
        if kind == "failed":
            return csv_response(_csv_text(["sf__Id", "sf__Error", *job.header], job.failures))
        return csv_response(_csv_text(list(job.header), job.unprocessed))

    @bp.get("/services/data/v<version>/jobs/ingest/<job_id>/successfulResults")
    @bp.get("/services/data/v<version>/jobs/ingest/<job_id>/successfulResults/")
    def successful(version, job_id):
        return results(job_id, "success")

    @bp.get("/services/data/v<version>/jobs/ingest/<job_id>/failedResults")
    @bp.get("/services/data/v<version>/jobs/ingest/<job_id>/failedResults/")
    def failed(version, job_id):
        return results(job_id, "failed")

    @bp.get("/services/data/v<version>/jobs/ingest/<job_id>/unprocessedrecords")
    @bp.get("/services/data/v<version>/jobs/ingest/<job_id>/unprocessedrecords/")
    def unprocessed(version, job_id):
        return results(job_id, "unprocessed")

    # -- query jobs -------------------------------------------------------------------------

    @bp.post("/services/data/v<version>/jobs/query")
    @bp.post("/services/data/v<version>/jobs/query/")
    def create_query(version):
        body = json_body() or {}
        operation = body.get("operation", "query")
        if operation not in QUERY_OPERATIONS:
            raise SalesforceError(
                "INVALIDJOB",
                f"InvalidJob : Invalid operation: {operation}",
                400,
                include_fields=False,
            )
        plan = compile_query(
            org.schema, org.records, str(body.get("query", ""))
        )  # errors now, as Salesforce
        job = Job(
            id=org.store.ids.new("750"),
            operation=operation,
            object=plan.obj.name,
            created_by_id=g.user.id,
            api_version=version,
            query=str(body.get("query")),
            line_ending=body.get("lineEnding", "LF"),
            column_delimiter=body.get("columnDelimiter", "COMMA"),
        )
        jobs.jobs[job.id] = job
        jobs.start(job)
        return sf_json(job.info())

    @bp.route("/services/data/v<version>/jobs/query/<job_id>", methods=["GET", "PATCH", "DELETE"])
    @bp.route("/services/data/v<version>/jobs/query/<job_id>/", methods=["GET", "PATCH", "DELETE"])
    def query_job(version, job_id):
        return _job_state(jobs.get(job_id, query=True))

    @bp.get("/services/data/v<version>/jobs/query/<job_id>/results")
    @bp.get("/services/data/v<version>/jobs/query/<job_id>/results/")
    def query_results(version, job_id):
        job = jobs.get(job_id, query=True)
        if job.state != "JobComplete":
            raise SalesforceError(
                "INVALIDJOBSTATE", f"Job is in state {job.state}", 400, include_fields=False
            )
        start = (
            int(request.args.get("locator") or 0)
            if (request.args.get("locator") or "0").isdigit()
            else 0
        )
        max_records = int(request.args.get("maxRecords") or 0) or len(job.query_rows) or 1
        rows = job.query_rows[start : start + max_records]
        nxt = start + max_records
        locator = str(nxt) if nxt < len(job.query_rows) else "null"
        delimiter = _DELIMITERS.get(job.column_delimiter, ",")
        line_ending = "\r\n" if job.line_ending == "CRLF" else "\n"
        return csv_response(
            _csv_text(job.header, rows, delimiter, line_ending),
            {"Sforce-Locator": locator, "Sforce-NumberOfRecords": str(len(rows))},
        )

    return bp


__all__ = ["BulkJobs", "Job", "format_datetime", "make_bulk_blueprint"]
