"""Salesforce's documented error answers in q2c's three families."""

from __future__ import annotations

import orjson
import pytest

from connectors.base import ErrorKind, HttpClient, HttpResponse
from connectors.salesforce import errors


def classify(status: int, body: object) -> tuple[ErrorKind, str]:
    client = HttpClient(
        system="salesforce",
        base_url="",
        resolutions=errors.RESOLUTIONS,
        interpret=errors.interpret,
    )
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    error = client.error_of(HttpResponse(status, {}, raw))
    return error.kind, error.reason


def body(code: str, message: str = "", fields: list[str] | None = None) -> list[dict[str, object]]:
    return [{"message": message or code.lower(), "errorCode": code, "fields": fields or []}]


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (400, "MALFORMED_ID", ErrorKind.SKIPPABLE),
        (404, "NOT_FOUND", ErrorKind.SKIPPABLE),
        (400, "DUPLICATES_DETECTED", ErrorKind.SKIPPABLE),
        (400, "FIELD_CUSTOM_VALIDATION_EXCEPTION", ErrorKind.SKIPPABLE),
        (400, "REQUIRED_FIELD_MISSING", ErrorKind.SKIPPABLE),
        (401, "INVALID_SESSION_ID", ErrorKind.FATAL),
        (403, "REQUEST_LIMIT_EXCEEDED", ErrorKind.RETRIABLE),
        (403, "INSUFFICIENT_ACCESS", ErrorKind.FATAL),
        (400, "INVALID_FIELD", ErrorKind.FATAL),
        (400, "UNABLE_TO_LOCK_ROW", ErrorKind.RETRIABLE),
        (503, "SERVER_UNAVAILABLE", ErrorKind.RETRIABLE),
    ],
)
def test_documented_codes(status: int, code: str, kind: ErrorKind) -> None:
    found, reason = classify(status, body(code, "the reason"))
    assert found is kind
    assert code in reason


def test_the_message_and_fields_are_the_reason() -> None:
    kind, reason = classify(
        400,
        body(
            "FIELD_CUSTOM_VALIDATION_EXCEPTION", "Close date must be in the future", ["CloseDate"]
        ),
    )
    assert kind is ErrorKind.SKIPPABLE
    assert (
        reason == "FIELD_CUSTOM_VALIDATION_EXCEPTION: Close date must be in the future (CloseDate)"
    )


def test_several_external_id_matches_are_skippable() -> None:
    # 300: the body lists the matching records' URLs.
    kind, _ = classify(
        300,
        [
            "/services/data/v62.0/sobjects/Account/001000000000001AAA",
            "/services/data/v62.0/sobjects/Account/001000000000002AAA",
        ],
    )
    assert kind is ErrorKind.SKIPPABLE


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (401, ErrorKind.FATAL),
        (403, ErrorKind.FATAL),
        (429, ErrorKind.RETRIABLE),
        (500, ErrorKind.RETRIABLE),
        (502, ErrorKind.RETRIABLE),
        (400, ErrorKind.SKIPPABLE),
    ],
)
def test_without_a_code_the_status_decides(status: int, kind: ErrorKind) -> None:
    assert classify(status, b"")[0] is kind
    assert classify(status, b"<html>upstream</html>")[0] is kind


def test_an_unknown_code_keeps_the_status_kind_with_salesforce_words() -> None:
    assert classify(400, body("SOMETHING_NEW", "new rule"))[0] is ErrorKind.SKIPPABLE
    assert classify(403, body("SOMETHING_NEW"))[0] is ErrorKind.FATAL
    assert classify(500, body("SOMETHING_NEW"))[0] is ErrorKind.RETRIABLE


def test_the_worst_of_several_codes_decides() -> None:
    both = [*body("DUPLICATES_DETECTED"), *body("INSUFFICIENT_ACCESS")]
    assert classify(400, both)[0] is ErrorKind.FATAL


def test_a_collection_record_failure() -> None:
    result = {
        "id": None,
        "success": False,
        "errors": [
            {
                "statusCode": "DUPLICATES_DETECTED",
                "errorCode": "DUPLICATES_DETECTED",
                "message": "Use one of these records?",
                "fields": [],
            }
        ],
    }
    error = errors.record_error(result, "Account 001000000000001AAA")
    assert error.kind is ErrorKind.SKIPPABLE
    assert "Account 001000000000001AAA: DUPLICATES_DETECTED" in error.reason
    limited = errors.record_error({"success": False, "errors": body("REQUEST_LIMIT_EXCEEDED")}, "x")
    assert limited.kind is ErrorKind.RETRIABLE
    assert limited.retry_after == errors.LIMIT_PAUSE
    assert errors.record_error({"success": False}, "x").kind is ErrorKind.SKIPPABLE
