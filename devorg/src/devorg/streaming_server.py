"""A Bayeux (CometD long-polling) server that behaves like Salesforce's Streaming API.

Hand-written because no maintained Python CometD server exists (the Python CometD packages
are clients, and mostly abandoned ones: wire facts §4); a Java CometD server would not
answer like Salesforce's "heavily modified" one anyway (``403::Unknown client`` where vanilla
CometD says ``402``).

Model: a client is a handshaken session with subscriptions; each subscription is a cursor
into the event bus (deliver replay ids greater than the cursor), so ``-1``/``-2``/"after N"
only choose the starting cursor.  A ``/meta/connect`` holds its request thread on one
``Condition`` until an event is queued for that client, the hold time passes, or a fault
fires.  Every timing, limit and fault is configurable in process (``server.config``,
``server.faults``) so tests can run the 110 s / 40 s rules in about a second.
"""

from __future__ import annotations

import collections
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from devorg import streaming_messages as m
from devorg.events import EventBus


@dataclass
class StreamingConfig:
    """Timings and limits; defaults are Salesforce's (Performance/Unlimited edition)."""

    hold_seconds: float = 110.0
    reconnect_deadline: float = 40.0
    max_clients: int = 2000
    daily_delivery_limit: int = 50_000
    hourly_publish_limit: int = 250_000
    require_browser_cookie: bool = True
    # How long a "never returns" connect blocks before the server forgets the client.
    hang_seconds: float | None = None
    # Salesforce sizes a long-poll response by bytes (>= 10 MB), not by event count.
    max_batch_bytes: int = 10 * 1024 * 1024
    # How often a held connect re-checks its OAuth token (Salesforce: "regularly").
    auth_poll_seconds: float = 1.0


@dataclass
class StreamingFaults:
    """One-shot fault counters; each affected request decrements its counter.

    ``refused_channels`` is not a counter: channel -> the error every subscribe to it gets
    until it is allowed again (``refuse_subscribe`` / ``allow_subscribe``).
    """

    busy_handshakes: int = 0
    busy_connects: int = 0
    hang_connects: int = 0
    too_many_connections: int = 0
    refused_channels: dict[str, str] = field(default_factory=dict)


@dataclass
class _Client:
    client_id: str
    token: str
    last_response: float
    subscriptions: dict[str, int] = field(default_factory=dict)  # channel -> cursor
    connected_once: bool = False
    holding: int = 0
    connect_generation: int = 0
    gone: str | None = None  # why the server forgot it: dropped, expired, revoked, ...
    server_disconnect: bool = False


@dataclass
class Context:
    """What the HTTP layer learned about the request."""

    token: str | None
    has_browser_cookie: bool


class StreamingServer:
    """Bayeux session state for one devorg.

    ``token_valid(token) -> bool`` answers whether an OAuth token is still good (revocation);
    the blueprint wires it to ``org.auth``.  ``clock`` is monotonic seconds (timeouts);
    deliveries are counted against a rolling 24 h on ``wall_clock``.
    """

    def __init__(
        self,
        bus: EventBus,
        *,
        token_valid: Callable[[str], bool],
        config: StreamingConfig | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.bus = bus
        self.token_valid = token_valid
        # The publish allowance starts as the bus's (DevOrg(hourly_publish_max=...)).
        self.config = config or StreamingConfig(
            hourly_publish_limit=getattr(
                bus, "hourly_publish_limit", StreamingConfig.hourly_publish_limit
            )
        )
        self.faults = StreamingFaults()
        self.clock = clock
        self.wall_clock = wall_clock
        self._cond = threading.Condition()
        self._clients: dict[str, _Client] = {}
        self._deliveries: collections.deque[tuple[float, int]] = collections.deque()
        self._delivered_total = 0
        self._closed = False
        bus.add_listener(self._wake)
        bus.attach_streaming(self)

    # -- entry point ----------------------------------------------------------------------

    def process(self, messages: list[dict[str, Any]], ctx: Context) -> list[str]:
        """Answer a batch of Bayeux messages; returns JSON-encoded reply messages in order.

        Data messages come pre-encoded from the bus, so replies are strings to be joined.
        """
        slots: list[list[str]] = []
        connects: list[tuple[int, dict[str, Any]]] = []
        for msg in messages:
            if not isinstance(msg, dict):
                continue
            channel = msg.get("channel")
            slots.append([])
            if channel == "/meta/connect":
                # Held last, like CometD: a subscribe batched after it must count for this hold.
                connects.append((len(slots) - 1, msg))
            elif channel == "/meta/handshake":
                slots[-1].append(_enc(self._handshake(msg, ctx)))
            elif channel in ("/meta/subscribe", "/meta/unsubscribe"):
                slots[-1].append(_enc(self._subscription(msg, ctx)))
            elif channel == "/meta/disconnect":
                slots[-1].append(_enc(self._disconnect(msg)))
            else:
                slots[-1].append(_enc(self._publish(msg)))
        for index, msg in connects:
            slots[index].extend(self._connect(msg, ctx))
        return [reply for slot in slots for reply in slot]

    # -- /meta/handshake ------------------------------------------------------------------

    def _handshake(self, msg: dict[str, Any], ctx: Context) -> dict[str, Any]:
        with self._cond:
            if self.faults.busy_handshakes > 0:
                self.faults.busy_handshakes -= 1
                return m.handshake_denied(msg, m.SERVER_BUSY)
            if self.faults.too_many_connections > 0:
                self.faults.too_many_connections -= 1
                return m.handshake_denied(msg, m.TOO_MANY_CONNECTIONS)
        if not ctx.token:
            return m.handshake_denied(msg, m.REQUIRES_AUTH)
        if not self.token_valid(ctx.token):
            return m.handshake_denied(msg, m.AUTH_INVALID)
        client_id = _new_client_id()
        with self._cond:
            self._sweep()
            self._clients[client_id] = _Client(client_id, ctx.token, self.clock())
        return m.handshake_ok(msg, client_id)

    # -- /meta/connect --------------------------------------------------------------------

    def _connect(self, msg: dict[str, Any], ctx: Context) -> list[str]:
        client_id = msg.get("clientId")
        with self._cond:
            client = self._live(client_id)
            if client is None:
                return [_enc(m.unknown_client(msg))]
            conn_type = msg.get("connectionType")
            if conn_type != "long-polling":
                client.last_response = self.clock()
                error = m.INVALID_CONNECTION_TYPE.format(type=conn_type)
                return [_enc(m.channel_error(msg, client.client_id, error))]
            if self.config.require_browser_cookie and not ctx.has_browser_cookie:
                client.last_response = self.clock()
                error = m.NO_BROWSER_COOKIE.format(client_id=client.client_id)
                return [_enc(m.channel_error(msg, client.client_id, error))]
            if self.faults.busy_connects > 0:
                self.faults.busy_connects -= 1
                self._forget(client, "busy")
                return [_enc(m.auth_invalid(msg, client.client_id, busy=True))]
        token = ctx.token or client.token
        if not self.token_valid(token):
            return self._revoked(msg, client)
        with self._cond:
            if self.faults.hang_connects > 0:
                self.faults.hang_connects -= 1
                return self._hang(msg, client)
            if self._daily_used() >= self.config.daily_delivery_limit:
                client.last_response = self.clock()
                return [_enc(m.channel_error(msg, client.client_id, m.DAILY_LIMIT))]
            first = not client.connected_once
            client.connected_once = True
            client.connect_generation += 1
            generation = client.connect_generation
            client.holding += 1
            self._cond.notify_all()  # a newer connect releases an older held one
        try:
            return self._hold(msg, client, generation, token, first)
        finally:
            with self._cond:
                client.holding -= 1
                client.last_response = self.clock()

    def _hold(
        self, msg: dict[str, Any], client: _Client, generation: int, token: str, first: bool
    ) -> list[str]:
        hold = self.config.hold_seconds
        asked = (
            (msg.get("advice") or {}).get("timeout")
            if isinstance(msg.get("advice"), dict)
            else None
        )
        if isinstance(asked, int | float) and not isinstance(asked, bool) and asked >= 0:
            # A client may ask for a shorter hold (CometD sends timeout 0 to resync); never longer.
            hold = min(hold, asked / 1000)
        deadline = self.clock() + hold
        next_auth_check = self.clock() + self.config.auth_poll_seconds
        while True:
            with self._cond:
                if client.server_disconnect:
                    self._forget(client, "server-disconnect")
                    return [
                        _enc(m.server_disconnect(client.client_id)),
                        _enc(m.connect_after_server_disconnect(msg, client.client_id)),
                    ]
                if client.gone:
                    return [_enc(m.unknown_client(msg))]
                now = self.clock()
                superseded = generation != client.connect_generation
                ready = first or superseded or now >= deadline or self._has_pending(client)
                if ready:
                    data = [] if superseded else self._drain(client)
                    timeout_ms = int(self.config.hold_seconds * 1000) if first else None
                    return [*data, _enc(m.connect_ok(msg, client.client_id, timeout_ms=timeout_ms))]
                self._cond.wait(min(deadline, next_auth_check) - now)
            if self.clock() >= next_auth_check:
                next_auth_check = self.clock() + self.config.auth_poll_seconds
                if not self.token_valid(token):
                    return self._revoked(msg, client)

    def _revoked(self, msg: dict[str, Any], client: _Client) -> list[str]:
        with self._cond:
            self._forget(client, "revoked")
        return [_enc(m.auth_invalid(msg, client.client_id))]

    def _hang(self, msg: dict[str, Any], client: _Client) -> list[str]:
        """A connect that never returns: block until the client would have given up."""
        hang = self.config.hang_seconds
        if hang is None:
            hang = self.config.hold_seconds + self.config.reconnect_deadline
        end = self.clock() + hang
        faults = self.faults  # reset_faults() replaces it, which releases the hang
        generation = client.connect_generation
        client.holding += 1
        try:
            while not self._closed and not client.gone and self.faults is faults:
                remaining = end - self.clock()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
        finally:
            client.holding -= 1
        if client.connect_generation == generation:
            # Nobody came back: the session died with the stuck request.
            self._forget(client, "hung")
        # Otherwise the client gave up on this request and reconnected; it keeps its session.
        return [_enc(m.unknown_client(msg))]

    # -- /meta/subscribe, /meta/unsubscribe ------------------------------------------------

    def _subscription(self, msg: dict[str, Any], ctx: Context) -> dict[str, Any]:
        subscribing = msg["channel"] == "/meta/subscribe"
        with self._cond:
            if "clientId" not in msg:
                return m.channel_error(msg, None, m.NOT_HANDSHAKEN)
            client = self._live(msg.get("clientId"))
            if client is None:
                return m.unknown_client(msg)
            client.last_response = self.clock()
            cid = client.client_id
            if self.config.require_browser_cookie and not ctx.has_browser_cookie:
                return m.channel_error(msg, cid, m.NO_BROWSER_COOKIE.format(client_id=cid))
            channel = msg.get("subscription")
            if not channel or not isinstance(channel, str):
                return m.channel_error(msg, cid, m.NO_CHANNEL)
            if not channel.startswith("/"):
                return m.channel_error(msg, cid, m.NO_LEADING_SLASH)
            if not subscribing:
                client.subscriptions.pop(channel, None)
                return m.subscription_ok(msg, cid)
            if not self.bus.channel_exists(channel):
                return m.channel_error(msg, cid, m.UNKNOWN_CHANNEL.format(channel=channel))
            refusal = self.faults.refused_channels.get(channel)
            if refusal is not None:
                return m.channel_error(msg, cid, refusal)
            if not client.subscriptions and self._subscribers() >= self.config.max_clients:
                return m.channel_error(msg, cid, m.CONCURRENT_LIMIT)
            if self._daily_used() >= self.config.daily_delivery_limit:
                return m.channel_error(msg, cid, m.DAILY_LIMIT)
            replay = _replay_from(msg, channel)
            cursor = None if replay is None else self.bus.replay_start(channel, replay)
            if cursor is None:
                shown = json.dumps(_raw_replay(msg, channel))
                return m.channel_error(msg, cid, m.INVALID_REPLAY.format(replay=shown))
            client.subscriptions[channel] = cursor
            self._cond.notify_all()  # a held connect may now have replayed events to send
            return m.subscription_ok(msg, cid)

    # -- /meta/disconnect, publish --------------------------------------------------------

    def _disconnect(self, msg: dict[str, Any]) -> dict[str, Any]:
        with self._cond:
            client = self._live(msg.get("clientId"))
            if client is None:
                return m.unknown_client(msg)
            self._forget(client, "disconnected")
            return m.disconnect_ok(msg, client.client_id)

    def _publish(self, msg: dict[str, Any]) -> dict[str, Any]:
        with self._cond:
            client = self._live(msg.get("clientId"))
            if client is None:
                return m.unknown_client(msg)
            client.last_response = self.clock()
            return m.channel_error(msg, client.client_id, m.PUBLISH_DENIED)

    # -- faults and introspection -----------------------------------------------------------

    def drop_clients(self) -> int:
        """Forget every client, as after a server restart: next request → Unknown client."""
        with self._cond:
            clients = [c for c in self._clients.values() if not c.gone]
            for client in clients:
                self._forget(client, "dropped")
            return len(clients)

    def send_disconnect(self, client_id: str | None = None) -> int:
        """Server-sent ``/meta/disconnect`` to one client or all (delivered on its connect)."""
        with self._cond:
            targets = [
                c
                for c in self._clients.values()
                if not c.gone and (client_id is None or c.client_id == client_id)
            ]
            for client in targets:
                client.server_disconnect = True
            self._cond.notify_all()
            return len(targets)

    def refuse_subscribe(self, channel: str, reason: str = "restricted") -> None:
        """Refuse every subscribe to ``channel`` (one of ``SUBSCRIBE_REFUSALS``) until allowed.

        What an org does when the integration user lacks permission on the object
        (``403::Restricted channel``, or the CDC one without View All Data); a client already
        subscribed keeps its subscription, as the check is made when subscribing.
        """
        if reason not in m.SUBSCRIBE_REFUSALS:
            raise ValueError(f"reason must be one of {sorted(m.SUBSCRIBE_REFUSALS)}")
        with self._cond:
            self.faults.refused_channels[channel] = m.SUBSCRIBE_REFUSALS[reason]

    def allow_subscribe(self, channel: str | None = None) -> None:
        """Stop refusing ``channel`` (every channel when None)."""
        with self._cond:
            if channel is None:
                self.faults.refused_channels.clear()
            else:
                self.faults.refused_channels.pop(channel, None)

    def reset_faults(self) -> None:
        """Clear pending faults and release any hanging connect."""
        with self._cond:
            self.faults = StreamingFaults()
            for client in self._clients.values():
                client.server_disconnect = False
            self._cond.notify_all()

    def configure(self, **changes: Any) -> StreamingConfig:
        """Change timings/limits in place (unknown names raise ``TypeError``)."""
        with self._cond:
            for name, value in changes.items():
                if not hasattr(self.config, name):
                    raise TypeError(f"unknown streaming setting {name!r}")
                setattr(self.config, name, value)
            self._cond.notify_all()
            return self.config

    def apply_faults(self, spec: dict[str, Any]) -> dict[str, Any]:
        """Apply named faults, as the admin routes do; returns what was done.

        ``{"drop_clients": true, "disconnect": true | "<clientId>", "busy_handshakes": n,
        "busy_connects": n, "hang_connects": n, "too_many_connections": n,
        "refuse_subscribe": {"<channel>": "restricted" | "cdc_permission" | "concurrent_limit"
        | null (allow again)}, "config": {"hold_seconds": 2, ...}, "reset": true}``
        """
        done: dict[str, Any] = {}
        counters = [name for name in vars(self.faults) if name != "refused_channels"]
        known = {"drop_clients", "disconnect", "config", "reset", "refuse_subscribe", *counters}
        unknown = set(spec) - known
        if unknown:
            raise ValueError(f"unknown streaming faults: {sorted(unknown)}")
        if spec.get("reset"):
            self.reset_faults()
            done["reset"] = True
        if "config" in spec:
            done["config"] = dict(vars(self.configure(**spec["config"])))
        for channel, reason in dict(spec.get("refuse_subscribe") or {}).items():
            if reason is None:
                self.allow_subscribe(channel)
            else:
                self.refuse_subscribe(channel, reason)
            done.setdefault("refuse_subscribe", {})[channel] = reason
        for name in counters:
            if name in spec:
                with self._cond:
                    setattr(self.faults, name, int(spec[name]))
                done[name] = int(spec[name])
        if spec.get("drop_clients"):
            done["dropped"] = self.drop_clients()
        if spec.get("disconnect"):
            target = spec["disconnect"] if isinstance(spec["disconnect"], str) else None
            done["disconnected"] = self.send_disconnect(target)
        return done

    def limits(self) -> dict[str, dict[str, int]]:
        """Streaming entries for ``/limits`` (Max/Remaining as Salesforce reports them)."""
        with self._cond:
            subscribers = self._subscribers()
            used = self._daily_used()
        cfg = self.config
        clients = {"Max": cfg.max_clients, "Remaining": max(cfg.max_clients - subscribers, 0)}
        published = self.bus.published_last_hour()
        return {
            "DailyDeliveredPlatformEvents": {
                "Max": cfg.daily_delivery_limit,
                "Remaining": max(cfg.daily_delivery_limit - used, 0),
            },
            "DurableStreamingApiConcurrentClients": dict(clients),
            "HourlyPublishedPlatformEvents": {
                "Max": cfg.hourly_publish_limit,
                "Remaining": max(cfg.hourly_publish_limit - published, 0),
            },
            "StreamingApiConcurrentClients": dict(clients),
        }

    def snapshot(self) -> dict[str, Any]:
        """Introspection for ``GET /_devorg/streaming``."""
        with self._cond:
            self._sweep()
            clients = [
                {
                    "clientId": c.client_id,
                    "subscriptions": dict(c.subscriptions),
                    "holding": c.holding > 0,
                }
                for c in self._clients.values()
                if not c.gone
            ]
            config = dict(vars(self.config))
            faults = dict(vars(self.faults))
            faults["refused_channels"] = dict(self.faults.refused_channels)
            delivered = self._delivered_total
        return {
            "clients": clients,
            "config": config,
            "faults": faults,
            "delivered": delivered,
            "retained": self.bus.retained_count(),
            "lastReplayId": self.bus.last_replay_id(),
            "limits": self.limits(),
        }

    def close(self) -> None:
        """Release every held request thread (server shutdown)."""
        with self._cond:
            self._closed = True
            for client in list(self._clients.values()):
                self._forget(client, "shutdown")

    # -- internals --------------------------------------------------------------------------

    def _wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def _live(self, client_id: Any) -> _Client | None:
        """The client, unless unknown, forgotten, or past its 40 s reconnect deadline."""
        client = self._clients.get(client_id) if isinstance(client_id, str) else None
        if client is None or client.gone:
            return None
        if self._expired(client):
            self._forget(client, "expired")
            return None
        return client

    def _expired(self, client: _Client) -> bool:
        idle = self.clock() - client.last_response
        return client.holding == 0 and idle > self.config.reconnect_deadline

    def _forget(self, client: _Client, why: str) -> None:
        client.gone = why
        client.subscriptions.clear()
        self._clients.pop(client.client_id, None)
        self._cond.notify_all()

    def _sweep(self) -> None:
        for client in list(self._clients.values()):
            if self._expired(client):
                self._forget(client, "expired")

    def _subscribers(self) -> int:
        self._sweep()
        return sum(1 for c in self._clients.values() if c.subscriptions)

    def _has_pending(self, client: _Client) -> bool:
        return any(
            self.bus.has_events_after(channel, cursor)
            for channel, cursor in client.subscriptions.items()
        )

    def _drain(self, client: _Client) -> list[str]:
        """Encode every queued event for ``client`` (bounded by bytes and the daily limit)."""
        budget = self.config.max_batch_bytes
        allowance = self.config.daily_delivery_limit - self._daily_used()
        out: list[str] = []
        for channel, cursor in list(client.subscriptions.items()):
            prefix = '{"data":'
            suffix = ',"channel":' + json.dumps(channel) + "}"
            events = self.bus.events_after(channel, cursor)
            if not events:
                # Whatever lay beyond the cursor has expired: move on, or the client would
                # be woken for it again and again.
                client.subscriptions[channel] = self.bus.skip_expired(channel, cursor)
            for event in events:
                if allowance <= 0 or budget <= 0:
                    break
                text = prefix + event.data_json + suffix
                out.append(text)
                budget -= len(text)
                allowance -= 1
                client.subscriptions[channel] = event.replay_id
        if out:
            self._deliveries.append((self.wall_clock(), len(out)))
            self._delivered_total += len(out)
        return out

    def _daily_used(self) -> int:
        cutoff = self.wall_clock() - 24 * 3600
        while self._deliveries and self._deliveries[0][0] < cutoff:
            self._deliveries.popleft()
        return sum(n for _, n in self._deliveries)


def _enc(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"))


def _new_client_id() -> str:
    """Lower-case base-36, ~26 characters, like Salesforce's ``41kdiuvgig2tfxdh9weakuiwyh``."""
    n = secrets.randbits(130)
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = []
    while n:
        n, r = divmod(n, 36)
        out.append(digits[r])
    return "".join(out)


def _raw_replay(msg: dict[str, Any], channel: str) -> Any:
    ext = msg.get("ext")
    replay = ext.get("replay") if isinstance(ext, dict) else None
    return replay.get(channel) if isinstance(replay, dict) else None


def _replay_from(msg: dict[str, Any], channel: str) -> int | None:
    """The replay-map entry for ``channel``; no map or no entry means -1 (new events only)."""
    ext = msg.get("ext")
    replay = ext.get("replay") if isinstance(ext, dict) else None
    if not isinstance(replay, dict) or channel not in replay:
        return -1
    value = replay[channel]
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    return None
