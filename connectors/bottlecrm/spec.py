"""BottleCRM, the CRM: what q2c knows about it, in one place."""

from __future__ import annotations

from connectors.base.spec import ConnectorSpec
from connectors.bottlecrm.connector import connect
from connectors.bottlecrm.documents import DOCUMENTS
from connectors.bottlecrm.mapping import SYSTEM, BottleCrmMapper
from connectors.bottlecrm.provision import provision
from connectors.bottlecrm.settings import BottleCrmSettings
from connectors.bottlecrm.sink import BottleCrmSink
from connectors.secret_shapes import SECRET_PATTERNS
from schemas.changes import SystemRole


def _mapper() -> BottleCrmMapper:
    return BottleCrmMapper(default_currency=BottleCrmSettings.model_fields["currency"].default)


SPEC = ConnectorSpec(
    name=SYSTEM,
    role=SystemRole.CRM,
    description="BottleCRM over REST: full scans and webhooks; ERP facts kept in custom fields",
    settings_model=BottleCrmSettings,
    connect=connect,
    mapper=_mapper,
    documents=DOCUMENTS,
    sink=BottleCrmSink,
    recorded=("url", "token", "jwt", "webhook_secret", "webhook_port"),
    provision=provision,
    secret_patterns=SECRET_PATTERNS["bottlecrm"],
)
