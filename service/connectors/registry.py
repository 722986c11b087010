"""The connectors this service has, by the name ``credit-control sync <erp>`` takes.

Each entry reads its settings from the environment and builds the connector; ``configured``
names the ERPs whose base URL is set (the worker schedules those).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from service.connectors.base import Connector


@dataclass(frozen=True)
class Entry:
    configured: Callable[[Mapping[str, object]], bool]
    build: Callable[[Mapping[str, object]], Connector]
    sync_minutes: Callable[[Connector], int]


def _sap() -> Entry:
    from service.connectors.sap.connector import SapConnector
    from service.connectors.sap.settings import configured, load_sap_settings

    return Entry(
        configured=configured,
        build=lambda environ: SapConnector(load_sap_settings(environ)),
        sync_minutes=lambda connector: connector.settings.sync_minutes,  # type: ignore[attr-defined]
    )


def _bc() -> Entry:
    from service.connectors.bc.connector import BcConnector
    from service.connectors.bc.settings import configured, load_bc_settings

    return Entry(
        configured=configured,
        build=lambda environ: BcConnector(load_bc_settings(environ)),
        sync_minutes=lambda connector: connector.settings.sync_minutes,  # type: ignore[attr-defined]
    )


def _netsuite() -> Entry:
    from service.connectors.netsuite.connector import NetSuiteConnector
    from service.connectors.netsuite.settings import configured, load_netsuite_settings

    return Entry(
        configured=configured,
        build=lambda environ: NetSuiteConnector(load_netsuite_settings(environ)),
        sync_minutes=lambda connector: connector.settings.sync_minutes,  # type: ignore[attr-defined]
    )


ENTRIES: dict[str, Callable[[], Entry]] = {"sap": _sap, "bc": _bc, "netsuite": _netsuite}
NAMES = tuple(ENTRIES)


def entry(name: str) -> Entry:
    return ENTRIES[name]()


def configured(environ: Mapping[str, object]) -> list[str]:
    return [name for name in NAMES if entry(name).configured(environ)]
