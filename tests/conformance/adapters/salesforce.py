"""Salesforce under the conformance suite: a new local org per test (``salesforce_org``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import orjson
from pydantic import BaseModel, SecretStr

from connectors.base.errors import ErrorKind
from connectors.base.http import HttpResponse
from connectors.base.runtime import ConnectorParts
from connectors.salesforce.client import SalesforceClient
from connectors.salesforce.settings import SalesforceSettings
from connectors.salesforce.source import AccountStream
from connectors.salesforce.spec import SPEC
from connectors.salesforce.wire import soql_literal
from schemas import (
    Command,
    Contact,
    Customer,
    DeleteMode,
    DeleteRecord,
    EntityKind,
    ExternalIds,
    SyncStatus,
    idempotency_key,
)
from tests.conformance.adapter import Adapter, ErrorCase, Live
from tests.connectors.salesforce.commands import (
    NOW,
    account_balance,
    financial_status,
    renewal_deal,
    sync_status,
    upsert_contact,
    upsert_customer,
    upsert_item,
)
from tests.plugins.salesforce import defaults_of
from tests.schemas.samples import crm_invoice

_JWT_KEYS = ("consumer_key", "username", "private_key_file")


class SalesforceLive(Live):
    def __init__(self, credentials: Mapping[str, Any]) -> None:
        self.credentials = credentials
        self.config = SPEC.configured(self.defaults)
        self.client = SalesforceClient(self.config)

    @property
    def defaults(self) -> Mapping[str, Any]:
        return defaults_of(self.credentials)

    def wrong_credentials(self) -> tuple[Mapping[str, Any], str]:
        wrong = "5Aep861conformanceRefusedRefreshToken0123"
        given = {k: v for k, v in self.defaults.items() if k not in _JWT_KEYS}
        return {**given, "refresh_token": wrong}, wrong

    async def make_record(self, name: str) -> tuple[str, str]:
        return "Account", await self.client.create("Account", {"Name": name})

    async def document(self, obj: str, record_id: str) -> tuple[str, Any]:
        # What the polling stream receives: a query page of the fields it selects.
        if obj != "Account":
            raise LookupError(f"the adapter makes no {obj} records")
        stream = AccountStream(self.client, self.config)
        where = f"Id = {soql_literal(record_id)}"
        soql = " ".join(("SELECT", stream.select(), "FROM Account WHERE", where))
        async for page in self.client.query_pages(soql):
            return "account", page
        raise LookupError(record_id)

    async def _opportunity(self) -> str:
        account = await self.client.create("Account", {"Name": "Initech LLC"})
        return await self.client.create(
            "Opportunity",
            {
                "Name": "Support renewal",
                "AccountId": account,
                "StageName": "Prospecting",
                "CloseDate": "2026-12-31",
            },
        )

    async def command(self, subject: str, parts: ConnectorParts) -> Command:
        if subject == "update_deal_financial_status":
            return financial_status(await self._opportunity())
        if subject == "report_sync_status":
            return sync_status(
                await self._opportunity(), SyncStatus.REJECTED, "Item SUP-1 is unknown"
            )
        if subject == "update_account_balance":
            account = await self.client.create("Account", {"Name": "Owing Ltd"})
            return account_balance(account)
        if subject == "upsert_item":
            return upsert_item("CONF-1", "800", name="Consulting day")
        if subject == "upsert_customer":
            return upsert_customer(
                Customer(ids=ExternalIds(erp_id="C-200"), name="ERP First GmbH", updated_at=NOW)
            )
        if subject == "upsert_contact":
            account = await self.client.create("Account", {"Name": "People Ltd"})
            return upsert_contact(
                Contact(
                    ids=ExternalIds(erp_id="P-1"),
                    customer=ExternalIds(crm_id=account),
                    first_name="Alan",
                    last_name="Turing",
                    email="alan@people.example",
                    updated_at=NOW,
                )
            )
        if subject == "upsert_crm_invoice":
            # Kept on the opportunity (the default): one line per invoice.
            opportunity = await self._opportunity()
            return crm_invoice(idempotency_key("invoice", opportunity)).model_copy(
                update={
                    "deal": ExternalIds(crm_id=opportunity, erp_id="3"),
                    "target_system": "salesforce",
                }
            )
        if subject == "create_renewal_deal":
            assert parts.sink is not None
            await parts.sink.apply(upsert_item("REN-1", "22.00", name="Support year"))
            account = await self.client.create("Account", {"Name": "Renewing Ltd"})
            return renewal_deal(account, "REN-1", date(2027, 11, 30), "salesforce")
        if subject == "delete_record":
            assert parts.sink is not None
            made = await parts.sink.apply(upsert_item("CONF-GONE", "10", name="Retired day"))
            assert made.ids is not None
            return DeleteRecord(
                idempotency_key=idempotency_key("delete", "CONF-GONE"),
                target_system="salesforce",
                issued_at=NOW,
                entity=EntityKind.ITEM,
                record=made.ids,
                mode=DeleteMode.ARCHIVE,
            )
        raise LookupError(f"the Salesforce adapter makes no {subject} command")

    async def close(self) -> None:
        await self.client.close()


def _errors(status: int, code: str, message: str) -> tuple[int, bytes]:
    return status, orjson.dumps([{"message": message, "errorCode": code, "fields": []}])


class SalesforceAdapter(Adapter):
    system = "salesforce"
    peer_fixture = "salesforce_org"

    def settings_with_secrets(self) -> BaseModel:
        return SalesforceSettings(
            consumer_key="3MVG9conformanceConsumerKey",
            username="q2c@example.com",
            private_key=SecretStr(
                "-----BEGIN PRIVATE KEY-----conformance-----END PRIVATE KEY-----"
            ),
            client_id="3MVG9conformanceClient",
            client_secret=SecretStr("conformanceClientSecret0123456789"),
            refresh_token=SecretStr("5Aep861conformanceRefreshToken0123456789"),
        )

    def error_cases(self) -> Sequence[ErrorCase]:
        # The REST API's "Status Codes and Error Responses" and its error codes.
        cases = [
            (
                "malformed id",
                *_errors(400, "MALFORMED_ID", "Account ID: id value of incorrect type"),
                ErrorKind.SKIPPABLE,
            ),
            (
                "not found",
                *_errors(404, "NOT_FOUND", "The requested resource does not exist"),
                ErrorKind.SKIPPABLE,
            ),
            (
                "duplicate rule",
                *_errors(400, "DUPLICATES_DETECTED", "Use one of these records?"),
                ErrorKind.SKIPPABLE,
            ),
            (
                "validation rule",
                *_errors(400, "FIELD_CUSTOM_VALIDATION_EXCEPTION", "Close date is required"),
                ErrorKind.SKIPPABLE,
            ),
            (
                "expired session",
                *_errors(401, "INVALID_SESSION_ID", "Session expired or invalid"),
                ErrorKind.FATAL,
            ),
            (
                "allowance spent",
                *_errors(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."),
                ErrorKind.RETRIABLE,
            ),
            (
                "no permission",
                *_errors(403, "INSUFFICIENT_ACCESS", "insufficient access rights"),
                ErrorKind.FATAL,
            ),
            (
                "unavailable",
                *_errors(503, "SERVER_UNAVAILABLE", "Server is temporarily unavailable"),
                ErrorKind.RETRIABLE,
            ),
            (
                "several matches",
                300,
                orjson.dumps(["/services/data/v62.0/sobjects/Account/001000000000001AAA"]),
                ErrorKind.SKIPPABLE,
            ),
            ("server failed", 500, b"", ErrorKind.RETRIABLE),
        ]
        return [ErrorCase(what, status, body, kind) for what, status, body, kind in cases]

    def classify(self, status: int, body: bytes) -> ErrorKind:
        # Through the HTTP client exactly as SalesforceClient configures it.
        config = SalesforceSettings(client_id="x", refresh_token=SecretStr("x"))
        client = SalesforceClient(config)
        return client.http.error_of(HttpResponse(status, {}, body)).kind

    async def live(self, peer: Any) -> Live:
        return SalesforceLive(peer.credentials)


ADAPTER = SalesforceAdapter()
