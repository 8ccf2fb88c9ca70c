"""Tryton's failures as :class:`~connectors.base.errors.ConnectorError` subclasses.

Tryton answers most failures with HTTP 200 and an ``error`` member: its own exceptions as
``[name, args]``, anything else as ``[message, traceback]``. :func:`classify` reads both
that and the HTTP status into the three families of :mod:`connectors.base.errors`:

* retriable: no answer, 429, 5xx (503 is a locked SQLite database), a
  ConcurrencyException, a server-side "database is locked" once Tryton's own retries ran out;
* skippable: a UserError (failed validation, missing required value, forbidden state
  change) or a UserWarning: this record cannot be applied as it is;
* fatal: the credentials or the access rights are refused, the database or the method does
  not exist, or a server-side bug: nothing will work until someone fixes it.

The reason is the server's own message (it ends up in the dead-letter record and the CRM's
sync status); it never contains the request, so never the password.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.base.errors import ConnectorError, ErrorKind, ErrorResolution, resolve_http_status

SYSTEM = "tryton"

# Where Tryton's statuses mean something else than the shared table says.
TRYTON_RESOLUTIONS: Mapping[int, ErrorResolution] = {
    400: ErrorResolution(ErrorKind.FATAL, "Tryton refused the request as malformed"),
    401: ErrorResolution(ErrorKind.FATAL, "Tryton refused the credentials"),
    403: ErrorResolution(ErrorKind.FATAL, "the Tryton user may not call this method"),
    404: ErrorResolution(ErrorKind.FATAL, "Tryton has no such database"),
    503: ErrorResolution(ErrorKind.RETRIABLE, "the Tryton database is busy"),
    504: ErrorResolution(ErrorKind.RETRIABLE, "the Tryton call timed out"),
}

# Signs of a transient database condition in the text of a server-side exception.
_TRANSIENT_TEXT = ("database is locked", "could not serialize", "deadlock", "lock timeout")


def classify(status: int | None, error_name: str | None = None, message: str = "") -> ErrorKind:
    """The kind of a failed call from its HTTP status (None: no answer at all) and, for an
    answer with an ``error`` member, Tryton's exception name or message."""
    if status is None:
        return ErrorKind.RETRIABLE
    if status != 200:
        return resolve_http_status(status, TRYTON_RESOLUTIONS).kind
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


class TrytonError(ConnectorError):
    """A failed call to Tryton; ``method`` is the JSON-RPC method that failed."""

    def __init__(
        self,
        message: str,
        *,
        kind: ErrorKind,
        method: str = "",
        status: int | None = None,
        detail: str = "",
        retry_after: float | None = None,
    ) -> None:
        self.method = method
        super().__init__(
            kind,
            message,
            system=SYSTEM,
            status=status,
            detail=f"{method}: {detail}" if method and detail else (detail or method),
            retry_after=retry_after,
        )

    @property
    def message(self) -> str:
        """The reason in the server's words (redacted)."""
        return self.reason


class TrytonTransportError(TrytonError):
    """No usable HTTP answer: connection refused or reset, timeout, 5xx, 429."""


class TrytonAuthError(TrytonError):
    """The credentials or the access rights were refused (401, 403, a login step)."""


class TrytonProtocolError(TrytonError):
    """The request was refused as such (400, 404, 405) or the answer made no sense."""


class TrytonServerError(TrytonError):
    """A server-side exception that is not one of Tryton's user-facing errors."""


class TrytonUserError(TrytonError):
    """Tryton refused the data (validation, required field, state, access rule).

    ``description`` adds the server's explanation; ``domain`` is the offending domain when
    Tryton names one.
    """

    def __init__(self, message: str, *, method: str, description: str, domain: Any) -> None:
        super().__init__(message, kind=ErrorKind.SKIPPABLE, method=method, detail=description)
        self.description = description
        self.domain = domain


class TrytonUserWarning(TrytonError):
    """Tryton wants a person to confirm something first (``name`` is the warning's key)."""

    def __init__(self, message: str, *, method: str, name: str, description: str) -> None:
        super().__init__(message, kind=ErrorKind.SKIPPABLE, method=method, detail=description)
        self.name = name
        self.description = description


class TrytonConcurrencyError(TrytonError):
    """The record changed under us (a stale timestamp): read it again and retry."""


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def from_error_member(method: str, error: Any) -> TrytonError:
    """The exception for an answer with an ``error`` member (HTTP 200)."""
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
    # Any other exception: [str(exception), traceback] (the traceback only in dev mode).
    traceback = _text(args) if args else ""
    return TrytonServerError(name, kind=classify(200, None, name), method=method, detail=traceback)


def from_connector_error(method: str, error: ConnectorError) -> TrytonError:
    """The shared HTTP client's error for a failed HTTP exchange, as a Tryton error."""
    if error.status is None:
        return TrytonTransportError(
            error.reason, kind=ErrorKind.RETRIABLE, method=method, detail=error.detail
        )
    status = error.status
    kind = classify(status)
    reason = resolve_http_status(status, TRYTON_RESOLUTIONS).message
    cls: type[TrytonError]
    if status in (401, 403):
        cls = TrytonAuthError
    elif kind is ErrorKind.RETRIABLE:
        cls = TrytonTransportError
    else:
        cls = TrytonProtocolError
    return cls(reason, kind=kind, method=method, status=status, retry_after=error.retry_after)
