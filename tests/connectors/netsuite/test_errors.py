"""NetSuite's documented error bodies classify by their error code before their status."""

from __future__ import annotations

import orjson
import pytest

from connectors.base.errors import ErrorKind
from connectors.base.http import HttpResponse
from connectors.netsuite.errors import classify, interpret, reason_of


def body(status: int, code: str, detail: str, path: str | None = None) -> bytes:
    entry: dict[str, str] = {"detail": detail, "o:errorCode": code}
    if path:
        entry["o:errorPath"] = path
    return orjson.dumps(
        {
            "type": "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.1",
            "title": "Bad Request",
            "status": status,
            "o:errorDetails": [entry],
        }
    )


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (429, "CONCURRENCY_LIMIT_EXCEEDED", ErrorKind.RETRIABLE),
        (400, "SSS_REQUEST_LIMIT_EXCEEDED", ErrorKind.RETRIABLE),
        (400, "USER_ERROR", ErrorKind.SKIPPABLE),
        (400, "INVALID_PARAMETER", ErrorKind.SKIPPABLE),
        (404, "NONEXISTENT_ID", ErrorKind.SKIPPABLE),
        (401, "INVALID_LOGIN", ErrorKind.FATAL),
        (403, "INSUFFICIENT_PERMISSION", ErrorKind.FATAL),
        (400, "INVALID_LOGIN_ATTEMPT", ErrorKind.FATAL),
        (500, "UNEXPECTED_ERROR", ErrorKind.RETRIABLE),
        (503, "", ErrorKind.RETRIABLE),
    ],
)
def test_error_codes_classify(status: int, code: str, kind: ErrorKind) -> None:
    assert classify(status, body(status, code, "x")) is kind


def test_a_body_that_is_not_json_classifies_by_status() -> None:
    assert classify(429, b"<html>busy</html>") is ErrorKind.RETRIABLE
    assert classify(401, b"") is ErrorKind.FATAL
    assert classify(400, b"not json") is ErrorKind.SKIPPABLE


def test_the_reason_is_netsuites_detail_with_the_field() -> None:
    resolution = interpret(
        HttpResponse(
            400, {}, body(400, "USER_ERROR", "Please enter a value for Customer.", "entity")
        )
    )
    assert resolution.message == "USER_ERROR: Please enter a value for Customer. (at entity)"
    assert reason_of({"title": "Bad Request"}, "x") == "Bad Request"
