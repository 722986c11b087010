"""The outbox pusher: the latest state of each changed record, sent in as few calls as possible.

One cycle: claim due outbox rows (a lease, see service/outbox.py), link customers that have no
Account Id yet (one SOQL query per 200 ERP numbers), compute each Account's fields from its
current assessment, diff them against what the org last acknowledged, and send only what
differs: 200 Accounts per composite sObject collections PATCH (allOrNone false), so N changed
accounts cost ceil(N/200) calls; above ``bulk_threshold`` one Bulk API 2.0 job instead.
Receivable__c rows are upserted by ERP_Item_Id__c with the Account linked by external id;
a Credit_Status_Change__e is published for each Account whose status changed (or was asked for).

Every per-record result is classified by statusCode: retryable rows go back to ``pending`` with
exponential backoff, permanent ones to ``dead`` with the error; a customer with no Account is
``unmatched`` (never guessed). What the org acknowledged is recorded in the same transaction
that marks the rows sent. Rows recovered from a dead worker are diffed against the org's
current values instead, so a push the org applied before the crash is not applied twice.

While a claim is pushed its lease is renewed (``ClaimHeartbeat``), and every acknowledgement is
fenced by the claim's token (``outbox.held``): a pusher whose rows were taken over after it
stalled past its lease records nothing for them, and the pusher that took them over compares
with the org before writing or announcing a status.
"""

from __future__ import annotations

import csv
import io
import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from simple_salesforce import format_soql
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from service import outbox
from service.assessments import queue as assessment_queue
from service.config import SyncSettings
from service.db import transaction, utcnow
from service.models import (
    INVOICE,
    Assessment,
    CashApplication,
    CollectionAction,
    Customer,
    OutboxMessage,
    Receivable,
)
from service.paylinks import PayLinks
from service.pending_actions import attach_pending_actions
from service.salesforce import reviews
from service.salesforce.claim_heartbeat import ClaimHeartbeat
from service.salesforce.client import SalesforceClient
from service.salesforce.errors import (
    Disposition,
    PermanentError,
    RetryableError,
    SalesforceSyncError,
    classify,
    error_from_response,
    first_error,
)
from service.salesforce.fields import (
    ACCOUNT_FIELDS,
    STATUS_FIELD,
    UPDATED_FIELD,
    canonical_fields,
    diff,
    fields_hash,
    pushed_account_fields,
    salesforce_date,
)
from service.salesforce.http import json_default
from service.salesforce.keys import receivable_item_id

log = logging.getLogger(__name__)

STATUS_EVENT = "Credit_Status_Change__e"
LOOKUP_CHUNK = 200
EVENTS_PER_COMPOSITE = 25  # /composite allows 25 subrequests
URL_FIELD_LENGTH = 255
SERVICE_ACTION_ID = "Service_Action_Id__c"


def service_action_id(action_id: int) -> str:
    """Our id of an action we created, as Collection_Action__c.Service_Action_Id__c holds it."""
    return f"cc-{action_id}"


# a Url field's limit (Pay_Link__c)


def chunks(items: Sequence, size: int) -> Iterable[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass
class PushReport:
    """What one cycle did (for logs, tests and the bench)."""

    claimed: int = 0
    accounts_sent: int = 0
    accounts_unchanged: int = 0
    receivables_sent: int = 0
    events_sent: int = 0
    retried: int = 0
    dead: int = 0
    unmatched: int = 0
    fenced: int = 0
    calls: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass
class _AccountPush:
    customer_id: int
    account_id: str
    rows: list[OutboxMessage]
    desired: dict[str, Any]
    changes: dict[str, Any]
    previous_status: str | None
    announce: bool
    computed_at: datetime | None = None
    event: dict[str, Any] | None = None
    org_has_status: bool = False


def _status_event(account_id: str, previous: str | None, desired: dict[str, Any]) -> dict[str, Any]:
    return {
        "attributes": {"type": STATUS_EVENT},
        "Account_Id__c": account_id,
        "Previous_Status__c": previous,
        "New_Status__c": desired.get(STATUS_FIELD),
        "Reason__c": desired.get("Credit_Status_Reason__c"),
        "Overdue_Amount__c": desired.get("Overdue_Amount__c"),
        "Days_Past_Due__c": desired.get("Days_Past_Due__c"),
    }


class Pusher:
    """Claims outbox rows and pushes them; ``run_once`` is one cycle, ``run`` loops until stop."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        client: SalesforceClient,
        settings: SyncSettings,
        stop: threading.Event | None = None,
        pay_links: PayLinks | None = None,
    ):
        self.factory = factory
        self.client = client
        self.settings = settings
        # Signs Account.Pay_Link__c and Receivable__c.Pay_Link__c; None leaves them empty.
        self.pay_links = pay_links
        self.stop = stop or threading.Event()
        self.busy = threading.Lock()
        self.kick = threading.Event()
        self._backlog = False

    # -- loop ---------------------------------------------------------------------------

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                with self.busy:
                    report = self.run_once()
            except Exception:
                log.exception("push cycle failed")
                self.stop.wait(self.settings.retry_base_seconds)
                continue
            if not report.claimed:
                # Idle: wake when this process queued something (the subscriber kicks), or
                # after push_idle_seconds for rows written by other processes (web feeds).
                self.kick.wait(self.settings.push_idle_seconds)
                self.kick.clear()

    def run_once(self) -> PushReport:
        report = PushReport()
        calls_before = self.client.calls
        limit = self.settings.push_claim_limit
        if self._backlog:
            # The last claim was full: a backfill may be waiting. Take enough for one Bulk API
            # job when the due backlog is that large, instead of thousands of 200-record calls.
            with self.factory() as session:
                if (
                    outbox.due_count(session, self.settings.bulk_threshold)
                    >= self.settings.bulk_threshold
                ):
                    limit = self.settings.bulk_claim_limit
        with transaction(self.factory) as session:
            claim = outbox.claim(
                session,
                limit=limit,
                lease_seconds=self.settings.claim_lease_seconds,
            )
            # Read what the push needs in the claim's transaction: on SQLite every transaction
            # takes the write lock, so one transaction per cycle beats two.
            preloaded = self._load_accounts(
                session,
                {outbox.target_id(r.target) for r in claim.rows if r.target.startswith("Account:")},
            )
            session.expunge_all()
        self._backlog = len(claim.rows) >= limit
        report.claimed = len(claim.rows)
        if not claim:
            return report
        grouped = claim.by_target()
        accounts = {t: r for t, r in grouped.items() if t.startswith("Account:")}
        receivables = {t: r for t, r in grouped.items() if t.startswith("Receivable__c:")}
        actions = {
            t: r for t, r in grouped.items() if t.startswith(outbox.COLLECTION_ACTION_TARGET)
        }
        bank_reviews = {t: r for t, r in grouped.items() if t.startswith(reviews.TARGET)}
        other = [
            r
            for t, rows in grouped.items()
            if t not in accounts
            and t not in receivables
            and t not in actions
            and t not in bank_reviews
            for r in rows
        ]
        try:
            with ClaimHeartbeat(self.factory, claim.token, self.settings.claim_lease_seconds):
                if other:
                    with transaction(self.factory) as session:
                        outbox.mark_failed(
                            session, other, "unknown outbox target", "UNKNOWN_TARGET"
                        )
                    report.dead += len(other)
                if accounts:
                    self._push_accounts(accounts, claim.recovered, report, preloaded)
                if receivables:
                    self._push_receivables(receivables, report)
                if actions:
                    # After the receivables: a disputed invoice's Receivable__c exists by now.
                    self._push_actions(actions, report)
                if bank_reviews:
                    self._push_bank_reviews(bank_reviews, report)
        finally:
            report.calls = self.client.calls - calls_before
        log.info(
            "push: claimed=%s accounts=%s unchanged=%s receivables=%s events=%s retry=%s dead=%s unmatched=%s fenced=%s calls=%s",
            report.claimed,
            report.accounts_sent,
            report.accounts_unchanged,
            report.receivables_sent,
            report.events_sent,
            report.retried,
            report.dead,
            report.unmatched,
            report.fenced,
            report.calls,
        )
        return report

    def _link(self, customer: str, invoice: str | None = None) -> str | None:
        """The pay link, when configured and within a Url field's 255 characters (a longer one
        would fail the whole record; the invoice's link falls back to the customer's)."""
        if self.pay_links is None:
            return None
        url = self.pay_links.url(customer, [invoice] if invoice else ())
        return url if len(url) <= URL_FIELD_LENGTH else None

    # -- pacing ----------------------------------------------------------------------------

    def _pace(self) -> None:
        """Slow down when Sforce-Limit-Info says most of the daily API allowance is used."""
        share = self.client.api_usage_share()
        limit = self.settings.api_usage_slowdown
        if share is None or share <= limit:
            return
        over = (share - limit) / max(1e-9, 1 - limit)
        pause = self.settings.api_usage_pause_seconds * (1 + 9 * min(1.0, over))
        log.warning("API usage at %.0f%% of the daily allowance; pausing %.1fs", share * 100, pause)
        self.stop.wait(pause)

    # -- linking ------------------------------------------------------------------------

    def link_customers(self, customers: Sequence[Customer]) -> dict[int, str]:
        """Account Ids for customers not linked yet, looked up by ERP_Customer_Number__c."""
        by_number = {c.number: c.id for c in customers if not c.salesforce_account_id}
        found: dict[int, str] = {}
        numbers = sorted(by_number)
        for chunk in chunks(numbers, LOOKUP_CHUNK):
            soql = format_soql(
                "SELECT Id, ERP_Customer_Number__c FROM Account WHERE ERP_Customer_Number__c IN {}",
                list(chunk),
            )
            for record in self.client.query_all(soql):
                cid = by_number.get(record.get("ERP_Customer_Number__c"))
                if cid is not None:
                    found[cid] = record["Id"]
        if found:
            with transaction(self.factory) as session:
                session.execute(
                    update(Customer),
                    [{"id": cid, "salesforce_account_id": acc} for cid, acc in found.items()],
                )
                # Actions logged on these Accounts before the link count from now on.
                attached = attach_pending_actions(session, found)
                if attached:
                    assessment_queue.request(session, attached, utcnow())
        return found

    def _org_values(self, account_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Current credit fields of Accounts in the org (after a crash, to avoid double writes)."""
        out: dict[str, dict[str, Any]] = {}
        for chunk in chunks(list(account_ids), LOOKUP_CHUNK):
            soql = format_soql(
                "SELECT Id, {fields:literal} FROM Account WHERE Id IN {ids}",
                fields=", ".join(ACCOUNT_FIELDS),
                ids=list(chunk),
            )
            for record in self.client.query_all(soql):
                record.pop("attributes", None)
                out[record.pop("Id")[:15]] = record
        return out

    # -- Accounts -------------------------------------------------------------------------

    @staticmethod
    def _load_accounts(session: Session, ids) -> tuple[dict[int, Customer], dict[int, Assessment]]:
        ids = sorted(ids)
        customers = {
            c.id: c
            for chunk in chunks(ids, 500)
            for c in session.scalars(select(Customer).where(Customer.id.in_(chunk)))
        }
        assessments = {
            a.customer_id: a
            for chunk in chunks(ids, 500)
            for a in session.scalars(select(Assessment).where(Assessment.customer_id.in_(chunk)))
        }
        return customers, assessments

    def _push_accounts(
        self,
        accounts: dict[str, list[OutboxMessage]],
        recovered: set[str],
        report: PushReport,
        preloaded: tuple[dict[int, Customer], dict[int, Assessment]],
    ) -> None:
        ids = {outbox.target_id(t): rows for t, rows in accounts.items()}
        customers, assessments = preloaded
        try:
            linked = self.link_customers(list(customers.values()))
        except SalesforceSyncError as exc:
            self._fail_all([r for rows in ids.values() for r in rows], exc, report)
            return
        done_rows: list[OutboxMessage] = []
        unmatched: list[tuple[Customer, list[OutboxMessage]]] = []
        pushes: list[_AccountPush] = []
        for cid, rows in ids.items():
            customer = customers.get(cid)
            assessment = assessments.get(cid)
            if customer is None or assessment is None or not assessment.document:
                done_rows.extend(rows)  # nothing to push (yet): the next assessment queues again
                continue
            account_id = customer.salesforce_account_id or linked.get(cid)
            if not account_id:
                unmatched.append((customer, rows))
                continue
            pay_link = self._link(customer.number)
            desired = pushed_account_fields(
                assessment.document,
                pay_link=pay_link,
                dunning_level_sent=customer.dunning_level_sent,
                next_reminder_date=customer.next_reminder_date,
            )
            announce = any((r.payload or {}).get("announce") for r in rows)
            pushes.append(
                _AccountPush(
                    customer_id=cid,
                    account_id=account_id,
                    rows=rows,
                    desired=desired,
                    changes={},
                    previous_status=assessment.pushed_status,
                    announce=announce,
                    computed_at=assessment.computed_at,
                )
            )
            pushes[-1].changes = diff(desired, assessment.pushed_fields)
        if unmatched or done_rows:
            with transaction(self.factory) as session:
                outbox.mark_sent(session, done_rows)
                for customer, rows in unmatched:
                    outbox.mark_failed(
                        session,
                        rows,
                        f"no Account has ERP_Customer_Number__c = {customer.number!r}",
                        "UNMATCHED",
                        status=outbox.UNMATCHED,
                    )
            report.unmatched += sum(len(r) for _, r in unmatched)
        recovered_pushes = [p for p in pushes if outbox.account_target(p.customer_id) in recovered]
        if recovered_pushes:
            try:
                org = self._org_values([p.account_id for p in recovered_pushes])
            except SalesforceSyncError as exc:
                self._fail_all([r for p in recovered_pushes for r in p.rows], exc, report)
                pushes = [p for p in pushes if p not in recovered_pushes]
                org = {}
            for p in recovered_pushes:
                current = org.get(p.account_id[:15])
                if current is not None:
                    p.changes = diff(p.desired, current)
                    # The org shows the status already: the claimer before wrote it, and its
                    # status event went in the same call. Announcing it again would double it.
                    p.org_has_status = current.get(STATUS_FIELD) == p.desired.get(STATUS_FIELD)
        for p in pushes:
            status_changed = (p.previous_status or "OK") != p.desired.get(
                STATUS_FIELD
            ) and not p.org_has_status
            if status_changed or p.announce:
                p.event = _status_event(p.account_id, p.previous_status, p.desired)
        to_write = [p for p in pushes if p.changes]
        unchanged = [p for p in pushes if not p.changes]
        report.accounts_unchanged += len(unchanged)
        if unchanged:
            self._publish_and_ack(unchanged, report)
        if len(to_write) > self.settings.bulk_threshold:
            self._push_accounts_bulk(to_write, report)
            return
        for batch in chunks(to_write, self.settings.push_batch_size):
            if self.stop.is_set():
                # Shutting down: the call in hand was finished and acknowledged; hand the rest
                # back untouched so the next worker takes them at once (no lease to wait out).
                with transaction(self.factory) as session:
                    outbox.release(session, [r for p in batch for r in p.rows])
                continue
            self._push_account_batch(list(batch), report)
            self._pace()

    def _record(self, p: _AccountPush) -> dict[str, Any]:
        record = {"attributes": {"type": "Account"}, "id": p.account_id}
        record.update(p.changes)
        record[UPDATED_FIELD] = p.computed_at or utcnow()
        return record

    def _push_account_batch(self, batch: list[_AccountPush], report: PushReport) -> None:
        """One call for up to 200 Accounts, and the status events of up to 24 of them.

        With events to publish, the collection PATCH and the event publishes travel in one
        /composite request (one API call; collections count as one subrequest), so a push of N
        Accounts stays at ceil(N/200) calls unless more than 24 of 200 change status. The events
        are published even if their Account's update fails in the same call; the status is then
        recorded as announced and only the Account update is retried.
        """
        records = [self._record(p) for p in batch]
        inline = [p for p in batch if p.event][: EVENTS_PER_COMPOSITE - 1]
        events: dict[int, tuple[str | None, str] | None] = {}
        try:
            if inline:
                results = self._patch_with_events(records, inline, events, report)
            else:
                results = self.client.rest(
                    "PATCH", "composite/sobjects", {"allOrNone": False, "records": records}
                )
        except SalesforceSyncError as exc:
            self._fail_all([r for p in batch for r in p.rows], exc, report)
            return
        ok: list[_AccountPush] = []
        failed: list[tuple[_AccountPush, str | None, str]] = []
        for p, result in zip(batch, results or [], strict=False):
            if result.get("success"):
                ok.append(p)
            else:
                code, message = first_error(result.get("errors"))
                failed.append((p, code, message))
        report.accounts_sent += len(ok)
        self._publish_and_ack(ok, report, written=True, events=events)
        self._fail_records(failed, report, events=events)

    def _patch_with_events(
        self,
        records: list[dict[str, Any]],
        inline: list[_AccountPush],
        events: dict[int, tuple[str | None, str] | None],
        report: PushReport,
    ) -> list[dict[str, Any]]:
        base = f"/services/data/v{self.settings.api_version}"
        body = {
            "allOrNone": False,
            "compositeRequest": [
                {
                    "method": "PATCH",
                    "url": f"{base}/composite/sobjects",
                    "referenceId": "accounts",
                    "body": {"allOrNone": False, "records": records},
                },
                *(
                    {
                        "method": "POST",
                        "url": f"{base}/sobjects/{STATUS_EVENT}",
                        "referenceId": f"e{i}",
                        "body": {k: v for k, v in p.event.items() if k != "attributes"},
                    }
                    for i, p in enumerate(inline)
                ),
            ],
        }
        answer = self.client.rest("POST", "composite", body)
        by_ref = {r.get("referenceId"): r for r in (answer or {}).get("compositeResponse", [])}
        for i, p in enumerate(inline):
            sub = by_ref.get(f"e{i}") or {}
            status = int(sub.get("httpStatusCode") or 0)
            if 200 <= status < 300:
                report.events_sent += 1
                events[p.customer_id] = None
            else:
                errors = sub.get("body") if isinstance(sub.get("body"), list) else []
                code, message = first_error(errors)
                events[p.customer_id] = (code or ("HTTP_5XX" if status >= 500 else None), message)
        accounts = by_ref.get("accounts") or {}
        status = int(accounts.get("httpStatusCode") or 0)
        if status != 200 or not isinstance(accounts.get("body"), list):
            raise error_from_response(status or 500, accounts.get("body"))
        if accounts["body"] and "success" not in accounts["body"][0]:
            raise error_from_response(status, accounts["body"])
        return accounts["body"]

    def _push_accounts_bulk(self, pushes: list[_AccountPush], report: PushReport) -> None:
        """Backfills: one Bulk API 2.0 update job (CSV) instead of N/200 collection calls."""
        columns = sorted({k for p in pushes for k in p.changes} | {UPDATED_FIELD})
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["Id", *columns])
        for p in pushes:
            values = {**p.changes, UPDATED_FIELD: p.computed_at or utcnow()}
            row = [p.account_id]
            for c in columns:
                v = values.get(c, None) if c in values else ""
                if c in values and v is None:
                    row.append("#N/A")  # Bulk API 2.0 spelling of "set to null"
                elif v == "":
                    row.append("")
                else:
                    jv = json_default(v) if not isinstance(v, str | int) else v
                    row.append(str(jv))
            writer.writerow(row)
        try:
            failed_ids = self._run_bulk_update(out.getvalue())
        except SalesforceSyncError as exc:
            self._fail_all([r for p in pushes for r in p.rows], exc, report)
            return
        ok = [p for p in pushes if p.account_id not in failed_ids]
        failed = [(p, *failed_ids[p.account_id]) for p in pushes if p.account_id in failed_ids]
        report.accounts_sent += len(ok)
        for batch in chunks(ok, 2000):
            self._publish_and_ack(list(batch), report, written=True)
        self._fail_records(failed, report)

    def _run_bulk_update(self, csv_text: str) -> dict[str, tuple[str | None, str]]:
        """Create, upload, close and wait for one ingest job; return failures by Account Id."""
        job = self.client.rest(
            "POST",
            "jobs/ingest",
            {"object": "Account", "operation": "update", "contentType": "CSV", "lineEnding": "LF"},
        )
        job_id = job["id"]
        self.client.call(
            lambda sf: sf.session.put(
                f"{sf.base_url}jobs/ingest/{job_id}/batches",
                data=csv_text.encode(),
                headers={**sf.headers, "Content-Type": "text/csv"},
                timeout=self.settings.request_timeout * 4,
            ).raise_for_status()
        )
        self.client.rest("PATCH", f"jobs/ingest/{job_id}", {"state": "UploadComplete"})
        delay = 0.2
        while True:
            state = self.client.rest("GET", f"jobs/ingest/{job_id}")
            if state["state"] in ("JobComplete", "Failed", "Aborted"):
                break
            if self.stop.wait(delay):
                raise RetryableError("shutdown while a bulk job was running", "TIMEOUT")
            delay = min(5.0, delay * 2)
        if state["state"] != "JobComplete":
            raise RetryableError(f"bulk job {job_id} ended {state['state']}", "HTTP_5XX")
        failures: dict[str, tuple[str | None, str]] = {}
        if int(state.get("numberRecordsFailed") or 0):
            text = self.client.call(
                lambda sf: (
                    sf.session.get(
                        f"{sf.base_url}jobs/ingest/{job_id}/failedResults/",
                        headers=sf.headers,
                        timeout=self.settings.request_timeout,
                    ).text
                )
            )
            for line in csv.DictReader(io.StringIO(text)):
                error = line.get("sf__Error", "")
                code, _, message = error.partition(":")
                failures[line.get("Id") or line.get("sf__Id", "")] = (code or None, message)
        return failures

    def _publish_and_ack(
        self,
        pushes: list[_AccountPush],
        report: PushReport,
        *,
        written: bool = False,
        events: dict[int, tuple[str | None, str] | None] | None = None,
    ) -> None:
        """Publish status events for these Accounts, then record what the org acknowledged."""
        events = events or {}
        event_failed = self._publish_events(
            [p for p in pushes if p.event and p.customer_id not in events], report
        )
        event_failed.update({cid: err for cid, err in events.items() if err is not None})
        now = utcnow()
        with transaction(self.factory) as session:
            pushes = self._still_held(session, pushes, report)
            updates = []
            for p in pushes:
                pushed = canonical_fields(p.desired)
                status = p.desired.get(STATUS_FIELD)
                values = {"customer_id": p.customer_id}
                if written or p.changes == {}:
                    values.update(
                        pushed_fields=pushed, pushed_hash=fields_hash(p.desired), pushed_at=now
                    )
                if p.customer_id not in event_failed:
                    values["pushed_status"] = status
                updates.append(values)
            if updates:
                for group in _group_by_keys(updates):
                    session.execute(update(Assessment), group)
            outbox.mark_sent(
                session, [r for p in pushes if p.customer_id not in event_failed for r in p.rows]
            )
            for p in pushes:
                if p.customer_id in event_failed:
                    code, message = event_failed[p.customer_id]
                    self._mark(session, p.rows, code, f"{STATUS_EVENT}: {message}", report, None)

    def _publish_events(
        self, pushes: list[_AccountPush], report: PushReport
    ) -> dict[int, tuple[str | None, str]]:
        """Publish Credit_Status_Change__e through /composite, 25 events a call.

        The documented way to publish several events in one request (Platform Events guide,
        "Publish Event Messages with Salesforce APIs"); allOrNone false, so one bad event does
        not hold back the others. Returns the failures by customer id.
        """
        failed: dict[int, tuple[str | None, str]] = {}
        path = f"/services/data/v{self.settings.api_version}/sobjects/{STATUS_EVENT}"
        for batch in chunks(pushes, EVENTS_PER_COMPOSITE):
            body = {
                "allOrNone": False,
                "compositeRequest": [
                    {
                        "method": "POST",
                        "url": path,
                        "referenceId": f"e{i}",
                        "body": {k: v for k, v in p.event.items() if k != "attributes"},
                    }
                    for i, p in enumerate(batch)
                ],
            }
            try:
                answer = self.client.rest("POST", "composite", body)
            except SalesforceSyncError as exc:
                for p in batch:
                    failed[p.customer_id] = (exc.code, str(exc))
                continue
            by_ref = {r.get("referenceId"): r for r in (answer or {}).get("compositeResponse", [])}
            for i, p in enumerate(batch):
                sub = by_ref.get(f"e{i}") or {}
                status = int(sub.get("httpStatusCode") or 0)
                if 200 <= status < 300:
                    report.events_sent += 1
                    continue
                errors = sub.get("body") if isinstance(sub.get("body"), list) else []
                code, message = first_error(errors)
                failed[p.customer_id] = (code or ("HTTP_5XX" if status >= 500 else None), message)
        return failed

    def _fail_records(
        self,
        failed: list[tuple[_AccountPush, str | None, str]],
        report: PushReport,
        *,
        events: dict[int, tuple[str | None, str] | None] | None = None,
    ) -> None:
        if not failed:
            return
        events = events or {}
        with transaction(self.factory) as session:
            fresh = {id(p) for p in self._still_held(session, [p for p, _, _ in failed], report)}
            for p, code, message in failed:
                if id(p) not in fresh:
                    continue
                if p.customer_id in events and events[p.customer_id] is None:
                    # Its status event went out in the same call: do not announce it twice.
                    session.execute(
                        update(Assessment)
                        .where(Assessment.customer_id == p.customer_id)
                        .values(pushed_status=p.desired.get(STATUS_FIELD))
                    )
                self._mark(
                    session,
                    p.rows,
                    code,
                    f"Account {p.account_id}: {code}: {message}",
                    report,
                    None,
                )

    @staticmethod
    def _still_held(
        session: Session, pushes: list[_AccountPush], report: PushReport
    ) -> list[_AccountPush]:
        """The pushes whose rows this claim still holds; the others' results are discarded.

        A push whose rows were claimed again by another pusher (this one stalled past its
        lease) records nothing: not what the org acknowledged, not the status it announced,
        not its rows' state. The other pusher compares with the org before writing.
        """
        kept = {r.id for r in outbox.held(session, [r for p in pushes for r in p.rows])}
        fresh = [p for p in pushes if all(r.id in kept for r in p.rows)]
        stale = len(pushes) - len(fresh)
        if stale:
            report.fenced += stale
            log.warning("claim taken over by another pusher: %s results discarded", stale)
        return fresh

    def _mark(self, session, rows, code, message, report, http_status) -> None:
        if classify(code, http_status) is Disposition.RETRY:
            outbox.mark_retry(
                session,
                rows,
                message,
                code,
                base=self.settings.retry_base_seconds,
                cap=self.settings.retry_max_seconds,
            )
            report.retried += len(rows)
        else:
            outbox.mark_failed(session, rows, message, code)
            report.dead += len(rows)
            log.warning("dead letter: %s", message[:200])

    def _fail_all(
        self, rows: list[OutboxMessage], exc: SalesforceSyncError, report: PushReport
    ) -> None:
        """A whole call failed: retry on transient errors, dead-letter on permanent ones."""
        report.errors.append(str(exc))
        log.warning("push call failed: %s", exc)
        with transaction(self.factory) as session:
            if isinstance(exc, PermanentError):
                outbox.mark_failed(session, rows, str(exc), exc.code)
                report.dead += len(rows)
            else:
                outbox.mark_retry(
                    session,
                    rows,
                    str(exc),
                    exc.code,
                    base=self.settings.retry_base_seconds,
                    cap=self.settings.retry_max_seconds,
                )
                report.retried += len(rows)

    # -- Receivable__c --------------------------------------------------------------------

    def _push_receivables(
        self, targets: dict[str, list[OutboxMessage]], report: PushReport
    ) -> None:
        ids = {outbox.target_id(t): rows for t, rows in targets.items()}
        with self.factory() as session:
            items = {
                r.id: r
                for chunk in chunks(sorted(ids), 500)
                for r in session.scalars(select(Receivable).where(Receivable.id.in_(chunk)))
            }
            customer_ids = {r.customer_id for r in items.values()}
            customers = {
                c.id: c
                for chunk in chunks(sorted(customer_ids), 500)
                for c in session.scalars(select(Customer).where(Customer.id.in_(chunk)))
            }
            disputed = set(
                session.scalars(
                    select(CollectionAction.receivable_id).where(
                        CollectionAction.receivable_id.in_(list(items)),
                        CollectionAction.dispute_status == "Open",
                        CollectionAction.is_deleted.is_(False),
                    )
                )
            )
            session.expunge_all()
        try:
            linked = self.link_customers(list(customers.values()))
        except SalesforceSyncError as exc:
            self._fail_all([r for rows in ids.values() for r in rows], exc, report)
            return
        records: list[tuple[int, list[OutboxMessage], dict[str, Any]]] = []
        skipped: list[OutboxMessage] = []
        unmatched: list[tuple[str, list[OutboxMessage]]] = []
        for rid, rows in ids.items():
            item = items.get(rid)
            if item is None:
                skipped.extend(rows)
                continue
            customer = customers[item.customer_id]
            if not (customer.salesforce_account_id or linked.get(customer.id)):
                unmatched.append((customer.number, rows))
                continue
            link = None
            if item.is_open and item.kind == INVOICE:
                link = self._link(customer.number, item.external_id) or self._link(customer.number)
            records.append((rid, rows, receivable_record(item, customer, rid in disputed, link)))
        with transaction(self.factory) as session:
            outbox.mark_sent(session, skipped)
            for number, rows in unmatched:
                outbox.mark_failed(
                    session,
                    rows,
                    f"no Account has ERP_Customer_Number__c = {number!r}",
                    "UNMATCHED",
                    status=outbox.UNMATCHED,
                )
                report.unmatched += len(rows)
        for batch in chunks(records, self.settings.push_batch_size):
            body = {"allOrNone": False, "records": [rec for _, _, rec in batch]}
            try:
                results = self.client.rest(
                    "PATCH", "composite/sobjects/Receivable__c/ERP_Item_Id__c", body
                )
            except SalesforceSyncError as exc:
                self._fail_all([r for _, rows, _ in batch for r in rows], exc, report)
                continue
            with transaction(self.factory) as session:
                for (rid, rows, _), result in zip(batch, results or [], strict=False):
                    if result.get("success"):
                        report.receivables_sent += 1
                        if result.get("id"):
                            session.execute(
                                update(Receivable)
                                .where(Receivable.id == rid)
                                .values(salesforce_id=result["id"])
                            )
                        outbox.mark_sent(session, rows)
                    else:
                        code, message = first_error(result.get("errors"))
                        self._mark(
                            session,
                            rows,
                            code,
                            f"Receivable__c {rid}: {code}: {message}",
                            report,
                            None,
                        )
            self._pace()

    # -- Collection_Action__c (created by the service) ------------------------------------

    def _push_actions(self, targets: dict[str, list[OutboxMessage]], report: PushReport) -> None:
        """Create the actions the service logged (the pay page's disputes and promises).

        An upsert by Service_Action_Id__c: a push retried after a lost answer, or by a worker
        that took over a dead one's claim, finds the record and creates nothing twice.
        """
        ids = {outbox.target_id(t): rows for t, rows in targets.items()}
        with self.factory() as session:
            found = session.execute(
                select(CollectionAction, Customer, Receivable.source, Receivable.external_id)
                .join(Customer, Customer.id == CollectionAction.customer_id)
                .outerjoin(Receivable, Receivable.id == CollectionAction.receivable_id)
                .where(CollectionAction.id.in_(sorted(ids)))
            ).all()
            session.expunge_all()
        records = [
            (a.id, ids[a.id], action_record(a, c, receivable_item_id(src, inv) if inv else None))
            for a, c, src, inv in found
        ]
        gone = [
            r for aid, rows in ids.items() if aid not in {a.id for a, *_ in found} for r in rows
        ]
        if gone:
            with transaction(self.factory) as session:
                outbox.mark_sent(session, gone)
        self._upsert(records, "Collection_Action__c", SERVICE_ACTION_ID, CollectionAction, report)

    # -- Bank_Credit_Review__c (bank credits waiting for a person) ------------------------

    def _push_bank_reviews(
        self, targets: dict[str, list[OutboxMessage]], report: PushReport
    ) -> None:
        """Upsert the review records by Cash_Application_Id__c (``service.salesforce.reviews``);
        a retried push finds the record and creates nothing twice."""
        ids = {outbox.target_id(t): rows for t, rows in targets.items()}
        with self.factory() as session:
            found = {
                a.id: a
                for a in session.scalars(
                    select(CashApplication).where(CashApplication.id.in_(sorted(ids)))
                )
            }
            session.expunge_all()
        gone = [r for aid, rows in ids.items() if aid not in found for r in rows]
        if gone:
            with transaction(self.factory) as session:
                outbox.mark_sent(session, gone)
        records = [(aid, ids[aid], reviews.review_record(app)) for aid, app in found.items()]
        self._upsert(records, reviews.OBJECT, reviews.KEY, CashApplication, report)

    def _upsert(
        self,
        records: list[tuple[int, list[OutboxMessage], dict[str, Any]]],
        sobject: str,
        key_field: str,
        model: type[CollectionAction] | type[CashApplication],
        report: PushReport,
    ) -> None:
        """Upsert ``(row id, outbox rows, record)`` by the external id ``key_field``, 200 a call.

        A record Salesforce created has its id kept on ``model``'s row; each record's outbox rows
        are acknowledged, or retried or dead-lettered by its own error.
        """
        for batch in chunks(records, self.settings.push_batch_size):
            body = {"allOrNone": False, "records": [rec for _, _, rec in batch]}
            try:
                results = self.client.rest(
                    "PATCH", f"composite/sobjects/{sobject}/{key_field}", body
                )
            except SalesforceSyncError as exc:
                self._fail_all([r for _, rows, _ in batch for r in rows], exc, report)
                continue
            with transaction(self.factory) as session:
                for (row_id, rows, _), result in zip(batch, results or [], strict=False):
                    if result.get("success"):
                        if result.get("id"):
                            session.execute(
                                update(model)
                                .where(model.id == row_id, model.salesforce_id.is_(None))
                                .values(salesforce_id=result["id"][:18])
                            )
                        outbox.mark_sent(session, rows)
                    else:
                        code, message = first_error(result.get("errors"))
                        self._mark(
                            session,
                            rows,
                            code,
                            f"{sobject} {row_id}: {code}: {message}",
                            report,
                            None,
                        )


def action_record(action: CollectionAction, customer: Customer, invoice: str | None) -> dict:
    # ``invoice``: the disputed receivable's ERP_Item_Id__c (``salesforce.keys``), or None.
    """A Collection_Action__c the service logged, upserted by Service_Action_Id__c."""
    record: dict[str, Any] = {
        "attributes": {"type": "Collection_Action__c"},
        SERVICE_ACTION_ID: service_action_id(action.id),
        "Account__r": {"ERP_Customer_Number__c": customer.number},
        "Type__c": action.type,
        "Source__c": action.origin,
        "Promised_Amount__c": action.promised_amount,
        "Promised_Date__c": action.promised_date,
        "Disputed_Amount__c": action.disputed_amount,
        "Dispute_Reason__c": action.dispute_reason,
        "Dispute_Status__c": action.dispute_status,
        "Notes__c": action.notes,
    }
    if invoice:
        record["Receivable__r"] = {"ERP_Item_Id__c": invoice}
    return record


def _group_by_keys(rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """executemany needs the same keys in every row of one statement."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(sorted(row)), []).append(row)
    return list(groups.values())


def receivable_status(item: Receivable, disputed: bool) -> str:
    if disputed and item.open_amount:
        return "Disputed"
    if item.open_amount == 0:
        return "Paid"
    if abs(item.open_amount) < abs(item.amount):
        return "Partially Paid"
    return "Open"


def receivable_record(
    item: Receivable, customer: Customer, disputed: bool, pay_link: str | None = None
) -> dict[str, Any]:
    """A Receivable__c upsert record keyed by source and item id (``salesforce.keys``), its
    Account linked by ERP_Customer_Number__c.

    ``Pay_Link__c`` is the ERP's own link for the item when its feed sent one, else ``pay_link``
    (our signed link to the customer's pay page with this invoice chosen; open invoices only).
    ``Days_Past_Due__c`` is a formula in the org (always current, also in list views), so it is
    never written.
    """
    return {
        "attributes": {"type": "Receivable__c"},
        "ERP_Item_Id__c": receivable_item_id(item.source, item.external_id),
        "Name": item.number[:80],
        "Account__r": {"ERP_Customer_Number__c": customer.number},
        "Type__c": "Credit Note" if item.kind == "credit_note" else "Invoice",
        "Issue_Date__c": salesforce_date(item.issue_date),
        "Due_Date__c": salesforce_date(item.due_date),
        "Amount__c": item.amount,
        "Open_Amount__c": item.open_amount,
        "Currency_Code__c": item.currency,
        "Status__c": receivable_status(item, disputed),
        "Pay_Link__c": item.pay_link or pay_link,
    }
