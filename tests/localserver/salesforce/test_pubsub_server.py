"""The local Pub/Sub API over real gRPC on 127.0.0.1: subscribe, flow control, replay,
keep-alives, the documented errors, schemas and the change-event payloads."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import fastavro
import grpc
import grpc.aio
import orjson
import pytest

from connectors.salesforce.pubsub import pubsub_api_pb2 as pb
from connectors.salesforce.pubsub import pubsub_api_pb2_grpc as pb_grpc
from q2c.localserver.salesforce.cdc_log import ChangeEventLog, ReplayIdCorrupt, encode_replay_id
from q2c.localserver.salesforce.changes import RecordChange
from q2c.localserver.salesforce.pubsub import (
    REPLAY_ID_CORRUPTED,
    PubSubServer,
    running_pubsub,
)

ORG = "00D000000000001EAA"
TOKEN = "00D000000000001!token"
INSTANCE = "http://127.0.0.1:1"
METADATA = (("accesstoken", TOKEN), ("instanceurl", INSTANCE), ("tenantid", ORG))
ACCOUNT = "001000000000001AAA"


def valid(token: str, instance: str, tenant: str) -> bool:
    return (token, instance, tenant) == (TOKEN, INSTANCE, ORG)


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


class Subscriber:
    """One Subscribe call, fed FetchRequests from the test."""

    def __init__(self, stub: pb_grpc.PubSubAsyncStub, first: pb.FetchRequest) -> None:
        self.requests: asyncio.Queue[pb.FetchRequest | None] = asyncio.Queue()
        self.requests.put_nowait(first)
        self.call = stub.Subscribe(self._requests(), metadata=METADATA)

    async def _requests(self) -> AsyncIterator[pb.FetchRequest]:
        while (request := await self.requests.get()) is not None:
            yield request

    def request(self, n: int) -> None:
        self.requests.put_nowait(pb.FetchRequest(num_requested=n))

    async def response(self, within: float = 10.0) -> pb.FetchResponse:
        response = await asyncio.wait_for(self.call.read(), within)
        assert isinstance(response, pb.FetchResponse), response
        return response

    async def events(self, n: int, within: float = 10.0) -> list[pb.ConsumerEvent]:
        """Responses until ``n`` events came (keep-alives skipped)."""
        events: list[pb.ConsumerEvent] = []
        deadline = asyncio.get_running_loop().time() + within
        while len(events) < n:
            left = deadline - asyncio.get_running_loop().time()
            events += (await self.response(max(left, 0.01))).events
        return events

    def close(self) -> None:
        self.call.cancel()


async def open_stub(server: PubSubServer) -> pb_grpc.PubSubAsyncStub:
    return pb_grpc.PubSubStub(grpc.aio.insecure_channel(server.address))


async def decode(stub: pb_grpc.PubSubAsyncStub, event: pb.ConsumerEvent) -> dict[str, Any]:
    info = await stub.GetSchema(
        pb.SchemaRequest(schema_id=event.event.schema_id), metadata=METADATA
    )
    schema = fastavro.parse_schema(orjson.loads(info.schema_json))
    record = fastavro.schemaless_reader(io.BytesIO(event.event.payload), schema, None)
    assert isinstance(record, dict)
    return record


def created(entity: str, record_id: str, **fields: Any) -> RecordChange:
    return RecordChange(entity, "CREATE", (record_id,), fields, commit_user="005000000000001AAA")


async def test_a_change_becomes_an_avro_change_event(tmp_path: Path) -> None:
    async with running_pubsub(tmp_path, valid, org_id=ORG) as server:
        stub = await open_stub(server)
        sub = Subscriber(
            stub,
            pb.FetchRequest(
                topic_name="/data/ChangeEvents", replay_preset=pb.EARLIEST, num_requested=10
            ),
        )
        server.publish(
            [
                created(
                    "Account",
                    ACCOUNT,
                    Name="Acme",
                    BillingCity="Lyon",
                    AnnualRevenue=1000,
                    CreatedDate="2024-01-02T03:04:05.000+0000",
                )
            ]
        )
        (event,) = await sub.events(1)
        record = await decode(stub, event)
        header = record["ChangeEventHeader"]
        assert header["entityName"] == "Account"
        assert header["recordIds"] == [ACCOUNT]
        assert header["changeType"] == "CREATE"
        assert header["commitUser"] == "005000000000001AAA"
        assert header["transactionKey"]
        assert record["Name"] == "Acme"
        assert record["BillingAddress"]["City"] == "Lyon"
        assert record["BillingAddress"]["Street"] is None
        assert record["AnnualRevenue"] == 1000.0
        assert record["CreatedDate"].isoformat() == "2024-01-02T03:04:05+00:00"
        assert len(event.replay_id) == 8
        sub.close()


async def test_update_bitmaps_name_positions_and_compound_sub_fields(tmp_path: Path) -> None:
    async with running_pubsub(tmp_path, valid, org_id=ORG) as server:
        stub = await open_stub(server)
        sub = Subscriber(
            stub,
            pb.FetchRequest(
                topic_name="/data/ContactChangeEvent", replay_preset=pb.EARLIEST, num_requested=10
            ),
        )
        contact = "003000000000001AAA"
        server.publish(
            [
                RecordChange(
                    "Contact",
                    "UPDATE",
                    (contact,),
                    {"LastName": "Doe", "Email": None},
                    changed_fields=("LastName", "Email"),
                    nulled_fields=("Email",),
                )
            ]
        )
        (event,) = await sub.events(1)
        record = await decode(stub, event)
        info = await stub.GetSchema(
            pb.SchemaRequest(schema_id=event.event.schema_id), metadata=METADATA
        )
        names = [f["name"] for f in orjson.loads(info.schema_json)["fields"]]
        name_pos, email_pos = names.index("Name"), names.index("Email")
        header = record["ChangeEventHeader"]
        assert header["changedFields"] == [
            f"0x{(1 << name_pos) | (1 << email_pos):X}",
            f"{name_pos}-0x4",  # LastName is the third sub-field of Name
        ]
        assert header["nulledFields"] == [f"0x{1 << email_pos:X}"]
        assert record["Name"] == {"Salutation": None, "FirstName": None, "LastName": "Doe"}
        assert record["Email"] is None
        sub.close()


async def test_flow_control_sends_only_what_was_requested(tmp_path: Path) -> None:
    async with running_pubsub(tmp_path, valid, org_id=ORG, keepalive_s=0.3) as server:
        for i in range(5):
            server.publish([created("Account", f"00100000000000{i}AAA", Name=f"A{i}")])
        stub = await open_stub(server)
        sub = Subscriber(
            stub,
            pb.FetchRequest(
                topic_name="/data/AccountChangeEvent",
                replay_preset=pb.EARLIEST,
                num_requested=2,
            ),
        )
        first = await sub.response()
        assert len(first.events) == 2
        assert first.pending_num_requested == 0
        idle = await sub.response()  # nothing more until asked: a keep-alive
        assert list(idle.events) == []
        assert idle.latest_replay_id == first.events[-1].replay_id
        sub.request(3)
        rest = await sub.events(3)
        ids = [e.replay_id for e in [*first.events, *rest]]
        assert ids == sorted(ids)
        positions = [int.from_bytes(i, "big") for i in ids]
        assert len(set(positions)) == 5
        sub.close()


async def test_custom_replay_resumes_after_the_id_across_a_restart(tmp_path: Path) -> None:
    async with running_pubsub(tmp_path, valid, org_id=ORG) as server:
        for i in range(4):
            server.publish([created("Account", f"00100000000000{i}AAA", Name=f"A{i}")])
        stub = await open_stub(server)
        sub = Subscriber(
            stub,
            pb.FetchRequest(
                topic_name="/data/ChangeEvents", replay_preset=pb.EARLIEST, num_requested=4
            ),
        )
        events = await sub.events(4)
        sub.close()
    async with running_pubsub(tmp_path, valid, org_id=ORG) as server:
        stub = await open_stub(server)
        sub = Subscriber(
            stub,
            pb.FetchRequest(
                topic_name="/data/ChangeEvents",
                replay_preset=pb.CUSTOM,
                replay_id=events[1].replay_id,
                num_requested=10,
            ),
        )
        again = await sub.events(2)
        assert [e.replay_id for e in again] == [e.replay_id for e in events[2:]]
        assert [(await decode(stub, e))["Name"] for e in again] == ["A2", "A3"]
        sub.close()


async def test_an_expired_replay_id_ends_the_call_with_the_documented_error(
    tmp_path: Path,
) -> None:
    clock = Clock()
    async with running_pubsub(
        tmp_path, valid, org_id=ORG, retention_s=72 * 3600, clock=clock
    ) as server:
        server.publish([created("Account", ACCOUNT, Name="Old")])
        server.publish([created("Account", "001000000000002AAA", Name="Older")])
        stub = await open_stub(server)
        sub = Subscriber(
            stub,
            pb.FetchRequest(
                topic_name="/data/ChangeEvents", replay_preset=pb.EARLIEST, num_requested=1
            ),
        )
        (old,) = await sub.events(1)
        sub.close()
        clock.now += 73 * 3600
        server.publish([created("Account", "001000000000003AAA", Name="New")])
        for replay_id in (old.replay_id, b"\x00\x01garbage"):
            sub = Subscriber(
                stub,
                pb.FetchRequest(
                    topic_name="/data/ChangeEvents",
                    replay_preset=pb.CUSTOM,
                    replay_id=replay_id,
                    num_requested=1,
                ),
            )
            with pytest.raises(grpc.aio.AioRpcError) as error:
                await sub.response()
            assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            trailers = dict(error.value.trailing_metadata() or ())
            assert trailers["error-code"] == REPLAY_ID_CORRUPTED
        # EARLIEST now starts at the oldest retained event.
        sub = Subscriber(
            stub,
            pb.FetchRequest(
                topic_name="/data/ChangeEvents", replay_preset=pb.EARLIEST, num_requested=5
            ),
        )
        (event,) = await sub.events(1)
        assert (await decode(stub, event))["Name"] == "New"
        sub.close()


async def test_an_idle_subscription_gets_keepalives_with_the_latest_replay_id(
    tmp_path: Path,
) -> None:
    async with running_pubsub(tmp_path, valid, org_id=ORG, keepalive_s=0.2) as server:
        server.publish([created("Contact", "003000000000001AAA", Email="a@example.com")])
        stub = await open_stub(server)
        sub = Subscriber(
            stub, pb.FetchRequest(topic_name="/data/AccountChangeEvent", num_requested=5)
        )
        response = await sub.response()
        assert list(response.events) == []
        assert response.pending_num_requested == 5
        assert len(response.latest_replay_id) == 8
        sub.close()


async def test_calls_without_valid_credentials_are_refused(tmp_path: Path) -> None:
    async with running_pubsub(tmp_path, valid, org_id=ORG) as server:
        stub = await open_stub(server)
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await stub.GetTopic(
                pb.TopicRequest(topic_name="/data/ChangeEvents"),
                metadata=(("accesstoken", "wrong"), ("instanceurl", INSTANCE), ("tenantid", ORG)),
            )
        assert error.value.code() == grpc.StatusCode.UNAUTHENTICATED
        trailers = dict(error.value.trailing_metadata() or ())
        assert trailers["error-code"] == "sfdc.platform.eventbus.grpc.service.auth.error"
        assert "wrong" not in (error.value.details() or "")


async def test_get_topic_and_gap_events(tmp_path: Path) -> None:
    async with running_pubsub(tmp_path, valid, org_id=ORG) as server:
        stub = await open_stub(server)
        topic = await stub.GetTopic(
            pb.TopicRequest(topic_name="/data/OpportunityChangeEvent"), metadata=METADATA
        )
        assert (topic.tenant_guid, topic.can_subscribe, topic.can_publish) == (ORG, True, False)
        schema = await stub.GetSchema(
            pb.SchemaRequest(schema_id=topic.schema_id), metadata=METADATA
        )
        assert orjson.loads(schema.schema_json)["name"] == "OpportunityChangeEvent"
        with pytest.raises(grpc.aio.AioRpcError):
            await stub.GetTopic(pb.TopicRequest(topic_name="/event/Foo__e"), metadata=METADATA)
        server.inject_gap("Opportunity", ["006000000000001AAA"], "GAP_UPDATE")
        server.inject_overflow("Opportunity")
        sub = Subscriber(
            stub,
            pb.FetchRequest(
                topic_name="/data/OpportunityChangeEvent",
                replay_preset=pb.EARLIEST,
                num_requested=5,
            ),
        )
        gap, overflow = [await decode(stub, e) for e in await sub.events(2)]
        assert gap["ChangeEventHeader"]["changeType"] == "GAP_UPDATE"
        assert gap["ChangeEventHeader"]["recordIds"] == ["006000000000001AAA"]
        assert gap["Name"] is None
        assert overflow["ChangeEventHeader"]["changeType"] == "GAP_OVERFLOW"
        assert overflow["ChangeEventHeader"]["recordIds"] == []
        sub.close()


async def test_dropped_streams_end_with_unavailable(tmp_path: Path) -> None:
    async with running_pubsub(tmp_path, valid, org_id=ORG, keepalive_s=30) as server:
        stub = await open_stub(server)
        sub = Subscriber(stub, pb.FetchRequest(topic_name="/data/ChangeEvents", num_requested=1))
        deadline = asyncio.get_running_loop().time() + 10
        while server.drop_streams() == 0:
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.02)
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await sub.response()
        assert error.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_more_than_100_requested_counts_as_100(tmp_path: Path) -> None:
    async with running_pubsub(tmp_path, valid, org_id=ORG, keepalive_s=0.3) as server:
        for i in range(130):
            server.publish([created("Account", f"001000000000{i:03d}AAA", Name=f"A{i}")])
        stub = await open_stub(server)
        sub = Subscriber(
            stub,
            pb.FetchRequest(
                topic_name="/data/ChangeEvents", replay_preset=pb.EARLIEST, num_requested=150
            ),
        )
        events: list[pb.ConsumerEvent] = []
        while True:
            response = await sub.response()
            if not response.events:
                break  # a keep-alive: nothing more is sent until more is requested
            events += response.events
        assert len(events) == 100
        assert response.pending_num_requested == 0
        sub.close()


def test_replay_ids_stay_valid_until_their_event_is_purged(tmp_path: Path) -> None:
    clock = Clock()
    log = ChangeEventLog(tmp_path / "cdc.sqlite3", retention_s=10, clock=clock)
    empty_tip = encode_replay_id(log.latest())
    assert log.check(empty_tip) == 0  # a channel's latest replay id before any event
    (first,) = log.append([created("Account", ACCOUNT)])
    (second,) = log.append([created("Account", "001000000000002AAA")])
    assert log.check(first.replay_id) == first.position
    assert log.check(empty_tip) == 0
    with pytest.raises(ReplayIdCorrupt):
        log.check(encode_replay_id(second.position + 1000))  # never issued
    clock.now += 11
    assert log.purge() == 2
    for gone in (empty_tip, first.replay_id):
        with pytest.raises(ReplayIdCorrupt):
            log.check(gone)
    assert log.check(second.replay_id) == second.position  # the tip, though purged
    log.close()


async def test_a_change_whose_event_cannot_be_made_becomes_a_gap_event(tmp_path: Path) -> None:
    async with running_pubsub(tmp_path, valid, org_id=ORG) as server:
        # NumberOfEmployees is an Avro int: this value does not fit in one.
        server.publish([created("Account", ACCOUNT, Name="Huge", NumberOfEmployees=2**40)])
        stub = await open_stub(server)
        sub = Subscriber(
            stub,
            pb.FetchRequest(
                topic_name="/data/ChangeEvents", replay_preset=pb.EARLIEST, num_requested=5
            ),
        )
        (event,) = await sub.events(1)
        record = await decode(stub, event)
        assert record["ChangeEventHeader"]["changeType"] == "GAP_CREATE"
        assert record["ChangeEventHeader"]["recordIds"] == [ACCOUNT]
        assert record["Name"] is None
        sub.close()
