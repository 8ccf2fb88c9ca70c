"""BottleCRM, the CRM: what q2c knows about it, in one place."""

from __future__ import annotations

from connectors.base.spec import ConnectorSpec
from connectors.bottlecrm.connector import build
from connectors.bottlecrm.documents import DOCUMENTS
from connectors.bottlecrm.mapping import SYSTEM, BottleCrmMapper
from connectors.bottlecrm.settings import BottleCrmSettings
from schemas.changes import SystemRole


def _mapper() -> BottleCrmMapper:
    return BottleCrmMapper(default_currency=BottleCrmSettings.model_fields["currency"].default)


SPEC = ConnectorSpec(
    name=SYSTEM,
    role=SystemRole.CRM,
    settings_model=BottleCrmSettings,
    build=build,
    mapper=_mapper,
    documents=DOCUMENTS,
    # BottleCRM's personal access tokens
    secret_patterns=((r"bcrm_pat_[A-Za-z0-9_-]+", "bcrm_pat_***"),),
)
