"""Who a customer's reminder goes to (pure): the rule, in one place.

1. The customer's ``billing_email`` from the ERP feed, when it has one.
2. Otherwise every billing contact of the customer's Salesforce Account (Contacts with
   ``Billing_Contact__c`` ticked and an Email; ``service.salesforce.billing_contacts``), all in
   To:, in a stable order (by address, ignoring case; one address named twice is sent once).
3. Otherwise nobody: no message, and the run reports the customer ("no recipient").

An address that is not one plain e-mail address (``service.mail_address``) is never sent to:
it is left out and reported, and the next source is not consulted because of it unless no
valid address remains.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from service.mail_address import is_address


@dataclass(frozen=True)
class Recipients:
    to: list[str]
    problems: list[str] = field(default_factory=list)  # addresses left out, and why


def choose(billing_email: str | None, contacts: Iterable[tuple[str, str]]) -> Recipients:
    """The recipients of a reminder from the ERP's ``billing_email`` and the Account's billing
    contacts as (Contact Id, Email) pairs."""
    problems: list[str] = []
    if billing_email:
        if is_address(billing_email):
            return Recipients([billing_email])
        problems.append(f"billing_email {billing_email!r} is not an e-mail address; ignored")
    chosen: dict[str, str] = {}
    for contact_id, email in sorted(contacts, key=lambda c: (c[1].lower(), c[0])):
        if not is_address(email):
            problems.append(
                f"billing contact {contact_id}: Email {email!r} is not an e-mail address; ignored"
            )
            continue
        chosen.setdefault(email.lower(), email)
    return Recipients(list(chosen.values()), problems)
