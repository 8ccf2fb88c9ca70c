"""Tryton, the ERP: what q2c knows about it, in one place."""

from __future__ import annotations

from connectors.base.spec import ConnectorSpec
from connectors.tryton.connector import connect
from connectors.tryton.documents import DOCUMENTS
from connectors.tryton.errors import SYSTEM
from connectors.tryton.mapping import TrytonMapper
from connectors.tryton.provision import provision
from connectors.tryton.settings import TrytonSettings
from connectors.tryton.sink import TrytonSink
from schemas.changes import SystemRole


def _mapper() -> TrytonMapper:
    return TrytonMapper(currency=TrytonSettings.model_fields["currency"].default or "USD")


SPEC = ConnectorSpec(
    name=SYSTEM,
    role=SystemRole.ERP,
    description="Tryton ERP over JSON-RPC: polls last_modified_at, writes parties, products, sales",
    settings_model=TrytonSettings,
    connect=connect,
    mapper=_mapper,
    documents=DOCUMENTS,
    sink=TrytonSink,
    recorded=("url", "database", "user", "password"),
    provision=provision,
)
