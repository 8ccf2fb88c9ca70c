"""Tryton under the conformance suite: a pristine database per test (``tryton_db``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import BaseModel, SecretStr

from connectors.base.errors import ErrorKind
from connectors.base.http import HttpClient, HttpResponse
from connectors.base.runtime import ConnectorParts
from connectors.tryton import TrytonClient, codec, errors
from connectors.tryton.settings import TrytonSettings
from connectors.tryton.source import STREAMS, PartyPartStream
from schemas import Command, DeleteMode, DeleteRecord, EntityKind, idempotency_key
from tests.conformance.adapter import Adapter, ErrorCase, Live
from tests.integration.peers.test_tryton_sink import contact, customer, item, order
from tests.plugins.tryton import TrytonPeer

_METHOD = "model.sale.sale.read"


def _answer(error: Any) -> bytes:
    return orjson.dumps({"id": 1, "error": error})


class TrytonLive(Live):
    def __init__(self, peer: TrytonPeer, client: TrytonClient) -> None:
        self.peer = peer
        self.client = client
        self._customers: set[str] = set()

    @property
    def defaults(self) -> Mapping[str, Any]:
        settings = self.peer.settings()
        return {
            "url": settings.url,
            "database": settings.database,
            "user": settings.user,
            "password": settings.password.get_secret_value(),
        }

    def wrong_credentials(self) -> tuple[Mapping[str, Any], str]:
        wrong = "conformance-refused-pw-4711"
        return {**self.defaults, "password": wrong}, wrong

    async def make_record(self, name: str) -> tuple[str, str]:
        (party,) = await self.client.create("party.party", [{"name": name}])
        return "party.party", str(party)

    async def document(self, obj: str, record_id: str) -> tuple[str, Any]:
        # What the stream reads: its fields and the dates, then its related records.
        (stream,) = [s for s in STREAMS if s.model == obj and not issubclass(s, PartyPartStream)]
        fields = sorted({*stream.fields, "create_date", "write_date", "last_modified_at"})
        rows = await self.client.read(obj, [int(record_id)], fields, context={"active_test": False})
        await stream(self.client).enrich(rows)
        return obj, orjson.loads(codec.encode(rows[0]))

    async def _country(self) -> None:
        """The country of the customers' addresses: reference data an administrator loads
        into Tryton."""
        if not await self.client.search("country.country", [("code", "=", "US")]):
            await self.client.create("country.country", [{"name": "United States", "code": "US"}])

    async def _customer(self, parts: ConnectorParts, crm_id: str) -> None:
        assert parts.sink is not None
        await self._country()
        if crm_id not in self._customers:
            await parts.sink.apply(customer(crm_id, "Initech"))
            self._customers.add(crm_id)

    async def command(self, subject: str, parts: ConnectorParts) -> Command:
        assert parts.sink is not None
        if subject == "upsert_customer":
            await self._country()
            return customer("ACC-CONF", "Initrode")
        if subject == "upsert_item":
            return item("CONF-DAY", "800")
        if subject == "upsert_contact":
            await self._customer(parts, "ACC-CONF")
            return contact("CON-CONF", "ACC-CONF", "milton@initech.example", "+1 555 0199")
        if subject == "create_sales_order":
            await self._customer(parts, "ACC-CONF")
            await parts.sink.apply(item("CONF-DAY", "800"))
            return order("DEAL-CONF", "ACC-CONF", "CONF-DAY")
        if subject == "delete_record":
            made = await parts.sink.apply(item("CONF-GONE", "10"))
            assert made.ids is not None
            return DeleteRecord(
                idempotency_key=idempotency_key("delete", "CONF-GONE"),
                target_system="tryton",
                issued_at=datetime.now(UTC),
                entity=EntityKind.ITEM,
                record=made.ids,
                mode=DeleteMode.ARCHIVE,
            )
        raise LookupError(f"the Tryton adapter makes no {subject} command")

    async def close(self) -> None:
        await self.client.close()


class TrytonAdapter(Adapter):
    system = "tryton"
    peer_fixture = "tryton_db"

    def settings_with_secrets(self) -> BaseModel:
        return TrytonSettings(
            url="http://127.0.0.1:8000",
            database="q2c",
            password=SecretStr("conformance-Tryton-pw-81f3"),
        )

    def error_cases(self) -> Sequence[ErrorCase]:
        # As connectors/tryton/errors.py documents them: HTTP statuses, and the ``error``
        # member of a 200 answer (Tryton's exceptions as [name, args], others as
        # [message, traceback]).
        user_error = ["UserError", ["The sale has no party.", "Fill it in.", None]]
        warning = ["UserWarning", ["sale.confirm.1", "Confirm?", "The stock is low."]]
        return (
            ErrorCase("no session (401)", 401, b"", ErrorKind.FATAL),
            ErrorCase("access refused (403)", 403, b"Forbidden", ErrorKind.FATAL),
            ErrorCase("no such database (404)", 404, b"Not Found", ErrorKind.FATAL),
            ErrorCase("rate limited (429)", 429, b"", ErrorKind.RETRIABLE),
            ErrorCase("SQLite locked (503)", 503, b"Service Unavailable", ErrorKind.RETRIABLE),
            ErrorCase("server failed (500)", 500, b"<html>500</html>", ErrorKind.RETRIABLE),
            ErrorCase("validation failed", 200, _answer(user_error), ErrorKind.SKIPPABLE),
            ErrorCase("warning to confirm", 200, _answer(warning), ErrorKind.SKIPPABLE),
            ErrorCase(
                "record changed meanwhile",
                200,
                _answer(["ConcurrencyException", "Records were modified in the meanwhile"]),
                ErrorKind.RETRIABLE,
            ),
            ErrorCase(
                "database locked past retries",
                200,
                _answer(["database is locked", "Traceback ..."]),
                ErrorKind.RETRIABLE,
            ),
            ErrorCase("login step", 200, _answer(["LoginException", []]), ErrorKind.FATAL),
            ErrorCase(
                "server bug", 200, _answer(["KeyError: 'x'", "Traceback ..."]), ErrorKind.FATAL
            ),
            ErrorCase("malformed error", 200, _answer("boom"), ErrorKind.FATAL),
        )

    def classify(self, status: int, body: bytes) -> ErrorKind:
        # As TrytonClient reads an answer: a failed HTTP exchange through the shared client
        # with Tryton's status table, an answer's error member through its own reader.
        if status >= 400:
            http = HttpClient(system="tryton", base_url="", resolutions=errors.TRYTON_RESOLUTIONS)
            failed = http.error_of(HttpResponse(status, {}, body))
            return errors.from_connector_error(_METHOD, failed).kind
        return errors.from_error_member(_METHOD, orjson.loads(body)["error"]).kind

    async def live(self, peer: Any) -> Live:
        assert isinstance(peer, TrytonPeer)
        client = TrytonClient(peer.settings())
        await client.login()
        return TrytonLive(peer, client)


ADAPTER = TrytonAdapter()
