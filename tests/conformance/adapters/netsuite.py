"""NetSuite under the conformance suite: a fresh local NetSuite account per test
(``netsuite_peer``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from pydantic import BaseModel, SecretStr

from connectors.base.errors import ErrorKind
from connectors.base.runtime import ConnectorParts
from connectors.netsuite import errors
from connectors.netsuite.client import NetSuiteClient
from connectors.netsuite.settings import NetSuiteSettings
from connectors.netsuite.source import STREAMS
from schemas import Command, DeleteMode, DeleteRecord, EntityKind, idempotency_key
from tests.conformance.adapter import Adapter, ErrorCase, Live
from tests.integration.peers.test_tryton_sink import contact, customer, item, order
from tests.plugins.netsuite import NetSuitePeer


def error_body(status: int, title: str, code: str, detail: str) -> bytes:
    """An error answer of REST web services as documented ("Error Handling and the REST
    Web Services Error Format")."""
    return orjson.dumps(
        {
            "type": "https://www.rfc-editor.org/rfc/rfc9110.html#section-15",
            "title": title,
            "status": status,
            "o:errorDetails": [{"detail": detail, "o:errorCode": code}],
        }
    )


def page_of(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Rows as one SuiteQL result page."""
    return {
        "links": [],
        "count": len(rows),
        "hasMore": False,
        "items": [dict(row) for row in rows],
        "offset": 0,
        "totalResults": len(rows),
    }


class NetSuiteLive(Live):
    def __init__(self, peer: NetSuitePeer) -> None:
        self.peer = peer
        self.config = peer.settings()
        self.client = NetSuiteClient.of(self.config)
        self._made: set[str] = set()

    @property
    def defaults(self) -> Mapping[str, Any]:
        return self.peer.recorded

    def wrong_credentials(self) -> tuple[Mapping[str, Any], str]:
        wrong = "conformance-refused-token-secret-4711"
        return {**self.defaults, "token_secret": wrong}, wrong

    async def make_record(self, name: str) -> tuple[str, str]:
        record_id = await self.client.create("customer", {"companyName": name})
        return "customer", record_id

    async def document(self, obj: str, record_id: str) -> tuple[str, Any]:
        # What the stream reads: the row with its times and what rides along, as a page.
        (stream_type,) = [s for s in STREAMS if s.name == obj]
        stream = stream_type(self.client, zone=ZoneInfo(self.config.time_zone))
        rows = await stream.records([record_id])
        await stream.enrich(rows)
        return obj, page_of(rows)

    async def _once(self, parts: ConnectorParts, command: Command) -> None:
        assert parts.sink is not None
        if command.idempotency_key not in self._made:
            await parts.sink.apply(command)
            self._made.add(command.idempotency_key)

    async def command(self, subject: str, parts: ConnectorParts) -> Command:
        if subject == "upsert_customer":
            return customer("ACC-CONF", "Initrode")
        if subject == "upsert_item":
            return item("CONF-DAY", "800")
        if subject == "upsert_contact":
            await self._once(parts, customer("ACC-CONF", "Initech"))
            return contact("CON-CONF", "ACC-CONF", "milton@initech.example", "+1 555 0199")
        if subject == "create_sales_order":
            await self._once(parts, customer("ACC-CONF", "Initech"))
            await self._once(parts, item("CONF-DAY", "800"))
            return order("DEAL-CONF", "ACC-CONF", "CONF-DAY")
        if subject == "delete_record":
            assert parts.sink is not None
            made = await parts.sink.apply(item("CONF-GONE", "10"))
            assert made.ids is not None
            return DeleteRecord(
                idempotency_key=idempotency_key("delete", "CONF-GONE"),
                target_system="netsuite",
                issued_at=datetime.now(UTC),
                entity=EntityKind.ITEM,
                record=made.ids,
                mode=DeleteMode.ARCHIVE,
            )
        raise LookupError(f"the NetSuite adapter makes no {subject} command")

    async def close(self) -> None:
        await self.client.close()


class NetSuiteAdapter(Adapter):
    system = "netsuite"
    peer_fixture = "netsuite_peer"

    def settings_with_secrets(self) -> BaseModel:
        return NetSuiteSettings(
            base_url="https://1234567-sb1.suitetalk.api.netsuite.com",
            account_id="1234567_SB1",
            consumer_key="conformance-consumer-key",
            consumer_secret=SecretStr("conformance-NetSuite-consumer-secret-81f3"),
            token_id="conformance-token-id",
            token_secret=SecretStr("conformance-NetSuite-token-secret-92a4"),
        )

    def error_cases(self) -> Sequence[ErrorCase]:
        # The error format of REST web services, with the codes its documentation and the
        # account's concurrency governance name.
        return (
            ErrorCase(
                "concurrency limit (429)",
                429,
                error_body(
                    429,
                    "Too Many Requests",
                    "CONCURRENCY_LIMIT_EXCEEDED",
                    "Concurrent request limit exceeded. Request blocked.",
                ),
                ErrorKind.RETRIABLE,
            ),
            ErrorCase(
                "invalid login (401)",
                401,
                error_body(401, "Unauthorized", "INVALID_LOGIN", "Invalid login attempt."),
                ErrorKind.FATAL,
            ),
            ErrorCase(
                "no permission (403)",
                403,
                error_body(403, "Forbidden", "INSUFFICIENT_PERMISSION", "Permission Violation."),
                ErrorKind.FATAL,
            ),
            ErrorCase(
                "missing required field (400)",
                400,
                error_body(400, "Bad Request", "USER_ERROR", "Please enter value(s) for: Customer"),
                ErrorKind.SKIPPABLE,
            ),
            ErrorCase(
                "no such record (404)",
                404,
                error_body(
                    404, "Not Found", "NONEXISTENT_ID", "The record instance does not exist."
                ),
                ErrorKind.SKIPPABLE,
            ),
            ErrorCase(
                "invalid query (400)",
                400,
                error_body(400, "Bad Request", "INVALID_PARAMETER", "Invalid search query."),
                ErrorKind.SKIPPABLE,
            ),
            ErrorCase(
                "unexpected error (500)",
                500,
                error_body(
                    500,
                    "Internal Server Error",
                    "UNEXPECTED_ERROR",
                    "An unexpected error occurred.",
                ),
                ErrorKind.RETRIABLE,
            ),
            ErrorCase(
                "gateway failure (502)", 502, b"<html>Bad Gateway</html>", ErrorKind.RETRIABLE
            ),
        )

    def classify(self, status: int, body: bytes) -> ErrorKind:
        return errors.classify(status, body)

    async def live(self, peer: Any) -> Live:
        assert isinstance(peer, NetSuitePeer)
        return NetSuiteLive(peer)


ADAPTER = NetSuiteAdapter()
