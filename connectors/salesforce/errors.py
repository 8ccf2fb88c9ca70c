"""Salesforce's error answers in q2c's three families.

The REST API answers a failure with a list of ``{"message", "errorCode", "fields"}`` (the
"Status Codes and Error Responses" page); the error code decides, the status only where the
body says nothing. A 403 is a refused permission (FATAL) unless its code is
``REQUEST_LIMIT_EXCEEDED``: the org's API allowance is spent for now, which time fixes
(RETRIABLE, after a pause). A 300 is an external id that matches several records: the
command cannot say which one it means (SKIPPABLE). Per-record results of sObject
Collections carry the same ``errors`` list and are read by :func:`record_error`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from connectors.base import ConnectorError, ErrorKind, ErrorResolution, HttpResponse

SYSTEM = "salesforce"

LIMIT_PAUSE = 300.0
"""Seconds to wait after REQUEST_LIMIT_EXCEEDED: the allowance is a rolling 24 hours."""

CODES: Mapping[str, ErrorKind] = {
    # the record or the request is at fault: dead letter with the reason
    "MALFORMED_ID": ErrorKind.SKIPPABLE,
    "NOT_FOUND": ErrorKind.SKIPPABLE,
    "ENTITY_IS_DELETED": ErrorKind.SKIPPABLE,
    "INVALID_CROSS_REFERENCE_KEY": ErrorKind.SKIPPABLE,
    "DUPLICATES_DETECTED": ErrorKind.SKIPPABLE,
    "DUPLICATE_VALUE": ErrorKind.SKIPPABLE,
    "DUPLICATE_EXTERNAL_ID": ErrorKind.SKIPPABLE,
    "FIELD_CUSTOM_VALIDATION_EXCEPTION": ErrorKind.SKIPPABLE,
    "FIELD_INTEGRITY_EXCEPTION": ErrorKind.SKIPPABLE,
    "REQUIRED_FIELD_MISSING": ErrorKind.SKIPPABLE,
    "STRING_TOO_LONG": ErrorKind.SKIPPABLE,
    "NUMBER_OUTSIDE_VALID_RANGE": ErrorKind.SKIPPABLE,
    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST": ErrorKind.SKIPPABLE,
    "INVALID_TYPE_ON_FIELD_IN_RECORD": ErrorKind.SKIPPABLE,
    "JSON_PARSER_ERROR": ErrorKind.SKIPPABLE,
    "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY": ErrorKind.SKIPPABLE,
    "STANDARD_PRICE_NOT_DEFINED": ErrorKind.SKIPPABLE,
    # for now: locks and limits pass
    "UNABLE_TO_LOCK_ROW": ErrorKind.RETRIABLE,
    "REQUEST_LIMIT_EXCEEDED": ErrorKind.RETRIABLE,
    "SERVER_UNAVAILABLE": ErrorKind.RETRIABLE,
    # the connector cannot work as configured
    "INVALID_SESSION_ID": ErrorKind.FATAL,
    "INSUFFICIENT_ACCESS": ErrorKind.FATAL,
    "INSUFFICIENT_ACCESS_OR_READONLY": ErrorKind.FATAL,
    "API_DISABLED_FOR_ORG": ErrorKind.FATAL,
    "API_CURRENTLY_DISABLED": ErrorKind.FATAL,
    "INVALID_FIELD": ErrorKind.FATAL,
    "INVALID_TYPE": ErrorKind.FATAL,
    "MALFORMED_QUERY": ErrorKind.FATAL,
    "NOT_FOUND_REQUESTED_RESOURCE": ErrorKind.FATAL,
}
"""What each documented error code means for q2c. An unknown code falls back on the status.

INVALID_FIELD and MALFORMED_QUERY come from q2c's own queries naming a field the org lacks
(a write-back field not set up, say): no record is at fault, the configuration is."""

RESOLUTIONS: Mapping[int, ErrorResolution] = {
    300: ErrorResolution(ErrorKind.SKIPPABLE, "the external id matches several records"),
}


def errors_of(body: Any) -> list[Mapping[str, Any]]:
    """The ``{"message", "errorCode"}`` items of an error body (a list, or one object)."""
    items = body if isinstance(body, list) else [body]
    return [item for item in items if isinstance(item, Mapping) and "errorCode" in item]


def describe(errors: Sequence[Mapping[str, Any]]) -> str:
    """``CODE: message (fields)`` of each error, for people."""
    parts = []
    for error in errors:
        fields = error.get("fields") or []
        where = f" ({', '.join(map(str, fields))})" if isinstance(fields, list) and fields else ""
        parts.append(f"{error.get('errorCode')}: {str(error.get('message', ''))[:300]}{where}")
    return "; ".join(parts)


def resolution_of(errors: Sequence[Mapping[str, Any]]) -> ErrorResolution | None:
    """The worst kind among the codes (FATAL over RETRIABLE over SKIPPABLE), with their
    text as the reason; None when no code is known."""
    kinds = [CODES[str(e["errorCode"])] for e in errors if str(e["errorCode"]) in CODES]
    if not kinds:
        return None
    order = (ErrorKind.FATAL, ErrorKind.RETRIABLE, ErrorKind.SKIPPABLE)
    kind = next(k for k in order if k in kinds)
    return ErrorResolution(kind, describe(errors))


def interpret(response: HttpResponse) -> ErrorResolution | None:
    """An error answer through its error codes (None: by status)."""
    if response.status == 300:
        return ErrorResolution(ErrorKind.SKIPPABLE, "the external id matches several records")
    try:
        body = response.json()
    except ValueError:
        return None
    errors = errors_of(body)
    if not errors:
        return None
    resolution = resolution_of(errors)
    if resolution is not None:
        return resolution
    # An unknown code keeps the status's kind, with Salesforce's words as the reason.
    if response.status < 500 and response.status not in (401, 403, 429):
        return ErrorResolution(ErrorKind.SKIPPABLE, describe(errors))
    return None


def is_limit_exceeded(error: ConnectorError) -> bool:
    return "REQUEST_LIMIT_EXCEEDED" in error.reason


def record_error(result: Mapping[str, Any], what: str) -> ConnectorError:
    """The failure of one record in an sObject Collections answer."""
    errors = errors_of(result.get("errors") or [])
    resolution = resolution_of(errors) or ErrorResolution(
        ErrorKind.SKIPPABLE, describe(errors) or "the record was not saved"
    )
    return ConnectorError(
        resolution.kind,
        f"{what}: {resolution.message}",
        system=SYSTEM,
        retry_after=LIMIT_PAUSE
        if any(e["errorCode"] == "REQUEST_LIMIT_EXCEEDED" for e in errors)
        else None,
    )


def unexpected(what: str, detail: str = "") -> ConnectorError:
    """A 2xx answer q2c cannot read: a contract change, not a retry."""
    return ConnectorError(
        ErrorKind.FATAL, f"unexpected answer: {what}", system=SYSTEM, detail=detail
    )
