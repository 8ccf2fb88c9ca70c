"""Tryton ERP: the JSON-RPC client (and, beside it, the source, sink and mapping)."""

from connectors.base.errors import ErrorKind
from connectors.tryton.client import TrytonClient, WizardStep
from connectors.tryton.errors import (
    TrytonAuthError,
    TrytonConcurrencyError,
    TrytonError,
    TrytonProtocolError,
    TrytonServerError,
    TrytonTransportError,
    TrytonUserError,
    TrytonUserWarning,
    classify,
)
from connectors.tryton.settings import TrytonSettings

__all__ = [
    "ErrorKind",
    "TrytonAuthError",
    "TrytonClient",
    "TrytonConcurrencyError",
    "TrytonError",
    "TrytonProtocolError",
    "TrytonServerError",
    "TrytonSettings",
    "TrytonTransportError",
    "TrytonUserError",
    "TrytonUserWarning",
    "WizardStep",
    "classify",
]
