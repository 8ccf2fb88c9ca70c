import base64
import hashlib
import os
from datetime import timedelta

import orjson
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
    assert letter.reason == "quote v9: written with v9, newer than the v2 this reader knows"
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


def test_a_large_payload_is_kept_cut_with_its_size_digest_and_origin() -> None:
    payload = os.urandom(900_000)
    origin = s.MessageOrigin(topic="q2c.changes", partition=3, offset=41)
    try:
        s.decode(payload)
    except s.DecodeError as error:
        letter = s.DeadLetter.of(
            payload=payload,
            error=error,
            stage="streams.route",
            failed_at=AT,
            origin=origin,
            key=b"\xff" * 5000,
            max_payload_bytes=1000,
        )
    assert letter.reason == "not a q2c message: 900000 bytes that are not UTF-8 text"
    assert letter.payload_truncated
    assert letter.payload_size == 900_000
    assert letter.payload_sha256 == hashlib.sha256(payload).hexdigest()
    assert base64.b64decode(letter.payload_base64 or "") == payload[:1000]
    assert letter.payload() is None  # only the start: the whole is read at origin
    assert letter.origin == origin
    assert letter.key_text is not None
    assert len(letter.key_text) == 1024
    encoded = s.encode(letter)
    assert len(encoded) < 5000
    assert s.decode(encoded) == letter


def test_a_cut_text_payload_stays_text_without_a_split_character() -> None:
    payload = ("é" * 100).encode()  # two bytes each: a cut at 51 splits one
    letter = s.DeadLetter.of(
        payload=payload, error=ValueError("x"), stage="s", failed_at=AT, max_payload_bytes=51
    )
    assert letter.payload_text == "é" * 25
    assert letter.payload_truncated
    assert letter.payload_size == 200


def test_a_small_payload_is_kept_whole() -> None:
    letter = s.DeadLetter.of(payload=b"{}", error=ValueError("x"), stage="s", failed_at=AT)
    assert not letter.payload_truncated
    assert letter.payload_size == 2
    assert letter.payload() == b"{}"


def test_a_version_1_dead_letter_still_decodes() -> None:
    v1 = {
        "schema": "dead_letter",
        "schema_version": 1,
        "key_text": "k",
        "payload_text": "{}",
        "error_class": "DecodeError",
        "reason": "r",
        "stage": "normalize.tryton",
        "attempts": 1,
        "first_failure_at": "2026-11-26T12:00:00Z",
        "last_failure_at": "2026-11-26T12:00:00Z",
    }
    letter = s.CODEC.decode_as(orjson.dumps(v1), s.DeadLetter)
    assert letter.payload() == b"{}"
    assert letter.payload_size is None
    assert not letter.payload_truncated
