"""How BottleCRM's error answers map onto q2c's three error families.

BottleCRM answers a rejected write with 400 and ``{"error": true, "errors": {...}}``, the
field messages nested per field (custom fields one level deeper). Those messages are the
reason a person reads, so they become the reason of a SKIPPABLE error. A bad or revoked
token is 403 ("Organization context is required"), as is a token used where only a signed-in
user may act: both are FATAL. A 409 is a refusal to delete a record that others still point
at, which waiting does not fix.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import orjson

from connectors.base import ConnectorError, ErrorKind, ErrorResolution, HttpResponse

SYSTEM = "bottlecrm"

RESOLUTIONS: Mapping[int, ErrorResolution] = {
    409: ErrorResolution(ErrorKind.SKIPPABLE, "the record is still referenced by others"),
}


def field_messages(errors: Any, prefix: str = "") -> Iterator[str]:
    """``field: message`` lines from BottleCRM's nested ``errors`` value."""
    if isinstance(errors, Mapping):
        for key, value in errors.items():
            yield from field_messages(value, f"{prefix}{key}.")
    elif isinstance(errors, list | tuple):
        for value in errors:
            yield from field_messages(value, prefix)
    elif errors not in (None, "", True, False):
        where = prefix.rstrip(".")
        yield f"{where}: {errors}" if where else str(errors)


def reason_of(body: Any) -> str | None:
    """The readable reason in an error body, or None when it carries none."""
    if not isinstance(body, Mapping):
        return None
    for key in ("errors", "detail", "error", "message"):
        value = body.get(key)
        if value in (None, "", True, False):
            continue
        lines = list(field_messages(value))
        if lines:
            return "; ".join(lines)
    return None


def interpret(response: HttpResponse) -> ErrorResolution | None:
    """A 400 with field errors is SKIPPABLE with the field messages as its reason."""
    if response.status != 400:
        return None
    try:
        body = orjson.loads(response.body) if response.body else None
    except orjson.JSONDecodeError:
        return None
    reason = reason_of(body)
    if reason is None:
        return None
    return ErrorResolution(ErrorKind.SKIPPABLE, f"rejected: {reason}")


def unexpected(what: str, detail: str = "") -> ConnectorError:
    """The API answered 2xx with something q2c cannot read: a contract change, not a retry."""
    return ConnectorError(
        ErrorKind.FATAL, f"unexpected answer: {what}", system=SYSTEM, detail=detail
    )


class CustomFieldsNotApplied(ConnectorError):
    """A custom-field write answered 200 but left some keys unset or different.

    BottleCRM drops keys it has no definition for without an error, so the write is read
    back and compared; the keys that did not take are named.
    """

    def __init__(self, record: str, keys: list[str]) -> None:
        self.keys = keys
        super().__init__(
            ErrorKind.SKIPPABLE,
            f"custom fields not applied to {record}: {', '.join(keys)} "
            "(undefined in BottleCRM, inactive or coerced)",
            system=SYSTEM,
        )
