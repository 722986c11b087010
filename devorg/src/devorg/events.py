"""The devorg event bus: platform events and change events, retained and replayable.

Salesforce's event bus keeps every high-volume platform event and change event for 72 hours
and lets a CometD subscriber start from ``-1`` (new only), ``-2`` (all retained) or "after
replay id N".  Replay ids rise but are not contiguous, and clients must never compute one, so
this bus hands them out with random gaps: a client that does ``last + 1`` breaks here as it
would against a real org.

Each stored event carries the ``data`` object of the CometD message, JSON-encoded once at
publish time so that long-poll responses are string joins (the design asks for 1,000
events/s to one subscriber).  A change event is stored once and is visible both on its
entity's channel and on ``/data/ChangeEvents``, with the same replay id.

The CometD server (``devorg.streaming_server``) reads this bus; the record store calls
:meth:`EventBus.record_transaction` after each committed write and REST publishing calls
:meth:`EventBus.publish_platform_event`.
"""

from __future__ import annotations

import base64
import bisect
import datetime as dt
import hashlib
import json
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devorg.cdc import ChangeLike, change_channel, cometd_value, drafts
from devorg.streaming_store import EventStore

RETENTION_SECONDS = 72 * 3600
ALL_CHANGE_EVENTS = "/data/ChangeEvents"
# Platform-event fields Salesforce fills itself; never copied from the publisher's payload.
_PE_SYSTEM_FIELDS = frozenset({"CreatedDate", "CreatedById", "EventUuid", "ReplayId", "Id"})
_FIRST_REPLAY_ID = 1_000
_FIRST_COMMIT_NUMBER = 10_000_000_000
_PRUNE_EVERY = 1_000  # appends between retention sweeps
# HourlyPublishedPlatformEvents (Performance/Unlimited edition, wire facts §6).
HOURLY_PUBLISH_LIMIT = 250_000
# The status code is documented (Platform Events guide, "Platform Event Error Status Codes");
# the message wording is devorg's [inf].
PUBLISH_LIMIT_MESSAGE = "Hourly limit of published platform event messages exceeded."


class PublishLimitExceeded(Exception):
    """HourlyPublishedPlatformEvents is spent: Salesforce refuses the publish (``LIMIT_EXCEEDED``)."""

    def __init__(self, message: str = PUBLISH_LIMIT_MESSAGE) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """One retained event: its replay id, home channel, publish time and encoded ``data``."""

    replay_id: int
    channel: str
    created_at: float
    data_json: str

    @property
    def data(self) -> dict[str, Any]:
        return json.loads(self.data_json)


class _ChannelLog:
    """Retained events of one channel, in replay-id order (parallel lists for bisect)."""

    __slots__ = ("events", "ids", "last_issued")

    def __init__(self) -> None:
        self.ids: list[int] = []
        self.events: list[StoredEvent] = []
        self.last_issued = 0

    def append(self, event: StoredEvent) -> None:
        self.ids.append(event.replay_id)
        self.events.append(event)
        self.last_issued = event.replay_id

    def prune(self, not_before: float) -> None:
        cut = 0
        while cut < len(self.events) and self.events[cut].created_at < not_before:
            cut += 1
        if cut:
            del self.ids[:cut]
            del self.events[:cut]


def schema_fingerprint(api_name: str, field_names: Iterable[str]) -> str:
    """A stable 22-character id standing in for Salesforce's Avro schema fingerprint."""
    digest = hashlib.md5(
        (api_name + ":" + ",".join(sorted(field_names))).encode(), usedforsecurity=False
    ).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


_COMPACT = json.JSONEncoder(separators=(",", ":"))


def _compact(data: dict[str, Any]) -> str:
    """``json.dumps(data, separators=(",", ":"))``, without building an encoder per call."""
    return _COMPACT.encode(data)


def _iso_millis(epoch: float) -> str:
    """Platform-event ``CreatedDate``: ``2017-04-09T18:31:40.517Z`` (a string, for aiosfstream)."""
    stamp = dt.datetime.fromtimestamp(epoch, dt.UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


class EventBus:
    """Publishes, retains and replays events for one devorg.

    ``schema`` is the devorg schema (``schema.objects[name]`` with ``fields``,
    ``cdc_enabled``, ``is_platform_event``).  ``state_path`` makes retained events and the
    replay-id sequence durable.  ``clock`` returns epoch seconds; tests pass their own to
    move past the 72-hour retention.
    """

    def __init__(
        self,
        schema: Any,
        *,
        state_path: Path | None = None,
        clock: Callable[[], float] = time.time,
        retention_seconds: float = RETENTION_SECONDS,
        hourly_publish_limit: int = HOURLY_PUBLISH_LIMIT,
    ) -> None:
        self.schema = schema
        self.clock = clock
        self.retention_seconds = retention_seconds
        # Publishes allowed per rolling hour; the attached CometD server's
        # ``config.hourly_publish_limit`` takes over once one serves this bus.
        self.hourly_publish_limit = hourly_publish_limit
        self._lock = threading.Lock()
        self._logs: dict[str, _ChannelLog] = {}
        self._listeners: list[Callable[[], None]] = []
        self._rng = random.Random()
        self._store = EventStore(Path(state_path)) if state_path else None
        self._last_replay_id = _FIRST_REPLAY_ID
        self._commit_number = _FIRST_COMMIT_NUMBER
        self._published: list[float] = []  # platform-event publish times, last hour
        self._streaming: Any = None  # the CometD server, once one serves this bus
        self._appended = 0
        if self._store:
            self._load()

    # -- publishing ---------------------------------------------------------------------

    def publish_platform_event(
        self, api_name: str, payload: dict[str, Any], *, created_by_id: str
    ) -> str:
        """Store and deliver one platform event on ``/event/<api_name>``; return its EventUuid.

        The caller (REST publish) has validated the fields.  Fields the publisher left out are
        delivered as ``null``, as Salesforce does for every field of the event definition.
        Raises :class:`PublishLimitExceeded` (nothing stored) when the hour's allowance
        (:meth:`hourly_publish_max`) is spent.
        """
        obj = self._object(api_name)
        if obj is None or not getattr(obj, "is_platform_event", False):
            raise KeyError(f"{api_name} is not a platform event")
        event_uuid = str(uuid.uuid4())
        fields = [f for f in getattr(obj, "fields", {}) if f not in _PE_SYSTEM_FIELDS]
        now = self.clock()
        body: dict[str, Any] = {"CreatedDate": _iso_millis(now), "CreatedById": created_by_id}
        body.update({name: None for name in fields})
        body.update(
            {
                k: cometd_value(v, millis=True)
                for k, v in payload.items()
                if k not in _PE_SYSTEM_FIELDS
            }
        )
        with self._lock:
            limit = self.hourly_publish_max()
            if len(self._published) >= limit:
                # Only near the limit is it worth dropping the publishes older than an hour.
                cutoff = now - 3600
                self._published = [t for t in self._published if t >= cutoff]
                if len(self._published) >= limit:
                    raise PublishLimitExceeded()
            replay_id = self._next_replay_id()
            data = {
                "schema": schema_fingerprint(api_name, fields),
                "payload": body,
                "event": {"EventUuid": event_uuid, "replayId": replay_id},
            }
            self._append([(replay_id, f"/event/{api_name}", now, data)])
            self._published.append(now)
        self._notify()
        return event_uuid

    def record_transaction(
        self, changes: list[ChangeLike], *, user_id: str, change_origin: str
    ) -> None:
        """Turn one committed write transaction into change events (wire facts §1.8).

        Called by the record store after commit.  Only entities with CDC enabled produce
        events; ``sequenceNumber`` counts from 1 within the transaction and the last event
        carries ``isTransactionEnd: true``.
        """
        tracked = [c for c in changes if self._cdc_enabled(c.entity_name)]
        if not tracked:
            return
        events = drafts(tracked, self._objects())
        # The committed record of each change, for filters and enrichment on custom channels.
        records = {
            (c.entity_name, c.record_id): (c.after if c.after is not None else c.before) or {}
            for c in tracked
        }
        now = self.clock()
        transaction_key = str(uuid.uuid4())
        schemas: dict[str, str] = {}  # entity -> change event schema id, once per transaction
        with self._lock:
            self._commit_number += self._rng.randint(1, 50)
            rows = []
            for seq, draft in enumerate(events, start=1):
                header = {
                    "entityName": draft.entity_name,
                    "recordIds": draft.record_ids,
                    "changeType": draft.change_type,
                    "changeOrigin": change_origin,
                    "transactionKey": transaction_key,
                    "sequenceNumber": seq,
                    "isTransactionEnd": seq == len(events),
                    "commitTimestamp": int(now * 1000),
                    "commitNumber": self._commit_number,
                    "commitUser": user_id,
                    "changedFields": draft.changed_fields,
                }
                replay_id = self._next_replay_id()
                schema_id = schemas.get(draft.entity_name)
                if schema_id is None:
                    fields = getattr(self._object(draft.entity_name), "fields", None) or {}
                    schema_id = schema_fingerprint(draft.entity_name + "ChangeEvent", fields)
                    schemas[draft.entity_name] = schema_id
                data = {
                    "schema": schema_id,
                    "payload": {"ChangeEventHeader": header, **draft.body},
                    "event": {"replayId": replay_id},
                }
                rows.append((replay_id, change_channel(draft.entity_name), now, data))
                rows.extend(self._custom_channel_copies(draft, header, data, records, now))
            self._append(rows)
        self._notify()

    def _custom_channel_copies(
        self,
        draft: Any,
        header: dict[str, Any],
        data: dict[str, Any],
        records: dict[tuple[str, str], dict[str, Any]],
        now: float,
    ) -> list[tuple[int, str, float, dict]]:
        """The event on each custom channel whose member selects its entity and whose filter
        it passes (``devorg.channel_filters``), with the filter's entity fields enriched.

        A copy gets a replay id of its own [inf]: each channel's stream is replayed by its own
        ids, and the standard channels keep theirs.
        """
        out: list[tuple[int, str, float, dict]] = []
        channels: dict[str, list[Any]] = getattr(self.schema, "channels", None) or {}
        for channel, members in channels.items():
            for member in members:
                if member.entity != draft.entity_name:
                    continue
                # Identical changes share one event; the first record stands for them all.
                record = records.get((draft.entity_name, draft.record_ids[0])) or {}
                payload = data["payload"]

                def value(name: str, payload=payload, record=record) -> Any:
                    if name in payload:
                        return payload[name]
                    return cometd_value(record.get(name))

                if not member.matches(header, value):
                    continue
                body = dict(payload)
                for name in member.entity_fields:
                    enriched = value(name)
                    if enriched not in (None, "") and draft.change_type != "DELETE":
                        body.setdefault(name, enriched)
                replay_id = self._next_replay_id()
                copy = {**data, "payload": body, "event": {"replayId": replay_id}}
                out.append((replay_id, f"/data/{channel}", now, copy))
                break  # one member per entity on a channel
        return out

    # -- reading ------------------------------------------------------------------------

    def channel_exists(self, channel: str) -> bool:
        """Case-sensitive: ``/event/X__e`` for platform events, CDC channels, ChangeEvents."""
        if channel == ALL_CHANGE_EVENTS:
            return True
        if channel.startswith("/event/"):
            obj = self._object(channel[len("/event/") :])
            return obj is not None and bool(getattr(obj, "is_platform_event", False))
        if channel.startswith("/data/") and channel.endswith("__chn"):
            return channel[len("/data/") :] in (getattr(self.schema, "channels", None) or {})
        if channel.startswith("/data/") and channel.endswith("ChangeEvent"):
            return any(
                change_channel(name) == channel and self._cdc_enabled(name)
                for name in self._objects()
            )
        return False

    def last_replay_id(self) -> int:
        """The newest replay id issued on any channel (a ``-1`` subscription starts here)."""
        with self._lock:
            return self._last_replay_id

    def replay_start(self, channel: str, replay_from: int) -> int | None:
        """Cursor for a subscription: deliver events with replay id > cursor.

        ``-1`` → only new events, ``-2`` → everything retained, ``N`` → after N, valid only
        while N lies within the channel's retained window (Salesforce refuses an id that is
        outside retention, or newer than anything issued).  ``None`` means invalid.
        """
        with self._lock:
            if replay_from == -1:
                return self._last_replay_id
            if replay_from == -2:
                return 0
            if replay_from < 0:
                return None
            log = self._log(channel)
            log.prune(self.clock() - self.retention_seconds)
            if not log.ids or not log.ids[0] <= replay_from <= log.last_issued:
                return None
            return replay_from

    def events_after(self, channel: str, cursor: int, limit: int = 10_000) -> list[StoredEvent]:
        """Retained events of ``channel`` with replay id > ``cursor``, oldest first."""
        with self._lock:
            log = self._logs.get(channel)
            if not log or log.last_issued <= cursor:
                return []
            log.prune(self.clock() - self.retention_seconds)
            start = bisect.bisect_right(log.ids, cursor)
            return log.events[start : start + limit]

    def has_events_after(self, channel: str, cursor: int) -> bool:
        """Whether :meth:`events_after` would return anything (cheap; checked on every wake)."""
        log = self._logs.get(channel)
        if not log or log.last_issued <= cursor:
            return False
        with self._lock:
            log.prune(self.clock() - self.retention_seconds)
            return bool(log.ids) and log.ids[-1] > cursor

    def skip_expired(self, channel: str, cursor: int) -> int:
        """``cursor`` moved past events that expired before delivery (atomic with publishing)."""
        with self._lock:
            log = self._logs.get(channel)
            if not log or (log.ids and log.ids[-1] > cursor):
                return cursor
            return max(cursor, log.last_issued)

    def retained_count(self, channel: str | None = None) -> int:
        with self._lock:
            if channel is not None:
                log = self._logs.get(channel)
                return len(log.ids) if log else 0
            return sum(len(log.ids) for ch, log in self._logs.items() if ch != ALL_CHANGE_EVENTS)

    def published_last_hour(self) -> int:
        """Platform events published in the last hour (HourlyPublishedPlatformEvents)."""
        with self._lock:
            cutoff = self.clock() - 3600
            self._published = [t for t in self._published if t >= cutoff]
            return len(self._published)

    def hourly_publish_max(self) -> int:
        """The HourlyPublishedPlatformEvents allowance now in force."""
        server = self._streaming
        if server is not None:
            return int(server.config.hourly_publish_limit)
        return self.hourly_publish_limit

    def set_hourly_publish_max(self, limit: int) -> None:
        """Change the allowance (here and in the attached CometD server's config)."""
        self.hourly_publish_limit = int(limit)
        if self._streaming is not None:
            self._streaming.configure(hourly_publish_limit=int(limit))

    def hourly_publish_remaining(self) -> int:
        """Publishes still allowed in the rolling hour (``Remaining`` in ``/limits``)."""
        return max(self.hourly_publish_max() - self.published_last_hour(), 0)

    def attach_streaming(self, server: Any) -> None:
        """Let the CometD server answer :meth:`limits` and :meth:`apply_faults` for the bus.

        The REST side asks the bus (``org.bus.limits()`` for ``/limits``,
        ``org.bus.apply_faults()`` for ``POST /_devorg/faults {"stream": ...}``); client counts
        and connection faults live in the server.
        """
        self._streaming = server

    def limits(self) -> dict[str, dict[str, int]]:
        """Streaming entries of ``/limits`` (from the CometD server when one is attached)."""
        if self._streaming is not None:
            return self._streaming.limits()
        return {
            "HourlyPublishedPlatformEvents": {
                "Max": self.hourly_publish_max(),
                "Remaining": self.hourly_publish_remaining(),
            }
        }

    def apply_faults(self, spec: dict[str, Any]) -> dict[str, Any]:
        """Streaming faults by name (see ``StreamingServer.apply_faults``)."""
        if self._streaming is None:
            raise RuntimeError("no CometD server serves this event bus")
        return self._streaming.apply_faults(spec)

    def add_listener(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` (outside the bus lock) after every publish."""
        self._listeners.append(callback)

    def prune(self) -> None:
        """Drop events older than the retention window, in memory and in the state file."""
        not_before = self.clock() - self.retention_seconds
        with self._lock:
            for log in self._logs.values():
                log.prune(not_before)
            if self._store:
                self._store.prune(not_before)

    def close(self) -> None:
        """Release held CometD connects and close the state file (devorg shutdown)."""
        if self._streaming is not None:
            self._streaming.close()
        if self._store:
            self._store.close()

    # -- internals ----------------------------------------------------------------------

    def _objects(self) -> dict[str, Any]:
        return getattr(self.schema, "objects", None) or {}

    def _object(self, name: str) -> Any:
        return self._objects().get(name)

    def _cdc_enabled(self, name: str) -> bool:
        return bool(getattr(self._object(name), "cdc_enabled", False))

    def _log(self, channel: str) -> _ChannelLog:
        log = self._logs.get(channel)
        if log is None:
            log = self._logs[channel] = _ChannelLog()
        return log

    def _next_replay_id(self) -> int:
        # Rising with random gaps: Salesforce's replay ids are not contiguous.
        self._last_replay_id += self._rng.randint(1, 9)
        return self._last_replay_id

    def _append(self, rows: list[tuple[int, str, float, dict]]) -> None:
        events = [StoredEvent(rid, channel, at, _compact(data)) for rid, channel, at, data in rows]
        if self._store:
            self._store.save(
                [(e.replay_id, e.channel, e.created_at, e.data_json) for e in events],
                {"last_replay_id": self._last_replay_id, "commit_number": self._commit_number},
            )
        for event in events:
            self._index(event)
        # Keep memory and the state file bounded on channels nobody reads.
        self._appended += len(rows)
        if self._appended >= _PRUNE_EVERY:
            self._appended = 0
            not_before = self.clock() - self.retention_seconds
            for log in self._logs.values():
                log.prune(not_before)
            if self._store:
                self._store.prune(not_before)
            hour_ago = self.clock() - 3600
            self._published = [t for t in self._published if t >= hour_ago]

    def _index(self, event: StoredEvent) -> None:
        self._log(event.channel).append(event)
        # /data/ChangeEvents carries the standard channels' events, not custom channels' copies.
        if event.channel.startswith("/data/") and not event.channel.endswith("__chn"):
            self._log(ALL_CHANGE_EVENTS).append(event)

    def _load(self) -> None:
        assert self._store is not None
        self._last_replay_id = self._store.counter("last_replay_id", _FIRST_REPLAY_ID)
        self._commit_number = self._store.counter("commit_number", _FIRST_COMMIT_NUMBER)
        for replay_id, channel, created_at, data_json in self._store.load(
            self.clock() - self.retention_seconds
        ):
            self._index(StoredEvent(replay_id, channel, created_at, data_json))

    def _notify(self) -> None:
        for callback in list(self._listeners):
            callback()
