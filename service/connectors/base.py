"""The shape every connector has: what a pull yields and what the closed loop asks of it.

A connector turns the ERP's records into the signed feed's rows (``Record.row`` is exactly what
a feed document would hold for that row, strings and all) and yields them a page at a time with
the cursor position reached after the page. It does not validate rows nor write the database:
``service.connectors.store`` does, with the feed's own loaders and writes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Record:
    """One row in the feed's shape, with the ERP's id for it (named in every report line)."""

    kind: str  # customers, receivables or payments
    source_id: str
    row: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Problem:
    """A record the mapping itself could not turn into a row (or the store refused)."""

    kind: str
    source_id: str
    path: str
    message: str


@dataclass
class Page:
    """Rows that are stored in one transaction with the cursor position they reach."""

    records: list[Record] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    # None: the page does not move the cursor (a full reconciliation moves it at its end).
    position: dict[str, Any] | None = None
    # Items read from the ERP for this page (for progress; one receivable may net several).
    read: int = 0


# number -> currency of the customers already stored, for the numbers asked about.
StoredCustomers = Callable[[list[str]], dict[str, str]]


class Connector(Protocol):
    """What every connector provides. Optional extras, looked up with ``getattr``:
    ``writes_back`` (False: no closed loop yet), ``write_kinds`` (the closed loop's writes it
    takes: ``promise``, ``dispute_open``, ``dispute_resolved``, ``hold_override``,
    ``cash_applied``, ``cash_reversed``; default the first three), and for a full reconciliation shared by
    several processes ``shares(count)``, ``pull_share(share, stored_customers=...)`` and
    ``spawn_args()`` (``service.connectors.sync``)."""

    name: str  # "sap": the command's argument and the cursor's name
    source: str  # the feed source its rows are stored under

    def pull(
        self, position: dict[str, Any] | None, *, full: bool, stored_customers: StoredCustomers
    ) -> Iterator[Page]:
        """Pages from ``position`` on (everything when None); all open items when ``full``."""
        ...

    def full_position(self) -> dict[str, Any]:
        """The cursor a full reconciliation leaves: incremental pulls go on from there."""
        ...

    def write(self, kind: str, key: str, payload: dict[str, Any]) -> str:
        """Send one closed-loop write; idempotent by ``key``; returns the ERP's reference."""
        ...

    def stats(self) -> dict[str, int]:
        """Throttled answers waited out and tokens renewed, for the report."""
        ...
