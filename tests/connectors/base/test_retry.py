from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from hypothesis import given
from hypothesis import strategies as st

from connectors.base import (
    ErrorKind,
    RateLimiter,
    RetryPolicy,
    parse_retry_after,
    resolve_http_status,
)
from connectors.base.errors import ErrorResolution


@given(st.integers(min_value=1, max_value=60), st.none() | st.floats(0, 3600))
def test_backoff_stays_within_its_cap_and_honours_retry_after(
    attempt: int, retry_after: float | None
) -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=10.0)
    delay = policy.delay(attempt, retry_after)
    cap = min(10.0, 0.5 * 2 ** (attempt - 1))
    if retry_after is None:
        assert 0 <= delay <= cap
    else:
        assert retry_after <= delay <= max(retry_after, cap)


def test_retry_after_in_seconds_and_as_an_http_date() -> None:
    now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    assert parse_retry_after("7", now) == 7.0
    assert parse_retry_after(" 0 ", now) == 0.0
    assert parse_retry_after(format_datetime(now + timedelta(seconds=30), usegmt=True), now) == 30.0
    assert parse_retry_after(format_datetime(now - timedelta(seconds=30), usegmt=True), now) == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None


def test_status_codes_resolve_to_the_three_families() -> None:
    assert resolve_http_status(429).kind is ErrorKind.RETRIABLE
    assert resolve_http_status(503).kind is ErrorKind.RETRIABLE
    assert resolve_http_status(599).kind is ErrorKind.RETRIABLE
    assert resolve_http_status(400).kind is ErrorKind.SKIPPABLE
    assert resolve_http_status(422).kind is ErrorKind.SKIPPABLE
    assert resolve_http_status(418).kind is ErrorKind.SKIPPABLE
    assert resolve_http_status(401).kind is ErrorKind.FATAL
    assert resolve_http_status(403).kind is ErrorKind.FATAL
    override = {401: ErrorResolution(ErrorKind.RETRIABLE, "session expired")}
    assert resolve_http_status(401, override).kind is ErrorKind.RETRIABLE


async def test_rate_limiter_spaces_calls_and_pause_blocks_everyone() -> None:
    limiter = RateLimiter(rate=100.0, burst=1)
    started = time.monotonic()
    for _ in range(11):
        await limiter.acquire()
    # 11 calls at 100/s with a burst of 1 need at least 10 refills of 10 ms.
    assert time.monotonic() - started >= 0.09

    limiter.pause(0.2)
    paused = time.monotonic()
    await asyncio.gather(limiter.acquire(), limiter.acquire())
    assert time.monotonic() - paused >= 0.2
