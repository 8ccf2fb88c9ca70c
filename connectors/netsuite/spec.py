"""NetSuite, the ERP: what q2c knows about it, in one place."""

from __future__ import annotations

from connectors.base.spec import ConnectorSpec
from connectors.netsuite.connector import connect
from connectors.netsuite.documents import DOCUMENTS
from connectors.netsuite.errors import SYSTEM
from connectors.netsuite.mapping import NetSuiteMapper
from connectors.netsuite.provision import provision
from connectors.netsuite.settings import NetSuiteSettings
from connectors.netsuite.sink import NetSuiteSink
from connectors.secret_shapes import SECRET_PATTERNS
from schemas.changes import SystemRole

SPEC = ConnectorSpec(
    name=SYSTEM,
    role=SystemRole.ERP,
    description="NetSuite over REST web services: SuiteQL on lastmodifieddate, the deletion "
    "log, external-id upserts; TBA or OAuth 2.0 M2M",
    settings_model=NetSuiteSettings,
    connect=connect,
    mapper=NetSuiteMapper,
    documents=DOCUMENTS,
    sink=NetSuiteSink,
    recorded=(
        "base_url",
        "account_id",
        "consumer_key",
        "consumer_secret",
        "token_id",
        "token_secret",
        "client_id",
        "certificate_id",
        "private_key_file",
        "time_zone",
        "subsidiary_id",
        "currency_id",
    ),
    provision=provision,
    secret_patterns=SECRET_PATTERNS["netsuite"],
)
