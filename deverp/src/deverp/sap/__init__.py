"""The local SAP S/4HANA: ``SapBook`` holds the data, ``DevSap`` serves it over HTTP."""

from deverp.sap.book import SapBook
from deverp.sap.server import DevSap

__all__ = ["DevSap", "SapBook"]
