"""The change-event documents, as recorded from the local Pub/Sub API in both deliveries
(Pub/Sub API decoded, CometD envelope), read the same way."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from connectors.salesforce.cdc_documents import DOCUMENTS
from schemas import Operation

SAMPLES = Path(__file__).resolve().parents[3] / "connectors" / "salesforce" / "samples"
STREAMS = ("change-event", "change-event-cometd")


def read(stream: str, name: str) -> tuple[list[tuple[str, str, Operation]], str]:
    document = orjson.loads((SAMPLES / stream / f"{name}.json").read_bytes())
    reading = DOCUMENTS[stream].read(document)
    return [(c.object, c.record_id, c.operation) for c in reading.changes], reading.action


@pytest.mark.parametrize("stream", STREAMS)
def test_both_deliveries_read_alike(stream: str) -> None:
    changes, action = read(stream, "account-delete")
    assert (changes, action) == ([("Account", "0015e00000Q2cSmAAA", Operation.DELETE)], "")
    changes, action = read(stream, "contacts-update")
    assert changes == []
    assert action.startswith("re-read Contact 0035e00000Q2cSmAAA, 0035e00000Q2cSnAAA")
    changes, action = read(stream, "account-create")
    assert action.startswith("re-read Account 0015e00000Q2cSmAAA")
    changes, action = read(stream, "opportunity-echo")
    assert action == "leave out: q2c's own UPDATE of Opportunity 0065e00000Q2cSmAAA"
    changes, action = read(stream, "gap-update")
    assert action == "re-read Opportunity 0065e00000Q2cSmAAA through the REST API (GAP_UPDATE)"
    changes, action = read(stream, "gap-overflow")
    assert action.startswith("re-snapshot Opportunity by polling")


def test_the_cometd_envelope_names_the_changed_fields() -> None:
    document = orjson.loads((SAMPLES / "change-event-cometd" / "contacts-update.json").read_bytes())
    header = document["data"]["payload"]["ChangeEventHeader"]
    assert header["changedFields"] == ["Email", "LastModifiedDate", "Name.LastName"]
    assert "nulledFields" not in header
    assert document["data"]["payload"]["Name"] == {"LastName": "Lovelace"}
    assert document["channel"] == "/data/ContactChangeEvent"


@pytest.mark.parametrize(
    "document",
    [
        [],
        {"payload": {"no": "header"}},
        {"ChangeEventHeader": {"entityName": "Account"}},
        {
            "ChangeEventHeader": {
                "entityName": "Account",
                "changeType": "MERGE",
                "recordIds": ["x"],
                "commitTimestamp": 1,
            }
        },
        {
            "ChangeEventHeader": {
                "entityName": "Account",
                "changeType": "UPDATE",
                "recordIds": [],
                "commitTimestamp": 1,
            }
        },
    ],
)
def test_what_is_not_a_change_event_is_refused_with_a_reason(document: object) -> None:
    for stream in STREAMS:
        with pytest.raises(ValueError, match=r".+"):
            DOCUMENTS[stream].read(document)
