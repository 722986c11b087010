"""The demo's third story: invoices arrive from "SAP" and a dispute goes back to it.

``sap_story`` starts the local SAP (``deverp``) with two customers and their open items, pulls
them (``credit-control sync sap``), logs a dispute on one of the invoices, as a collector would
in Salesforce, and runs the connector again: the dispute reaches the local SAP as a dispute
case. The lines it prints say what arrived and what went back.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

from deverp.sap import DevSap, SapBook
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from service.assessments import queue as assessment_queue
from service.config import sap_settings
from service.connectors.run import run_connector
from service.connectors.sap.connector import SapConnector
from service.db import transaction
from service.models import CollectionAction, Customer, Receivable

Echo = Callable[[str], None]


def demo_sap_book(today: date) -> SapBook:
    book = SapBook(today=today)
    book.add_customer("10100001", "Nordwind Handels GmbH")
    book.add_customer("10100002", "Alpenblick Maschinenbau AG")
    book.invoice(
        "10100001", "11900.00", document="1800000412", reference="90000412",
        posted=today - timedelta(days=75), due=today - timedelta(days=45), items=2,
    )  # fmt: skip
    book.partial_payment("10100001", "1800000412", "4000.00", posted=today - timedelta(days=20))
    book.invoice(
        "10100002", "2380.00", document="1800000413", reference="90000413",
        posted=today - timedelta(days=10), due=today + timedelta(days=20),
    )  # fmt: skip
    book.credit_memo("10100002", "238.00", document="1700000010", posted=today - timedelta(days=5))
    return book


def sap_story(sessions: sessionmaker[Session], echo: Echo, today: date) -> DevSap:
    """Run the story; returns the running stand-in (the caller stops it)."""
    sap = DevSap(demo_sap_book(today)).start()
    connector = SapConnector(sap_settings(sap.oauth_env()))
    pulled = run_connector(sessions, connector)
    with transaction(sessions) as session:
        customer_id, item_id = session.execute(
            select(Customer.id, Receivable.id)
            .join(Receivable, Receivable.customer_id == Customer.id)
            .where(Receivable.source == "sap", Receivable.number == "90000412")
        ).one()
        session.add(
            CollectionAction(
                customer_id=customer_id,
                type="Dispute",
                receivable_id=item_id,
                disputed_amount=Decimal("1190.00"),
                dispute_reason="One pallet arrived damaged",
                dispute_status="Open",
            )
        )
        session.flush()
        assessment_queue.request(session, [customer_id])
    sent = run_connector(sessions, connector)
    counts = pulled.sync.counts.accepted
    echo("")
    echo(f"From SAP (the local S/4HANA at {sap.base_url}, credit-control sync sap):")
    echo(
        f"  {counts['customers']} customers, {counts['receivables']} invoices and credit notes, "
        f"{counts['payments']} payment arrived"
    )
    for method, body in sap.book.case_writes:
        echo(
            f"  back to SAP: {method} dispute case {body['CaseExternalReference']} on document "
            f"{body['AccountingDocument']} for {body['CustomerDisputedAmount']} "
            f"{body['CustomerDisputedCurrency']}"
        )
    if not sent.loop.sent:
        echo("  back to SAP: nothing sent (see credit-control sync sap)")
    return sap
