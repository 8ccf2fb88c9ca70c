"""BottleCRM under the conformance suite: a new org per test (``bottlecrm_org``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, get_args

import orjson
from pydantic import BaseModel, SecretStr

from connectors.base.errors import ErrorKind
from connectors.base.http import HttpResponse
from connectors.base.runtime import ConnectorParts
from connectors.bottlecrm import BottleCrmClient
from connectors.bottlecrm.client import ObjectName
from connectors.bottlecrm.models import AccountInput, DealInput
from connectors.bottlecrm.settings import BottleCrmSettings
from q2c.devstack.bottlecrm import OrgAccess
from schemas import (
    Command,
    Contact,
    Customer,
    DeleteMode,
    DeleteRecord,
    EntityKind,
    ExternalIds,
    Money,
    SyncStatus,
    UpdateAccountBalance,
    UpsertContact,
    idempotency_key,
)
from tests.conformance.adapter import Adapter, ErrorCase, Live
from tests.connectors.salesforce.commands import renewal_deal
from tests.integration.peers.test_bottlecrm_sink import (
    NOW,
    financial_status,
    sync_status,
    upsert_customer,
    upsert_item,
)
from tests.schemas.samples import crm_invoice


def _usd(amount: str) -> Money:
    return Money(amount=Decimal(amount), currency="USD")


class BottleCrmLive(Live):
    def __init__(self, org: OrgAccess, client: BottleCrmClient) -> None:
        self.org = org
        self.client = client

    @property
    def defaults(self) -> Mapping[str, Any]:
        return {"url": self.org.url, "token": self.org.token.get_secret_value()}

    def wrong_credentials(self) -> tuple[Mapping[str, Any], str]:
        wrong = "bcrm_pat_conformanceRefused0123456789"
        return {**self.defaults, "token": wrong}, wrong

    async def make_record(self, name: str) -> tuple[str, str]:
        return "account", await self.client.create_account(AccountInput(name=name))

    async def document(self, obj: str, record_id: str) -> tuple[str, Any]:
        (name,) = [name for name in get_args(ObjectName) if name == obj]
        return obj, await self.client.record(name, record_id)

    async def _deal(self) -> str:
        account = await self.client.create_account(AccountInput(name="Initech LLC"))
        return await self.client.create_deal(
            DealInput(name="Support renewal", account=account, currency="USD")
        )

    async def command(self, subject: str, parts: ConnectorParts) -> Command:
        if subject == "update_deal_financial_status":
            return financial_status(await self._deal())
        if subject == "report_sync_status":
            return sync_status(await self._deal(), SyncStatus.REJECTED, "Item SUP-1 is unknown")
        if subject == "update_account_balance":
            account = await self.client.create_account(AccountInput(name="Owing Ltd"))
            return UpdateAccountBalance(
                idempotency_key=idempotency_key("balance", account),
                target_system="bottlecrm",
                issued_at=NOW,
                account=ExternalIds(crm_id=account, erp_id="C-0009"),
                outstanding=_usd("450.25"),
                overdue=_usd("120.00"),
                as_of=NOW,
                last_payment_date=date(2026, 11, 2),
            )
        if subject == "upsert_item":
            return upsert_item("CONF-1", "800", name="Consulting day")
        if subject == "upsert_customer":
            return upsert_customer(
                Customer(ids=ExternalIds(erp_id="C-200"), name="ERP First GmbH", updated_at=NOW)
            )
        if subject == "upsert_contact":
            account = await self.client.create_account(AccountInput(name="People Ltd"))
            person = Contact(
                ids=ExternalIds(erp_id="P-1"),
                customer=ExternalIds(crm_id=account),
                first_name="Alan",
                last_name="Turing",
                email="alan@people.example",
                updated_at=NOW,
            )
            return UpsertContact(
                idempotency_key=idempotency_key("contact", person.model_dump_json()),
                target_system="bottlecrm",
                issued_at=NOW,
                contact=person,
            )
        if subject == "upsert_crm_invoice":
            # An account without contacts: the invoice's billing contact comes from its e-mail.
            account = await self.client.create_account(
                AccountInput(name="Hooli", email="ap@hooli.test")
            )
            return crm_invoice(idempotency_key("invoice", account)).model_copy(
                update={"account": ExternalIds(crm_id=account, erp_id="17"), "deal": None}
            )
        if subject == "create_renewal_deal":
            assert parts.sink is not None
            await parts.sink.apply(upsert_item("REN-1", "22.00", name="Support year"))
            account = await self.client.create_account(AccountInput(name="Renewing Ltd"))
            return renewal_deal(account, "REN-1", date(2027, 11, 30), "bottlecrm")
        if subject == "delete_record":
            assert parts.sink is not None
            made = await parts.sink.apply(upsert_item("CONF-GONE", "10", name="Retired day"))
            assert made.ids is not None
            return DeleteRecord(
                idempotency_key=idempotency_key("delete", "CONF-GONE"),
                target_system="bottlecrm",
                issued_at=NOW,
                entity=EntityKind.ITEM,
                record=made.ids,
                mode=DeleteMode.ARCHIVE,
            )
        raise LookupError(f"the BottleCRM adapter makes no {subject} command")

    async def close(self) -> None:
        await self.client.close()


def _body(value: Any) -> bytes:
    return orjson.dumps(value)


class BottleCrmAdapter(Adapter):
    system = "bottlecrm"
    peer_fixture = "bottlecrm_org"

    def settings_with_secrets(self) -> BaseModel:
        return BottleCrmSettings(
            url="http://127.0.0.1:8001",
            token=SecretStr("bcrm_pat_Conformance0Token1x"),
            jwt=SecretStr("eyJhbGciOiJIUzI1NiJ9.conformance.jwt-signature"),
            webhook_secret=SecretStr("whsec_conformanceWebhookSecret42"),
        )

    def error_cases(self) -> Sequence[ErrorCase]:
        # As connectors/bottlecrm/errors.py documents them.
        fields = {"error": True, "errors": {"name": ["This field is required."]}}
        custom = {"error": True, "errors": {"custom_fields": {"erp_due": ["Not a date."]}}}
        return (
            ErrorCase("field errors", 400, _body(fields), ErrorKind.SKIPPABLE),
            ErrorCase("custom-field errors", 400, _body(custom), ErrorKind.SKIPPABLE),
            ErrorCase("400 without a reason", 400, b"", ErrorKind.SKIPPABLE),
            ErrorCase("bad token", 401, _body({"detail": "Invalid token."}), ErrorKind.FATAL),
            ErrorCase(
                "token without org",
                403,
                _body({"detail": "Organization context is required"}),
                ErrorKind.FATAL,
            ),
            ErrorCase("no such record", 404, _body({"detail": "Not found."}), ErrorKind.SKIPPABLE),
            ErrorCase("still referenced", 409, _body({"error": "in use"}), ErrorKind.SKIPPABLE),
            ErrorCase("rate limited", 429, b"", ErrorKind.RETRIABLE),
            ErrorCase("server failed", 500, b"<h1>Server Error (500)</h1>", ErrorKind.RETRIABLE),
            ErrorCase("gateway", 502, b"Bad Gateway", ErrorKind.RETRIABLE),
        )

    def classify(self, status: int, body: bytes) -> ErrorKind:
        # Through the HTTP client exactly as BottleCrmClient configures it.
        client = BottleCrmClient(BottleCrmSettings(url="http://unused", token=SecretStr("x")))
        return client.http.error_of(HttpResponse(status, {}, body)).kind

    async def live(self, peer: Any) -> Live:
        assert isinstance(peer, OrgAccess)
        return BottleCrmLive(peer, BottleCrmClient(peer.settings()))


ADAPTER = BottleCrmAdapter()
