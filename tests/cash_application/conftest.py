"""The local org's fixtures (``devorg``, ``sync_settings``) for the end-to-end tests here."""

from tests.salesforce.conftest import devorg, org, sync_settings  # noqa: F401
