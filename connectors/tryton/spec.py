"""Tryton, the ERP: what q2c knows about it, in one place."""

from __future__ import annotations

from connectors.base.spec import ConnectorSpec
from connectors.tryton.connector import build
from connectors.tryton.documents import DOCUMENTS
from connectors.tryton.errors import SYSTEM
from connectors.tryton.mapping import TrytonMapper
from connectors.tryton.settings import TrytonSettings
from schemas.changes import SystemRole


def _mapper() -> TrytonMapper:
    return TrytonMapper(currency=TrytonSettings.model_fields["currency"].default or "USD")


SPEC = ConnectorSpec(
    name=SYSTEM,
    role=SystemRole.ERP,
    settings_model=TrytonSettings,
    build=build,
    mapper=_mapper,
    documents=DOCUMENTS,
)
