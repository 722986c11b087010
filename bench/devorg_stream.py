"""Platform events per second that devorg delivers to one CometD subscriber.

The design promises bursts of 1,000 events a second, so the emulator must not be the
bottleneck of any sync benchmark.  This starts an in-process devorg (plain HTTP), has one
raw Bayeux subscriber long-poll ``/event/Credit_Status_Change__e`` as a real client does
(cookies, ids, one connect after another), publishes N events as fast as the bus takes them
(or over REST with ``--rest``) and reports the delivery rate.

    python -m bench.devorg_stream [--events 5000] [--rest] [--state]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import threading
import time
from pathlib import Path

import requests
from devorg.cometd import streaming_for
from devorg.org import DevOrg

CHANNEL = "/event/Credit_Status_Change__e"
TARGET_PER_SECOND = 1_000


class Subscriber:
    """A minimal long-polling Bayeux client; counts delivered events and round trips."""

    def __init__(self, base_url: str, token: str) -> None:
        self.url = f"{base_url}/cometd/62.0"
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token}"
        self.received = 0
        self.batches: list[int] = []
        self.last_at = 0.0
        self._id = 0
        self.client_id = ""

    def _send(self, message: dict) -> list[dict]:
        self._id += 1
        message = {**message, "id": str(self._id)}
        if self.client_id:
            message["clientId"] = self.client_id
        resp = self.http.post(self.url, json=[message], timeout=130)
        resp.raise_for_status()
        return resp.json()

    def start(self) -> None:
        reply = self._send(
            {
                "channel": "/meta/handshake",
                "version": "1.0",
                "supportedConnectionTypes": ["long-polling"],
            }
        )[0]
        self.client_id = reply["clientId"]
        assert self._send({"channel": "/meta/subscribe", "subscription": CHANNEL})[0]["successful"]
        self.poll()

    def poll(self) -> None:
        replies = self._send({"channel": "/meta/connect", "connectionType": "long-polling"})
        events = sum(1 for r in replies if r["channel"] == CHANNEL)
        if events:
            self.received += events
            self.batches.append(events)
            self.last_at = time.perf_counter()

    def run_until(self, count: int, deadline: float) -> None:
        while self.received < count and time.perf_counter() < deadline:
            self.poll()


def _publish_bus(org: DevOrg, count: int, user_id: str) -> None:
    for n in range(count):
        org.bus.publish_platform_event(
            "Credit_Status_Change__e",
            {"Account_Id__c": "001000000000001AAA", "New_Status__c": "HOLD", "Reason__c": f"#{n}"},
            created_by_id=user_id,
        )


def _publish_rest(base_url: str, token: str, count: int, workers: int = 4) -> None:
    url = f"{base_url}/services/data/v62.0/sobjects/Credit_Status_Change__e/"

    def worker(share: int) -> None:
        http = requests.Session()
        http.headers["Authorization"] = f"Bearer {token}"
        for n in range(share):
            resp = http.post(url, json={"New_Status__c": "HOLD", "Reason__c": f"#{n}"}, timeout=30)
            resp.raise_for_status()

    shares = [count // workers + (1 if i < count % workers else 0) for i in range(workers)]
    threads = [threading.Thread(target=worker, args=(s,)) for s in shares]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def run(events: int, *, rest: bool, state: bool) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        state_path = Path(tmp) / "devorg.sqlite" if state else None
        org = DevOrg(state_path=state_path, daily_api_max=10 * events + 1000)
        org.start(http_port=0)
        try:
            streaming_for(org).configure(daily_delivery_limit=10 * events)
            token = org.token_for()
            subscriber = Subscriber(org.http_url or org.url, token)
            subscriber.start()
            consumer = threading.Thread(
                target=subscriber.run_until, args=(events, time.perf_counter() + 120)
            )
            consumer.start()
            started = time.perf_counter()
            if rest:
                _publish_rest(org.http_url or org.url, token, events)
            else:
                _publish_bus(org, events, org.integration_user.id)
            published = time.perf_counter()
            consumer.join()
        finally:
            org.stop()
    elapsed = subscriber.last_at - started
    return {
        "events": events,
        "delivered": subscriber.received,
        "publish_seconds": published - started,
        "delivery_seconds": elapsed,
        "per_second": subscriber.received / elapsed if elapsed > 0 else 0.0,
        "connects_with_events": len(subscriber.batches),
        "median_batch": statistics.median(subscriber.batches) if subscriber.batches else 0,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--rest", action="store_true", help="publish over REST, not the bus")
    parser.add_argument("--state", action="store_true", help="durable bus (--state SQLite)")
    args = parser.parse_args(argv)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one access-log line per connect
    result = run(args.events, rest=args.rest, state=args.state)
    source = "REST publish" if args.rest else "bus publish"
    durable = ", durable state" if args.state else ""
    print(f"devorg streaming: {source}{durable}, one CometD long-polling subscriber")
    print(f"  events published      {result['events']}")
    print(f"  events delivered      {result['delivered']}")
    print(f"  publish time          {result['publish_seconds']:.3f} s")
    print(f"  delivery time         {result['delivery_seconds']:.3f} s")
    lag = result["delivery_seconds"] - result["publish_seconds"]
    print(f"  last event lag        {lag * 1000:.0f} ms after the last publish")
    print(f"  connects with events  {result['connects_with_events']}")
    print(f"  median events/connect {result['median_batch']}")
    verdict = "ok" if result["per_second"] >= TARGET_PER_SECOND else "BELOW TARGET"
    print(
        f"  delivered per second  {result['per_second']:.0f} "
        f"(target >= {TARGET_PER_SECOND}: {verdict})"
    )
    if args.rest:
        print("  (with --rest the rate is bounded by REST publishing, one HTTP call per event)")
    complete = result["delivered"] == result["events"]
    # --rest measures REST publishing as much as delivery, so only its completeness counts.
    fast = args.rest or result["per_second"] >= TARGET_PER_SECOND
    return 0 if complete and fast else 1


if __name__ == "__main__":
    raise SystemExit(main())
