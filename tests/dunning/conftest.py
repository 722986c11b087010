"""The local org's fixtures, for the dunning tests that reach Salesforce."""

from tests.salesforce.conftest import devorg, org, sync_settings  # noqa: F401
