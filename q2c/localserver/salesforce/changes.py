"""What the local Salesforce server's data store tells its change feed about every committed
write: one :class:`RecordChange` per record and change, in commit order. The Pub/Sub API
server turns them into Change Data Capture events (``ChangeEventHeader`` plus fields) on
``/data/ChangeEvents`` and ``/data/<Object>ChangeEvent``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

ChangeType = Literal[
    "CREATE",
    "UPDATE",
    "DELETE",
    "UNDELETE",
    "GAP_CREATE",
    "GAP_UPDATE",
    "GAP_DELETE",
    "GAP_UNDELETE",
    "GAP_OVERFLOW",
]


@dataclass(frozen=True)
class RecordChange:
    entity: str
    """The object's API name: ``Account``, ``Opportunity``, ``Product2``, ``Foo__c``."""
    change_type: ChangeType
    record_ids: tuple[str, ...]
    """The 18-character ids; several when one transaction made the same change to several
    records; empty for ``GAP_OVERFLOW``."""
    fields: Mapping[str, Any] = field(default_factory=dict)
    """The changed fields' new values by API name (every field on CREATE), as the REST API
    would return them; empty on DELETE and on gap events."""
    changed_fields: tuple[str, ...] = ()
    nulled_fields: tuple[str, ...] = ()
    transaction_key: str = ""
    sequence_number: int = 1
    """The change's position in its transaction, from 1."""
    commit_timestamp_ms: int = 0
    commit_number: int = 0
    commit_user: str = ""
    """The id of the user whose write it was."""
    change_origin: str = ""
    """``com/salesforce/api/rest/<version>;client=<id>`` when the write came through the REST
    API with ``Sforce-Call-Options: client=<id>``, else empty."""


class ChangeFeed(Protocol):
    """Where the data store sends its committed changes."""

    def publish(self, changes: list[RecordChange]) -> None:
        """One transaction's changes, in order, after it committed."""
