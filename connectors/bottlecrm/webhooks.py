"""Checking that a webhook request really comes from BottleCRM, and recently.

BottleCRM signs each delivery with the endpoint's secret:
``X-BottleCRM-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">``.
A request is accepted only with a valid signature whose timestamp is within ``tolerance``
seconds of now, so a captured delivery cannot be replayed later. Pure functions: the
caller passes the clock.
"""

from __future__ import annotations

import hashlib
import hmac

from pydantic import SecretStr

from connectors.base.tracking import InvalidSignature

SIGNATURE_HEADER = "X-BottleCRM-Signature"
EVENT_HEADER = "X-BottleCRM-Event"
DELIVERY_HEADER = "X-BottleCRM-Delivery"

__all__ = [
    "DELIVERY_HEADER",
    "EVENT_HEADER",
    "SIGNATURE_HEADER",
    "InvalidSignature",
    "signature",
    "verify_signature",
]


def signature(secret: SecretStr, timestamp: int, body: bytes) -> str:
    """The header value BottleCRM sends for ``body`` at ``timestamp``."""
    digest = hmac.new(
        secret.get_secret_value().encode(), f"{timestamp}.".encode() + body, hashlib.sha256
    ).hexdigest()
    return f"t={timestamp},v1={digest}"


def _parse(header: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    digests: list[str] = []
    for part in header.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep:
            raise InvalidSignature("malformed signature header")
        if name == "t":
            try:
                timestamp = int(value)
            except ValueError:
                raise InvalidSignature("malformed signature timestamp") from None
        elif name == "v1":
            digests.append(value)
    if timestamp is None or not digests:
        raise InvalidSignature("signature header lacks t= or v1=")
    return timestamp, digests


def verify_signature(
    secret: SecretStr,
    header: str | None,
    body: bytes,
    now: float,
    tolerance: float = 300.0,
) -> int:
    """The signed timestamp when ``header`` signs ``body``; raises :class:`InvalidSignature`.

    Several ``v1=`` values are accepted (one must match), so a secret rotation can overlap.
    """
    if not header:
        raise InvalidSignature("unsigned request")
    timestamp, digests = _parse(header)
    if abs(now - timestamp) > tolerance:
        raise InvalidSignature("signature timestamp outside the accepted window")
    expected = signature(secret, timestamp, body).partition(",v1=")[2]
    if not any(hmac.compare_digest(expected, digest) for digest in digests):
        raise InvalidSignature("signature does not match")
    return timestamp
