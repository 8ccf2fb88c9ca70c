"""What a mapping module is: pure functions between a system's records and canonical
entities. No I/O: a mapping bug is fixed in code and the raw topic replayed."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import ClassVar

from pydantic import ValidationError

from schemas import EntityKind, ExternalIds, RawChange
from schemas.changes import EntityChange, SystemRole


class MappingError(ValueError):
    """A source record that cannot become a canonical entity; ``reason`` is for people."""

    def __init__(self, reason: str, *, field: str = "") -> None:
        self.reason = reason
        self.field = field
        super().__init__(f"{field}: {reason}" if field else reason)


class Mapper(ABC):
    system: ClassVar[str]
    role: ClassVar[SystemRole]

    @abstractmethod
    def to_canonical(self, change: RawChange) -> Sequence[EntityChange]:
        """The canonical changes a raw change stands for (none when it does not matter to
        the sync); :class:`MappingError` when the record cannot be mapped."""

    def canonical(self, change: RawChange) -> Sequence[EntityChange]:
        """:meth:`to_canonical`, with every failure a :class:`MappingError`.

        Records come from outside and a mapper cannot foresee every shape (a number where a
        list belongs, ``"NaN"`` where an amount does): whatever the pure mapping trips over
        is a property of the record, named with the error's class so people can find it.
        """
        try:
            return self.to_canonical(change)
        except MappingError:
            raise
        except ValidationError as exc:
            error = exc.errors(include_url=False, include_input=False)[0]
            where = ".".join(str(p) for p in error["loc"])
            raise MappingError(error["msg"], field=where) from None
        except Exception as exc:  # pure code: see the docstring
            text = str(exc)[:500]
            detail = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
            raise MappingError(f"unexpected record shape ({detail})") from None

    def report_target(self, change: RawChange) -> tuple[EntityKind, ExternalIds] | None:
        """Which record of this system should say why ``change`` did not sync (CRM mappers
        name the deal or account; None: nowhere to say it but the dead-letter topic)."""
        del change
        return None
