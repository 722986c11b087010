"""Inbound feeds: the signed ERP feed (schemas, ingest, views) and the file import."""
