"""The HTTP client every connector shares: timeouts, retries with backoff and jitter,
Retry-After, a rate limit per system, and errors classified in one place."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson
from tenacity import RetryCallState

from connectors.base.errors import (
    ConnectorError,
    ErrorKind,
    ErrorResolution,
    is_retriable,
    resolve_http_status,
)
from connectors.base.retry import RateLimiter, RetryPolicy, parse_retry_after
from q2c.core import metrics

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body) if self.body else None


ErrorInterpreter = Callable[[HttpResponse], ErrorResolution | None]
"""A system's own reading of an error response (e.g. an error code in the body); None
falls back to the status-code table."""


@dataclass
class HttpClient:
    """One peer system's API. Create it inside a running event loop; ``close()`` it."""

    system: str
    base_url: str
    timeout: float = 30.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    limiter: RateLimiter | None = None
    resolutions: Mapping[int, ErrorResolution] | None = None
    interpret: ErrorInterpreter | None = None
    default_headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    secrets: tuple[str, ...] = field(default=(), repr=False)
    keepalive: float = 1.0
    """Seconds an idle connection is kept: shorter than servers' own idle limits (gunicorn
    closes after 2 s), so a request is never sent on a connection being closed under it."""
    _session: aiohttp.ClientSession | None = field(default=None, init=False)

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(keepalive_timeout=self.keepalive),
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                json_serialize=lambda obj: orjson.dumps(obj).decode(),
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    def _scrub(self, text: str) -> str:
        for secret in self.secrets:
            if secret:
                text = text.replace(secret, "***")
        return text

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        data: Any = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        retry: RetryPolicy | None = None,
    ) -> HttpResponse:
        """The response of a successful call; a :class:`ConnectorError` otherwise, after
        retrying retriable failures as ``retry`` allows."""
        policy = retry or self.retry
        url = path if path.startswith(("http://", "https://")) else self.base_url + path
        merged = {**self.default_headers, **(headers or {})}

        async def attempt() -> HttpResponse:
            if self.limiter is not None:
                await self._acquire(self.limiter)
            started = time.monotonic()
            try:
                outcome = await self._once(method, url, json, data, params, merged)
            except ConnectorError as exc:
                outcome = exc
            metrics.API_REQUEST_DURATION.labels(self.system).observe(time.monotonic() - started)
            if isinstance(outcome, HttpResponse):
                return outcome
            metrics.API_ERRORS.labels(self.system, outcome.kind.value, _cause(outcome)).inc()
            raise outcome

        def before_retry(state: RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            if not isinstance(error, ConnectorError):
                return
            metrics.API_RETRIES.labels(self.system).inc()
            if error.retry_after is not None:
                metrics.API_RETRY_AFTER.labels(self.system).inc()
                if self.limiter is not None:
                    self.limiter.pause(error.retry_after)
            log.warning(
                "retrying %s %s in %.2fs (attempt %d/%d): %s",
                method,
                self._scrub(path),
                state.upcoming_sleep,
                state.attempt_number,
                policy.max_attempts,
                error.describe(),
            )

        retrying = policy.retrying(is_retriable, before_retry)
        return await retrying(attempt)

    async def _acquire(self, limiter: RateLimiter) -> None:
        """The limiter's permission; a call that had to wait for it is counted."""
        started = time.monotonic()
        await limiter.acquire()
        waited = time.monotonic() - started
        if waited > 0.001:  # the lock and the bucket alone take microseconds
            metrics.RATE_LIMIT_WAITS.labels(self.system).inc()
            metrics.RATE_LIMIT_WAIT_SECONDS.labels(self.system).inc(waited)

    async def _once(
        self,
        method: str,
        url: str,
        json: Any,
        data: Any,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str],
    ) -> HttpResponse | ConnectorError:
        try:
            async with self.session.request(
                method, url, json=json, data=data, params=params, headers=headers
            ) as reply:
                response = HttpResponse(reply.status, dict(reply.headers), await reply.read())
        except TimeoutError:
            return ConnectorError(ErrorKind.RETRIABLE, "the request timed out", system=self.system)
        except aiohttp.ClientError as exc:
            return ConnectorError(
                ErrorKind.RETRIABLE,
                f"connection failed: {type(exc).__name__}",
                system=self.system,
                detail=self._scrub(str(exc)),
            )
        if response.status < 400:
            return response
        return self.error_of(response)

    def error_of(self, response: HttpResponse) -> ConnectorError:
        """The classified error for a failed response."""
        resolution = (self.interpret(response) if self.interpret else None) or resolve_http_status(
            response.status, self.resolutions
        )
        body = self._scrub(response.body[:2000].decode("utf-8", "replace"))
        return ConnectorError(
            resolution.kind,
            resolution.message,
            system=self.system,
            status=response.status,
            detail=body,
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
        )


def _cause(error: ConnectorError) -> str:
    """A bounded label for what went wrong: the status class, or the call's own failure."""
    if error.status is None:
        return "timeout" if "timed out" in error.reason else "connection"
    return f"{error.status // 100}xx"
