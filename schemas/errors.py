"""The errors of the data contracts.

:class:`DecodeError` is the only exception the codec raises for bad input (bytes that are not
JSON, an unknown schema or version, a record that fails validation, an upcaster that cannot
handle the record). Callers catch that one type and turn it into a dead-letter record; the
``reason`` is readable and ``path`` says where in the record the problem is.
"""

from __future__ import annotations


class DecodeError(ValueError):
    """A message could not be read as a valid contract.

    ``reason`` is meant for people (it ends up in the dead-letter record); ``path`` is the
    field path inside the message (``lines[2].unit_price.amount``), or ``""`` when the
    message as a whole is at fault.
    """

    def __init__(
        self,
        reason: str,
        *,
        path: str = "",
        subject: str | None = None,
        version: int | None = None,
    ) -> None:
        self.reason = reason
        self.path = path
        self.subject = subject
        self.version = version
        super().__init__(self._text())

    def _text(self) -> str:
        where = ""
        if self.subject is not None:
            where = self.subject if self.version is None else f"{self.subject} v{self.version}"
        if self.path:
            where = f"{where} field '{self.path}'" if where else f"field '{self.path}'"
        return f"{where}: {self.reason}" if where else self.reason


class EncodeError(TypeError):
    """An object handed to the codec is not a registered contract (a programming error)."""


class SchemaRegistryError(RuntimeError):
    """The committed schema files are unusable (missing, gapped, or not valid JSON)."""
