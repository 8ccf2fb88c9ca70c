"""NetSuite's failures in the three families of :mod:`connectors.base.errors`.

REST web services answer a failure with an RFC 7807-style body::

    {"type": "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.1",
     "title": "Bad Request", "status": 400,
     "o:errorDetails": [{"detail": "...", "o:errorCode": "USER_ERROR",
                         "o:errorPath": "entity"}]}

The error code decides before the status does: ``CONCURRENCY_LIMIT_EXCEEDED`` (the account's
one concurrency limit, shared with every other integration, answered with 429 by REST web
services) and ``SSS_REQUEST_LIMIT_EXCEEDED`` / ``WS_REQUEST_BLOCKED`` (the same limit seen by
RESTlets and SOAP) are retriable whatever the status; ``INVALID_LOGIN`` and friends are
fatal; a record the request cannot be applied to (a missing reference, a required field,
an invalid value) is skippable. The reason kept is NetSuite's ``detail``: it names fields,
never credentials.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from connectors.base.errors import ErrorKind, ErrorResolution
from connectors.base.http import HttpResponse

SYSTEM = "netsuite"

CONCURRENCY_CODES = frozenset(
    {"CONCURRENCY_LIMIT_EXCEEDED", "SSS_REQUEST_LIMIT_EXCEEDED", "WS_REQUEST_BLOCKED"}
)
"""The account's concurrency limit, as REST web services, RESTlets and SOAP report it."""

_FATAL_CODES = frozenset(
    {
        "INVALID_LOGIN",
        "INVALID_LOGIN_ATTEMPT",
        "INVALID_LOGIN_CREDENTIALS",
        "INSUFFICIENT_PERMISSION",
        "INVALID_ROLE",
        "FEATURE_DISABLED",
        "WS_FEATURE_REQD",
        "INVALID_CONTENT_TYPE",
        "invalid_client",
        "invalid_grant",
        "unauthorized_client",
    }
)
_RETRIABLE_CODES = CONCURRENCY_CODES | frozenset(
    {"UNEXPECTED_ERROR", "SSS_REQUEST_TIME_EXCEEDED", "RECORD_LOCKED", "RCRD_LOCKED_BY_WF"}
)

NETSUITE_RESOLUTIONS: Mapping[int, ErrorResolution] = {
    400: ErrorResolution(ErrorKind.SKIPPABLE, "NetSuite refused the request"),
    401: ErrorResolution(ErrorKind.FATAL, "NetSuite refused the credentials"),
    403: ErrorResolution(ErrorKind.FATAL, "the NetSuite role may not do this"),
    404: ErrorResolution(ErrorKind.SKIPPABLE, "NetSuite has no such record"),
    429: ErrorResolution(ErrorKind.RETRIABLE, "NetSuite's concurrency limit was exceeded"),
}


def error_details(body: Any) -> list[Mapping[str, Any]]:
    """The ``o:errorDetails`` entries of an error body (none when it is not one)."""
    details = body.get("o:errorDetails") if isinstance(body, Mapping) else None
    if not isinstance(details, list):
        return []
    return [d for d in details if isinstance(d, Mapping)]


def error_code(body: Any) -> str | None:
    """The first ``o:errorCode`` of an error body (or an OAuth 2.0 ``error``)."""
    for detail in error_details(body):
        code = detail.get("o:errorCode")
        if isinstance(code, str) and code:
            return code
    if isinstance(body, Mapping) and isinstance(body.get("error"), str):
        return str(body["error"])
    return None


def reason_of(body: Any, fallback: str) -> str:
    """NetSuite's own words for a failure: ``detail`` (with the field it names)."""
    for detail in error_details(body):
        text = str(detail.get("detail") or "").strip()
        if text:
            path = detail.get("o:errorPath")
            return f"{text} (at {path})" if path else text
    if isinstance(body, Mapping) and body.get("title"):
        return str(body["title"])
    return fallback


def resolve(status: int, body: Any) -> ErrorResolution:
    """The resolution of a failed answer: its error code first, then its status."""
    code = error_code(body)
    if status in (401, 403) or code in _FATAL_CODES:
        kind = ErrorKind.FATAL
    elif code in _RETRIABLE_CODES or status == 429 or status >= 500:
        kind = ErrorKind.RETRIABLE
    elif status in NETSUITE_RESOLUTIONS:
        kind = NETSUITE_RESOLUTIONS[status].kind
    elif status == 409:
        kind = ErrorKind.RETRIABLE
    else:
        kind = ErrorKind.SKIPPABLE
    fallback = NETSUITE_RESOLUTIONS.get(status)
    reason = reason_of(body, fallback.message if fallback else f"NetSuite answered {status}")
    return ErrorResolution(kind, f"{code}: {reason}" if code else reason)


def interpret(response: HttpResponse) -> ErrorResolution:
    """The kit's error interpreter (:data:`connectors.base.http.ErrorInterpreter`)."""
    try:
        body = orjson.loads(response.body) if response.body else None
    except orjson.JSONDecodeError:
        body = None
    return resolve(response.status, body)


def classify(status: int, body: bytes) -> ErrorKind:
    """The kind of an answer with ``status`` and ``body``."""
    return interpret(HttpResponse(status, {}, body)).kind
