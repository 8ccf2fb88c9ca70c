import base64
from datetime import timedelta

import pytest
from pydantic import ValidationError

import schemas as s
from tests.schemas.samples import AT


def test_a_dead_letter_keeps_text_payloads_as_text() -> None:
    payload = b'{"schema": "quote", "schema_version": 9}'
    try:
        s.decode(payload)
    except s.DecodeError as error:
        letter = s.DeadLetter.of(
            payload=payload,
            error=error,
            stage="streams.quotes",
            failed_at=AT,
            key=b"deal-42",
            origin=s.MessageOrigin(topic="q2c.quotes", partition=0, offset=7),
        )
    assert letter.payload_text == payload.decode()
    assert letter.payload_base64 is None
    assert letter.payload() == payload
    assert letter.error_class == "DecodeError"
    assert letter.reason == "quote v9: written with v9, newer than the v1 this reader knows"
    assert letter.key_text == "deal-42"
    assert letter.attempts == 1
    assert letter.first_failure_at == letter.last_failure_at == AT
    assert s.decode(s.encode(letter)) == letter


def test_a_dead_letter_keeps_binary_payloads_as_base64_and_the_field_path() -> None:
    payload = b"\x00\xff\xfe"
    letter = s.DeadLetter.of(
        payload=payload,
        error=s.DecodeError("Field required", path="lines[0].quantity"),
        stage="normalize",
        failed_at=AT + timedelta(minutes=5),
        first_failure_at=AT,
        attempts=4,
    )
    assert letter.payload_text is None
    assert letter.payload_base64 == base64.b64encode(payload).decode()
    assert letter.payload() == payload
    assert letter.field_path == "lines[0].quantity"
    assert letter.attempts == 4


def test_dead_letter_consistency() -> None:
    with pytest.raises(ValidationError, match="before first_failure_at"):
        s.DeadLetter.of(
            payload=None,
            error=RuntimeError("x"),
            stage="sink.tryton",
            failed_at=AT,
            first_failure_at=AT + timedelta(seconds=1),
        )
    letter = s.DeadLetter.of(payload=None, error=RuntimeError(), stage="s", failed_at=AT)
    assert letter.reason == "RuntimeError"
    assert letter.payload() is None
    with pytest.raises(ValidationError, match="exclusive"):
        s.DeadLetter.model_validate(
            {**letter.model_dump(), "payload_text": "a", "payload_base64": "YQ=="}
        )


def test_long_reasons_are_cut() -> None:
    letter = s.DeadLetter.of(payload=b"x", error=ValueError("e" * 10_000), stage="s", failed_at=AT)
    assert len(letter.reason) == 4000


def test_idempotency_keys_are_stable_and_distinct() -> None:
    a = s.idempotency_key("upsert_customer", "tryton", "acct-7", "sha256:1")
    assert a == s.idempotency_key("upsert_customer", "tryton", "acct-7", "sha256:1")
    assert a != s.idempotency_key("upsert_customer", "tryton", "acct-7", "sha256:2")
    # The separator keeps ("ab", "c") and ("a", "bc") apart.
    assert s.idempotency_key("ab", "c") != s.idempotency_key("a", "bc")
    with pytest.raises(ValueError, match="at least one part"):
        s.idempotency_key()


def test_secrets_in_error_text_do_not_reach_the_dead_letter() -> None:
    error = RuntimeError("401 from https://svc:hunter2@erp.example/rpc with Bearer abcdef123456")
    letter = s.DeadLetter.of(payload=b"{}", error=error, stage="sink.tryton", failed_at=AT)
    assert "hunter2" not in letter.reason
    assert "abcdef123456" not in letter.reason
    assert letter.reason.startswith("401 from https://svc:***@erp.example/rpc")
