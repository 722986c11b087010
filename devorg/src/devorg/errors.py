"""Salesforce REST errors as exceptions, rendered exactly as an org renders them.

REST resources answer errors as a JSON *array* of ``{"message", "errorCode", "fields"?}``;
save results (collections, composite, bulk) carry the same facts as ``statusCode``. Raising a
``SalesforceError`` anywhere below a route gives the right body and status.
"""

from __future__ import annotations


class SalesforceError(Exception):
    """An error Salesforce would answer. ``status`` is the HTTP status of a single-record call."""

    def __init__(
        self,
        error_code: str,
        message: str,
        status: int = 400,
        fields: list[str] | None = None,
        *,
        include_fields: bool = True,
    ) -> None:
        super().__init__(f"{error_code}: {message}")
        self.error_code = error_code
        self.message = message
        self.status = status
        self.fields = list(fields or [])
        self.include_fields = include_fields

    def rest_body(self) -> list[dict]:
        """The REST error array."""
        item: dict = {"message": self.message, "errorCode": self.error_code}
        if self.include_fields:
            item["fields"] = self.fields
        return [item]

    def save_error(self) -> dict:
        """One entry of a SaveResult ``errors`` list."""
        return {"statusCode": self.error_code, "message": self.message, "fields": self.fields}

    def bulk_error(self) -> str:
        """The ``sf__Error`` column of a Bulk API 2.0 failed-results row."""
        return f"{self.error_code}:{self.message}:{','.join(self.fields)} --"


def invalid_session() -> SalesforceError:
    return SalesforceError(
        "INVALID_SESSION_ID", "Session expired or invalid", 401, include_fields=False
    )


def not_found() -> SalesforceError:
    return SalesforceError(
        "NOT_FOUND", "The requested resource does not exist", 404, include_fields=False
    )


def entity_deleted() -> SalesforceError:
    return SalesforceError("ENTITY_IS_DELETED", "entity is deleted", 404)


def request_limit() -> SalesforceError:
    return SalesforceError(
        "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.", 403, include_fields=False
    )


def publish_limit(message: str) -> SalesforceError:
    """HourlyPublishedPlatformEvents spent: a publish fails with ``LIMIT_EXCEEDED`` (as a
    SaveResult error in collections, as a REST error array for a single ``POST``)."""
    return SalesforceError("LIMIT_EXCEEDED", message, 400, [])


def malformed_json(message: str) -> SalesforceError:
    return SalesforceError("JSON_PARSER_ERROR", message, 400, include_fields=False)


class AllOrNoneRollback(Exception):
    """Raised inside a store transaction to undo everything it wrote."""
