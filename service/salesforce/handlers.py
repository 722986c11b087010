"""What the service does with each event from Salesforce.

An explicit channel -> handler table (no signals), and for a custom channel, which carries
several objects' change events, an object -> handler table read by ``ChangeEventHeader.entityName``.
Each handler runs inside the subscriber's transaction: it applies the change to our tables,
re-assesses the customer and queues the push, so the new credit status reaches the Account by
the outbox, atomically with its cause.

By default the change events come on the package's custom channel ``/data/CreditControlSync__chn``,
whose members (Account, Collection_Action__c, Bank_Credit_Review__c) each filter out the changes
made by this service's own client: its pushes, the actions it logs and the reviews it upserts
never come back. The standard single-entity channels are handled alike where an admin subscribes
them instead (``SALESFORCE_CHANNELS``).

* ``Collection_Action__c`` (``/data/Collection_Action__ChangeEvent``): upsert the action by
  Salesforce Id. A CDC UPDATE carries only the changed fields, so they are merged into our row;
  when we have no row yet (or the event is a GAP_*), the record is re-read through REST instead.
  An action on an Account no customer is linked to yet is kept without a customer
  (``service.pending_actions``).
* ``Account`` (``/data/AccountChangeEvent``): link by ``ERP_Customer_Number__c`` (and attach the
  Account's waiting actions), take ``Credit_Limit__c``, ``Credit_Hold_Override_Until__c`` and
  ``Dunning_Paused_Until__c``. Changes
  that touch none of these are ignored, which also keeps push -> CDC -> push from looping where
  the standard channel is subscribed.
* ``Bank_Credit_Review__c`` (``/data/Bank_Credit_Review__ChangeEvent``): a person's choice of
  candidate is applied; every other change is ignored.
* ``/data/ContactChangeEvent``: keep the Account's billing contacts (Contacts with
  ``Billing_Contact__c`` ticked and an Email) for dunning (``service.salesforce.billing_contacts``).
  Changes to other Contact fields are ignored; an UPDATE that says too little to decide (the box
  ticked on a Contact we hold no row for, without its Email) re-reads the Contact through REST.
* ``/event/Credit_Review_Request__e``: re-assess at once and always publish a status event.
* ``/event/Payment_Received__e``: a provisional payment, counted until the ERP posts it
  (``service.payment_matching`` says when a posting is the same payment).

Account ids are compared exactly, in their 18-character form (``service.salesforce_ids``); an
event naming a malformed one is rejected.

A handler raises ``EventRejected`` for an event it can never apply (unknown account, malformed
payload): the subscriber records it as failed in the inbox, advances the cursor, changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from service import outbox, payment_matching
from service.inbox import FAILED, WAITING
from service.models import (
    PROVISIONAL,
    SUPERSEDED,
    BillingContact,
    CashApplication,
    CollectionAction,
    Customer,
    InboxMessage,
    OutboxMessage,
    Payment,
    Receivable,
)
from service.pending_actions import attach_pending_actions
from service.salesforce import billing_contacts, reviews
from service.salesforce.cometd import StreamEvent
from service.salesforce.errors import PermanentError
from service.salesforce_ids import to18

log = logging.getLogger(__name__)

ACTION_CHANNEL = "/data/Collection_Action__ChangeEvent"
ACTION_OBJECT = "Collection_Action__c"
# The package's custom channel: Account, Collection_Action__c and Bank_Credit_Review__c change
# events, each member filtering out the changes this service's own client makes.
SYNC_CHANNEL = "/data/CreditControlSync__chn"
ACCOUNT_CHANNEL = SYNC_CHANNEL  # where Account changes come from by default
STANDARD_ACCOUNT_CHANNEL = "/data/AccountChangeEvent"
REVIEW_CHANNEL = "/event/Credit_Review_Request__e"
PAYMENT_CHANNEL = "/event/Payment_Received__e"
CONTACT_CHANNEL = billing_contacts.CHANNEL

ACCOUNT_FIELDS_OF_INTEREST = (
    "ERP_Customer_Number__c",
    "Credit_Limit__c",
    "Credit_Hold_Override_Until__c",
    # Dunning: no reminders up to this day; the worker's quick dunning loop answers it.
    "Dunning_Paused_Until__c",
)
PAYMENT_SOURCE = "salesforce"


INBOX_SOURCE = "salesforce"  # the inbox rows of the events the subscriber receives


class AwaitingLink(Exception):
    """The event is about an Account no customer is linked to yet: keep it until one is.

    People announce payments and ask for reviews on Accounts whose ERP number is not set yet;
    the event waits in the inbox (``waiting``) and is applied when the link appears
    (``Handlers.apply_waiting``).
    """

    def __init__(self, what: str, account: str | None, number: str | None) -> None:
        super().__init__(f"{what}: no customer is linked to this Account yet; applied when one is")
        self.account = account
        self.number = number


class EventRejected(Exception):
    """This event can never be applied (unknown account, malformed payload): record and move on."""


Reassess = Callable[[Session, list[int]], None]
ReadRecord = Callable[[str, str], dict[str, Any] | None]
# (session, cash application id, candidate number) -> (outcome, customers, receivables moved):
# a person's choice on a Bank_Credit_Review__c, applied by ``service.cash_application``.
DecideBankCredit = Callable[[Session, int, int], tuple[str, set[int], set[int]]]


# -- value parsing ------------------------------------------------------------------------


def _money(value: Any, name: str) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        result = Decimal(str(value))
    except InvalidOperation:
        raise EventRejected(f"{name} is not a number: {value!r}") from None
    if not result.is_finite():
        raise EventRejected(f"{name} is not a finite number")
    return result


def _date(value: Any, name: str) -> date | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise EventRejected(f"{name} is not a date: {value!r}") from None


def _instant(value: Any, name: str) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value / 1000, UTC)
    text = str(value).replace("Z", "+00:00")
    if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":
        text = text[:-2] + ":" + text[-2:]  # Salesforce's +0000
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise EventRejected(f"{name} is not a date-time: {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def account_id(value: Any, name: str) -> str | None:
    """An Account id from an event in its 18-character form; ``EventRejected`` when malformed."""
    if value is None or value == "":
        return None
    try:
        return to18(value)
    except ValueError as exc:
        raise EventRejected(f"{name}: {exc}") from None


def is_custom_channel(channel: str) -> bool:
    """A custom change-event channel (``/data/Name__chn``): several objects' events on one."""
    return channel.startswith("/data/") and channel.endswith("__chn")


def entity_name(event: StreamEvent) -> str | None:
    """The object a change event is about (``ChangeEventHeader.entityName``), if it says."""
    payload = event.payload if isinstance(event.payload, dict) else {}
    header = payload.get("ChangeEventHeader")
    name = header.get("entityName") if isinstance(header, dict) else None
    return name if isinstance(name, str) and name else None


def is_about(event: StreamEvent, channel: str, entity: str) -> bool:
    """Is the event a change of ``entity``: on its own channel, or on a custom channel?"""
    if event.channel == channel:
        return True
    return is_custom_channel(event.channel) and entity_name(event) == entity


def customer_by_account(session: Session, account: str | None) -> Customer | None:
    """The customer linked to an Account (its id in 18-character form, as stored)."""
    if not account:
        return None
    return session.scalars(
        select(Customer).where(Customer.salesforce_account_id == account)
    ).first()


def _own_action(session: Session, service_id: Any) -> CollectionAction | None:
    """The action this service logged and pushed with ``Service_Action_Id__c`` = ``cc-<id>``."""
    if not isinstance(service_id, str) or not service_id.startswith("cc-"):
        return None
    number = service_id[3:]
    return session.get(CollectionAction, int(number)) if number.isdecimal() else None


def requeue_unmatched(session: Session, customer_id: int) -> None:
    """A customer just got an Account: give its 'unmatched' outbox rows another go."""
    session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.target == outbox.account_target(customer_id),
            OutboxMessage.status == outbox.UNMATCHED,
        )
        .values(status=outbox.SENT, last_error="superseded by a new push after linking")
    )


# -- the handlers -------------------------------------------------------------------------


class Handlers:
    """The channel -> handler table, with what the handlers need injected (no globals)."""

    def __init__(
        self,
        reassess: Reassess,
        read_record: ReadRecord,
        decide_bank_credit: DecideBankCredit | None = None,
    ):
        self.reassess = reassess
        self.read_record = read_record
        self.decide_bank_credit = decide_bank_credit
        # Inside ``batch()``: customer id -> announce, re-assessed once at the end of the batch.
        self._touched: dict[int, bool] | None = None
        self._receivables: set[int] = set()
        # Account Id (18) -> customer, per batch. The objects themselves: the session's identity
        # map holds them only weakly, and an id alone costs a SELECT per event once they are gone.
        self._customers: dict[str, Customer] = {}
        self._actions: dict[str, CollectionAction] = {}
        self._actions_known: set[str] = set()
        self.table: dict[str, Callable[[Session, StreamEvent], str]] = {
            ACTION_CHANNEL: self.collection_action,
            STANDARD_ACCOUNT_CHANNEL: self.account,
            REVIEW_CHANNEL: self.review_request,
            PAYMENT_CHANNEL: self.payment_received,
            reviews.CHANNEL: self.bank_credit_review,
            CONTACT_CHANNEL: self.contact,
        }
        # A custom channel carries several objects' change events: each goes to its object's
        # handler by ``ChangeEventHeader.entityName``.
        self.entities: dict[str, Callable[[Session, StreamEvent], str]] = {
            ACTION_OBJECT: self.collection_action,
            "Account": self.account,
            reviews.OBJECT: self.bank_credit_review,
        }

    def handler_for(self, event: StreamEvent) -> Callable[[Session, StreamEvent], str]:
        """The handler of a standard channel, or of the entity a custom channel's event is about."""
        if not is_custom_channel(event.channel):
            handler = self.table.get(event.channel)
            if handler is None:
                raise EventRejected(f"no handler for channel {event.channel}")
            return handler
        entity = entity_name(event)
        handler = self.entities.get(entity) if entity else None
        if handler is None:
            raise EventRejected(f"no handler for {entity or 'a change event'} on {event.channel}")
        return handler

    def handle(self, session: Session, event: StreamEvent) -> str:
        """Apply one event; returns a short outcome for the inbox (``processed``/``ignored``)."""
        if not isinstance(event.payload, dict):
            raise EventRejected("event payload is not an object")
        handler = self.handler_for(event)
        saved = None if self._touched is None else (dict(self._touched), set(self._receivables))
        try:
            return handler(session, event)
        except Exception:
            if saved is not None:  # the caller rolls this event's savepoint back: forget it too
                self._touched, self._receivables = saved
            raise

    @contextmanager
    def batch(self, session: Session) -> Iterator[None]:
        """Handle several events, then re-assess and queue each touched customer once.

        A burst of 200 events on 50 customers costs 50 re-assessments in one transaction
        instead of 200 transactions; the pusher then sees one outbox row per Account.
        """
        self._touched, self._receivables, self._customers = {}, set(), {}
        try:
            yield
            touched, receivables = self._touched, self._receivables
        finally:
            self._touched, self._receivables, self._customers = None, set(), {}
            self._actions, self._actions_known = {}, set()
        self._apply(session, touched, receivables)

    def prefetch(self, session: Session, events: Iterable[StreamEvent]) -> None:
        """Load the batch's customers and known actions in two queries instead of two per event."""
        if self._touched is None:
            return
        accounts: set[str] = set()
        actions: set[str] = set()
        for event in events:
            payload = event.payload if isinstance(event.payload, dict) else {}
            for key in ("Account__c", "Account_Id__c"):
                try:
                    account = to18(payload.get(key))
                except ValueError:
                    continue  # the handler rejects the event
                accounts.add(account)
            if is_about(event, ACTION_CHANNEL, ACTION_OBJECT):
                header = payload.get("ChangeEventHeader") or {}
                for rid in header.get("recordIds") or []:
                    if isinstance(rid, str):
                        actions.update({rid, rid[:15]})
        if accounts:
            for customer in session.scalars(
                select(Customer).where(Customer.salesforce_account_id.in_(sorted(accounts)))
            ):
                self._customers[customer.salesforce_account_id] = customer
        if actions:
            self._actions = {
                a.salesforce_id[:15]: a
                for a in session.scalars(
                    select(CollectionAction).where(
                        CollectionAction.salesforce_id.in_(sorted(actions))
                    )
                )
            }
            self._actions_known = {r[:15] for r in actions}

    def _customer(self, session: Session, account: str | None) -> Customer | None:
        """customer_by_account, remembered for the batch (bursts hit the same Accounts)."""
        if not account:
            return None
        customer = self._customers.get(account)
        if customer is not None:
            return customer
        customer = customer_by_account(session, account)
        if customer is not None and self._touched is not None:
            self._customers[account] = customer
        return customer

    def _changed(
        self, session: Session, customer_ids: Iterable[int], receivable_ids=(), *, announce=False
    ) -> None:
        if self._touched is not None:
            for cid in customer_ids:
                self._touched[cid] = self._touched.get(cid, False) or announce
            self._receivables.update(receivable_ids)
            return
        self._apply(session, dict.fromkeys(customer_ids, announce), set(receivable_ids))

    def _apply(self, session: Session, touched: dict[int, bool], receivables: set[int]) -> None:
        # The re-assessment must read the batch's changes, and it may read them without the
        # ORM (no autoflush): write them first.
        session.flush()
        ids = sorted(touched)
        if ids:
            self.reassess(session, ids)
        outbox.queue_for_salesforce(
            session, [c for c in ids if not touched[c]], sorted(receivables)
        )
        announced = [c for c in ids if touched[c]]
        if announced:
            outbox.queue_for_salesforce(session, announced, announce=True)

    # -- Collection_Action__c --------------------------------------------------------------

    def collection_action(self, session: Session, event: StreamEvent) -> str:
        payload = dict(event.payload)
        header = payload.pop("ChangeEventHeader", None)
        if not isinstance(header, dict) or not header.get("recordIds"):
            raise EventRejected("change event without ChangeEventHeader.recordIds")
        change = str(header.get("changeType", ""))
        touched: set[int] = set()
        stored = False
        for record_id in header["recordIds"]:
            changed = self._apply_action(session, record_id, change, payload)
            stored = stored or changed is not None
            touched |= changed or set()
        touched.discard(None)
        if touched:
            self._changed(session, touched)
        return "processed" if stored else "ignored"

    def _apply_action(
        self, session: Session, record_id: str, change: str, body: dict[str, Any]
    ) -> set[int | None] | None:
        """Apply one record's change; the customers it moved, or None when nothing changed."""
        if record_id[:15] in self._actions_known:  # prefetched for the batch
            row = self._actions.get(record_id[:15])
        else:
            row = session.scalars(
                select(CollectionAction).where(
                    CollectionAction.salesforce_id.in_({record_id, record_id[:15]})
                )
            ).first()
        if change == "DELETE":
            if row is None or row.is_deleted:
                return None
            row.is_deleted = True
            return {row.customer_id}
        fields = dict(body)
        if (
            change.startswith("GAP")
            or (row is None and change != "CREATE")
            or (row is None and "Account__c" not in fields)
        ):
            fetched = self.read_record("Collection_Action__c", record_id)
            if fetched is None:
                raise EventRejected(f"Collection_Action__c {record_id} no longer exists")
            fields = fetched
        if change == "UNDELETE" and row is not None:
            row.is_deleted = False
        before = row.customer_id if row is not None else None
        account = account_id(fields.get("Account__c"), "Account__c")
        if account is None and row is None:
            raise EventRejected(f"Collection_Action__c {record_id} without Account__c")
        # An Account no customer is linked to yet: the action waits for the link (customer None).
        customer = self._customer(session, account)
        if row is None:
            row = _own_action(session, fields.get("Service_Action_Id__c"))
            if row is not None:  # our own push echoing back: link it, do not log it twice
                row.salesforce_id = record_id[:18]
                self._actions[record_id[:15]] = row
        if row is None:
            row = CollectionAction(salesforce_id=record_id[:18], type="Note")
            row.occurred_at = _instant(fields.get("CreatedDate"), "CreatedDate") or datetime.now(
                UTC
            )
            session.add(row)
            self._actions[record_id[:15]] = row  # a later event of this batch finds it
        if account is not None:
            row.salesforce_account_id = account
            row.customer_id = customer.id if customer is not None else None
        self._merge_action(session, row, fields)
        # In a batch the new and changed actions are flushed together (one multi-row INSERT)
        # before the batch re-assesses its customers; later events of the batch find them in
        # ``self._actions``.
        if self._touched is None:
            session.flush()
        return {row.customer_id} | ({before} if before else set())

    def _merge_action(self, session: Session, row: CollectionAction, f: dict[str, Any]) -> None:
        """Copy the fields present in the event (a present null clears the value)."""
        if "Type__c" in f:
            if not f["Type__c"]:
                raise EventRejected("Collection_Action__c without Type__c")
            row.type = str(f["Type__c"])[:40]
        text = {
            "Outcome__c": ("outcome", 255),
            "Dispute_Reason__c": ("dispute_reason", 255),
            "Dispute_Status__c": ("dispute_status", 40),
            "Notes__c": ("notes", 100_000),
        }
        for name, (attr, size) in text.items():
            if name in f:
                setattr(row, attr, None if f[name] is None else str(f[name])[:size])
        for name, attr in (
            ("Promised_Amount__c", "promised_amount"),
            ("Disputed_Amount__c", "disputed_amount"),
        ):
            if name in f:
                setattr(row, attr, _money(f[name], name))
        for name, attr in (
            ("Promised_Date__c", "promised_date"),
            ("Follow_Up_Date__c", "follow_up_date"),
            ("Override_Until__c", "override_until"),
        ):
            if name in f:
                setattr(row, attr, _date(f[name], name))
        if f.get("Source__c"):
            row.origin = str(f["Source__c"])[:20]
        if "Receivable__c" in f:
            rid = f["Receivable__c"]
            row.receivable_id = (
                session.scalars(
                    select(Receivable.id).where(Receivable.salesforce_id.in_({rid, rid[:15]}))
                ).first()
                if rid
                else None
            )
        if row.type == "Dispute" and row.dispute_status is None:
            row.dispute_status = "Open"

    # -- Account -------------------------------------------------------------------------

    def account(self, session: Session, event: StreamEvent) -> str:
        payload = dict(event.payload)
        header = payload.pop("ChangeEventHeader", None)
        if not isinstance(header, dict) or not header.get("recordIds"):
            raise EventRejected("change event without ChangeEventHeader.recordIds")
        change = str(header.get("changeType", ""))
        if change.startswith("GAP"):
            touched: set[int] = set()
            for record_id in header["recordIds"]:
                fetched = self.read_record("Account", record_id)
                if fetched is not None:
                    touched |= self._apply_account(session, record_id, fetched, "UPDATE")
            if touched:
                self._changed(session, touched)
            return "processed" if touched else "ignored"
        interesting = {k: payload[k] for k in ACCOUNT_FIELDS_OF_INTEREST if k in payload}
        if change != "DELETE" and not interesting:
            return "ignored"  # our own push echoing back, or fields we do not read
        touched = set()
        for record_id in header["recordIds"]:
            touched |= self._apply_account(session, record_id, interesting, change)
        if touched:
            self._changed(session, touched)
        return "processed" if touched else "ignored"

    def _apply_account(
        self, session: Session, record_id: str, f: dict[str, Any], change: str
    ) -> set[int]:
        self._customers.clear()  # links may change below
        record_id = account_id(record_id, "ChangeEventHeader.recordIds")
        linked = customer_by_account(session, record_id)
        touched: set[int] = set()
        if change == "DELETE":
            if linked is not None:
                linked.salesforce_account_id = None
                touched.add(linked.id)
            return touched
        customer = linked
        if "ERP_Customer_Number__c" in f:
            number = f["ERP_Customer_Number__c"]
            target = (
                session.scalars(select(Customer).where(Customer.number == str(number))).first()
                if number
                else None
            )
            if linked is not None and (target is None or target.id != linked.id):
                linked.salesforce_account_id = None  # the number moved away from this customer
                touched.add(linked.id)
            if target is not None and target.salesforce_account_id != record_id:
                target.salesforce_account_id = record_id
                requeue_unmatched(session, target.id)
            if target is not None:
                attach_pending_actions(session, {target.id: record_id})
                self.apply_waiting(session, {record_id}, {target.number})
            customer = target
            if target is None:
                # An Account whose ERP number we do not know (yet): nothing to link. The pusher
                # looks the number up again when the ERP sends that customer.
                session.flush()
                return touched
        if customer is None:
            raise EventRejected(f"Account {record_id} is not linked to any customer")
        if "Credit_Limit__c" in f:
            customer.credit_limit = _money(f["Credit_Limit__c"], "Credit_Limit__c")
        if "Credit_Hold_Override_Until__c" in f:
            customer.hold_override_until = _date(
                f["Credit_Hold_Override_Until__c"], "Credit_Hold_Override_Until__c"
            )
        if "Dunning_Paused_Until__c" in f:
            customer.dunning_paused_until = _date(
                f["Dunning_Paused_Until__c"], "Dunning_Paused_Until__c"
            )
        session.flush()
        touched.add(customer.id)
        return touched

    def apply_waiting(self, session: Session, accounts: set[str], numbers: set[str]) -> int:
        """Apply the waiting events that name one of these Accounts or ERP numbers, each in a
        savepoint of its own; returns how many were applied. Their customers are re-assessed
        with the caller's batch."""
        rows = session.scalars(
            select(InboxMessage)
            .where(InboxMessage.source == INBOX_SOURCE, InboxMessage.status == WAITING)
            .order_by(InboxMessage.id)
        ).all()
        applied = 0
        for row in rows:
            account, number = waiting_for(row)
            if account not in accounts and number not in numbers:
                continue
            try:
                with session.begin_nested():
                    row.status, row.error = self.handle(session, event_of(row)), None
                applied += 1
            except AwaitingLink:
                continue  # named by number and by an Account that is still not linked
            except EventRejected as exc:
                row.status, row.error = FAILED, f"EventRejected: {exc}"
        if applied:
            log.info("applied %s event(s) that waited for their Account's link", applied)
        return applied

    def apply_linked_waiting(self, session: Session) -> int:
        """Apply every waiting event whose Account or ERP number now has a customer (links made
        by an ERP feed or the pusher, which do not pass through this module)."""
        named = [
            waiting_for(row)
            for row in session.scalars(
                select(InboxMessage).where(
                    InboxMessage.source == INBOX_SOURCE, InboxMessage.status == WAITING
                )
            )
        ]
        accounts = {a for a, _ in named if a}
        numbers = {n for _, n in named if n}
        if not accounts and not numbers:
            return 0
        linked_accounts = set(
            session.scalars(
                select(Customer.salesforce_account_id).where(
                    Customer.salesforce_account_id.in_(sorted(accounts))
                )
            )
        )
        known_numbers = set(
            session.scalars(select(Customer.number).where(Customer.number.in_(sorted(numbers))))
        )
        if not linked_accounts and not known_numbers:
            return 0
        return self.apply_waiting(session, linked_accounts, known_numbers)

    # -- Contact (billing contacts) --------------------------------------------------------

    def contact(self, session: Session, event: StreamEvent) -> str:
        payload = dict(event.payload)
        header = payload.pop("ChangeEventHeader", None)
        if not isinstance(header, dict) or not header.get("recordIds"):
            raise EventRejected("change event without ChangeEventHeader.recordIds")
        change = str(header.get("changeType", ""))
        ids = [account_id(r, "ChangeEventHeader.recordIds") for r in header["recordIds"]]
        if change == "DELETE":
            return "processed" if billing_contacts.remove(session, ids) else "ignored"
        f = {k: payload[k] for k in billing_contacts.FIELDS_OF_INTEREST if k in payload}
        if not change.startswith("GAP") and not f:
            return "ignored"  # a change to fields dunning does not read
        if "Email" in f and f["Email"] is not None and not isinstance(f["Email"], str):
            raise EventRejected("Contact Email is not text")
        changed = False
        for record_id in ids:
            known = session.get(BillingContact, record_id)
            full = change in ("CREATE", "UNDELETE")
            if change.startswith("GAP") or (
                not full and known is None and f.get(billing_contacts.FIELD) is not False
                and not all(k in f for k in billing_contacts.FIELDS_OF_INTEREST)
            ):  # fmt: skip
                fetched = self.read_record("Contact", record_id)
                if fetched is None:
                    changed |= bool(billing_contacts.remove(session, [record_id]))
                    continue
                state = {k: fetched.get(k) for k in billing_contacts.FIELDS_OF_INTEREST}
            elif full:
                state = {k: f.get(k) for k in billing_contacts.FIELDS_OF_INTEREST}
            else:  # an UPDATE carries only what changed: the rest is what we hold
                state = {
                    "AccountId": known.account_id if known else None,
                    "Email": known.email if known else None,
                    billing_contacts.FIELD: known is not None,
                    **f,
                }
            changed |= billing_contacts.apply(
                session,
                record_id,
                account_id(state["AccountId"], "AccountId"),
                state["Email"],
                state[billing_contacts.FIELD] is True,
            )
        return "processed" if changed else "ignored"

    # -- platform events -----------------------------------------------------------------

    def review_request(self, session: Session, event: StreamEvent) -> str:
        account = account_id(event.payload.get("Account_Id__c"), "Account_Id__c")
        if account is None:
            raise EventRejected("Credit_Review_Request__e without Account_Id__c")
        customer = self._customer(session, account)
        if customer is None:
            raise AwaitingLink(f"Credit_Review_Request__e for Account {account}", account, None)
        self._changed(session, [customer.id], announce=True)
        return "processed"

    def payment_received(self, session: Session, event: StreamEvent) -> str:
        p = event.payload
        customer = self._customer(session, account_id(p.get("Account_Id__c"), "Account_Id__c"))
        if customer is None and p.get("ERP_Customer_Number__c"):
            customer = session.scalars(
                select(Customer).where(Customer.number == str(p["ERP_Customer_Number__c"]))
            ).first()
        if customer is None:
            number = str(p["ERP_Customer_Number__c"]) if p.get("ERP_Customer_Number__c") else None
            account = account_id(p.get("Account_Id__c"), "Account_Id__c")
            if account is None and number is None:
                raise EventRejected("Payment_Received__e names no Account_Id__c or ERP number")
            where = account or f"ERP number {number}"
            raise AwaitingLink(f"Payment_Received__e for {where}", account, number)
        amount = _money(p.get("Amount__c"), "Amount__c")
        if amount is None or amount <= 0:
            raise EventRejected("Payment_Received__e needs a positive Amount__c")
        currency = str(p.get("Currency_Code__c") or customer.currency).upper()
        if len(currency) != 3:
            raise EventRejected(f"Currency_Code__c is not an ISO code: {currency!r}")
        received = _instant(p.get("Received_At__c"), "Received_At__c") or _instant(
            p.get("CreatedDate"), "CreatedDate"
        )
        external_id = event.event_uuid or f"{event.channel}:{event.replay_id}"
        if session.scalars(
            select(Payment.id).where(
                Payment.source == PAYMENT_SOURCE, Payment.external_id == external_id
            )
        ).first():
            return "ignored"
        reference = (str(p["Reference__c"])[:255]) if p.get("Reference__c") else None
        payment = Payment(
            source=PAYMENT_SOURCE,
            external_id=external_id,
            customer_id=customer.id,
            amount=amount,
            currency=currency,
            received_at=received or datetime.now(UTC),
            status=PROVISIONAL,
            reference=reference,
        )
        facts = payment_matching.PaymentFacts(
            0, customer.id, amount, currency, payment.received_at, reference
        )
        payment_matching.lock_customers(session, [customer.id])
        if payment_matching.announced_before(session, PAYMENT_SOURCE, facts):
            return "ignored"  # the same payment announced again (a Flow firing twice)
        # The ERP may have posted it already: then it is recorded but never counted.
        confirmed = payment_matching.confirmation_of(session, facts)
        if confirmed is not None:
            payment.status = SUPERSEDED
            payment.superseded_by_id = confirmed
        session.add(payment)
        session.flush()
        self._changed(session, [customer.id])
        return "processed"

    # -- Bank_Credit_Review__c ----------------------------------------------------------

    def bank_credit_review(self, session: Session, event: StreamEvent) -> str:
        """A person chose a candidate (``Apply_Candidate__c``): apply it. Every other change
        (our own pushes echo back as change events) is ignored."""
        payload = dict(event.payload)
        header = payload.pop("ChangeEventHeader", None)
        if not isinstance(header, dict) or not header.get("recordIds"):
            raise EventRejected("change event without ChangeEventHeader.recordIds")
        change = str(header.get("changeType", ""))
        if change == "DELETE" or (not change.startswith("GAP") and not payload.get(reviews.CHOICE)):
            return "ignored"
        if self.decide_bank_credit is None:
            raise EventRejected("bank credit reviews are not applied by this process")
        applied = False
        for record_id in header["recordIds"]:
            fields = payload
            if change.startswith("GAP") or reviews.KEY not in fields:
                known = session.scalars(
                    select(CashApplication.id).where(
                        CashApplication.salesforce_id.in_({record_id, record_id[:15]})
                    )
                ).first()
                if known is not None and not change.startswith("GAP"):
                    fields = {**payload, reviews.KEY: reviews.key(known)}
                else:
                    fetched = self.read_record(reviews.OBJECT, record_id)
                    if fetched is None:
                        raise EventRejected(f"{reviews.OBJECT} {record_id} no longer exists")
                    fields = fetched
            choice = fields.get(reviews.CHOICE)
            if not choice:
                continue
            number = str(choice)
            if not (number.isascii() and number.isdigit() and 1 <= int(number) <= 99):
                raise EventRejected(f"{reviews.CHOICE} is not a candidate number: {choice!r}")
            app_id = reviews.application_id(fields.get(reviews.KEY))
            if app_id is None:
                raise EventRejected(f"{reviews.OBJECT} {record_id} names no cash application")
            outcome, customers, receivables = self.decide_bank_credit(session, app_id, int(number))
            log.info("bank credit ca-%s: candidate %s: %s", app_id, number, outcome)
            if customers:
                self._changed(session, customers, receivables)
                applied = True
        return "processed" if applied else "ignored"


def event_of(row: InboxMessage) -> StreamEvent:
    """An event as it was delivered, rebuilt from its inbox row (channel and ``data``)."""
    data = row.payload or {}
    replay_id = (data.get("event") or {}).get("replayId") if isinstance(data, dict) else None
    return StreamEvent(row.kind, replay_id if isinstance(replay_id, int) else None, data)


def waiting_for(row: InboxMessage) -> tuple[str | None, str | None]:
    """(Account id, ERP number) a waiting event names, from its stored payload."""
    payload = (row.payload or {}).get("payload") if isinstance(row.payload, dict) else None
    if not isinstance(payload, dict):
        return None, None
    try:
        account = to18(payload.get("Account_Id__c")) if payload.get("Account_Id__c") else None
    except ValueError:
        account = None
    number = payload.get("ERP_Customer_Number__c")
    return account, (str(number) if number else None)


def is_permanent(exc: Exception) -> bool:
    """Errors that make an event unprocessable for good (as opposed to the DB or org being down)."""
    return isinstance(exc, EventRejected | PermanentError | ValueError | KeyError | TypeError)
