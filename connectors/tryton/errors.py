"""What can go wrong talking to Tryton, as typed exceptions with one classification.

Every failure is one of three kinds (the Singer SDK's families):

* ``retriable``: try the same call again later (network errors, timeouts, 5xx, 503 for a
  locked database, 429, Tryton's ConcurrencyException);
* ``skippable``: this record can never be applied as it is (a UserError such as a failed
  validation, a UserWarning needing a person's confirmation): dead-letter it, go on;
* ``fatal``: nothing will work until someone fixes the configuration or the code
  (credentials refused, access denied, unknown database or method, a server-side bug).

:func:`classify` is the whole decision, kept in one small function. Messages come from the
server's answer only, never from the request, so they cannot carry the password.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorKind(StrEnum):
    RETRIABLE = "retriable"
    SKIPPABLE = "skippable"
    FATAL = "fatal"


# Signs of a transient database condition in the text of a server-side exception (Tryton
# answers those with HTTP 200 and ``[message, traceback]`` when its own retries ran out).
_TRANSIENT_TEXT = ("database is locked", "could not serialize", "deadlock", "lock timeout")


def classify(status: int, error_name: str | None = None, message: str = "") -> ErrorKind:
    """The kind of a failed call from its HTTP status (0: no answer at all) and, for an
    answer carrying an ``error`` member, the Tryton exception name."""
    if status == 0 or status == 429 or status >= 500:
        return ErrorKind.RETRIABLE
    if status != 200:
        return ErrorKind.FATAL  # 400, 401 after a fresh login, 403, 404, 405
    if error_name in ("UserError", "UserWarning"):
        return ErrorKind.SKIPPABLE
    if error_name == "ConcurrencyException":
        return ErrorKind.RETRIABLE
    if error_name == "LoginException":
        return ErrorKind.FATAL
    lowered = message.lower()
    if any(text in lowered for text in _TRANSIENT_TEXT):
        return ErrorKind.RETRIABLE
    return ErrorKind.FATAL


class TrytonError(Exception):
    """A failed call to Tryton; ``kind`` says what to do about it."""

    def __init__(
        self,
        message: str,
        *,
        kind: ErrorKind,
        method: str = "",
        status: int = 200,
        retry_after: float | None = None,
    ) -> None:
        self.message = message
        self.kind = kind
        self.method = method
        self.status = status
        self.retry_after = retry_after
        where = f"{method}: " if method else ""
        super().__init__(f"{where}{message}")

    @property
    def retriable(self) -> bool:
        return self.kind is ErrorKind.RETRIABLE


class TrytonTransportError(TrytonError):
    """No usable HTTP answer: connection refused or reset, timeout, 5xx, 429."""


class TrytonAuthError(TrytonError):
    """The credentials were refused (or Tryton asks for a login step q2c cannot give)."""


class TrytonProtocolError(TrytonError):
    """The request was refused as such (403, 404, 405, 400) or the answer made no sense."""


class TrytonServerError(TrytonError):
    """A server-side exception that is not one of Tryton's user-facing errors."""

    def __init__(self, message: str, *, kind: ErrorKind, method: str, traceback: str) -> None:
        super().__init__(message, kind=kind, method=method)
        self.traceback = traceback


class TrytonUserError(TrytonError):
    """Tryton refused the data (validation, domain, required field, access rule).

    ``message`` and ``description`` are the server's own words, for the person who must fix
    the record; ``domain`` is the offending domain when Tryton names one.
    """

    def __init__(self, message: str, *, method: str, description: str, domain: Any) -> None:
        super().__init__(message, kind=ErrorKind.SKIPPABLE, method=method)
        self.description = description
        self.domain = domain


class TrytonUserWarning(TrytonError):
    """Tryton wants a person to confirm something first (``name`` is the warning's key)."""

    def __init__(self, message: str, *, method: str, name: str, description: str) -> None:
        super().__init__(message, kind=ErrorKind.SKIPPABLE, method=method)
        self.name = name
        self.description = description


class TrytonConcurrencyError(TrytonError):
    """The record changed under us (a stale timestamp): read it again and retry."""


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def from_error_member(method: str, error: Any) -> TrytonError:
    """The exception for an answer with an ``error`` member (HTTP 200).

    Tryton sends its own exceptions as ``[name, args]`` and any other exception as
    ``[message, traceback]``.
    """
    if not isinstance(error, list | tuple) or not error:
        return TrytonProtocolError("malformed error member", kind=ErrorKind.FATAL, method=method)
    name = _text(error[0])
    args = error[1] if len(error) > 1 else None
    if name == "UserError" and isinstance(args, list | tuple) and args:
        description = _text(args[1]) if len(args) > 1 and args[1] else ""
        domain = args[2] if len(args) > 2 else None
        return TrytonUserError(
            _text(args[0]), method=method, description=description, domain=domain
        )
    if name == "UserWarning" and isinstance(args, list | tuple) and len(args) >= 2:
        description = _text(args[2]) if len(args) > 2 and args[2] else ""
        return TrytonUserWarning(
            _text(args[1]), method=method, name=_text(args[0]), description=description
        )
    if name == "ConcurrencyException":
        return TrytonConcurrencyError(_text(args), kind=classify(200, name), method=method)
    if name == "LoginException":
        return TrytonAuthError(
            "Tryton asks for another login step", kind=classify(200, name), method=method
        )
    traceback = _text(args) if args is not None else ""
    return TrytonServerError(
        name, kind=classify(200, None, name), method=method, traceback=traceback
    )


def from_status(method: str, status: int, retry_after: float | None = None) -> TrytonError:
    """The exception for an HTTP answer that is not 200."""
    kind = classify(status)
    if status == 401 or status == 403:
        cls: type[TrytonError] = TrytonAuthError
    elif kind is ErrorKind.RETRIABLE:
        cls = TrytonTransportError
    else:
        cls = TrytonProtocolError
    return cls(f"HTTP {status}", kind=kind, method=method, status=status, retry_after=retry_after)
