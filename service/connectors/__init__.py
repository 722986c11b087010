"""ERP connectors: pull customers, receivables and payments straight from an ERP's API, and
write back what collectors did (``docs/connectors.md``).

One shape for every ERP (``service.connectors.base.Connector``): settings from the environment,
authentication, an incremental pull whose cursor is stored with the rows it brought
(``cursors``), a periodic full reconciliation of open items, and a mapping to the signed feed's
rows, stored by the feed's own validation and writes (``store``), so a bad record is reported
with its source id and never stops the rest. ``sync`` runs a pull; ``schedule`` runs it in the
worker once per cluster; ``writeback`` is the closed loop. Each ERP lives in a folder of its own
(``sap/``).
"""
