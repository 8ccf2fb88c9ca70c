"""The local Salesforce server publishes what its REST API commits as Change Data Capture
events on its Pub/Sub API, authenticated with the sessions of its token endpoint."""

from __future__ import annotations

import asyncio
import io
from typing import Any

import aiohttp
import fastavro
import grpc
import grpc.aio
import orjson
import pytest

from connectors.salesforce.pubsub import pubsub_api_pb2 as pb
from connectors.salesforce.pubsub import pubsub_api_pb2_grpc as pb_grpc
from q2c.localserver.salesforce.server import LocalSalesforce
from tests.localserver.salesforce.org import Org


def metadata(org: Org, token: str | None = None) -> tuple[tuple[str, str], ...]:
    return (
        ("accesstoken", token or org.token),
        ("instanceurl", org.instance_url),
        ("tenantid", str(org.server.credentials["org_id"])),
    )


async def events(org: Org, n: int) -> list[dict[str, Any]]:
    """The first ``n`` change events of the org, decoded."""
    async with grpc.aio.insecure_channel(str(org.server.credentials["pubsub_address"])) as ch:
        stub = pb_grpc.PubSubStub(ch)
        first = pb.FetchRequest(
            topic_name="/data/ChangeEvents", replay_preset=pb.EARLIEST, num_requested=n
        )
        call = stub.Subscribe(iter([first]), metadata=metadata(org))
        received: list[pb.ConsumerEvent] = []
        async with asyncio.timeout(20):
            async for response in call:
                received += response.events
                if len(received) >= n:
                    break
        call.cancel()
        decoded = []
        for event in received:
            info = await stub.GetSchema(
                pb.SchemaRequest(schema_id=event.event.schema_id), metadata=metadata(org)
            )
            schema = fastavro.parse_schema(orjson.loads(info.schema_json))
            record = fastavro.schemaless_reader(io.BytesIO(event.event.payload), schema, None)
            assert isinstance(record, dict)
            decoded.append(record)
        return decoded


async def test_rest_writes_become_change_events(org: Org) -> None:
    account = await org.create("Account", Name="Acme", BillingCity="Lyon")
    reply = await org.call(
        "PATCH",
        f"/sobjects/Account/{account}",
        {"Phone": "+33 1 23 45 67 89"},
        headers={"Sforce-Call-Options": "client=q2c"},
    )
    assert reply.status == 204, reply.body
    created, updated = await events(org, 2)
    header = created["ChangeEventHeader"]
    assert (header["entityName"], header["changeType"]) == ("Account", "CREATE")
    assert header["recordIds"] == [account]
    assert created["Name"] == "Acme"
    assert created["BillingAddress"]["City"] == "Lyon"
    header = updated["ChangeEventHeader"]
    assert header["changeType"] == "UPDATE"
    assert header["changeOrigin"].endswith(";client=q2c")
    assert header["changedFields"]
    assert updated["Phone"] == "+33 1 23 45 67 89"
    assert updated["Name"] is None  # unchanged fields are null


async def test_the_pubsub_api_takes_only_the_orgs_sessions(
    org: Org, salesforce: LocalSalesforce
) -> None:
    async with grpc.aio.insecure_channel(str(salesforce.credentials["pubsub_address"])) as ch:
        stub = pb_grpc.PubSubStub(ch)
        topic = pb.TopicRequest(topic_name="/data/AccountChangeEvent")
        info = await stub.GetTopic(topic, metadata=metadata(org))
        assert info.tenant_guid == salesforce.credentials["org_id"]
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await stub.GetTopic(topic, metadata=metadata(org, token="00D000000000000!forged"))
        assert error.value.code() == grpc.StatusCode.UNAUTHENTICATED
        salesforce.control.expire_sessions()
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await stub.GetTopic(topic, metadata=metadata(org))
        assert error.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_gap_and_overflow_events_through_the_control_routes(
    org: Org, salesforce: LocalSalesforce, http: aiohttp.ClientSession
) -> None:
    bearer = {"Authorization": f"Bearer {salesforce.credentials['control_token']}"}
    url = f"{salesforce.instance_url}/_local/cdc"
    body = {"sobject": "Contact", "ids": ["003000000000001AAA"], "change_type": "GAP_CREATE"}
    async with http.post(f"{url}/gap", json=body, headers=bearer) as reply:
        assert reply.status == 200
    async with http.post(f"{url}/overflow", json={"sobject": "Contact"}, headers=bearer) as reply:
        assert reply.status == 200
    async with http.post(f"{url}/gap", json={"sobject": "Contact"}) as reply:
        assert reply.status == 401
    gap, overflow = await events(org, 2)
    assert gap["ChangeEventHeader"]["changeType"] == "GAP_CREATE"
    assert overflow["ChangeEventHeader"]["changeType"] == "GAP_OVERFLOW"
