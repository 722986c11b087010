"""What a committed write transaction changed, as handed to the event bus for change data capture.

One ``Change`` per record touched; the bus receives the list of one transaction at once, so CDC
events can share a transaction key and sequence numbers as in Salesforce.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ChangeType = Literal["CREATE", "UPDATE", "DELETE", "UNDELETE"]


@dataclass(frozen=True)
class Change:
    """One record change. ``before``/``after`` are stored field values (no formula fields),
    keyed by canonical API name, in wire form (dates and datetimes as Salesforce strings).
    ``before`` is None for CREATE, ``after`` is None for DELETE. The dicts are the store's own
    committed records (never mutated after commit, so not copied): treat them as read-only."""

    entity_name: str
    change_type: ChangeType
    record_id: str
    before: dict | None
    after: dict | None
