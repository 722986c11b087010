"""The local NetSuite: ``NsBook`` holds records, ``DevNetSuite`` answers REST SuiteQL and the
OAuth 2.0 token endpoint, and checks token-based (OAuth 1.0a) signatures."""

from deverp.netsuite.server import DevNetSuite, NsBook

__all__ = ["DevNetSuite", "NsBook"]
