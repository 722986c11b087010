"""A small Bayeux (CometD) long-polling client for the Salesforce Streaming API, on requests.

Why our own: no maintained Python CometD client runs on Python 3.11+. aiocometd/aiosfstream
(2019) break on ``asyncio.Semaphore(loop=)``; the "-ng" forks still pass ``loop=`` to asyncio
calls on the reconnect path, an argument removed in Python 3.10; the others are
gevent/Tornado-era and unmaintained (docs/adr/0005).
This client does only what the Streaming API needs (wire facts §1):

* handshake listing only ``long-polling``, with ``ext.replay``; ids echoed as strings;
* subscribe with the replay extension ``{channel: replay id}`` (-1 new, -2 all retained, N after N);
* the connect loop, honouring ``advice`` (interval, timeout, reconnect);
* cookies (``BAYEUX_BROWSER`` & co.) kept by the requests.Session jar and sent back;
* ``403::Unknown client`` / ``reconnect: handshake`` / a server ``/meta/disconnect``:
  handshake again and re-subscribe (a new handshake drops every subscription);
* ``401`` / ``reconnect: none``: log in again (shared Authenticator), then handshake;
  but ``503::Server is too busy`` hidden behind a 401 is only backed off, not re-authenticated;
* a rejected replay id (a 400 on a subscribe carrying N >= 0, other than "does not exist"):
  tell the owner, who recovers what the gap may hold, then subscribe at -2 (the inbox makes the
  replay harmless); if the owner cannot recover it yet, the channel waits like a refused one
  and the stored id is asked again, so the gap is never skipped;
* a refused subscription (no permission, a channel not enabled, a limit): only that channel
  waits, and is asked again with its own exponential backoff before a later connect; the
  other channels keep streaming. ``refused`` says which channels wait and why;
* 5xx, timeouts and "too busy": exponential backoff with jitter, interruptible by ``stop``.

The transport sits behind ``poll()`` returning ``StreamEvent``s, so it can be swapped for the
Pub/Sub API without touching the handlers.
"""

from __future__ import annotations

import itertools
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import requests

from service.salesforce.auth import Authenticator
from service.salesforce.errors import AuthenticationError, StreamingError

log = logging.getLogger(__name__)

NEW_EVENTS = -1
ALL_EVENTS = -2


@dataclass(frozen=True)
class StreamEvent:
    """One delivered event: its channel, replay id and ``data`` (payload + event header)."""

    channel: str
    replay_id: int | None
    data: dict[str, Any]

    @property
    def payload(self) -> dict[str, Any]:
        return self.data.get("payload") or {}

    @property
    def event_uuid(self) -> str | None:
        return (self.data.get("event") or {}).get("EventUuid")


@dataclass
class Refusal:
    """A channel the org would not subscribe us to: the error, how often, when to ask again."""

    error: str
    attempts: int
    retry_at: float  # time.monotonic()


class _Rehandshake(Exception):
    """Internal: the session is gone; handshake and subscribe again."""


class _Reauthenticate(Exception):
    """Internal: the token was refused; log in again, then handshake."""


def _failure_reason(msg: dict[str, Any]) -> str:
    sfdc = (msg.get("ext") or {}).get("sfdc") or {}
    return str(sfdc.get("failureReason") or msg.get("error") or "")


def _code(text: str) -> str:
    """The numeric prefix of a Bayeux error ('403::Unknown client' -> '403')."""
    return text.split("::", 1)[0] if "::" in text else ""


class BayeuxClient:
    """One Streaming API session; call ``poll()`` in a loop and ``ack()`` after each commit."""

    def __init__(
        self,
        instance_url: Callable[[], str],
        auth: Authenticator,
        http: requests.Session,
        *,
        api_version: str,
        replay: dict[str, int],
        on_replay_reset: Callable[[str, int], None] | None = None,
        backoff_max: float = 30.0,
        resubscribe_max: float = 300.0,
        stop: threading.Event | None = None,
    ):
        self._instance_url = instance_url
        self.auth = auth
        self.http = http
        self.api_version = api_version
        self.replay = dict(replay)
        self.on_replay_reset = on_replay_reset
        self.backoff_max = backoff_max
        self.resubscribe_max = resubscribe_max
        self.refused: dict[str, Refusal] = {}
        # Channels subscribed in the current session (cleared by a new handshake).
        self.subscribed: set[str] = set()
        self.stop = stop or threading.Event()
        self.client_id: str | None = None
        self._ids = itertools.count(1)
        self._interval_ms = 0
        self._timeout_ms = 110_000
        self._failures = 0
        self.stats = {
            "handshakes": 0,
            "reauth": 0,
            "replay_fallbacks": 0,
            "backoffs": 0,
            "refusals": 0,
        }

    # -- wire ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"{self._instance_url().rstrip('/')}/cometd/{self.api_version}"

    def _send(self, messages: list[dict[str, Any]], timeout: float = 30.0) -> list[dict[str, Any]]:
        for msg in messages:
            msg["id"] = str(next(self._ids))
        token = self.auth.token()
        headers = {
            "Authorization": f"Bearer {token.access_token}",
            "Content-Type": "application/json",
        }
        try:
            response = self.http.post(self.url, json=messages, headers=headers, timeout=timeout)
        except requests.RequestException as exc:
            log.warning("cometd transport error: %s", type(exc).__name__)
            self._backoff()
            raise _Rehandshake from None
        if response.status_code == 401:
            raise _Reauthenticate
        if response.status_code in (403, 400) and self.client_id is not None:
            log.warning("cometd http %s; handshaking again", response.status_code)
            raise _Rehandshake
        if response.status_code >= 500 or response.status_code == 429:
            log.warning("cometd http %s; backing off", response.status_code)
            self._backoff()
            raise _Rehandshake
        if response.status_code != 200:
            raise StreamingError(f"cometd http {response.status_code}")
        body = response.json()
        return body if isinstance(body, list) else [body]

    def _backoff(self) -> None:
        self._failures += 1
        self.stats["backoffs"] += 1
        delay = min(self.backoff_max, 0.25 * 2 ** min(self._failures, 10))
        self.stop.wait(delay * (0.5 + random.random() / 2))

    # -- session ------------------------------------------------------------------------

    def _handshake(self) -> None:
        msg = {
            "channel": "/meta/handshake",
            "version": "1.0",
            "minimumVersion": "1.0",
            "supportedConnectionTypes": ["long-polling"],
            "ext": {"replay": True},
        }
        (reply,) = [m for m in self._send([msg]) if m.get("channel") == "/meta/handshake"][:1] or [
            {}
        ]
        if reply.get("successful"):
            self.client_id = reply["clientId"]
            self.subscribed.clear()
            self._interval_ms = 0
            self.stats["handshakes"] += 1
            if (reply.get("ext") or {}).get("replay") is not True:
                log.warning("cometd server did not confirm the replay extension")
            return
        self.client_id = None
        reason = _failure_reason(reply)
        log.warning("cometd handshake refused: %s", reason[:80])
        if _code(reason) == "401" and "busy" not in reason:
            raise _Reauthenticate
        self._backoff()
        raise _Rehandshake

    def _subscribe(self, channels: Iterable[str]) -> None:
        """Subscribe ``channels`` at their replay markers; a refused one waits on its own."""
        channels = list(channels)
        msgs = [
            {
                "channel": "/meta/subscribe",
                "clientId": self.client_id,
                "subscription": ch,
                "ext": {"replay": {ch: self.replay.get(ch, NEW_EVENTS)}},
            }
            for ch in channels
        ]
        retry: list[str] = []
        for reply in self._send(msgs):
            if reply.get("channel") != "/meta/subscribe":
                continue
            channel = reply.get("subscription")
            if channel not in channels:
                continue
            if reply.get("successful"):
                self.subscribed.add(channel)
                refusal = self.refused.pop(channel, None)
                if refusal is not None:
                    log.info("subscribed to %s after %s refusal(s)", channel, refusal.attempts)
                continue
            error = str(reply.get("error", ""))
            code = _code(error)
            asked = self.replay.get(channel, NEW_EVENTS)
            if code == "400" and asked >= 0 and "does not exist" not in error:
                # The stored replay id is outside retention (or unknown). The owner recovers
                # what the gap may hold first; then everything still retained is replayed.
                log.warning(
                    "replay id %s rejected on %s; recovering the gap, then replaying all "
                    "retained events",
                    asked,
                    channel,
                )
                self.stats["replay_fallbacks"] += 1
                try:
                    if self.on_replay_reset:
                        self.on_replay_reset(channel, asked)
                except Exception as exc:
                    # Keep asking with the stored id: subscribing at -2 now would skip the gap.
                    log.warning("recovering the gap on %s failed", channel, exc_info=True)
                    self._refuse(channel, f"gap not recovered yet: {type(exc).__name__}: {exc}")
                    continue
                self.replay[channel] = ALL_EVENTS
                retry.append(channel)
            elif code == "403" and (
                "handshake" in error.lower() or "unknown client" in error.lower()
            ):
                raise _Rehandshake
            else:
                self._refuse(channel, error)
        if retry:
            self._subscribe(retry)

    def _refuse(self, channel: str, error: str) -> None:
        """Leave ``channel`` out for now and ask again after its own backoff (with jitter)."""
        previous = self.refused.get(channel)
        attempts = (previous.attempts if previous else 0) + 1
        delay = min(self.resubscribe_max, 2.0 ** min(attempts - 1, 16))
        delay *= 0.75 + random.random() / 2
        self.refused[channel] = Refusal(error[:500], attempts, time.monotonic() + delay)
        self.stats["refusals"] += 1
        log.warning(
            "subscription to %s refused (%s); the other channels keep running; "
            "asking again in %.1fs (refusal %s)",
            channel,
            error[:200],
            delay,
            attempts,
        )

    def _resubscribe_due(self) -> None:
        """Ask again for the refused channels whose backoff has run out."""
        now = time.monotonic()
        due = [ch for ch, r in self.refused.items() if r.retry_at <= now]
        if due:
            self._subscribe(due)

    def start(self) -> None:
        """Handshake and subscribe every channel at its replay marker, recovering as needed."""
        while not self.stop.is_set():
            try:
                self._handshake()
                self._subscribe(self.replay)
                self._failures = 0
                return
            except _Rehandshake:
                continue
            except _Reauthenticate:
                self._reauthenticate()

    def _reauthenticate(self) -> None:
        self.stats["reauth"] += 1
        log.info("cometd: token refused; logging in again")
        stale = self.auth.token()
        try:
            self.auth.refresh(stale)
        except AuthenticationError:
            raise
        except Exception as exc:  # token endpoint down: wait, then try again
            log.warning("cometd: login failed (%s); backing off", type(exc).__name__)
            self._backoff()

    def poll(self) -> list[StreamEvent]:
        """One /meta/connect; returns the events it carried (possibly none).

        Every recoverable failure is handled inside: the caller just loops.
        """
        if self.client_id is None:
            self.start()
            if self.client_id is None:
                return []
        try:
            self._resubscribe_due()
        except _Rehandshake:
            self.client_id = None
            return []
        except _Reauthenticate:
            self.client_id = None
            self._reauthenticate()
            return []
        if self._interval_ms:
            self.stop.wait(self._interval_ms / 1000)
        msg = {
            "channel": "/meta/connect",
            "clientId": self.client_id,
            "connectionType": "long-polling",
        }
        try:
            replies = self._send([msg], timeout=self._timeout_ms / 1000 * 1.2 + 5)
        except _Rehandshake:
            self.client_id = None
            return []
        except _Reauthenticate:
            self.client_id = None
            self._reauthenticate()
            return []
        events: list[StreamEvent] = []
        for reply in replies:
            channel = reply.get("channel", "")
            if not channel.startswith("/meta/"):
                data = reply.get("data") or {}
                replay_id = (data.get("event") or {}).get("replayId")
                events.append(StreamEvent(channel, replay_id, data))
            elif channel == "/meta/connect":
                self._on_connect_reply(reply)
            elif channel == "/meta/disconnect":
                log.info("cometd: server sent /meta/disconnect; reconnecting")
                self.client_id = None
        return events

    def _on_connect_reply(self, reply: dict[str, Any]) -> None:
        advice = reply.get("advice") or {}
        if "timeout" in advice:
            self._timeout_ms = int(advice["timeout"])
        if "interval" in advice:
            self._interval_ms = int(advice["interval"])
        if reply.get("successful"):
            self._failures = 0
            return
        reason = _failure_reason(reply)
        error = str(reply.get("error", ""))
        reconnect = advice.get("reconnect")
        log.warning("cometd connect failed: %s (reconnect=%s)", reason[:80], reconnect)
        if reconnect == "retry":
            self._backoff()
            return
        self.client_id = None
        if "503::" in reason or "busy" in reason.lower() or "limit" in reason.lower():
            self._backoff()
        elif _code(error) == "401" or reconnect == "none":
            self._reauthenticate()
        # reconnect == "handshake" (403::Unknown client): handshake at once on the next poll.

    def healthy_channels(self) -> set[str]:
        """Channels whose session is up: handshake done, subscribed, last connect answered."""
        if self.client_id is None or self._failures:
            return set()
        return self.subscribed - set(self.refused)

    def ack(self, channel: str, replay_id: int | None) -> None:
        """Move the in-memory marker after a handled event, so a re-subscribe resumes there."""
        if replay_id is not None:
            self.replay[channel] = replay_id

    def disconnect(self) -> None:
        """Say goodbye (best effort) so the org frees the concurrent-client slot at once."""
        if self.client_id is None:
            return
        try:
            self._send([{"channel": "/meta/disconnect", "clientId": self.client_id}], timeout=5)
        except Exception:  # leaving anyway
            log.debug("cometd disconnect failed", exc_info=True)
        self.client_id = None
