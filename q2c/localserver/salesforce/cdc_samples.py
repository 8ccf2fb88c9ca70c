"""Change events recorded from the local Pub/Sub API, in the two documented deliveries: as a
Pub/Sub API client decodes them (Avro, datetimes in epoch milliseconds, bitmaps) and as the
Streaming API (CometD) envelope carries them (JSON: null and unchanged fields left out,
``changedFields`` as names, datetimes as UTC strings, no ``nulledFields``/``diffFields``).

``python -m q2c.localserver.salesforce.cdc_samples DIR`` subscribes to a fresh server, makes
a few changes and writes ``DIR/change-event/*.json`` and ``DIR/change-event-cometd/*.json``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import secrets
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import fastavro
import grpc.aio
import orjson

from connectors.salesforce.pubsub import pubsub_api_pb2 as pb
from connectors.salesforce.pubsub import pubsub_api_pb2_grpc as pb_grpc
from q2c.localserver.salesforce.changes import RecordChange
from q2c.localserver.salesforce.pubsub import running_pubsub

_ORG = "00D5e00000Q2cSmEAA"
_TOKEN = secrets.token_urlsafe(16)
_INSTANCE = "http://127.0.0.1"
_METADATA = (("accesstoken", _TOKEN), ("instanceurl", _INSTANCE), ("tenantid", _ORG))
_USER = "0055e00000Q2cSmAAA"


def _without_logical_types(schema: Any) -> Any:
    """The schema read as the wire has it: timestamps and dates as plain numbers."""
    if isinstance(schema, dict):
        return {k: _without_logical_types(v) for k, v in schema.items() if k != "logicalType"}
    if isinstance(schema, list):
        return [_without_logical_types(item) for item in schema]
    return schema


def _names(schema: dict[str, Any], bitmaps: Sequence[str]) -> list[str]:
    fields = schema["fields"]
    names: list[str] = []
    for item in bitmaps:
        parent, _, bits_text = item.rpartition("-")
        bits = int(bits_text, 16)
        if parent:
            branch = next(t for t in fields[int(parent)]["type"] if isinstance(t, dict))
            table = [f"{fields[int(parent)]['name']}.{f['name']}" for f in branch["fields"]]
        else:
            table = [f["name"] for f in fields]
        names += [table[i] for i in range(len(table)) if bits >> i & 1]
    nested = {name.partition(".")[0] for name in names if "." in name}
    return [name for name in names if name not in nested]


def _cometd_value(kind: Any, value: Any) -> Any:
    branch = next((t for t in kind if t != "null"), None) if isinstance(kind, list) else kind
    if isinstance(branch, dict) and branch.get("logicalType") == "timestamp-millis":
        moment = dt.datetime.fromtimestamp(value / 1000, dt.UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    if isinstance(branch, dict) and branch.get("logicalType") == "date":
        return (dt.date(1970, 1, 1) + dt.timedelta(days=value)).isoformat()
    if isinstance(branch, dict) and branch.get("type") == "record":
        parts = {f["name"]: f["type"] for f in branch["fields"]}
        return {k: _cometd_value(parts[k], v) for k, v in value.items() if v is not None}
    return value


def cometd_envelope(
    schema_id: str, schema: dict[str, Any], decoded: dict[str, Any], replay: int
) -> dict[str, Any]:
    """The Streaming API's delivery of a decoded (wire-form) event."""
    header = dict(decoded["ChangeEventHeader"])
    header["changedFields"] = _names(schema, header["changedFields"])
    del header["nulledFields"], header["diffFields"]
    kinds = {f["name"]: f["type"] for f in schema["fields"]}
    payload: dict[str, Any] = {
        k: _cometd_value(kinds[k], v)
        for k, v in decoded.items()
        if k != "ChangeEventHeader" and v is not None
    }
    payload["ChangeEventHeader"] = header
    entity = header["entityName"]
    return {
        "channel": f"/data/{entity}ChangeEvent",
        "data": {"schema": schema_id, "payload": payload, "event": {"replayId": replay}},
    }


async def record(target: Path) -> list[Path]:
    changes = [
        [
            RecordChange(
                "Account",
                "CREATE",
                ("0015e00000Q2cSmAAA",),
                {
                    "Name": "Sample Industries",
                    "BillingCity": "Lyon",
                    "BillingCountry": "France",
                    "Industry": "Manufacturing",
                    "CreatedDate": "2024-04-09T20:26:27.000+0000",
                    "LastModifiedDate": "2024-04-09T20:26:27.000+0000",
                    "CreatedById": _USER,
                    "LastModifiedById": _USER,
                    "OwnerId": _USER,
                },
                commit_user=_USER,
                change_origin="com/salesforce/api/rest/62.0;client=workbench",
            )
        ],
        [
            RecordChange(
                "Contact",
                "UPDATE",
                ("0035e00000Q2cSmAAA", "0035e00000Q2cSnAAA"),
                {"LastName": "Lovelace", "Email": None, "LastModifiedDate": "2024-04-10T08:00:00Z"},
                changed_fields=("LastName", "Email", "LastModifiedDate"),
                nulled_fields=("Email",),
                commit_user=_USER,
                change_origin="com/salesforce/api/rest/62.0;client=workbench",
            )
        ],
        [
            RecordChange(
                "Opportunity",
                "UPDATE",
                ("0065e00000Q2cSmAAA",),
                {"StageName": "Closed Won", "LastModifiedDate": "2024-04-11T09:30:00Z"},
                changed_fields=("StageName", "LastModifiedDate"),
                commit_user=_USER,
                change_origin="com/salesforce/api/rest/62.0;client=q2c",
            )
        ],
        [RecordChange("Account", "DELETE", ("0015e00000Q2cSmAAA",), commit_user=_USER)],
        [RecordChange("Opportunity", "GAP_UPDATE", ("0065e00000Q2cSmAAA",))],
        [RecordChange("Opportunity", "GAP_OVERFLOW", ())],
    ]
    names = [
        "account-create",
        "contacts-update",
        "opportunity-echo",
        "account-delete",
        "gap-update",
        "gap-overflow",
    ]
    written: list[Path] = []
    with tempfile.TemporaryDirectory() as state:
        async with running_pubsub(
            Path(state), lambda *m: m == (_TOKEN, _INSTANCE, _ORG), org_id=_ORG
        ) as server:
            for transaction in changes:
                server.publish(transaction)
            async with grpc.aio.insecure_channel(server.address) as channel:
                stub = pb_grpc.PubSubStub(channel)
                first = pb.FetchRequest(
                    topic_name="/data/ChangeEvents",
                    replay_preset=pb.EARLIEST,
                    num_requested=len(changes),
                )
                call = stub.Subscribe(iter([first]), metadata=_METADATA)
                events: list[pb.ConsumerEvent] = []
                async for response in call:
                    events += response.events
                    if len(events) >= len(changes):
                        break
                call.cancel()
                for name, event in zip(names, events, strict=True):
                    info = await stub.GetSchema(
                        pb.SchemaRequest(schema_id=event.event.schema_id), metadata=_METADATA
                    )
                    schema = orjson.loads(info.schema_json)
                    wire = fastavro.parse_schema(_without_logical_types(schema))
                    decoded = fastavro.schemaless_reader(
                        io.BytesIO(event.event.payload), wire, None
                    )
                    assert isinstance(decoded, dict)
                    replay = int.from_bytes(event.replay_id, "big")
                    documents = {
                        "change-event": {
                            "schema_id": event.event.schema_id,
                            "replay_id": event.replay_id.hex(),
                            "payload": decoded,
                        },
                        "change-event-cometd": cometd_envelope(
                            event.event.schema_id, schema, decoded, replay
                        ),
                    }
                    for stream, document in documents.items():
                        path = target / stream / f"{name}.json"
                        path.parent.mkdir(parents=True, exist_ok=True)
                        path.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n")
                        written.append(path)
    return written


def main(argv: Sequence[str] = sys.argv[1:]) -> None:
    for path in asyncio.run(record(Path(argv[0]))):
        print(path)


if __name__ == "__main__":
    main()
