"""Reading BottleCRM's error answers, and comparing custom-field values read back."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import orjson
import pytest

from connectors.base import ErrorKind, HttpResponse
from connectors.bottlecrm.client import same_value
from connectors.bottlecrm.errors import interpret, reason_of


def _response(status: int, body: object) -> HttpResponse:
    return HttpResponse(status, {}, orjson.dumps(body))


def test_field_errors_become_a_skippable_reason() -> None:
    body = {
        "error": True,
        "errors": {
            "last_name": ["This field is required."],
            "custom_fields": {"q2c_sync_status": "must be one of ['synced']"},
        },
    }
    resolution = interpret(_response(400, body))
    assert resolution is not None
    assert resolution.kind is ErrorKind.SKIPPABLE
    assert resolution.message == (
        "rejected: last_name: This field is required.; "
        "custom_fields.q2c_sync_status: must be one of ['synced']"
    )


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"error": True, "errors": "Admin access required"}, "Admin access required"),
        ({"detail": "Not found."}, "Not found."),
        ({"error": "org_id is required"}, "org_id is required"),
        ({"error": True, "errors": {"closed_on": ["Needs a date."]}}, "closed_on: Needs a date."),
        ({"error": False}, None),
        (["not", "a", "mapping"], None),
    ],
)
def test_reason_of_each_error_shape(body: object, reason: str | None) -> None:
    assert reason_of(body) == reason


def test_only_400_is_read_from_the_body() -> None:
    assert interpret(_response(403, {"detail": "Organization context is required."})) is None
    assert interpret(HttpResponse(400, {}, b"<html>bad</html>")) is None


@pytest.mark.parametrize(
    ("written", "stored", "same"),
    [
        (Decimal("12.30"), 12.3, True),
        (Decimal("1234.56"), 1234.56, True),
        (Decimal("12.30"), 12.31, False),
        ("12.30", 12.3, True),
        (0, 0.0, True),
        (date(2026, 11, 20), "2026-11-20", True),
        ("2026-11-20", "2026-11-20", True),
        (True, True, True),
        (True, 1.0, False),
        ("", None, True),
        (None, None, True),
        ("x", None, False),
        ("SO-1", "SO-1", True),
        ("SO-1", "SO-2", False),
    ],
)
def test_same_value_after_bottlecrms_coercion(written: object, stored: object, same: bool) -> None:
    assert same_value(written, stored) is same
