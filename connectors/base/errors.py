"""Errors are classified once, here, into three families, and acted on in one place.

- RETRIABLE: the call may succeed later (network, timeouts, 429, 5xx, locks): back off and
  try again; the change or command is never given up.
- SKIPPABLE: this record or command can never succeed as it is (a validation error, a
  missing reference): it goes to the dead-letter topic with the reason and the connector
  moves on.
- FATAL: the connector cannot work at all (bad credentials, no permission, misconfiguration):
  it stops and says why, without committing anything past the failure.

An HTTP failure is interpreted into an :class:`ErrorResolution` from a table keyed by status
code, rather than by branching at every call site. The reason meant for people is kept apart
from the internal detail, and both are redacted before they are stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from q2c.core.telemetry import redact


class ErrorKind(StrEnum):
    RETRIABLE = "retriable"
    SKIPPABLE = "skippable"
    FATAL = "fatal"


@dataclass(frozen=True)
class ErrorResolution:
    kind: ErrorKind
    message: str


class ConnectorError(Exception):
    """A classified failure of a call to a peer system."""

    def __init__(
        self,
        kind: ErrorKind,
        reason: str,
        *,
        system: str = "",
        status: int | None = None,
        detail: str = "",
        retry_after: float | None = None,
    ) -> None:
        self.kind = kind
        self.reason = redact(reason)
        self.system = system
        self.status = status
        self.detail = redact(detail)[:2000]
        self.retry_after = retry_after
        super().__init__(self.describe())

    def describe(self) -> str:
        where = f"{self.system}: " if self.system else ""
        status = f" (HTTP {self.status})" if self.status is not None else ""
        return f"{where}{self.reason}{status}"

    @property
    def retriable(self) -> bool:
        return self.kind is ErrorKind.RETRIABLE


HTTP_RESOLUTIONS: Mapping[int, ErrorResolution] = {
    400: ErrorResolution(ErrorKind.SKIPPABLE, "the request was rejected as invalid"),
    401: ErrorResolution(ErrorKind.FATAL, "authentication failed; check the credentials"),
    403: ErrorResolution(ErrorKind.FATAL, "the credentials are not allowed to do this"),
    404: ErrorResolution(ErrorKind.SKIPPABLE, "the record does not exist"),
    405: ErrorResolution(ErrorKind.FATAL, "the endpoint does not support this method"),
    408: ErrorResolution(ErrorKind.RETRIABLE, "the request timed out"),
    409: ErrorResolution(ErrorKind.RETRIABLE, "the record is being changed concurrently"),
    410: ErrorResolution(ErrorKind.SKIPPABLE, "the record is gone"),
    413: ErrorResolution(ErrorKind.SKIPPABLE, "the request is too large"),
    422: ErrorResolution(ErrorKind.SKIPPABLE, "the record failed validation"),
    423: ErrorResolution(ErrorKind.RETRIABLE, "the record is locked"),
    425: ErrorResolution(ErrorKind.RETRIABLE, "the server is not ready"),
    429: ErrorResolution(ErrorKind.RETRIABLE, "rate limited"),
}


def resolve_http_status(
    status: int, overrides: Mapping[int, ErrorResolution] | None = None
) -> ErrorResolution:
    """The resolution of an HTTP error status (``overrides`` first, then the defaults)."""
    if overrides and status in overrides:
        return overrides[status]
    if status in HTTP_RESOLUTIONS:
        return HTTP_RESOLUTIONS[status]
    if status >= 500:
        return ErrorResolution(ErrorKind.RETRIABLE, "the server failed")
    return ErrorResolution(ErrorKind.SKIPPABLE, f"the request failed with HTTP {status}")


def is_retriable(error: BaseException) -> bool:
    """A classified failure worth another try (for retry predicates)."""
    return isinstance(error, ConnectorError) and error.retriable
