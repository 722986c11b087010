"""SAP S/4HANA: open items from ``API_OPLACCTGDOCITEMCUBE_SRV``, customers from
``API_BUSINESS_PARTNER`` (OData V2), and the closed loop's cases (docs/connectors.md)."""
