"""A realistic, deterministic demo book: ~50 customers, a few hundred invoices in EUR and GBP.

Fixed seed and dates relative to ``today``, so every run tells the same story: most customers
pay on time, some are late, a few are badly overdue; one disputes an invoice, one has promised
to pay. The book is an ERP feed document (customers, receivables, payments), loaded through the
real signed feed; the dispute and the promise are collection actions, as Salesforce would send.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

SEED = 20261123
SOURCE = "erp-demo"

NAMES = [
    "Acme Tools",
    "Brightline Logistics",
    "Cobalt Foods",
    "Delta Marine",
    "Evergreen Retail",
    "Falcon Print",
    "Granite Build",
    "Harbour Coffee",
    "Ironbridge Steel",
    "Juniper Health",
    "Kestrel Aviation",
    "Lumen Optics",
    "Meridian Labs",
    "Northwind Traders",
    "Orchid Textiles",
    "Pioneer Farms",
    "Quartz Media",
    "Redwood Furniture",
    "Sapphire Hotels",
    "Tidewater Energy",
    "Umber Ceramics",
    "Vantage Security",
    "Willow Pharmacy",
    "Xenon Lighting",
    "Yellowstone Paper",
    "Zephyr Cycles",
    "Atlas Removals",
    "Beacon Dental",
    "Cedar Schools",
    "Dynamo Fitness",
    "Ember Bakeries",
    "Fjord Seafood",
    "Glacier Water",
    "Horizon Travel",
    "Indigo Fashion",
    "Jasper Motors",
    "Keystone Legal",
    "Lagoon Aquatics",
    "Monarch Events",
    "Nimbus Cloud",
    "Onyx Jewellers",
    "Pinnacle Sports",
    "Quill Stationers",
    "Riverside Vets",
    "Summit Outdoor",
    "Trident Shipping",
    "Unity Care",
    "Velvet Interiors",
    "Wavecrest Surf",
    "Zenith Robotics",
]

# How each customer tends to pay: days after due date a typical invoice is settled, or None
# for one that has stopped paying. Cycled over the customers.
PROFILES = [0, 0, 5, 0, 20, 0, 40, 0, 0, 75, 0, 10, None, 0, 30, 0, 0, 95]


def money(value: float | int, places: int = 2) -> str:
    return str(Decimal(value).quantize(Decimal(1).scaleb(-places)))


def build_book(today: date) -> dict:
    rng = random.Random(SEED)
    customers, receivables, payments = [], [], []
    stamp = datetime.combine(today, time(6, 0), tzinfo=UTC)
    for n, name in enumerate(NAMES):
        number = f"C-{1001 + n}"
        currency = "GBP" if n % 2 == 1 else "EUR"
        limit = rng.choice([20_000, 30_000, 50_000, 75_000, 100_000])
        customers.append(
            {
                "number": number,
                "name": name,
                "currency": currency,
                "credit_limit": money(limit),
                "payment_terms_days": 30,
                "updated_at": stamp.isoformat(),
                # Dunning: most have a billing address (every seventh has none, which the run
                # reports); some EUR customers read German.
                **({} if n % 7 == 6 else {"billing_email": f"ap@{number.lower()}.example"}),
                **({"language": "de"} if n % 4 == 0 else {}),
            }
        )
        late = PROFILES[n % len(PROFILES)]
        for k in range(rng.randint(4, 9)):
            issued = today - timedelta(days=rng.randint(5, 150))
            due = issued + timedelta(days=30)
            amount = Decimal(rng.randint(300, 9_000)) + Decimal(rng.randint(0, 99)) / 100
            item_id = f"INV-{number[2:]}-{k + 1:02d}"
            settled = late is not None and due + timedelta(days=late) < today
            receivables.append(
                {
                    "id": item_id,
                    "customer": number,
                    "type": "invoice",
                    "number": item_id,
                    "issue_date": issued.isoformat(),
                    "due_date": due.isoformat(),
                    "currency": currency,
                    "amount": money(amount),
                    "open_amount": money(0 if settled else amount),
                    "updated_at": stamp.isoformat(),
                }
            )
            if settled:
                paid = datetime.combine(due + timedelta(days=late), time(10, 0), tzinfo=UTC)
                payments.append(
                    {
                        "id": f"PAY-{item_id[4:]}",
                        "customer": number,
                        "amount": money(amount),
                        "currency": currency,
                        "received_at": paid.isoformat(),
                        "applied_to": [{"receivable": item_id, "amount": money(amount)}],
                    }
                )
        if n % 11 == 4:
            receivables.append(
                {
                    "id": f"CN-{number[2:]}-01",
                    "customer": number,
                    "type": "credit_note",
                    "number": f"CN-{number[2:]}-01",
                    "issue_date": (today - timedelta(days=20)).isoformat(),
                    "due_date": (today - timedelta(days=20)).isoformat(),
                    "currency": currency,
                    "amount": money(250),
                    "open_amount": money(250),
                    "updated_at": stamp.isoformat(),
                }
            )
    return {
        "source": SOURCE,
        "customers": customers,
        "receivables": receivables,
        "payments": payments,
    }


def demo_actions(book: dict, today: date) -> dict:
    """The Salesforce side of the story: one dispute and one promise to pay.

    Returns ``{"dispute": (customer number, receivable id, amount), "promise": (number, amount,
    date)}`` picked from the book: the dispute is on the oldest open invoice of a badly overdue
    customer, the promise covers another overdue customer's open invoices within a week.
    """
    open_items = [
        r for r in book["receivables"] if r["type"] == "invoice" and r["open_amount"] != "0.00"
    ]
    overdue = sorted(
        (r for r in open_items if date.fromisoformat(r["due_date"]) < today - timedelta(days=60)),
        key=lambda r: (r["due_date"], r["id"]),
    )
    disputed = overdue[0]
    others = [r for r in overdue if r["customer"] != disputed["customer"]]
    promised_customer = others[0]["customer"]
    promised = sum(
        (
            Decimal(r["open_amount"])
            for r in open_items
            if r["customer"] == promised_customer and date.fromisoformat(r["due_date"]) < today
        ),
        Decimal(0),
    )
    return {
        "dispute": (disputed["customer"], disputed["id"], Decimal(disputed["open_amount"])),
        "promise": (promised_customer, promised, today + timedelta(days=7)),
    }
