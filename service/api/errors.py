"""The one error handler: every failure becomes ``{"errors": [...]}`` JSON.

Our own ``ServiceError``s carry messages written for clients. Werkzeug's HTTP errors (404, 405,
413 from ``MAX_CONTENT_LENGTH``) are mapped onto the same tree. Anything else is a bug: it is
logged with its traceback and answered with a generic 500 that reveals nothing.
"""

from __future__ import annotations

import logging

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from service.errors import (
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    ServiceError,
    UnsupportedMediaType,
    ValidationFailed,
)

log = logging.getLogger(__name__)

_FROM_HTTP = {
    400: lambda: ValidationFailed([], "The request is malformed."),
    404: NotFound,
    405: MethodNotAllowed,
    413: PayloadTooLarge,
    415: UnsupportedMediaType,
}


def _answer(error: ServiceError):
    response = jsonify(error.body())
    response.status_code = error.status
    if error.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="credit-control"'
    return response


def init_app(app: Flask) -> None:
    @app.errorhandler(ServiceError)
    def service_error(error: ServiceError):
        if error.status >= 500:
            log.error("request failed", extra={"code": error.code})
        return _answer(error)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        make = _FROM_HTTP.get(error.code or 500)
        if make is None:
            generic = ServiceError(error.name if (error.code or 500) < 500 else None)
            generic.status = error.code or 500
            generic.code = "http_error" if generic.status < 500 else "internal"
            return _answer(generic)
        return _answer(make())

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        log.exception("unhandled error")
        return _answer(ServiceError())
