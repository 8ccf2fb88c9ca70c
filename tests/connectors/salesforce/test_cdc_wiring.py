"""``tracking = "cdc"`` puts the CDC stream before the polling streams, which stay as the
safety net; the connector's close ends its Pub/Sub API channel."""

from __future__ import annotations

from pathlib import Path

from connectors.salesforce.cdc import CdcStream, PubSubChannel
from connectors.salesforce.connector import connect
from connectors.salesforce.settings import SalesforceSettings
from connectors.salesforce.source import ObjectStream
from q2c.localserver.salesforce.server import running


def settings(credentials: dict[str, str], tracking: str) -> SalesforceSettings:
    return SalesforceSettings.model_validate(
        {
            key: credentials[key]
            for key in ("login_url", "consumer_key", "username", "private_key_file")
        }
        | {"pubsub_address": credentials["pubsub_address"], "tracking": tracking}
    )


async def test_tracking_cdc_adds_the_cdc_stream(tmp_path: Path) -> None:
    async with running(tmp_path / "org") as server:
        parts = await connect(settings(server.credentials, "cdc"))
        cdc, *streams = parts.streams
        assert isinstance(cdc, CdcStream)
        polling = [stream for stream in streams if isinstance(stream, ObjectStream)]
        assert polling == streams
        # Quotes and their lines are followed as their opportunity's children.
        assert set(cdc.fallback) == {s.name for s in polling if s.stands_for is None}
        assert {s.name for s in polling if s.stands_for} == {"Quote", "QuoteLineItem"}
        assert set(cdc.children) == {"OpportunityLineItem", "Quote", "QuoteLineItem"}
        channel = cdc.channel
        assert isinstance(channel, PubSubChannel)
        assert not channel.secure  # the local server's loopback address
        assert channel.topic == "/data/ChangeEvents"
        # The stream reads: its first read starts the snapshot by polling.
        batch = await cdc.read(None)
        assert batch.more
        assert parts.close is not None
        await parts.close()

        parts = await connect(settings(server.credentials, "polling"))
        assert not [s for s in parts.streams if isinstance(s, CdcStream)]
        assert parts.close is not None
        await parts.close()
