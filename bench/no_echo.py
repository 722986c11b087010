"""No echo: change events delivered back to the worker per 1,000 Accounts it pushes (target 0).

The worker subscribes to the package's custom channel ``/data/CreditControlSync__chn``, whose
member filters out the changes made by the service's own client (``changeOrigin`` names
``client=credit-control``). This bench pushes 1,000 changed Accounts through the real pusher
(composite collections), then the same 1,000 again as one Bulk API 2.0 job, against an
in-process devorg over HTTPS, with the worker's own Bayeux client subscribed to the worker's
channels meanwhile. It counts:

- events delivered to that subscriber (target 0 per 1,000 pushed Accounts);
- the change events the same pushes put on the standard ``/data/AccountChangeEvent`` channel
  (what the worker received before: one per Account);
- a person's edit of one Account (a client without the header) after the pushes: it must be
  delivered (1), or the filter would hide real changes.

    python -m bench.no_echo [--accounts 1000]
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

import requests

from bench.sync import Bench, load_average
from service.salesforce.cometd import BayeuxClient
from service.salesforce.handlers import ACCOUNT_CHANNEL, STANDARD_ACCOUNT_CHANNEL
from service.salesforce.http import make_http_session

TARGET = 0


class Listener:
    """The worker's Bayeux client on the worker's channels; counts what reaches it."""

    def __init__(self, bench: Bench) -> None:
        self.stop = threading.Event()
        self.received: dict[str, int] = {}
        self.bayeux = BayeuxClient(
            lambda: bench.client.instance_url,
            bench.client.auth,
            make_http_session(bench.settings, retries=False),
            api_version=bench.settings.api_version,
            replay={channel: -1 for channel in bench.settings.channels},
            stop=self.stop,
        )
        self.bayeux.start()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            for event in self.bayeux.poll():
                self.received[event.channel] = self.received.get(event.channel, 0) + 1

    def close(self) -> None:
        self.stop.set()


def person_edits(bench: Bench, account_id: str) -> None:
    """A person's change: plain REST with the org's token and no Sforce-Call-Options header."""
    url = f"{bench.client.instance_url}/services/data/v{bench.settings.api_version}/sobjects/Account/{account_id}"
    token = bench.client.auth.token().access_token
    response = requests.patch(
        url,
        json={"Credit_Limit__c": 12345},
        headers={"Authorization": f"Bearer {token}"},
        verify=bench.settings.ca_bundle or True,
        timeout=10,
    )
    response.raise_for_status()


def wait_quiet(listener: Listener, seconds: float = 2.0) -> None:
    """Until nothing new has arrived for ``seconds`` (the long poll answers at once when it does)."""
    last, since = -1, time.monotonic()
    while time.monotonic() - since < seconds:
        total = sum(listener.received.values())
        if total != last:
            last, since = total, time.monotonic()
        time.sleep(0.1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.no_echo")
    parser.add_argument("--accounts", type=int, default=1000)
    args = parser.parse_args(argv)
    n = args.accounts
    with tempfile.TemporaryDirectory() as tmp:
        bench = Bench(Path(tmp))
        try:
            accounts = bench.accounts(n)
            ids = bench.customers(accounts)
            listener = Listener(bench)  # subscribed when this returns
            if listener.bayeux.refused:
                raise SystemExit(f"subscriptions refused: {sorted(listener.bayeux.refused)}")
            bus = bench.org.bus
            mark = bus.last_replay_id()

            bench.queue(ids)
            bench.drain(bench.settings.with_(bulk_threshold=10**9))
            bench.change(ids, salt=1)
            bench.queue(ids)
            stats, _ = bench.drain(bench.settings.with_(bulk_threshold=max(1, n // 10)))
            jobs = sum(v for k, v in stats.items() if k.startswith("POST") and "jobs/ingest" in k)
            wait_quiet(listener)
            echoed = listener.received.get(ACCOUNT_CHANNEL, 0)
            standard = sum(
                len(e.data["payload"]["ChangeEventHeader"]["recordIds"])
                for e in bus.events_after(STANDARD_ACCOUNT_CHANNEL, mark, limit=10**7)
            )

            person_edits(bench, accounts[0][1])
            wait_quiet(listener)
            heard = listener.received.get(ACCOUNT_CHANNEL, 0) - echoed
            listener.close()
        finally:
            bench.close()
    per_thousand = echoed * 1000 / (2 * n)
    print(
        f"Account change events delivered to the worker for {2 * n} pushed Accounts "
        f"({n} by composite collections, {n} by one Bulk API 2.0 job): {echoed} "
        f"= {per_thousand:g} per 1,000 (target {TARGET})  [{load_average()}]"
    )
    print(
        f"  the same pushes on the standard {STANDARD_ACCOUNT_CHANNEL}: {standard} Account "
        f"changes (what the worker was delivered before the custom channel)"
    )
    print(f"  Bulk API 2.0 jobs created for the second push: {jobs}")
    print(f"  a person's edit of one Account after the pushes: {heard} delivered (expected 1)")
    return 0 if echoed <= TARGET and heard == 1 and jobs >= 1 else 1


if __name__ == "__main__":
    raise SystemExit(main())
