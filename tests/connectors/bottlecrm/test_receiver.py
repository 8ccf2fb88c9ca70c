"""The webhook receiver's answers to requests it must refuse or may ignore (no peer needed:
none of these reach BottleCRM or Kafka)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from connectors.base.tracking import Notification
from connectors.bottlecrm import BottleCrmClient, BottleCrmSettings
from connectors.bottlecrm.source import BottleCrmWebhooks, WebhookReceiver
from connectors.bottlecrm.webhooks import SIGNATURE_HEADER, InvalidSignature, signature
from schemas import Operation

SECRET = SecretStr("whsec_receiver-test")
PATH = "/bottlecrm/webhook"
Http = TestClient[web.Request, web.Application]


@pytest.fixture
async def http() -> AsyncIterator[Http]:
    settings = BottleCrmSettings(url="http://127.0.0.1:9", token=SecretStr("bcrm_pat_unused"))
    async with BottleCrmClient(settings) as crm:
        receiver = WebhookReceiver(crm, SECRET, path=PATH)
        async with TestClient(TestServer(receiver.app())) as client:
            yield client


def signed(body: bytes, at: float | None = None) -> dict[str, str]:
    return {SIGNATURE_HEADER: signature(SECRET, int(at or time.time()), body)}


def event(name: str) -> bytes:
    return orjson.dumps(
        {
            "id": "e1",
            "event": name,
            "created_at": "2026-11-26T13:00:00+00:00",
            "org_id": "o1",
            "data": {"id": "r1"},
        }
    )


async def test_unsigned_forged_and_stale_requests_are_refused(
    http: Http,
) -> None:
    body = event("account.created")
    for headers in (
        {},
        {SIGNATURE_HEADER: signature(SecretStr("whsec_other"), int(time.time()), body)},
        signed(body, at=time.time() - 3600),
    ):
        reply = await http.post(PATH, data=body, headers=headers)
        assert reply.status == 401


async def test_signed_nonsense_is_a_bad_request(http: Http) -> None:
    for body in (b"not json", b'{"event": "account.created"}'):
        reply = await http.post(PATH, data=body, headers=signed(body))
        assert reply.status == 400


async def test_events_q2c_does_not_follow_are_acknowledged(
    http: Http,
) -> None:
    for name in ("ticket.created", "invoice.paid", "deal.comment_added"):
        body = event(name)
        reply = await http.post(PATH, data=body, headers=signed(body))
        assert reply.status == 204


async def test_a_followed_event_that_cannot_be_taken_asks_for_a_retry(
    http: Http,
) -> None:
    # The receiver is not serving (no publisher takes the change): the sender must retry.
    body = event("deal.deleted")
    reply = await http.post(PATH, data=body, headers=signed(body))
    assert reply.status == 503


def test_bottlecrms_events_name_the_record_and_what_happened() -> None:
    settings = BottleCrmSettings(url="http://127.0.0.1:9", token=SecretStr("bcrm_pat_unused"))
    hooks = BottleCrmWebhooks(BottleCrmClient(settings), SECRET)
    won = hooks.parse(event("deal.won"))
    assert won == Notification(
        "deal", "r1", Operation.UPDATE, datetime(2026, 11, 26, 13, 0, tzinfo=UTC), "e1"
    )
    assert won.cursor == "webhook:e1"
    deleted = hooks.parse(event("account.deleted"))
    assert deleted is not None
    assert (deleted.object, deleted.operation) == ("account", Operation.DELETE)
    assert hooks.parse(event("invoice.paid")) is None
    body = event("contact.updated")
    hooks.verify(signed(body), body, time.time())
    with pytest.raises(InvalidSignature):
        hooks.verify(signed(body, at=time.time() - 3600), body, time.time())
