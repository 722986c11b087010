"""No echo: change events delivered back to the worker per 1,000 Accounts it pushes, and per
1,000 Collection_Action__c it logs (target 0 each).

The worker subscribes to the package's custom channel ``/data/CreditControlSync__chn``, whose
members (Account, Collection_Action__c, Bank_Credit_Review__c) filter out the changes made by
the service's own client (``changeOrigin`` names ``client=credit-control``). This bench pushes
1,000 changed Accounts through the real pusher (composite collections), then the same 1,000
again as one Bulk API 2.0 job, then logs 1,000 "Reminder Sent" actions (one per Account, as a
dunning run does), against an in-process devorg over HTTPS, with the worker's own Bayeux client
subscribed to the worker's channels meanwhile. It counts:

- events delivered to that subscriber (target 0 per 1,000 pushed Accounts, 0 per 1,000 actions);
- the change events the same writes put on the standard ``/data/AccountChangeEvent`` and
  ``/data/Collection_Action__ChangeEvent`` channels (what the worker received before: one each);
- a person's edit of one Account and a person's promise (a client without the header) after
  the writes: each must be delivered (1), or the filter would hide real changes.

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
from service import outbox
from service.db import transaction
from service.models import CollectionAction
from service.salesforce.cometd import BayeuxClient
from service.salesforce.handlers import ACTION_CHANNEL, ACTION_OBJECT, STANDARD_ACCOUNT_CHANNEL
from service.salesforce.http import make_http_session

TARGET = 0


class Listener:
    """The worker's Bayeux client on the worker's channels; counts what reaches it."""

    def __init__(self, bench: Bench) -> None:
        self.stop = threading.Event()
        self.received: dict[str, int] = {}  # by the object the change event is about
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
                header = event.payload.get("ChangeEventHeader") or {}
                entity = header.get("entityName") or event.channel
                self.received[entity] = self.received.get(entity, 0) + 1

    def close(self) -> None:
        self.stop.set()


def person_writes(bench: Bench, method: str, path: str, body: dict) -> None:
    """A person's change: plain REST with the org's token and no Sforce-Call-Options header."""
    url = f"{bench.client.instance_url}/services/data/v{bench.settings.api_version}/{path}"
    token = bench.client.auth.token().access_token
    response = requests.request(
        method,
        url,
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        verify=bench.settings.ca_bundle or True,
        timeout=10,
    )
    response.raise_for_status()


def log_reminders(bench: Bench, customer_ids: list[int]) -> None:
    """One "Reminder Sent" action per customer, queued as the dunning sender queues them."""
    with transaction(bench.factory) as s:
        for cid in customer_ids:
            action = CollectionAction(customer_id=cid, type="Reminder Sent", origin="Service")
            s.add(action)
            s.flush()
            outbox.enqueue(s, outbox.COLLECTION_ACTION, outbox.collection_action_target(action.id))


def changes_on(bench: Bench, channel: str, mark: int) -> int:
    return sum(
        len(e.data["payload"]["ChangeEventHeader"]["recordIds"])
        for e in bench.org.bus.events_after(channel, mark, limit=10**7)
    )


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
            echoed = listener.received.get("Account", 0)
            standard = changes_on(bench, STANDARD_ACCOUNT_CHANNEL, mark)

            mark = bus.last_replay_id()
            log_reminders(bench, ids)
            bench.drain(bench.settings)
            wait_quiet(listener)
            actions_echoed = listener.received.get(ACTION_OBJECT, 0)
            actions_standard = changes_on(bench, ACTION_CHANNEL, mark)

            first = accounts[0][1]
            person_writes(bench, "PATCH", f"sobjects/Account/{first}", {"Credit_Limit__c": 12345})
            promise = {
                "Account__c": first,
                "Type__c": "Promise to Pay",
                "Promised_Amount__c": 100,
                "Promised_Date__c": "2031-01-15",
            }
            person_writes(bench, "POST", f"sobjects/{ACTION_OBJECT}", promise)
            wait_quiet(listener)
            heard = listener.received.get("Account", 0) - echoed
            heard_action = listener.received.get(ACTION_OBJECT, 0) - actions_echoed
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
    print(
        f"{ACTION_OBJECT} change events delivered to the worker for {n} actions it logged: "
        f"{actions_echoed} = {actions_echoed * 1000 / n:g} per 1,000 (target {TARGET})"
    )
    print(
        f"  the same actions on the standard {ACTION_CHANNEL}: {actions_standard} changes "
        f"(what the worker was delivered before the channel carried actions)"
    )
    print(f"  a person's edit of one Account after the pushes: {heard} delivered (expected 1)")
    print(f"  a person's promise after the actions: {heard_action} delivered (expected 1)")
    ok = echoed <= TARGET and actions_echoed <= TARGET and jobs >= 1
    return 0 if ok and heard == 1 and heard_action == 1 else 1


if __name__ == "__main__":
    raise SystemExit(main())
