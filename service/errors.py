"""The service's exceptions: one tree, each with an HTTP status and a stable code.

    ServiceError                  500 internal          (the base; its message is never shown)
    ├── ConfigError               -                     a setting is missing or malformed
    ├── ValidationFailed          400 invalid           input broke the contract; ``errors`` has paths
    ├── Unauthorized              401 unauthorized      no or wrong bearer token, bad feed signature
    ├── NotFound                  404 not_found         nothing by that key (or no such route)
    ├── MethodNotAllowed          405 method_not_allowed
    ├── Conflict                  409 conflict          a concurrent request wrote the same rows
    ├── PayloadTooLarge           413 too_large         too many rows or bytes
    └── UnsupportedMediaType      415 unsupported_media_type

Every HTTP error answers with one envelope, the shape design.md gives for a 400::

    {"errors": [{"code": "invalid", "path": "receivables[3].due_date", "message": "..."}]}

``path`` appears only where an error is about one input field. Only the messages written here,
or by our validators, reach a client: anything else is logged and answered with a generic 500.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem with one input value, addressed by a path like ``payments[2].amount``."""

    path: str
    message: str

    def as_dict(self) -> dict[str, str]:
        if not self.path:  # about the whole body, e.g. "not valid JSON"
            return {"code": "invalid", "message": self.message}
        return {"code": "invalid", "path": self.path, "message": self.message}


class ServiceError(Exception):
    """Base of the service's errors. Subclasses set ``status`` and ``code``."""

    status = 500
    code = "internal"
    public_message = "Something went wrong on our side; it has been logged."

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.public_message)
        self.message = message or self.public_message

    def body(self) -> dict:
        return {"errors": [{"code": self.code, "message": self.message}]}


class ConfigError(ServiceError):
    """A setting is missing or malformed; start-up stops with this one line."""

    code = "config"

    def __init__(self, variable: str, expects: str, *, missing: bool = False) -> None:
        state = "is not set" if missing else "is malformed"
        super().__init__(f"{variable} {state}: expected {expects}")
        self.variable = variable


class ValidationFailed(ServiceError):
    """The input broke the contract; nothing was stored. ``errors`` lists every problem found."""

    status = 400
    code = "invalid"

    def __init__(
        self, errors: Iterable[FieldError], message: str = "The input is invalid."
    ) -> None:
        super().__init__(message)
        self.errors = list(errors)

    def body(self) -> dict:
        if not self.errors:
            return {"errors": [{"code": self.code, "message": self.message}]}
        return {"errors": [e.as_dict() for e in self.errors]}


class Unauthorized(ServiceError):
    """The caller did not prove who it is (bearer token or feed signature)."""

    status = 401
    code = "unauthorized"
    public_message = "A valid bearer token is required."


class NotFound(ServiceError):
    """Nothing exists under that key, or no such route."""

    status = 404
    code = "not_found"
    public_message = "Not found."


class MethodNotAllowed(ServiceError):
    """The route exists but not for this HTTP method."""

    status = 405
    code = "method_not_allowed"
    public_message = "Method not allowed."


class Conflict(ServiceError):
    """Another request changed the same rows at the same moment; sending again is safe."""

    status = 409
    code = "conflict"
    public_message = "Another request wrote the same rows at the same time; send this one again."


class PayloadTooLarge(ServiceError):
    """The request carries more rows or bytes than one batch may."""

    status = 413
    code = "too_large"
    public_message = "The request is too large."


class UnsupportedMediaType(ServiceError):
    """The body is not in a format this endpoint accepts (JSON)."""

    status = 415
    code = "unsupported_media_type"
    public_message = "The body must be JSON (Content-Type: application/json)."
