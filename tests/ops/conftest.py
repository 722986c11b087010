"""The live devorg of the Salesforce sync tests, for the operations tests that run a worker."""

from tests.salesforce.conftest import devorg, org, sync_settings  # noqa: F401
