"""What can go wrong talking to Salesforce, and what to do about it.

Exception tree (every class says whether the caller may retry)::

    SalesforceSyncError                 base of everything raised by service.salesforce
    ├── AuthenticationError             the token endpoint refused us (bad key, user, secret)
    ├── SessionExpired                  a 401 INVALID_SESSION_ID that survived one re-login
    ├── RetryableError                  try again later: lock, limit, 5xx, timeout
    └── PermanentError                  the request itself is wrong; retrying cannot help
        └── StreamingError              the Streaming API refused a subscription for good

Retries are decided by ``errorCode`` / ``statusCode`` (CumulusCI habit: never by message text).
A SaveResult in a composite response carries ``statusCode``; a REST error body carries
``errorCode``; the classifier takes either.
"""

from __future__ import annotations

from enum import StrEnum


class SalesforceSyncError(Exception):
    """Base class: something in the Salesforce sync failed."""

    code: str | None = None

    def __init__(self, message: str, code: str | None = None):
        super().__init__(message)
        if code is not None:
            self.code = code


class AuthenticationError(SalesforceSyncError):
    """The OAuth token endpoint refused the credentials; an admin must fix the settings."""


class SessionExpired(SalesforceSyncError):
    """The org kept answering INVALID_SESSION_ID after a fresh token: give up this call."""


class RetryableError(SalesforceSyncError):
    """A transient failure (row lock, API limit, 5xx, timeout): retry with backoff."""


class PermanentError(SalesforceSyncError):
    """The org rejected the data itself (deleted record, unknown field, validation rule)."""


class StreamingError(PermanentError):
    """The Streaming API refused a channel (does not exist, not permitted)."""


class Disposition(StrEnum):
    """What to do with a failed record."""

    RETRY = "retry"
    DEAD = "dead"


# Transient by nature: the same request succeeds later.
RETRYABLE_CODES = frozenset(
    {
        "UNABLE_TO_LOCK_ROW",
        "REQUEST_LIMIT_EXCEEDED",
        "SERVER_UNAVAILABLE",
        "REQUEST_RUNNING_TOO_LONG",
        "QUERY_TIMEOUT",
        "TXN_SECURITY_METERING_ERROR",
        "API_CURRENTLY_DISABLED",
        "ALL_OR_NONE_OPERATION_ROLLED_BACK",
        "UNKNOWN_EXCEPTION",
        "TIMEOUT",
        "CONNECTION_ERROR",
        "LIMIT_EXCEEDED",
        "HTTP_5XX",
        "INVALID_SESSION_ID",
    }
)

# Wrong data or wrong metadata: the same request fails again, so it goes to the dead letters.
PERMANENT_CODES = frozenset(
    {
        "ENTITY_IS_DELETED",
        "INVALID_FIELD",
        "INVALID_FIELD_FOR_INSERT_UPDATE",
        "INVALID_TYPE",
        "INVALID_ID_FIELD",
        "MALFORMED_ID",
        "NOT_FOUND",
        "FIELD_CUSTOM_VALIDATION_EXCEPTION",
        "FIELD_INTEGRITY_EXCEPTION",
        "REQUIRED_FIELD_MISSING",
        "STRING_TOO_LONG",
        "NUMBER_OUTSIDE_VALID_RANGE",
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        "DUPLICATE_VALUE",
        "DUPLICATE_EXTERNAL_ID",
        "INSUFFICIENT_ACCESS_OR_READONLY",
        "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY",
        "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY",
        "INVALID_CROSS_REFERENCE_KEY",
        "JSON_PARSER_ERROR",
        "MALFORMED_QUERY",
    }
)


def classify(code: str | None, http_status: int | None = None) -> Disposition:
    """Decide retry or dead letter from an errorCode/statusCode (and the HTTP status if any).

    Unknown codes are retried only when the HTTP status says the server failed (5xx); an unknown
    code on a 4xx answer is the org telling us the data is wrong.
    """
    if code in RETRYABLE_CODES:
        return Disposition.RETRY
    if code in PERMANENT_CODES:
        return Disposition.DEAD
    if http_status is not None and (http_status >= 500 or http_status == 429):
        return Disposition.RETRY
    if code is None and http_status is None:
        return Disposition.RETRY
    return Disposition.DEAD


def first_error(errors: list[dict] | None) -> tuple[str | None, str]:
    """The code and message of the first error in a SaveResult or REST error body."""
    if not errors:
        return None, ""
    err = errors[0]
    code = err.get("statusCode") or err.get("errorCode")
    return code, str(err.get("message", ""))


def error_from_response(status: int, body) -> SalesforceSyncError:
    """Turn a non-2xx REST answer into a Retryable or Permanent error, by errorCode."""
    code = None
    message = ""
    if isinstance(body, list) and body and isinstance(body[0], dict):
        code, message = first_error(body)
    elif isinstance(body, dict):
        code = body.get("errorCode") or body.get("error")
        message = str(body.get("message") or body.get("error_description") or "")
    if code is None and status >= 500:
        code = "HTTP_5XX"
    text = f"HTTP {status} {code or ''}: {message}".strip()
    if classify(code, status) is Disposition.RETRY:
        return RetryableError(text, code)
    return PermanentError(text, code)
