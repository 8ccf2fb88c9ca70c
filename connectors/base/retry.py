"""Backoff with full jitter and Retry-After (tenacity), and a rate limit per system
(aiolimiter's leaky bucket).

Both libraries do the arithmetic; what is q2c's own is small: a server's Retry-After is a
floor under the jittered wait (tenacity's waits add up, they do not take a maximum), and a
429 pauses every caller sharing the limiter (aiolimiter has no pause).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from aiolimiter import AsyncLimiter
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)
from tenacity.wait import wait_base


class _RetryAfterFloor(wait_base):
    """The jittered wait, never shorter than the failure's ``retry_after`` (seconds)."""

    def __init__(self, jitter: wait_base) -> None:
        self.jitter = jitter

    def __call__(self, retry_state: RetryCallState) -> float:
        wait = self.jitter(retry_state)
        failure = retry_state.outcome.exception() if retry_state.outcome else None
        retry_after = getattr(failure, "retry_after", None)
        return max(float(retry_after), wait) if retry_after is not None else wait


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a retriable failure is tried again."""

    max_attempts: int = 8
    base_delay: float = 0.2
    max_delay: float = 30.0

    def wait(self) -> wait_base:
        """Full jitter (a uniform wait up to the exponential ceiling) spreads the retries of
        many clients apart; a ``retry_after`` on the failure is a floor."""
        return _RetryAfterFloor(
            wait_random_exponential(multiplier=self.base_delay, max=self.max_delay)
        )

    def retrying(
        self,
        retriable: Callable[[BaseException], bool],
        before_sleep: Callable[[RetryCallState], Awaitable[None] | None] | None = None,
    ) -> AsyncRetrying:
        """Retries the failures ``retriable`` accepts, up to :attr:`max_attempts` calls; the
        last failure (or one not retriable) is raised as it is."""
        return AsyncRetrying(
            stop=stop_after_attempt(self.max_attempts),
            wait=self.wait(),
            retry=retry_if_exception(retriable),
            before_sleep=before_sleep,
            reraise=True,
        )

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before attempt ``attempt + 1`` (``attempt`` counts from 1), for
        loops that wait their own way (a source waits on its stop event)."""
        state = RetryCallState(AsyncRetrying(), None, (), {})
        state.attempt_number = attempt
        wait = self.wait()(state)
        return max(retry_after, wait) if retry_after is not None else wait


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); None if absent."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class RateLimiter:
    """At most ``rate`` calls a second on average, bursts up to ``burst``.

    ``pause(seconds)`` holds every caller sharing the limiter until then, so a 429's
    Retry-After slows all of them, not only the one that saw it.
    """

    def __init__(self, rate: float, burst: int = 1) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate = rate
        self.burst = burst
        self._bucket = AsyncLimiter(burst, time_period=burst / rate)
        self._blocked_until = 0.0

    async def acquire(self) -> None:
        left = self._blocked_until - time.monotonic()
        if left > 0:
            await asyncio.sleep(left)
            await self.acquire()  # the pause may have been extended meanwhile
            return
        await self._bucket.acquire()

    def pause(self, seconds: float) -> None:
        self._blocked_until = max(self._blocked_until, time.monotonic() + seconds)
