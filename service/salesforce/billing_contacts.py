"""Which Salesforce Contacts are billing contacts, per Account (``billing_contacts``).

An admin or credit controller ticks ``Contact.Billing_Contact__c`` on a Contact of the Account;
dunning sends the Account's reminders to the ticked Contacts' Email when the ERP gives the
customer no ``billing_email`` (``service.dunning.recipients``). The service learns them from
two sources:

* Contact change events (``/data/ContactChangeEvent``, ``Handlers.contact``): a row is kept
  while the box is ticked, the Email set and the Contact on an Account; unticking, clearing the
  Email, leaving the Account or deleting the Contact removes it, an undelete brings it back.
* ``reconcile``: every ticked Contact read by SOQL, by the worker at start and daily (once per
  cluster, ``service.job_runs``), so Contacts ticked before the subscription, or during an
  outage longer than the replay window, are known too.

The address is stored as Salesforce has it (an over-long one cut so it stays invalid) and
checked when a reminder is planned: an invalid address is reported there, never sent to.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Iterable
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from service import job_runs
from service.db import transaction, utcnow
from service.mail_address import MAX_LENGTH
from service.models import BillingContact
from service.salesforce_ids import to18

log = logging.getLogger(__name__)

CHANNEL = "/data/ContactChangeEvent"
FIELD = "Billing_Contact__c"
FIELDS = "Id, AccountId, Email, Billing_Contact__c"
FIELDS_OF_INTEREST = ("AccountId", "Email", FIELD)
QUERY = "SELECT Id, AccountId, Email FROM Contact WHERE Billing_Contact__c = true"
JOB = "billing-contacts"


def stored_email(value: Any) -> str | None:
    """The Email as stored: None when empty; over-long ones cut with ``...`` (never valid)."""
    if value is None or value == "":
        return None
    text = str(value)
    return text if len(text) <= MAX_LENGTH else text[: MAX_LENGTH - 3] + "..."


def apply(
    session: Session,
    contact_id: str,
    account_id: str | None,
    email: Any,
    ticked: bool,
    now: datetime | None = None,
) -> bool:
    """Keep (or drop) one Contact's row from its current state; True when the table changed.

    ``contact_id`` and ``account_id`` are 18-character ids (``service.salesforce_ids.to18``).
    """
    now = now or utcnow()
    row = session.get(BillingContact, contact_id)
    address = stored_email(email)
    if not ticked or address is None or not account_id:
        if row is None:
            return False
        session.delete(row)
        return True
    if row is None:
        session.add(
            BillingContact(
                contact_id=contact_id, account_id=account_id, email=address, updated_at=now
            )
        )
        return True
    changed = (row.account_id, row.email) != (account_id, address)
    row.account_id, row.email, row.updated_at = account_id, address, now
    return changed


def remove(session: Session, contact_ids: Iterable[str]) -> int:
    """Forget these Contacts (deleted in Salesforce); returns how many rows went."""
    ids = sorted(set(contact_ids))
    if not ids:
        return 0
    result = session.execute(
        delete(BillingContact)
        .where(BillingContact.contact_id.in_(ids))
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def reconcile(factory: sessionmaker[Session], query_all: Callable[[str], list[dict]]) -> int:
    """Make the table match the org's ticked Contacts; returns how many Contacts are known.

    Rows a change event wrote while the query ran are kept (their ``updated_at`` is later than
    the query's start): the event is newer than the snapshot.
    """
    started = utcnow()
    records = query_all(QUERY)
    seen: set[str] = set()
    with transaction(factory) as session:
        for record in records:
            try:
                contact = to18(record.get("Id"))
                account = to18(record["AccountId"]) if record.get("AccountId") else None
            except ValueError as exc:
                log.warning("billing contacts: skipped a Contact with a malformed id: %s", exc)
                continue
            row = session.get(BillingContact, contact)
            if row is not None and row.updated_at > started:
                seen.add(contact)
                continue
            apply(session, contact, account, record.get("Email"), True, started)
            if account and stored_email(record.get("Email")) is not None:
                seen.add(contact)
        stale = [
            cid
            for cid, at in session.execute(
                select(BillingContact.contact_id, BillingContact.updated_at)
            )
            if cid not in seen and at <= started
        ]
        session.flush()
        remove(session, stale)
    log.info("billing contacts: %s known, %s no longer ticked", len(seen), len(stale))
    return len(seen)


class Reconciler:
    """The worker's part: ``reconcile`` at start and daily at ``at`` (HH:MM in ``zone``), once
    per cluster (job ``billing-contacts``, one run a day)."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        query_all: Callable[[str], list[dict]],
        zone: tzinfo,
        at: str,
        stop: threading.Event,
    ):
        self.factory = factory
        self.query_all = query_all
        self.zone = zone
        self.at = at
        self.stop = stop
        self.busy = threading.Lock()
        self.holder = f"{threading.current_thread().name}:{uuid.uuid4().hex[:12]}"

    def next_run(self, now: datetime) -> datetime:
        hour, minute = (int(x) for x in self.at.split(":"))
        local = now.astimezone(self.zone)
        at = datetime.combine(local.date(), time(hour, minute), self.zone)
        return at if at > local else at + timedelta(days=1)

    def run(self) -> None:
        self.run_due()
        while not self.stop.is_set():
            wait = (self.next_run(utcnow()) - utcnow()).total_seconds()
            if self.stop.wait(max(1.0, min(wait, 3600))):
                return
            if wait <= 3600:
                self.run_due()

    def run_due(self, today: date | None = None) -> bool:
        """Reconcile unless another worker did today; False when it did not run or failed."""
        key = (today or datetime.now(self.zone).date()).isoformat()
        try:
            with self.busy:
                with transaction(self.factory) as session:
                    if not job_runs.start(session, JOB, key, self.holder):
                        return False
                reconcile(self.factory, self.query_all)
                with transaction(self.factory) as session:
                    job_runs.finish(session, JOB, key, self.holder)
            return True
        except Exception:
            # The claim stays unfinished: another worker takes it over once it is stale.
            log.exception("billing contacts: reconciliation failed")
            return False
