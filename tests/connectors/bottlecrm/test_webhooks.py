"""The webhook signature check, as a pure function."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

from connectors.bottlecrm.webhooks import InvalidSignature, signature, verify_signature

SECRET = SecretStr("whsec_test-secret")
NOW = 1_795_700_000.0


def test_matches_bottlecrms_own_signing() -> None:
    # The header BottleCRM builds: t=<unix>,v1=hex(HMAC-SHA256(secret, "<unix>." + body)).
    body = b'{"event":"deal.won"}'
    digest = hmac.new(b"whsec_test-secret", b"1795700000." + body, hashlib.sha256).hexdigest()
    assert signature(SECRET, 1_795_700_000, body) == f"t=1795700000,v1={digest}"


@given(body=st.binary(max_size=512), skew=st.integers(min_value=-300, max_value=300))
def test_accepts_what_it_signed(body: bytes, skew: int) -> None:
    header = signature(SECRET, int(NOW) + skew, body)
    assert verify_signature(SECRET, header, body, now=NOW) == int(NOW) + skew


@given(body=st.binary(min_size=1, max_size=256), flip=st.integers(min_value=0, max_value=255))
def test_rejects_any_changed_body(body: bytes, flip: int) -> None:
    header = signature(SECRET, int(NOW), body)
    changed = bytes([body[0] ^ (flip or 1)]) + body[1:]
    with pytest.raises(InvalidSignature, match="does not match"):
        verify_signature(SECRET, header, changed, now=NOW)


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (None, "unsigned"),
        ("", "unsigned"),
        ("garbage", "malformed"),
        ("t=abc,v1=00", "malformed signature timestamp"),
        ("v1=00", "lacks"),
        ("t=1795700000", "lacks"),
    ],
)
def test_rejects_missing_or_malformed_headers(header: str | None, message: str) -> None:
    with pytest.raises(InvalidSignature, match=message):
        verify_signature(SECRET, header, b"{}", now=NOW)


def test_rejects_stale_and_future_timestamps() -> None:
    for signed_at in (NOW - 301, NOW + 301):
        header = signature(SECRET, int(signed_at), b"{}")
        with pytest.raises(InvalidSignature, match="outside"):
            verify_signature(SECRET, header, b"{}", now=NOW, tolerance=300)


def test_rejects_another_secret_and_accepts_during_rotation() -> None:
    header = signature(SecretStr("whsec_old"), int(NOW), b"{}")
    with pytest.raises(InvalidSignature, match="does not match"):
        verify_signature(SECRET, header, b"{}", now=NOW)
    rotated = header + "," + signature(SECRET, int(NOW), b"{}").split(",")[1]
    assert verify_signature(SECRET, rotated, b"{}", now=NOW) == int(NOW)
