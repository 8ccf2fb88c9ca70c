"""Strategy (c), the webhook receiver: the per-system signature hook decides before anything
is parsed, and the change published is the record re-fetched (no peer, no Kafka: the
receiver below has no publisher, so a followed event is answered 503)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import Any

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from connectors.base.tracking import InvalidSignature, Notification, WebhookHandler, WebhookReceiver
from connectors.base.tracking.webhook import refetched
from schemas import Operation, RawChange
from tests.connectors.base.tracking.memory import SYSTEM, at, change

KEY = b"shared-secret"
Http = TestClient[web.Request, web.Application]


def sign(body: bytes) -> dict[str, str]:
    return {"X-Signature": hmac.new(KEY, body, hashlib.sha256).hexdigest()}


class Hooks(WebhookHandler):
    """A system whose deliveries are ``{"id", "object", "op", "at"}``, signed with HMAC."""

    system = SYSTEM

    def __init__(self) -> None:
        self.records: dict[str, dict[str, Any]] = {}
        self.fetched: list[str] = []

    def verify(self, headers: Mapping[str, str], body: bytes, now: float) -> None:
        expected = hmac.new(KEY, body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, headers.get("X-Signature", "")):
            raise InvalidSignature("signature does not match")

    def parse(self, body: bytes) -> Notification | None:
        event = orjson.loads(body)
        if event["object"] != "thing":
            return None
        return Notification(
            "thing", str(event["id"]), Operation(event["op"]), at(event["at"]), "e1"
        )

    async def fetch(self, obj: str, record_id: str) -> Mapping[str, Any] | None:
        self.fetched.append(record_id)
        return self.records.get(record_id)

    def change(
        self, notice: Notification, record: Mapping[str, Any], observed_at: datetime
    ) -> RawChange:
        return change(notice.record_id, notice.operation, record, notice.sent_at)


@pytest.fixture
async def http() -> AsyncIterator[Http]:
    receiver = WebhookReceiver(Hooks(), path="/hook")
    async with TestClient(TestServer(receiver.app())) as client:
        yield client


def body(**event: Any) -> bytes:
    return orjson.dumps({"id": "r1", "object": "thing", "op": "update", "at": 0} | event)


async def test_the_signature_hook_decides_first(http: Http) -> None:
    for headers in ({}, {"X-Signature": "00"}, sign(b"another body")):
        assert (await http.post("/hook", data=body(), headers=headers)).status == 401
    junk = b"not an event"
    assert (await http.post("/hook", data=junk, headers=sign(junk))).status == 400
    other = body(object="ticket")
    assert (await http.post("/hook", data=other, headers=sign(other))).status == 204
    followed = body()
    assert (await http.post("/hook", data=followed, headers=sign(followed))).status == 503


async def test_the_record_is_refetched_and_a_gone_one_becomes_a_delete() -> None:
    hooks = Hooks()
    hooks.records["r1"] = {"id": "r1", "name": "as it is now"}
    updated = await refetched(hooks, Notification("thing", "r1", Operation.UPDATE, at(5), "e1"))
    assert (updated.operation, updated.record, updated.source_ts) == (
        Operation.UPDATE,
        {"id": "r1", "name": "as it is now"},
        at(5),
    )
    gone = await refetched(hooks, Notification("thing", "r2", Operation.UPDATE, at(6), "e2"))
    assert (gone.record_id, gone.operation, gone.record) == ("r2", Operation.DELETE, {})
    deleted = await refetched(hooks, Notification("thing", "r1", Operation.DELETE, at(7), "e3"))
    assert (deleted.operation, deleted.record) == (Operation.DELETE, {})
    assert hooks.fetched == ["r1", "r2"]  # a delete is not fetched


def test_a_notification_names_its_delivery() -> None:
    notice = Notification("thing", "r1", Operation.CREATE, at(0), "evt-42")
    assert notice.cursor == "webhook:evt-42"
