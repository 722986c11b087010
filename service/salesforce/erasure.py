"""Erasing a customer in Salesforce: what the service wrote there for it, and nothing else.

The service wrote the customer's ``Receivable__c`` records (it is their only writer) and the
credit fields of its Account. The records are deleted; the Account belongs to the admin, so it
stays, with its service-owned fields (the Account-field map and ``Credit_Status_Updated__c``)
cleared. ``Credit_Status_Change__e`` events already published cannot be recalled; the org keeps
them for its event retention (72 hours) only.

Every step is idempotent: a second run finds nothing left to delete and clears empty fields.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from simple_salesforce import format_soql

from service.salesforce.client import SalesforceClient
from service.salesforce.errors import PermanentError, SalesforceSyncError, first_error
from service.salesforce.fields import ACCOUNT_FIELDS, UPDATED_FIELD

SERVICE_FIELDS = (*ACCOUNT_FIELDS, UPDATED_FIELD)
_CHUNK = 200  # records per sObject Collections call and ids per SOQL IN list


@dataclass
class OrgErasure:
    """What was removed from the org: counts a person can read in the report."""

    account_id: str | None = None
    receivables_deleted: int = 0
    account_fields_cleared: int = 0


def erase_from_org(
    client: SalesforceClient, number: str, account_id: str | None, item_ids: Iterable[str]
) -> OrgErasure:
    """Delete the customer's Receivable__c records and clear its Account's credit fields.

    ``account_id`` is the linked Account, if known; otherwise the Account is found by
    ``ERP_Customer_Number__c``. ``item_ids`` are the ``ERP_Item_Id__c`` keys the service wrote
    (found even when a record's Account link has changed). Raises ``SalesforceSyncError`` when
    the org does not answer or refuses; nothing here is then assumed done.
    """
    report = OrgErasure(account_id=account_id or _account_by_number(client, number))
    record_ids: set[str] = set()
    if report.account_id:
        record_ids.update(
            r["Id"]
            for r in client.query_all(
                format_soql("SELECT Id FROM Receivable__c WHERE Account__c = {}", report.account_id)
            )
        )
    keys = sorted(set(item_ids))
    for start in range(0, len(keys), _CHUNK):
        record_ids.update(
            r["Id"]
            for r in client.query_all(
                format_soql(
                    "SELECT Id FROM Receivable__c WHERE ERP_Item_Id__c IN {}",
                    keys[start : start + _CHUNK],
                )
            )
        )
    report.receivables_deleted = _delete(client, sorted(record_ids))
    if report.account_id:
        report.account_fields_cleared = _clear_account(client, report.account_id)
    return report


def _account_by_number(client: SalesforceClient, number: str) -> str | None:
    found = client.query_all(
        format_soql("SELECT Id FROM Account WHERE ERP_Customer_Number__c = {}", number)
    )
    return found[0]["Id"] if found else None


def _delete(client: SalesforceClient, record_ids: list[str]) -> int:
    deleted = 0
    for start in range(0, len(record_ids), _CHUNK):
        chunk = record_ids[start : start + _CHUNK]
        results = client.rest(
            "DELETE", "composite/sobjects", ids=",".join(chunk), allOrNone="false"
        )
        for result in results or []:
            if result.get("success"):
                deleted += 1
                continue
            code, message = first_error(result.get("errors"))
            if code != "ENTITY_IS_DELETED":  # deleted meanwhile: what we wanted
                raise PermanentError(f"Receivable__c {result.get('id')}: {code}: {message}", code)
    return deleted


def _clear_account(client: SalesforceClient, account_id: str) -> int:
    try:
        client.rest("PATCH", f"sobjects/Account/{account_id}", dict.fromkeys(SERVICE_FIELDS))
    except SalesforceSyncError as exc:
        if exc.code in ("ENTITY_IS_DELETED", "NOT_FOUND"):
            return 0  # the admin deleted the Account: nothing of ours is left on it
        raise
    return len(SERVICE_FIELDS)
