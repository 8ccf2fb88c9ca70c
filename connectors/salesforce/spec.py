"""Salesforce, the CRM: what q2c knows about it, in one place."""

from __future__ import annotations

from connectors.base.spec import ConnectorSpec
from connectors.salesforce.connector import connect
from connectors.salesforce.documents import DOCUMENTS
from connectors.salesforce.mapping import SYSTEM, SalesforceMapper
from connectors.salesforce.provision import provision
from connectors.salesforce.settings import SalesforceSettings
from connectors.salesforce.sink import SalesforceSink
from connectors.secret_shapes import SECRET_PATTERNS
from schemas.changes import SystemRole


def _mapper() -> SalesforceMapper:
    return SalesforceMapper(default_currency=SalesforceSettings.model_fields["currency"].default)


SPEC = ConnectorSpec(
    name=SYSTEM,
    role=SystemRole.CRM,
    description="Salesforce over REST: SystemModstamp polling and getDeleted (Change Data "
    "Capture where enabled); ERP facts kept in custom fields",
    settings_model=SalesforceSettings,
    connect=connect,
    mapper=_mapper,
    documents=DOCUMENTS,
    sink=SalesforceSink,
    recorded=(
        "login_url",
        "api_version",
        "consumer_key",
        "username",
        "private_key_file",
        "client_id",
        "client_secret",
        "refresh_token",
        "pubsub_address",
    ),
    provision=provision,
    secret_patterns=SECRET_PATTERNS["salesforce"],
)
