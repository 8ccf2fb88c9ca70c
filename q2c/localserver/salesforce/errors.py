"""The REST API's error bodies: a JSON array of ``{message, errorCode, fields}`` with the
status code the REST API's "Status Codes and Error Responses" page gives for the case."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class SalesforceError(Exception):
    """One documented API error; raised anywhere below a handler, rendered by the server."""

    def __init__(
        self, status: int, error_code: str, message: str, fields: Sequence[str] = ()
    ) -> None:
        super().__init__(f"{error_code}: {message}")
        self.status = status
        self.error_code = error_code
        self.message = message
        self.fields = tuple(fields)

    def entry(self) -> dict[str, Any]:
        return {"message": self.message, "errorCode": self.error_code, "fields": list(self.fields)}

    def body(self) -> list[dict[str, Any]]:
        return [self.entry()]


def not_found() -> SalesforceError:
    return SalesforceError(404, "NOT_FOUND", "The requested resource does not exist")


def invalid_field(sobject: str, name: str) -> SalesforceError:
    return SalesforceError(
        400,
        "INVALID_FIELD",
        f"No such column '{name}' on sobject of type {sobject}",
        [name],
    )


def invalid_type(sobject: str) -> SalesforceError:
    return SalesforceError(404, "NOT_FOUND", f"The requested resource does not exist: {sobject}")


def malformed_id(label: str, value: str, fields: Sequence[str] = ()) -> SalesforceError:
    return SalesforceError(
        400, "MALFORMED_ID", f"{label} ID: id value of incorrect type: {value}", fields
    )
