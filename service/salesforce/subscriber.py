"""The CometD subscriber: events in, one transaction per batch of events, cursor after commit.

The events of one /meta/connect reply (up to ``BATCH_EVENTS``) are handled in one database
transaction:

1. record them in the inbox under their dedupe keys (``EventUuid`` for platform events;
   channel, replay id, commit number and record id for change events), in one statement — a
   duplicate changes nothing;
2. run each handler (the batch in one savepoint; if one fails, the batch again with a
   savepoint per event); an event whose handler fails rolls back only its savepoint and its
   inbox row is marked ``failed`` (``EventRejected``: unknown account, malformed payload) or
   ``parked`` (anything else: a bug, an overflow; payload and error kept for
   ``credit-control events replay``); the touched customers are re-assessed and queued once;
3. move each channel's ``stream_cursors`` row forward to its newest replay id in the batch.

So the stored replay id is durable only once the handler's work is committed, and a restart
resumes exactly after the last handled event. A transient failure (database busy, org down
while re-reading a record, see ``service.salesforce.parked.is_transient``) rolls everything back
and the same events are tried again until they pass. Any other failure of the batch as a whole
(the batch's re-assessment, say) gets the batch taken apart: each event is handled and its
customers re-assessed in a savepoint of its own, so the one that fails is parked and the others
commit. A poison event never holds up the channel.

Only the elected leader subscribes (see leader.py). A channel the org refuses to subscribe us
to waits on its own backoff while the others keep streaming (cometd.py).

When the org rejects a stored replay id (outside the 72-hour retention) the gap is recovered
before anything of the channel is replayed: the change-event channels re-read every record
changed since the cursor last moved, deleted ones included (``queryAll``), and apply them as
change events; platform events cannot be read again, so the window they may have been lost in
is reported (a WARNING and an ``unrecoverable`` inbox row, see ``gaps.py``). Only then does
the channel subscribe at -2. A crash before the recovery commits leaves the cursor at the
rejected id, so the next start recovers the gap again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from simple_salesforce import format_soql
from sqlalchemy import Engine, bindparam, select
from sqlalchemy.orm import Session, sessionmaker

from service.config import SyncSettings
from service.db import transaction, utcnow
from service.inbox import PARKED, WAITING, record_many
from service.models import CollectionAction, InboxMessage, StreamCursor
from service.salesforce import billing_contacts, reviews
from service.salesforce.client import SalesforceClient
from service.salesforce.cometd import BayeuxClient, StreamEvent
from service.salesforce.errors import PermanentError
from service.salesforce.gaps import Gap, record_gap
from service.salesforce.handlers import (
    ACTION_CHANNEL,
    ACTION_OBJECT,
    CONTACT_CHANNEL,
    INBOX_SOURCE,
    STANDARD_ACCOUNT_CHANNEL,
    EventRejected,
    Handlers,
    is_custom_channel,
)
from service.salesforce.http import make_http_session
from service.salesforce.leader import Leadership
from service.salesforce.parked import describe, failure_status, is_transient

log = logging.getLogger(__name__)

# Events per transaction. Per-transaction work (re-assessment queries, outbox look-ups, commit)
# is shared by the batch, so a backlog is worked off faster in bigger batches; at 100 events/s
# a connect carries a handful, and on SQLite a pusher waits at most one batch for the lock.
BATCH_EVENTS = 100
# How often an idle subscriber looks for waiting events whose Account has been linked meanwhile.
WAITING_SWEEP_SECONDS = 30.0
ACTION_FIELDS = (
    "Id, Account__c, Type__c, Outcome__c, Promised_Amount__c, Promised_Date__c, Receivable__c, "
    "Disputed_Amount__c, Dispute_Reason__c, Dispute_Status__c, Follow_Up_Date__c, "
    "Override_Until__c, Notes__c, Source__c, CreatedDate"
)
ACCOUNT_FIELDS = "Id, ERP_Customer_Number__c, Credit_Limit__c, Credit_Hold_Override_Until__c"
REVIEW_FIELDS = f"Id, {reviews.KEY}, {reviews.CHOICE}"
# What a change-event channel's gap is recovered from: each object and the fields its handler
# reads. A custom channel (``/data/Name__chn``) carries the changes of CUSTOM_CHANNEL_OBJECTS.
RECONCILE_OBJECTS = {
    "Account": ACCOUNT_FIELDS,
    ACTION_OBJECT: ACTION_FIELDS,
    reviews.OBJECT: REVIEW_FIELDS,
    "Contact": billing_contacts.FIELDS,
}
CUSTOM_CHANNEL_OBJECTS = ("Account", ACTION_OBJECT, reviews.OBJECT)
RECONCILE = {
    ACTION_CHANNEL: (ACTION_OBJECT,),
    STANDARD_ACCOUNT_CHANNEL: ("Account",),
    reviews.CHANNEL: (reviews.OBJECT,),
    CONTACT_CHANNEL: ("Contact",),
}


def reconciled_objects(channel: str) -> tuple[str, ...]:
    """The objects whose records are re-read when ``channel``'s replay id is lost (none for a
    platform-event channel)."""
    if is_custom_channel(channel):
        return CUSTOM_CHANNEL_OBJECTS
    return RECONCILE.get(channel, ())


# Records re-applied per transaction while recovering a gap.
RECONCILE_BATCH = 200
# The cursor moves when an event is handled, a little after it happened in the org.
GAP_MARGIN = timedelta(minutes=10)
# Salesforce keeps deleted records in the recycle bin for 15 days; queryAll finds them until then.
RECYCLE_BIN = timedelta(days=15)


def dedupe_key(event: StreamEvent) -> str:
    """Platform events by EventUuid; change events by replay id + commit number + record id."""
    if event.event_uuid:
        return f"pe:{event.event_uuid}"
    header = event.payload.get("ChangeEventHeader") or {}
    if header:
        ids = header.get("recordIds") or ["?"]
        return (
            f"cdc:{event.channel}:{event.replay_id}:{header.get('commitNumber')}:"
            f"{header.get('sequenceNumber')}:{ids[0]}:{len(ids)}"
        )[:255]
    return f"ev:{event.channel}:{event.replay_id}"


def _first_keys(events: list[StreamEvent]) -> list[str | None]:
    """Each event's dedupe key, or None for a repeat of an earlier event of the same batch."""
    seen: set[str] = set()
    keys: list[str | None] = []
    for event in events:
        key = dedupe_key(event)
        keys.append(None if key in seen else key)
        seen.add(key)
    return keys


def record_batch(
    session: Session, events: list[StreamEvent], keys: list[str | None] | None = None
) -> set[str]:
    """Record a batch's events in the inbox in one statement; returns the keys that were new.

    Inside the handlers' transaction, so an event is recorded with its effects or not at all;
    rows stay ``processing`` until the handler's outcome is written.
    """
    keys = _first_keys(events) if keys is None else keys
    messages = [
        (key, event.channel, event.data)
        for event, key in zip(events, keys, strict=True)
        if key is not None
    ]
    return record_many(session, INBOX_SOURCE, messages, status="processing")


def _last_replay_ids(events: list[StreamEvent]) -> dict[str, int]:
    """The newest replay id per channel in a batch: one cursor write per channel, not per event."""
    last: dict[str, int] = {}
    for event in events:
        if event.replay_id is not None:
            last[event.channel] = max(event.replay_id, last.get(event.channel, event.replay_id))
    return last


def load_cursors(factory: sessionmaker[Session], channels, default: int) -> dict[str, int]:
    with factory() as session:
        stored = {c.channel: c.replay_id for c in session.scalars(select(StreamCursor))}
    return {ch: stored.get(ch, default) for ch in channels}


def save_cursor(session: Session, channel: str, replay_id: int | None) -> None:
    """Move the channel's marker forward (never back: a -2 replay re-delivers older ids)."""
    if replay_id is None:
        return
    cursor = session.get(StreamCursor, channel)
    if cursor is None:
        session.add(StreamCursor(channel=channel, replay_id=replay_id, updated_at=utcnow()))
    elif replay_id > cursor.replay_id or cursor.replay_id < 0:
        cursor.replay_id = replay_id
        cursor.updated_at = utcnow()


class _Isolate(Exception):
    """An event in a batch failed: run the batch again, one savepoint per event."""


class Subscriber:
    """Runs the Streaming API session while this worker is the elected leader."""

    def __init__(
        self,
        engine: Engine,
        factory: sessionmaker[Session],
        client: SalesforceClient,
        settings: SyncSettings,
        handlers: Handlers,
        stop: threading.Event | None = None,
        holder: str | None = None,
    ):
        self.factory = factory
        self.client = client
        self.settings = settings
        self.handlers = handlers
        self.stop = stop or threading.Event()
        self.leadership = Leadership(
            engine, factory, holder=holder, lease_seconds=settings.lease_seconds
        )
        # Held while a batch of events is being handled: shutdown waits for it.
        self.busy = threading.Lock()
        self.bayeux: BayeuxClient | None = None
        self._inbox_updates: list[dict] = []
        self.on_commit: Callable[[], None] | None = None  # e.g. wake the pushers
        self.handled = 0
        self._swept = 0.0
        self.last_event_at: float | None = None
        # Replay-id gaps met: records re-applied, and gaps that could not be recovered in full.
        self.stats = {"gaps": 0, "reconciled": 0, "unrecoverable": 0}

    def healthy_channels(self) -> set[str]:
        """Channels this worker streams right now (none unless it holds the subscriber)."""
        bayeux = self.bayeux
        if bayeux is None or not self.leadership.is_leader:
            return set()
        return bayeux.healthy_channels()

    # -- loop -----------------------------------------------------------------------------

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                if not self.leadership.acquire():
                    self.stop.wait(max(1.0, self.settings.lease_seconds / 3))
                    continue
                log.info("subscriber elected (%s)", self.leadership.holder)
                self._stream()
            except Exception:
                log.exception("subscriber failed; starting again")
                self.stop.wait(2.0)
            finally:
                if self.bayeux is not None:
                    self.bayeux.disconnect()
                self.leadership.release()

    def _stream(self) -> None:
        replay = load_cursors(self.factory, self.settings.channels, self.settings.initial_replay_id)
        self.bayeux = BayeuxClient(
            lambda: self.client.instance_url,
            self.client.auth,
            make_http_session(self.settings, retries=False),
            api_version=self.settings.api_version,
            replay=replay,
            on_replay_reset=self._replay_reset,
            backoff_max=self.settings.cometd_backoff_max,
            # A refused channel is asked again less eagerly: a permission is not fixed in seconds.
            resubscribe_max=self.settings.cometd_backoff_max * 10,
            stop=self.stop,
        )
        self.bayeux.start()
        heartbeat = _Heartbeat(self.leadership, self.settings.lease_seconds / 3, self.stop)
        heartbeat.start()
        try:
            while not self.stop.is_set() and not heartbeat.lost.is_set():
                events = self.bayeux.poll()
                if not events:
                    self._sweep_waiting()
                    continue
                with self.busy:
                    # Bounded transactions: SQLite has one writer, and the pushers need it too.
                    for start in range(0, len(events), BATCH_EVENTS):
                        part = events[start : start + BATCH_EVENTS]
                        self.process_batch(part)
                        for event in part:
                            self.bayeux.ack(event.channel, event.replay_id)
        finally:
            heartbeat.done.set()

    def _sweep_waiting(self, every: float = WAITING_SWEEP_SECONDS) -> None:
        """Now and then, apply the waiting events whose Account was linked meanwhile by an ERP
        feed or the pusher (a link made by an Account change applies them at once)."""
        if time.monotonic() - self._swept < every:
            return
        self._swept = time.monotonic()
        try:
            self.apply_linked_waiting()
        except Exception:
            log.warning("waiting events not swept; trying again later", exc_info=True)

    def apply_linked_waiting(self) -> int:
        """Apply the waiting events whose customer is known now; one transaction."""
        with self.busy, transaction(self.factory) as session:
            with self.handlers.batch(session):
                applied = self.handlers.apply_linked_waiting(session)
        if applied and self.on_commit is not None:
            self.on_commit()
        return applied

    def _replay_reset(self, channel: str, rejected: int) -> None:
        """The org rejected ``rejected`` on ``channel``: recover the gap before replaying.

        Called by the Bayeux client before it subscribes the channel at -2. Raising keeps the
        channel waiting, and it is recovered again on the next attempt.
        """
        with self.busy:
            self.recover_gap(channel, rejected)

    # -- one event ------------------------------------------------------------------------

    def process(self, event: StreamEvent) -> str:
        """Handle one event exactly once (see ``process_batch``)."""
        return self.process_batch([event])[0]

    def process_batch(self, events: list[StreamEvent]) -> list[str]:
        """Handle a poll's events in one transaction; retry transient failures until they pass.

        The batch commits as a whole (inbox rows, changes, re-assessments, outbox rows, cursors),
        so a crash or a transient error leaves the cursors where they were and the whole batch
        is delivered and handled again, the inbox turning repeats into no-ops. A failure that is
        not transient is tried once more at once with the batch taken apart (``apart``): one
        savepoint and one re-assessment per event, the failing one parked.
        """
        delay = 0.5
        apart = False
        while True:
            try:
                return self._process_once(events, apart=apart)
            except Exception as exc:
                if self.stop.is_set():
                    raise
                if not apart and not is_transient(exc):
                    log.warning(
                        "events failed (%s: %s); handling them one by one, parking any that fails",
                        type(exc).__name__,
                        exc,
                    )
                    apart = True
                    continue
                log.warning("events failed (%s: %s); trying again", type(exc).__name__, exc)
                self.stop.wait(delay)
                delay = min(30.0, delay * 2)

    def _process_once(
        self, events: list[StreamEvent] | StreamEvent, *, apart: bool = False
    ) -> list[str] | str:
        """One transaction over the events; ``apart``: each event handled and its customers
        re-assessed in a savepoint of its own (so a failing re-assessment is that event's)."""
        single = isinstance(events, StreamEvent)
        batch = [events] if single else events
        with transaction(self.factory) as session:
            outcomes = None
            if apart:
                outcomes = self._run(session, batch, isolate=True, together=False)
            elif len(batch) > 1:
                # Fast path: one savepoint for the batch. If an event is rejected, the savepoint
                # is rolled back and the batch is run again with a savepoint per event.
                try:
                    with session.begin_nested():
                        outcomes = self._run(session, batch, isolate=False)
                except _Isolate:
                    outcomes = None
            if outcomes is None:
                outcomes = self._run(session, batch, isolate=True)
        self.handled += len(batch)
        if self.on_commit is not None:
            self.on_commit()
        self.last_event_at = time.time()
        return outcomes[0] if single else outcomes

    def _run(
        self, session: Session, batch: list[StreamEvent], *, isolate: bool, together: bool = True
    ) -> list[str]:
        """Record and handle the events; ``together``: their customers re-assessed once at the
        end, else each event's in its own savepoint."""
        self._inbox_updates = []
        keys = _first_keys(batch)
        fresh = record_batch(session, batch, keys)
        if together:
            with self.handlers.batch(session):
                self.handlers.prefetch(session, batch)
                outcomes = [
                    self._handle(session, event, key in fresh, isolate)
                    for event, key in zip(batch, keys, strict=True)
                ]
        else:
            outcomes = [
                self._handle(session, event, key in fresh, isolate)
                for event, key in zip(batch, keys, strict=True)
            ]
        if self._inbox_updates:
            table = InboxMessage.__table__
            session.execute(
                table.update()
                .where(table.c.source == INBOX_SOURCE, table.c.external_id == bindparam("key"))
                .values(status=bindparam("status"), error=bindparam("error")),
                self._inbox_updates,
            )
        for channel, replay_id in _last_replay_ids(batch).items():
            save_cursor(session, channel, replay_id)
        return outcomes

    def _handle(
        self, session: Session, event: StreamEvent, fresh: bool, isolate: bool = True
    ) -> str:
        """Run one event's handler; ``fresh`` says whether its inbox row was new just now."""
        key = dedupe_key(event)
        if not fresh:
            return "duplicate"
        try:
            if isolate:
                with session.begin_nested():
                    outcome = self.handlers.handle(session, event)
            else:
                outcome = self.handlers.handle(session, event)
        except Exception as exc:
            if is_transient(exc):
                raise
            if not isolate:
                raise _Isolate from exc
            status = failure_status(exc)
            if status == PARKED:
                log.error("event %s parked: %s", key, describe(exc), exc_info=exc)
            elif status == WAITING:
                log.info("event %s waits: %s", key, exc)
            else:
                log.warning("event %s rejected: %s", key, exc)
            self._set_inbox(session, key, status, describe(exc))
            return status
        self._set_inbox(session, key, outcome, None)
        return outcome

    def _set_inbox(self, session: Session, key: str, status: str, error: str | None) -> None:
        """Noted now, written for the whole batch in one executemany before the commit."""
        self._inbox_updates.append({"key": key, "status": status, "error": error})

    # -- recovering a gap after a rejected replay id ---------------------------------------

    def gap_start(self, channel: str) -> datetime:
        """When the channel's cursor last moved (minus a margin): the gap starts no earlier."""
        with self.factory() as session:
            cursor = session.get(StreamCursor, channel)
            moved = cursor.updated_at if cursor and cursor.updated_at else None
        return (moved or utcnow() - timedelta(days=3)) - GAP_MARGIN

    def recover_gap(self, channel: str, rejected: int | None = None) -> Gap:
        """Re-read what a change-event channel missed; report what cannot be read again."""
        gap = Gap(channel, rejected, self.gap_start(channel), utcnow())
        self.stats["gaps"] += 1
        if reconciled_objects(channel):
            gap.reconciled, gap.deleted, gap.skipped = self._reconcile(channel, gap.since)
            self.stats["reconciled"] += gap.reconciled
            if gap.until - gap.since > RECYCLE_BIN:
                gap.lost = (
                    f"records deleted and purged from the recycle bin (kept {RECYCLE_BIN.days} "
                    "days) before the gap was recovered cannot be found"
                )
        else:
            gap.lost = "platform events cannot be read again once outside the retention"
        if gap.lost:
            self.stats["unrecoverable"] += 1
            log.warning(
                "events on %s between %s and %s may be lost: %s (retained ones are replayed)",
                channel,
                gap.since.isoformat(timespec="seconds"),
                gap.until.isoformat(timespec="seconds"),
                gap.lost,
            )
        log.info(
            "gap on %s since %s recovered: %s records re-applied (%s deleted), %s skipped",
            channel,
            gap.since.isoformat(timespec="seconds"),
            gap.reconciled,
            gap.deleted,
            gap.skipped,
        )
        with transaction(self.factory) as session:
            record_gap(session, gap)
        return gap

    def reconcile(self, channel: str) -> int:
        """Re-apply the records changed since the channel's cursor moved last; returns how many."""
        return self._reconcile(channel, self.gap_start(channel))[0]

    def _reconcile(self, channel: str, since: datetime) -> tuple[int, int, int]:
        """Re-read the channel's objects' records changed since ``since`` (deleted ones too)
        and apply them as change events; returns (applied, deleted, skipped)."""
        applied = deleted = skipped = 0
        for obj in reconciled_objects(channel):
            a, d, s = self._reconcile_object(channel, obj, since)
            applied, deleted, skipped = applied + a, deleted + d, skipped + s
        return applied, deleted, skipped

    def _reconcile_object(self, channel: str, obj: str, since: datetime) -> tuple[int, int, int]:
        """One object's records changed since ``since``, 200 to a transaction."""
        fields = RECONCILE_OBJECTS[obj]
        soql = format_soql(
            "SELECT {fields:literal}, IsDeleted FROM {obj:literal} WHERE SystemModstamp >= {since}",
            fields=fields,
            obj=obj,
            since=since,
        )
        records = self.client.query_all(soql, include_deleted=True)
        applied = deleted = skipped = 0
        for start in range(0, len(records), RECONCILE_BATCH):
            part = records[start : start + RECONCILE_BATCH]
            with transaction(self.factory) as session, self.handlers.batch(session):
                gone = _deleted_locally(session, obj, [r["Id"] for r in part])
                for record in part:
                    event = _reconcile_event(channel, obj, record, gone)
                    try:
                        with session.begin_nested():
                            outcome = self.handlers.handle(session, event)
                    except (EventRejected, PermanentError) as exc:
                        skipped += 1
                        log.info("gap on %s: skipped %s %s: %s", channel, obj, record["Id"], exc)
                        continue
                    applied += 1
                    deleted += record.get("IsDeleted") is True and outcome == "processed"
        if self.on_commit is not None and applied:
            self.on_commit()
        return applied, deleted, skipped


def _deleted_locally(session: Session, obj: str, ids: list[str]) -> set[str]:
    """The actions among ``ids`` that we hold as deleted (a live record means an undelete)."""
    if obj != "Collection_Action__c" or not ids:
        return set()
    keys = {i[:18] for i in ids} | {i[:15] for i in ids}
    rows = session.scalars(
        select(CollectionAction.salesforce_id).where(
            CollectionAction.salesforce_id.in_(sorted(keys)), CollectionAction.is_deleted
        )
    )
    return {r[:15] for r in rows}


def _reconcile_event(
    channel: str, obj: str, record: dict[str, Any], deleted_here: set[str]
) -> StreamEvent:
    """A record read back from the org, as the change event that would have brought it.

    A deleted record is a DELETE; a live one carries every field the handler reads: a CREATE
    for an action or a review (an UNDELETE for an action we hold as deleted), an UPDATE for an
    Account. ``entityName`` says which, as on a custom channel.
    """
    rid = record["Id"]
    if record.get("IsDeleted") is True:
        kind = "DELETE"
    elif obj == "Account":
        kind = "UPDATE"
    else:
        kind = "UNDELETE" if rid[:15] in deleted_here else "CREATE"
    header = {"entityName": obj, "recordIds": [rid], "changeType": kind}
    body = (
        {}
        if kind == "DELETE"
        else {k: v for k, v in record.items() if k not in ("Id", "IsDeleted", "attributes")}
    )
    return StreamEvent(
        channel, None, {"payload": {"ChangeEventHeader": header, **body}, "event": {}}
    )


class _Heartbeat(threading.Thread):
    """Renews the SQLite lease while a long poll blocks; sets ``lost`` if another took it."""

    def __init__(self, leadership: Leadership, every: float, stop: threading.Event):
        super().__init__(name="subscriber-lease", daemon=True)
        self.leadership = leadership
        self.every = every
        self.stop_event = stop
        self.done = threading.Event()
        self.lost = threading.Event()

    def run(self) -> None:
        while not self.done.wait(self.every) and not self.stop_event.is_set():
            try:
                if not self.leadership.renew():
                    log.warning("subscriber lease lost")
                    self.lost.set()
                    return
            except Exception:
                log.warning("lease renewal failed", exc_info=True)
