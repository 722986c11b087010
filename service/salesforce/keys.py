"""The external ids the service writes to Salesforce for the ERP's items.

``Receivable__c.ERP_Item_Id__c`` is unique in the org, but an item id is unique only within its
ERP: two ERPs (feed ``source`` "erp-main" and "erp-eu") may both have an "INV-1001", and one
would overwrite the other's record. The key therefore names the source:
``<source>:<item id>`` ("erp-main:INV-1001"), readable and searchable in the org.

The field holds 80 characters, and a source (60) plus an item id (80) can be longer. Such a
pair, and a source that could make two pairs read alike (one containing ":" or starting with
"~"), is keyed ``~<SHA-256 of the pair>`` instead (65 characters). Every readable key starts
with its source, which never starts with "~", and the source ends at the first ":", so no two
pairs share a key; the hash covers the pair unambiguously (JSON of both).
"""

from __future__ import annotations

import hashlib
import json

ITEM_ID_LENGTH = 80  # Receivable__c.ERP_Item_Id__c: Text(80), external id, unique
HASHED = "~"


def receivable_item_id(source: str, external_id: str) -> str:
    """``ERP_Item_Id__c`` of the receivable ``external_id`` from the feed ``source``."""
    readable = f"{source}:{external_id}"
    if len(readable) <= ITEM_ID_LENGTH and ":" not in source and not source.startswith(HASHED):
        return readable
    pair = json.dumps([source, external_id], ensure_ascii=False, separators=(",", ":"))
    return HASHED + hashlib.sha256(pair.encode()).hexdigest()
