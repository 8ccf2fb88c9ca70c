"""The committed Pub/Sub API modules are what `make protos` generates from the committed
interface, and the interface has Salesforce's names and field numbers."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from connectors.salesforce.pubsub import pubsub_api_pb2 as pb

ROOT = Path(__file__).resolve().parents[3]
PACKAGE = Path("connectors/salesforce/pubsub")
GENERATED = (
    "pubsub_api_pb2.py",
    "pubsub_api_pb2.pyi",
    "pubsub_api_pb2_grpc.py",
    "pubsub_api_pb2_grpc.pyi",
)


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_regenerating_gives_the_committed_modules(tmp_path: Path) -> None:
    subprocess.run(
        ["make", "-s", "protos", f"PROTOS_OUT={tmp_path}"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    for name in GENERATED:
        fresh = (tmp_path / PACKAGE / name).read_text()
        assert fresh == (ROOT / PACKAGE / name).read_text(), f"{name} differs: run make protos"


# Salesforce's published pubsub_api.proto (forcedotcom/pub-sub-api), message by message.
PUBLISHED_FIELDS = {
    "TopicInfo": {
        "topic_name": 1,
        "tenant_guid": 2,
        "can_publish": 3,
        "can_subscribe": 4,
        "schema_id": 5,
        "rpc_id": 6,
    },
    "TopicRequest": {"topic_name": 1},
    "EventHeader": {"key": 1, "value": 2},
    "ProducerEvent": {"id": 1, "schema_id": 2, "payload": 3, "headers": 4},
    "ConsumerEvent": {"event": 1, "replay_id": 2},
    "PublishResult": {"replay_id": 1, "error": 2, "correlation_key": 3},
    "Error": {"code": 1, "msg": 2},
    "FetchRequest": {
        "topic_name": 1,
        "replay_preset": 2,
        "replay_id": 3,
        "num_requested": 4,
        "auth_refresh": 5,
    },
    "FetchResponse": {
        "events": 1,
        "latest_replay_id": 2,
        "rpc_id": 3,
        "pending_num_requested": 4,
    },
    "SchemaRequest": {"schema_id": 1},
    "SchemaInfo": {"schema_json": 1, "schema_id": 2, "rpc_id": 3},
    "PublishRequest": {"topic_name": 1, "events": 2, "auth_refresh": 3},
    "PublishResponse": {"results": 1, "schema_id": 2, "rpc_id": 3},
    "ManagedFetchRequest": {
        "subscription_id": 1,
        "developer_name": 2,
        "num_requested": 3,
        "auth_refresh": 4,
        "commit_replay_id_request": 5,
    },
    "ManagedFetchResponse": {
        "events": 1,
        "latest_replay_id": 2,
        "rpc_id": 3,
        "pending_num_requested": 4,
        "commit_response": 5,
    },
    "CommitReplayRequest": {"commit_request_id": 1, "replay_id": 2},
    "CommitReplayResponse": {
        "commit_request_id": 1,
        "replay_id": 2,
        "error": 3,
        "process_time": 4,
    },
}


def test_messages_have_the_published_names_and_field_numbers() -> None:
    assert pb.DESCRIPTOR.package == "eventbus.v1"
    messages = pb.DESCRIPTOR.message_types_by_name
    assert set(messages) == set(PUBLISHED_FIELDS)
    for name, fields in PUBLISHED_FIELDS.items():
        declared = {f.name: f.number for f in messages[name].fields}
        assert declared == fields, name


def test_enums_and_service_are_the_published_ones() -> None:
    assert dict(pb.ReplayPreset.items()) == {"LATEST": 0, "EARLIEST": 1, "CUSTOM": 2}
    assert dict(pb.ErrorCode.items()) == {"UNKNOWN": 0, "PUBLISH": 1, "COMMIT": 2}
    service = pb.DESCRIPTOR.services_by_name["PubSub"]
    assert service.full_name == "eventbus.v1.PubSub"
    methods = {
        m.name: (m.input_type.name, m.output_type.name, m.client_streaming, m.server_streaming)
        for m in service.methods
    }
    assert methods == {
        "Subscribe": ("FetchRequest", "FetchResponse", True, True),
        "GetSchema": ("SchemaRequest", "SchemaInfo", False, False),
        "GetTopic": ("TopicRequest", "TopicInfo", False, False),
        "Publish": ("PublishRequest", "PublishResponse", False, False),
        "PublishStream": ("PublishRequest", "PublishResponse", True, True),
        "ManagedSubscribe": ("ManagedFetchRequest", "ManagedFetchResponse", True, True),
    }
