"""What a mapping module is: pure functions between a system's records and canonical
entities. No I/O: a mapping bug is fixed in code and the raw topic replayed.

A system's mapper declares, per record type (``RawChange.object``), what the record becomes
(:class:`RecordType`); the base builds the :class:`~schemas.changes.EntityChange` around it
(ids, origin, operation, source time, fingerprint, the fields the system holds) and turns
whatever the pure reading trips over into a :class:`MappingError`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any, ClassVar

from pydantic import ValidationError

from schemas import EntityKind, ExternalIds, Operation, RawChange
from schemas.changes import ENTITY_KIND, Entity, EntityChange, SystemRole


class MappingError(ValueError):
    """A source record that cannot become a canonical entity; ``reason`` is for people."""

    def __init__(self, reason: str, *, field: str = "") -> None:
        self.reason = reason
        self.field = field
        super().__init__(f"{field}: {reason}" if field else reason)


Reader = Callable[[Mapping[str, Any], datetime], Entity | None]
"""``read(record, updated_at)``: the canonical entity a record is, or None when this one
does not matter to the sync (a supplier invoice, a refund paid out)."""


@dataclass(frozen=True)
class RecordType:
    """What one record type of a system becomes.

    ``entity`` is the kind a deletion of such a record stands for; a record read whole
    becomes the kind of what ``read`` returned (an invoice record may be a credit memo)."""

    entity: EntityKind
    read: Reader
    deletes: bool = True
    """A deletion of such a record is a deletion of the entity (else it is ignored)."""
    held: frozenset[str] | None = None
    """The entity fields the system stores, when its canonical model has more."""
    reports: bool = False
    """The record can be told why it did not sync (a CRM deal or account)."""


@contextmanager
def mapping_errors() -> Iterator[None]:
    """Every failure inside as a :class:`MappingError`.

    Records come from outside and a mapper cannot foresee every shape (a number where a
    list belongs, ``"NaN"`` where an amount does): whatever the pure mapping trips over is a
    property of the record, named with the error's class so people can find it.
    """
    try:
        yield
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


class Mapper:
    """A system's records → canonical changes, from the :attr:`records` it declares."""

    system: ClassVar[str]
    role: ClassVar[SystemRole]
    records: Mapping[str, RecordType] = MappingProxyType({})
    """The record types the system delivers that matter to the sync, by object name."""

    def updated_at(self, change: RawChange) -> datetime:
        """When the record was last changed: the source's time unless the record says."""
        return change.source_ts

    def own_ids(self, change: RawChange) -> ExternalIds:
        """The record's ids with only this system's side known."""
        side = "crm_id" if self.role is SystemRole.CRM else "erp_id"
        return ExternalIds.model_validate({side: change.record_id})

    def to_canonical(self, change: RawChange) -> Sequence[EntityChange]:
        """The canonical changes a raw change stands for (none when it does not matter to
        the sync); :class:`MappingError` when the record cannot be mapped."""
        declared = self.records.get(change.object)
        if declared is None:
            return ()
        with mapping_errors():
            if change.operation is Operation.DELETE:
                if not declared.deletes:
                    return ()
                return (
                    self._change(change, declared.entity, self.own_ids(change), None, declared),
                )
            data = declared.read(change.record, self.updated_at(change))
            if data is None:
                return ()
            own = data.ids.crm_id if self.role is SystemRole.CRM else data.ids.erp_id
            if own != change.record_id:
                raise MappingError(
                    f"the record's own id {str(own)[:40]!r} is not the change's "
                    f"{change.record_id[:40]!r}",
                    field="id",
                )
            return (self._change(change, ENTITY_KIND[type(data)], data.ids, data, declared),)

    def _change(
        self,
        change: RawChange,
        entity: EntityKind,
        ids: ExternalIds,
        data: Entity | None,
        declared: RecordType,
    ) -> EntityChange:
        return EntityChange(
            entity=entity,
            ids=ids,
            origin_system=self.system,
            origin_role=self.role,
            operation=change.operation,
            source_ts=change.source_ts,
            fingerprint=change.fingerprint,
            data=data,
            held=declared.held,
        )

    def canonical(self, change: RawChange) -> Sequence[EntityChange]:
        """:meth:`to_canonical`, with every failure a :class:`MappingError` (also from a
        mapper that overrides it)."""
        with mapping_errors():
            return self.to_canonical(change)

    def report_target(self, change: RawChange) -> tuple[EntityKind, ExternalIds] | None:
        """Which record of this system should say why ``change`` did not sync (None:
        nowhere to say it but the dead-letter topic)."""
        declared = self.records.get(change.object)
        if declared is None or not declared.reports or change.operation is Operation.DELETE:
            return None
        return declared.entity, self.own_ids(change)
