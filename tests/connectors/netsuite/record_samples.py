"""Records the sample documents of ``connectors/netsuite/samples/`` from the local NetSuite
server: ``python -m tests.connectors.netsuite.record_samples``.

A fresh account gets a customer, an item and a sales order through the connector's sink,
an invoice and a credit memo through the documented transforms, a customer payment applied
to the invoice, and a deleted customer; each stream's document is then what the source
reads (a SuiteQL result page with what rides along), and for customers and sales orders
also the REST record.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from connectors.netsuite.client import NetSuiteClient
from connectors.netsuite.connector import connect
from connectors.netsuite.source import STREAMS, DeletedRecordStream
from tests.conformance.adapters.netsuite import page_of
from tests.integration.peers.test_tryton_sink import customer, item, order
from tests.plugins.netsuite import start_peer

SAMPLES = Path(__file__).resolve().parents[3] / "connectors" / "netsuite" / "samples"


def _write(stream: str, name: str, document: Any) -> None:
    folder = SAMPLES / stream
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n")


async def _finance(client: NetSuiteClient, order_id: str) -> None:
    invoice = await client.transform("salesOrder", order_id, "invoice", {})
    customer_id = (await client.get_record("invoice", invoice) or {})["entity"]["id"]
    await client.create(
        "customerPayment",
        {
            "customer": {"id": customer_id},
            "payment": 1000,
            "apply": {"items": [{"doc": {"id": invoice}, "apply": True, "amount": 1000}]},
        },
    )
    await client.transform("invoice", invoice, "creditMemo", {"memo": "Returned one day"})
    gone = await client.create("customer", {"companyName": "Closed account"})
    await client.request("DELETE", f"/services/rest/record/v1/customer/{gone}")


async def record(state_dir: Path) -> None:
    peer = start_peer(state_dir)
    try:
        config = peer.settings()
        parts = await connect(config)
        client = NetSuiteClient.of(config)
        try:
            assert parts.sink is not None
            await parts.sink.apply(customer("ACC-7", "Initech"))
            await parts.sink.apply(item("CONSULT-DAY", "800"))
            made = await parts.sink.apply(order("DEAL-9", "ACC-7", "CONSULT-DAY"))
            assert made.ids is not None
            assert made.ids.erp_id is not None
            await _finance(client, made.ids.erp_id)
            zone = ZoneInfo(config.time_zone)
            for stream_type in STREAMS:
                stream = stream_type(client, zone=zone)
                if isinstance(stream, DeletedRecordStream):
                    rows = await client.suiteql_rows(stream.key_select())
                    _write(stream.name, "page.json", page_of(rows))
                    continue
                ids = [row["id"] for row in await stream.page(None, None)]
                rows = await stream.records(ids)
                await stream.enrich(rows)
                _write(stream.name, "page.json", page_of(rows))
            customer_record = await client.get_record("customer", "eid:ACC-7")
            _write("customer", "record.json", customer_record)
            order_record = await client.get_record(
                "salesOrder", "eid:DEAL-9", {"expandSubResources": "true"}
            )
            _write("salesorder", "record.json", order_record)
        finally:
            await client.close()
            if parts.close is not None:
                await parts.close()
    finally:
        peer.stop()


def main() -> None:
    with tempfile.TemporaryDirectory() as state:
        asyncio.run(record(Path(state)))


if __name__ == "__main__":
    main()
