"""Local stand-ins for ERP APIs, over real HTTP, in the vendors' documented shapes.

``deverp.sap``: SAP S/4HANA Cloud's OData V2 services ``API_OPLACCTGDOCITEMCUBE_SRV`` (open
items), ``API_BUSINESS_PARTNER`` (customers) and a dispute-case service, with basic auth and
OAuth client credentials, CSRF tokens, paging, throttling and expiring tokens.

Used by the demo, the tests and the benchmarks of credit-control; never by the service itself.
"""
