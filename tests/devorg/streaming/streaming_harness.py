"""Helpers for the Streaming API tests: a raw-HTTP Bayeux client and a streaming org.

A uniquely named module rather than ``conftest`` so that ``import`` cannot pick up another
test tree's conftest.  The org is assembled from real parts: the package's schema, the event
bus, the OAuth session store and the CometD server.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from devorg.auth import Auth, User
from devorg.events import EventBus
from devorg.schema import Schema
from devorg.streaming_server import StreamingServer

REPO = Path(__file__).resolve().parents[3]
USER_ID = "005000000000001AAA"
PE = "/event/Credit_Status_Change__e"


class ManualClock:
    """A monotonic clock the test moves by hand (40 s deadlines without waiting 40 s)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@dataclass
class StreamingOrg:
    """The parts of a devorg the Streaming API stands on."""

    schema: Schema
    bus: EventBus
    auth: Auth
    streaming: StreamingServer
    clock: ManualClock
    token: str
    base_url: str = ""

    def publish(self, **fields: Any) -> str:
        return self.bus.publish_platform_event(
            "Credit_Status_Change__e", fields, created_by_id=USER_ID
        )


def build_org(schema: Schema, state_path: Path | None = None) -> StreamingOrg:
    auth = Auth("00D000000000001AAA", token_ttl=7200)
    user = User(id=USER_ID, username="integration@devorg.local", password="pw", last_name="Int")
    auth.add_user(user)
    token = auth.issue(user).token
    bus = EventBus(schema, state_path=state_path)
    clock = ManualClock()
    streaming = StreamingServer(
        bus, token_valid=lambda t: auth.session_for(t) is not None, clock=clock
    )
    # Tests run the 110 s hold in a second; the first-connect advice tests reset it.
    streaming.configure(hold_seconds=1.0, auth_poll_seconds=0.2)
    return StreamingOrg(schema, bus, auth, streaming, clock, token)


class Bayeux:
    """A deliberately dumb Bayeux client: it sends exactly what the test says.

    It keeps cookies (``requests.Session``) as the Streaming API requires, and numbers
    messages with string ids unless a test passes its own ``id``.
    """

    def __init__(self, base_url: str, token: str | None, version: str = "62.0") -> None:
        self.url = f"{base_url}/cometd/{version}"
        self.http = requests.Session()
        if token:
            self.http.headers["Authorization"] = f"Bearer {token}"
        self.client_id: str | None = None
        self._ids = itertools.count(1)

    def post(self, *messages: dict[str, Any], url: str | None = None) -> requests.Response:
        return self.http.post(url or self.url, json=list(messages), timeout=30)

    def send(self, *messages: dict[str, Any]) -> list[dict[str, Any]]:
        resp = self.post(*messages)
        assert resp.status_code == 200, resp.text
        return resp.json()

    def msg(self, channel: str, **fields: Any) -> dict[str, Any]:
        out: dict[str, Any] = {"channel": channel}
        if channel != "/meta/handshake" and self.client_id:
            out["clientId"] = self.client_id
        out.update(fields)
        out.setdefault("id", str(next(self._ids)))
        return out

    def handshake(self, **fields: Any) -> dict[str, Any]:
        reply = self.send(
            self.msg(
                "/meta/handshake",
                version="1.0",
                minimumVersion="1.0",
                supportedConnectionTypes=["long-polling"],
                **fields,
            )
        )[0]
        if reply.get("successful"):
            self.client_id = reply["clientId"]
        return reply

    def connect(self, **fields: Any) -> list[dict[str, Any]]:
        return self.send(self.msg("/meta/connect", connectionType="long-polling", **fields))

    def subscribe(self, channel: str, replay: int | None = None, **fields: Any) -> dict[str, Any]:
        if replay is not None:
            fields["ext"] = {"replay": {channel: replay}}
        return self.send(self.msg("/meta/subscribe", subscription=channel, **fields))[0]

    def start(self, channel: str = PE, replay: int | None = None) -> None:
        """Handshake, subscribe, first connect: the client is then ready to long-poll."""
        assert self.handshake()["successful"]
        reply = self.subscribe(channel, replay)
        assert reply["successful"], reply
        self.connect()


def data_of(replies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in replies if not r["channel"].startswith("/meta/")]


def meta_of(replies: list[dict[str, Any]], channel: str) -> dict[str, Any]:
    (reply,) = [r for r in replies if r["channel"] == channel]
    return reply
