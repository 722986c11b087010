"""The sync part of ``credit-control demo``: a local org, the worker, and what to show.

``start_demo_sync`` starts devorg (HTTPS on localhost), creates one Account per demo customer
(the admin's side of the link: ``ERP_Customer_Number__c``), queues every customer and starts the
worker in this process, so the demo's Accounts fill in within seconds. ``print_demo_sync`` shows
the Accounts as the org holds them and one copy-paste line that logs a promise to pay in the org;
a watcher prints each Account change the worker makes, so the loop can be seen working.
"""

from __future__ import annotations

import json
import shlex
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from devorg.cometd import streaming_for
from devorg.org import DevOrg
from simple_salesforce import format_soql
from sqlalchemy import select

from service import outbox
from service.config import SyncSettings, salesforce_settings
from service.db import transaction
from service.models import Customer, OutboxMessage
from service.paylinks import PayLinks
from service.salesforce.client import SalesforceClient, build_client
from service.worker import Worker

Echo = Callable[[str], None]
SHOWN = (
    "Credit_Status__c",
    "Overdue_Amount__c",
    "Days_Past_Due__c",
    "Promise_To_Pay_Date__c",
    "In_Flight_Amount__c",
)


@dataclass
class DemoSync:
    org: DevOrg
    worker: Worker
    client: SalesforceClient
    settings: SyncSettings
    accounts: dict[str, str]  # ERP number -> Account Id
    stop: threading.Event = field(default_factory=threading.Event)

    def close(self) -> None:
        self.stop.set()
        self.worker.shutdown(timeout=10)
        self.org.stop()


def start_demo_sync(
    engine,
    factory,
    echo: Echo,
    key_dir: Path = Path("var") / "devorg-demo",
    pay_links: PayLinks | None = None,
) -> DemoSync:
    # Plain HTTP too: the Lightning preview's pages open on http://localhost (docs/preview.md).
    org = DevOrg(key_dir=key_dir).start(http_port=0)
    streaming_for(org).configure(hold_seconds=25.0)
    settings = salesforce_settings(org.env_settings()).with_(push_idle_seconds=0.05)
    client = build_client(settings)
    with factory() as session:
        customers = session.execute(select(Customer.id, Customer.number, Customer.name)).all()
    accounts: dict[str, str] = {}
    for start in range(0, len(customers), 200):
        chunk = customers[start : start + 200]
        records = [
            {"attributes": {"type": "Account"}, "Name": name, "ERP_Customer_Number__c": number}
            for _, number, name in chunk
        ]
        results = client.rest("POST", "composite/sobjects", {"allOrNone": True, "records": records})
        accounts.update({number: r["id"] for (_, number, _), r in zip(chunk, results, strict=True)})
    with transaction(factory) as session:
        outbox.queue_for_salesforce(session, [cid for cid, _, _ in customers])
    worker = Worker(engine, factory, settings, schedule=False, pay_links=pay_links).start()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with factory() as session:
            waiting = session.scalar(
                select(OutboxMessage.id)
                .where(OutboxMessage.status.in_(("pending", "in_flight")))
                .limit(1)
            )
        if waiting is None:
            break
        time.sleep(0.1)
    sync = DemoSync(org, worker, client, settings, accounts)
    _watch(sync, echo)
    return sync


def org_accounts(sync: DemoSync) -> list[dict]:
    soql = format_soql(
        "SELECT Id, Name, ERP_Customer_Number__c, {fields:literal} FROM Account "
        "WHERE ERP_Customer_Number__c != null ORDER BY ERP_Customer_Number__c",
        fields=", ".join(SHOWN),
    )
    return sync.client.query_all(soql)


def promise_line(sync: DemoSync, number: str, amount: str, on: date) -> str:
    """A curl command that logs a promise to pay in devorg, as a collector would."""
    body = {
        "Account__c": sync.accounts[number],
        "Type__c": "Promise to Pay",
        "Promised_Amount__c": float(amount),
        "Promised_Date__c": on.isoformat(),
    }
    token = sync.client.auth.token().access_token  # a local devorg session, shown on purpose
    url = f"{sync.client.instance_url}/services/data/v{sync.settings.api_version}/sobjects/Collection_Action__c"
    return " ".join(
        [
            "curl -s --cacert",
            shlex.quote(str(sync.settings.ca_bundle)),
            "-H",
            shlex.quote(f"Authorization: Bearer {token}"),
            "-H 'Content-Type: application/json' -d",
            shlex.quote(json.dumps(body)),
            shlex.quote(url),
        ]
    )


def print_demo_sync(sync: DemoSync, echo: Echo, today: date) -> None:
    rows = org_accounts(sync)
    echo("")
    echo(f"Salesforce (devorg at {sync.client.instance_url}) — Accounts as the org holds them:")
    echo(f"{'ACCOUNT':<8} {'NAME':<22} {'STATUS':<6} {'OVERDUE':>12} {'DPD':>4}  PROMISE")
    for r in rows:
        overdue = r.get("Overdue_Amount__c")
        echo(
            f"{r['ERP_Customer_Number__c']:<8} {r['Name'][:22]:<22} {r.get('Credit_Status__c') or '-':<6} "
            f"{(f'{overdue:,.2f}' if overdue is not None else '-'):>12} {int(r.get('Days_Past_Due__c') or 0):>4}  "
            f"{r.get('Promise_To_Pay_Date__c') or ''}"
        )
    target = next(
        (r for r in rows if r.get("Credit_Status__c") == "HOLD"), rows[0] if rows else None
    )
    if target is None:
        return
    amount = f"{target.get('Overdue_Amount__c') or 100:.2f}"
    echo("")
    echo(
        f"Log a promise to pay for {target['ERP_Customer_Number__c']} in Salesforce, then watch its Account change:"
    )
    echo(
        "  "
        + promise_line(sync, target["ERP_Customer_Number__c"], amount, today + timedelta(days=7))
    )
    echo("")


def _watch(sync: DemoSync, echo: Echo) -> None:
    """Print each Account change the worker makes (read from the org's change events)."""
    bus = sync.org.bus
    numbers = {acc[:15]: number for number, acc in sync.accounts.items()}
    mark = bus.last_replay_id()

    def run() -> None:
        nonlocal mark
        while not sync.stop.wait(0.3):
            for event in bus.events_after("/data/AccountChangeEvent", mark):
                mark = max(mark, event.replay_id)
                payload = event.data["payload"]
                header = payload.get("ChangeEventHeader", {})
                changed = [f"{f}={payload[f]}" for f in SHOWN if f in payload]
                if header.get("changeType") != "UPDATE" or not changed:
                    continue
                for rid in header.get("recordIds", []):
                    echo(
                        f"  Salesforce Account {numbers.get(rid[:15], rid)} updated: {', '.join(changed)}"
                    )

    threading.Thread(target=run, name="demo-watch", daemon=True).start()
