"""The commands an erasure sends: anonymise the customer, or one of its contacts, in each
system the erasure names (``[sync.erasure]``, or the operator's choice)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from schemas import DeleteMode, DeleteRecord
from schemas.changes import SystemRole
from schemas.entities import EntityKind
from streams.config import SyncConfig
from streams.handlers.common import Emit, command_fields
from streams.rules.golden import GoldenRecord

ANONYMISABLE = (EntityKind.CUSTOMER, EntityKind.CONTACT)


def anonymise_commands(
    cfg: SyncConfig, key: str, golden: GoldenRecord, roles: Iterable[SystemRole], now: datetime
) -> list[Emit]:
    """A ``delete_record`` in mode ``anonymise`` per system in ``roles``, for a customer or
    a contact (other records hold no personal data of their own in the systems)."""
    if golden.entity not in ANONYMISABLE:
        return []
    emits = []
    for role in sorted(set(roles)):
        common = command_fields(cfg, role, now, "anonymise", key)
        command = DeleteRecord.model_validate(
            {
                **common,
                "entity": golden.entity,
                "record": golden.ids,
                "mode": DeleteMode.ANONYMISE,
            }
        )
        emits.append(Emit(role, key, command))
    return emits
