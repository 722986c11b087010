"""The connectors this service has, by the name ``credit-control sync <erp>`` takes.

Settings come from ``service.config`` (``Config.erp(name)``, ``Config.erps`` for the configured
ones); ``build`` imports a connector only when one is built, so msal, pyjwt and the rest load only
for the ERPs in use.
"""

from __future__ import annotations

from service.config import ERP_KEYS, BcSettings, ErpSettings, NetSuiteSettings, SapSettings
from service.connectors.base import Connector

NAMES = tuple(ERP_KEYS)


def build(name: str, settings: ErpSettings) -> Connector:
    """The connector ``name`` with its settings."""
    if name == "sap" and isinstance(settings, SapSettings):
        from service.connectors.sap.connector import SapConnector

        return SapConnector(settings)
    if name == "bc" and isinstance(settings, BcSettings):
        from service.connectors.bc.connector import BcConnector

        return BcConnector(settings)
    if name == "netsuite" and isinstance(settings, NetSuiteSettings):
        from service.connectors.netsuite.connector import NetSuiteConnector

        return NetSuiteConnector(settings)
    raise ValueError(f"no connector {name!r} for {type(settings).__name__}")
