"""The service's tables.

Ownership follows design.md: the ERP owns customers, receivables and payments (we mirror them,
keyed by source and external id, and keep the source's ``updated_at`` so replays are harmless);
Salesforce owns what people do (collection actions, overrides, limits); the service owns the
assessments it computes and the plumbing that moves messages in (inbox) and out (outbox).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.db import Base, Money, UTCDateTime, utcnow

# Kinds of receivable, as the ERP feed names them.
INVOICE = "invoice"
CREDIT_NOTE = "credit_note"

# Payment states: a provisional payment (announced in Salesforce or by Stripe) counts until the
# ERP confirms it; the ERP's payment then replaces it, so money is never counted twice.
PROVISIONAL = "provisional"
CONFIRMED = "confirmed"
SUPERSEDED = "superseded"
# A provisional payment taken back before the ERP posted it (a card refund, a lost dispute).
REVERSED = "reversed"


class Customer(Base):
    """An ERP customer, linked to a Salesforce Account by ``ERP_Customer_Number__c``."""

    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(80), unique=True)
    source: Mapped[str] = mapped_column(String(80))
    name: Mapped[str] = mapped_column(String(255))
    currency: Mapped[str] = mapped_column(String(3))
    credit_limit: Mapped[Decimal | None] = mapped_column(Money)
    payment_terms_days: Mapped[int | None] = mapped_column(Integer)
    segment: Mapped[str | None] = mapped_column(String(80))
    salesforce_account_id: Mapped[str | None] = mapped_column(String(18), index=True)
    # The pay page's language (``de``, ``de-at``); None: the browser's Accept-Language decides.
    language: Mapped[str | None] = mapped_column(String(8))
    # Set in Salesforce by a permitted person; keeps the account out of HOLD until that date.
    hold_override_until: Mapped[date | None] = mapped_column(Date)
    # Dunning (service.dunning): where reminders go (the ERP feed's optional billing_email),
    # Account.Dunning_Paused_Until__c, the level last sent and the day the next one is due
    # (pushed as Dunning_Level__c and Next_Reminder_Date__c), and what the quick loop has seen.
    billing_email: Mapped[str | None] = mapped_column(String(320))
    dunning_paused_until: Mapped[date | None] = mapped_column(Date)
    dunning_level_sent: Mapped[int | None] = mapped_column(Integer)
    next_reminder_date: Mapped[date | None] = mapped_column(Date)
    dunning_seen_action_id: Mapped[int | None] = mapped_column(Integer)
    dunning_seen_pause: Mapped[date | None] = mapped_column(Date)
    source_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    receivables: Mapped[list[Receivable]] = relationship(back_populates="customer")


class Receivable(Base):
    """An invoice or credit note as the ERP last described it."""

    __tablename__ = "receivables"
    __table_args__ = (
        UniqueConstraint("source", "external_id"),
        Index("ix_receivables_customer_open", "customer_id", "is_open"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(80))
    external_id: Mapped[str] = mapped_column(String(120))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    kind: Mapped[str] = mapped_column(String(20))
    number: Mapped[str] = mapped_column(String(80))
    issue_date: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[Decimal] = mapped_column(Money)
    open_amount: Mapped[Decimal] = mapped_column(Money)
    # Denormalised from open_amount != 0 so the open book can be read through an index.
    is_open: Mapped[bool] = mapped_column(Boolean, default=True)
    # The date the item was settled, for payment behaviour (days to pay); None while open.
    closed_on: Mapped[date | None] = mapped_column(Date)
    pay_link: Mapped[str | None] = mapped_column(String(1000))
    salesforce_id: Mapped[str | None] = mapped_column(String(18))
    source_updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    customer: Mapped[Customer] = relationship(back_populates="receivables")


class Payment(Base):
    """Money received: confirmed by the ERP, or provisional (Salesforce, Stripe, bank file)."""

    __tablename__ = "payments"
    __table_args__ = (UniqueConstraint("source", "external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(80))
    external_id: Mapped[str] = mapped_column(String(120))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), default=CONFIRMED)
    reference: Mapped[str | None] = mapped_column(String(255))
    # A provisional payment points at the confirmed one that replaced it.
    superseded_by_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))
    source_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    allocations: Mapped[list[Allocation]] = relationship(
        back_populates="payment", cascade="all, delete-orphan"
    )


class Allocation(Base):
    """The part of a payment applied to one receivable; the rest of the payment is unapplied cash."""

    __tablename__ = "allocations"
    __table_args__ = (UniqueConstraint("payment_id", "receivable_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id", ondelete="CASCADE"))
    receivable_id: Mapped[int] = mapped_column(ForeignKey("receivables.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)

    payment: Mapped[Payment] = relationship(back_populates="allocations")


class CardPayment(Base):
    """What Stripe told us about one card payment (one PaymentIntent), from any of its events.

    Events arrive in any order; each one adds what it knows (who paid for which receivables, the
    amount received, refunded, a lost dispute) and ``service.card_payments.in_flight`` derives
    the provisional ``Payment`` from the sum of it. Amounts are in the currency's major unit.
    """

    __tablename__ = "card_payments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    payment_intent: Mapped[str] = mapped_column(String(255), unique=True)
    charge_id: Mapped[str | None] = mapped_column(String(255), index=True)
    checkout_session: Mapped[str | None] = mapped_column(String(255))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    # The ERP customer number the payment names. Kept while no such customer exists yet: the
    # payment is applied when the ERP feed brings the customer (``in_flight.adopt_waiting``).
    customer_number: Mapped[str | None] = mapped_column(String(80), index=True)
    # The ERP ids of the receivables paid for, in the order they were chosen.
    receivables: Mapped[list[str] | None] = mapped_column(JSON)
    pay_link: Mapped[str | None] = mapped_column(String(80))
    currency: Mapped[str | None] = mapped_column(String(3))
    amount: Mapped[Decimal | None] = mapped_column(Money)
    paid: Mapped[bool] = mapped_column(Boolean, default=False)
    refunded: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    dispute_lost: Mapped[bool] = mapped_column(Boolean, default=False)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class CollectionAction(Base):
    """A ``Collection_Action__c``: logged by people in Salesforce, or by the service itself.

    Promises, disputes and hold overrides are actions with a type; the engine reads them as such.
    An action logged on an Account no customer is linked to yet is kept with no customer and
    its Account's id; it is attached when the link appears (``service.pending_actions``).
    """

    __tablename__ = "collection_actions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    # The Account it was logged on (18-character form), kept for linking pending actions.
    salesforce_account_id: Mapped[str | None] = mapped_column(String(18), index=True)
    salesforce_id: Mapped[str | None] = mapped_column(String(18), unique=True)
    type: Mapped[str] = mapped_column(String(40))
    outcome: Mapped[str | None] = mapped_column(String(255))
    promised_amount: Mapped[Decimal | None] = mapped_column(Money)
    promised_date: Mapped[date | None] = mapped_column(Date)
    receivable_id: Mapped[int | None] = mapped_column(ForeignKey("receivables.id"))
    disputed_amount: Mapped[Decimal | None] = mapped_column(Money)
    dispute_reason: Mapped[str | None] = mapped_column(String(255))
    dispute_status: Mapped[str | None] = mapped_column(String(40))
    follow_up_date: Mapped[date | None] = mapped_column(Date)
    override_until: Mapped[date | None] = mapped_column(Date)
    notes: Mapped[str | None] = mapped_column(Text)
    origin: Mapped[str] = mapped_column(String(20), default="Salesforce")
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    is_deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Assessment(Base):
    """The current credit assessment of one customer, and what was last pushed to Salesforce."""

    __tablename__ = "assessments"

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    as_of: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), index=True)
    balance_outstanding: Mapped[Decimal] = mapped_column(Money)
    overdue_amount: Mapped[Decimal] = mapped_column(Money)
    days_past_due: Mapped[int] = mapped_column(Integer)
    risk_score: Mapped[int] = mapped_column(Integer)
    collection_priority: Mapped[int] = mapped_column(Integer, default=0, index=True)
    # The whole engine result (figures, reasons, factors) as JSON, money as decimal strings.
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    # An assessment that could not be made (say, a missing FX rate) records why, and the
    # last good figures stay in place.
    error: Mapped[str | None] = mapped_column(Text)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The Salesforce field values last acknowledged by the org, and their hash; the pusher sends
    # only what differs.
    pushed_fields: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    pushed_hash: Mapped[str | None] = mapped_column(String(64))
    pushed_status: Mapped[str | None] = mapped_column(String(10))
    pushed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AssessmentRequest(Base):
    """A customer whose data changed and whose assessment must be recomputed (a request log).

    Appended in the transaction that changed the data, deleted by id by whoever assessed the
    customer after reading that data (``service.assessments.queue`` explains why a log and not a
    flag). Several rows for one customer are normal and cost one assessment.
    """

    __tablename__ = "assessment_requests"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class InboxMessage(Base):
    """Every inbound message, recorded by its source id before it is acted on.

    The unique key makes a redelivered event or retried webhook a no-op the second time.
    """

    __tablename__ = "inbox"
    __table_args__ = (UniqueConstraint("source", "external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(80))
    external_id: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(80))
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default="processed")
    error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutboxMessage(Base):
    """A change that must reach Salesforce, written in the same transaction as its cause.

    ``target`` names what it updates (``Account:<customer id>``, ``Receivable__c:<id>``,
    ``event:<uuid>``); the pusher coalesces pending rows per target to the latest.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_pending", "status", "available_at"),
        # "Is this target already queued?" (every enqueue) and "is it in flight?" (every claim)
        # name the target, the status and the time: with all three in one index the planner
        # probes it per target instead of walking every pending row.
        Index("ix_outbox_target_state", "target", "status", "available_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    target: Mapped[str] = mapped_column(String(120))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    available_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    error_code: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Written by each claim; acknowledgements touch only rows that still carry it (a fence).
    claim_token: Mapped[str | None] = mapped_column(String(32))


class StreamCursor(Base):
    """The last replay id handled per CometD channel; written only after the handler commits."""

    __tablename__ = "stream_cursors"

    channel: Mapped[str] = mapped_column(String(255), primary_key=True)
    replay_id: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class JobRun(Base):
    """One run of a cluster-wide scheduled job (``daily-roll`` of one day), claimed by one worker.

    The primary key elects the worker: the first to insert the row runs the job, the others see
    it and skip. ``heartbeat_at`` lets a worker take over a run whose holder died mid-way.
    """

    __tablename__ = "job_runs"

    job: Mapped[str] = mapped_column(String(80), primary_key=True)
    run_key: Mapped[str] = mapped_column(String(80), primary_key=True)
    holder: Mapped[str] = mapped_column(String(255))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Lease(Base):
    """A named lease, so only one worker runs a singleton job (the CometD subscriber) on SQLite.

    PostgreSQL uses an advisory lock instead; the row is still written for visibility.
    """

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    holder: Mapped[str] = mapped_column(String(255))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Erasure(Base):
    """A customer erased on request (``credit-control customer erase``): its number and when.

    Every row about the customer is gone; this one keeps the number so that erasing it again is
    recognised (and finishes in Salesforce what was left there) rather than refused as unknown.
    ``salesforce_account_id`` and ``item_ids`` (the Receivable__c keys the service wrote) are
    kept only until the org has been cleaned (``org_done_at``), then cleared.
    """

    __tablename__ = "erasures"

    number: Mapped[str] = mapped_column(String(80), primary_key=True)
    erased_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    salesforce_account_id: Mapped[str | None] = mapped_column(String(18))
    item_ids: Mapped[list[str] | None] = mapped_column(JSON)
    org_done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# --- ERP connectors (service/connectors/) ------------------------------------------------------


class ConnectorCursor(Base):
    """Where a connector's pulls stand: its incremental marker and its last full reconciliation.

    ``position`` is the connector's own marker (``{"changed_on": "2026-12-05"}`` for SAP), stored
    in the same transaction as the rows of the page that moved it, so a killed pull resumes from
    the last page it committed and never skips one. ``name`` is ``<erp>`` for the pull and
    ``<erp>:actions`` for the closed loop's scan of collection actions.
    """

    __tablename__ = "connector_cursors"

    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    position: Mapped[dict[str, Any]] = mapped_column(JSON)
    full_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ErpWrite(Base):
    """One write the closed loop owes an ERP (a dispute case, a promise to pay), sent once.

    ``(connector, key)`` is unique and the key names the fact and its state (``dispute:12:open``),
    so a fact queued twice is queued once. Rows move pending -> sent, or back to pending after a
    retryable error (``available_at`` later), or dead after a permanent one. ``erp_reference``
    is what the ERP answered (its case id).
    """

    __tablename__ = "erp_writes"
    __table_args__ = (UniqueConstraint("connector", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connector: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    available_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    erp_reference: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# -- Operations: the worker's heartbeat, read by /readyz and /metrics in any process ----------


class WorkerHeartbeat(Base):
    """One worker process's latest word: alive at ``heartbeat_at``, and what it sees.

    Written every few seconds by each ``credit-control worker`` (``service.worker_status``);
    any web process reads the table, so ``/readyz`` and ``/metrics`` say the same whichever one
    answers. ``state`` holds the Salesforce login state, the API usage of the last
    ``Sforce-Limit-Info`` header, the worker's running parts and, on the subscriber's holder,
    when each channel's streaming session was last seen healthy.
    """

    __tablename__ = "worker_heartbeats"

    holder: Mapped[str] = mapped_column(String(255), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    state: Mapped[dict[str, Any]] = mapped_column(JSON)


# --- Bank statements (service/bank/) -------------------------------------------------------------


class BankTransaction(Base):
    """One booking read from a bank statement file, stored once (docs/bank.md, "Stored once").

    ``dedupe_key`` is ``service.bank.statement.Transaction.dedupe_key()``: a hash of (account,
    bank reference, direction, amount, booking date), so the same transaction reported in a
    camt.052, then a camt.054, then a camt.053 is one row. ``amount`` is positive; ``direction``
    says which way the money went. A reversal points at what it reverses (``reverses_id``).
    """

    __tablename__ = "bank_transactions"
    __table_args__ = (
        UniqueConstraint("dedupe_key"),
        # Finding what a reversal undoes: same account, amount and direction, latest first.
        Index("ix_bank_transactions_account_amount", "account", "amount", "direction"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(64))
    account: Mapped[str] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[Decimal] = mapped_column(Money(18, 4))
    direction: Mapped[str] = mapped_column(String(6))
    booking_date: Mapped[date] = mapped_column(Date)
    value_date: Mapped[date | None] = mapped_column(Date)
    bank_reference: Mapped[str | None] = mapped_column(String(255))
    end_to_end_id: Mapped[str | None] = mapped_column(String(255))
    payer_name: Mapped[str | None] = mapped_column(String(255))
    payer_iban: Mapped[str | None] = mapped_column(String(64))
    remittance: Mapped[str] = mapped_column(Text, default="")
    references: Mapped[list[str]] = mapped_column(JSON, default=list)
    reversal: Mapped[bool] = mapped_column(Boolean, default=False)
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("bank_transactions.id"), index=True)
    source_format: Mapped[str] = mapped_column(String(40))
    position: Mapped[str] = mapped_column(String(255))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# --- Cash application: bank credits matched to open items (service.cash_application) ----------

# A cash application's states: applied (a provisional payment per customer), waiting for a
# person (review), nothing found (unmatched), taken back by the bank (reversed).
APPLIED = "applied"
IN_REVIEW = "review"
UNMATCHED_CREDIT = "unmatched"
REVERSED_CREDIT = "reversed"


class CashApplication(Base):
    """One bank credit and what it was applied to: the ERP's ``cash-applications`` export.

    One row per bank transaction (``transaction_id``, the bank side's stored id), so the same
    credit seen again changes nothing. ``candidates`` keeps every reading the matcher found, with
    its confidence and reason (JSON, money as decimal strings), for the review in Salesforce; a
    credit applied automatically keeps only the candidate applied (nobody reviews it).
    """

    __tablename__ = "cash_applications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    transaction_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    account: Mapped[str] = mapped_column(String(80))
    bank_reference: Mapped[str | None] = mapped_column(String(255))
    end_to_end_id: Mapped[str | None] = mapped_column(String(255))
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    booking_date: Mapped[date] = mapped_column(Date)
    payer_name: Mapped[str | None] = mapped_column(String(255))
    payer_iban: Mapped[str | None] = mapped_column(String(64))
    remittance: Mapped[str] = mapped_column(Text, default="")
    references: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(20))
    evidence: Mapped[str | None] = mapped_column(String(40))
    confidence: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(Text)
    candidates: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # Who applied it: ``automatic`` or ``salesforce`` (a person chose a candidate).
    decided_by: Mapped[str | None] = mapped_column(String(20))
    salesforce_id: Mapped[str | None] = mapped_column(String(18), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    payments: Mapped[list[CashApplicationPayment]] = relationship(
        back_populates="application", cascade="all, delete-orphan"
    )


class CashApplicationPayment(Base):
    """The provisional payment an applied credit made for one customer (one per customer)."""

    __tablename__ = "cash_application_payments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cash_application_id: Mapped[int] = mapped_column(
        ForeignKey("cash_applications.id", ondelete="CASCADE"), index=True
    )
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), unique=True)

    application: Mapped[CashApplication] = relationship(back_populates="payments")
    payment: Mapped[Payment] = relationship()


class KnownPayer(Base):
    """A payer's IBAN or name seen on a credit applied to a customer: evidence for the next one."""

    __tablename__ = "known_payers"
    __table_args__ = (UniqueConstraint("kind", "value", "customer_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # iban or name
    value: Mapped[str] = mapped_column(String(255), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    seen: Mapped[int] = mapped_column(Integer, default=1)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# --- Dunning (service.dunning) -------------------------------------------------------------------


class DunningMessage(Base):
    """One reminder, stored with its rendered content before it is sent (a durable queue).

    The unique key is the promise "at most once per customer, currency, level and day": a run
    repeated the same day, or resumed after a crash, finds the row and adds nothing. ``status``
    goes ``queued`` -> ``sending`` (claimed, with ``claim_token`` and ``claimed_until``) ->
    ``sent``; a temporary SMTP error puts it back to ``queued`` later, a permanent one parks it
    (``parked``) with the error.
    """

    __tablename__ = "dunning_messages"
    __table_args__ = (
        UniqueConstraint("customer_id", "currency", "level", "run_date"),
        Index("ix_dunning_messages_due", "status", "available_at"),
        Index("ix_dunning_messages_customer", "customer_id", "currency", "run_date"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    currency: Mapped[str] = mapped_column(String(3))
    level: Mapped[int] = mapped_column(Integer)
    template: Mapped[str] = mapped_column(String(40))
    run_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="queued")
    recipients: Mapped[list[str]] = mapped_column(JSON)
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    subject: Mapped[str] = mapped_column(String(255))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(8))
    attach_statement: Mapped[bool] = mapped_column(Boolean, default=False)
    # The ERP ids of the invoices listed, in order (an episode ends when none is overdue).
    items: Mapped[list[str]] = mapped_column(JSON)
    total: Mapped[Decimal] = mapped_column(Money)
    pay_link: Mapped[str | None] = mapped_column(String(1000))
    requested: Mapped[bool] = mapped_column(Boolean, default=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    available_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claim_token: Mapped[str | None] = mapped_column(String(32))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# --- Billing contacts (service.salesforce.billing_contacts) -------------------------------------


class BillingContact(Base):
    """A Salesforce Contact ticked as billing contact (``Contact.Billing_Contact__c``) with an
    Email: dunning sends the Account's reminders to it when the ERP gives no ``billing_email``.

    Kept from Contact change events and a daily reconciliation by SOQL; a row exists only while
    the box is ticked and the Email is set. The address is stored as Salesforce has it and
    checked when a reminder is planned (an invalid one is reported, never sent to).
    """

    __tablename__ = "billing_contacts"

    contact_id: Mapped[str] = mapped_column(String(18), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(18), index=True)
    email: Mapped[str] = mapped_column(String(320))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
