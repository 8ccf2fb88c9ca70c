"""The Salesforce connector: one polling stream per object, the mapping and the sink, over
one client.

Its settings (:class:`SalesforceSettings`) are loaded by the spec
(``connectors.salesforce.spec``): the ``[salesforce]`` section of the config file and
``Q2C_SALESFORCE__*`` variables, over what `q2c dev up` recorded. With ``tracking = "cdc"``
the Change Data Capture stream (``connectors.salesforce.cdc``) is added, and the polling
streams stay as the safety net.
"""

from __future__ import annotations

from collections.abc import Sequence

from connectors.base.runtime import ConnectorParts
from connectors.salesforce import cdc
from connectors.salesforce.client import SalesforceClient
from connectors.salesforce.mapping import SYSTEM, SalesforceMapper
from connectors.salesforce.settings import SalesforceSettings
from connectors.salesforce.sink import SalesforceSink
from connectors.salesforce.source import STREAMS, ObjectStream


def change_event_streams(
    client: SalesforceClient, config: SalesforceSettings, polling: Sequence[ObjectStream]
) -> list[cdc.CdcStream]:
    """The Change Data Capture stream when ``tracking`` asks for it."""
    if config.tracking != "cdc":
        return []
    return list(cdc.streams(client, config, polling))


async def connect(config: SalesforceSettings) -> ConnectorParts:
    client = SalesforceClient(config)
    polling = [stream(client, config) for stream in STREAMS]
    events = change_event_streams(client, config, polling)

    async def close() -> None:
        for stream in events:
            await stream.close()  # the Pub/Sub API subscription and channel
        await client.close()

    return ConnectorParts(
        system=SYSTEM,
        mapper=SalesforceMapper(default_currency=config.currency),
        streams=[*events, *polling],
        sink=SalesforceSink(
            client,
            config.fields,
            currency=config.currency,
            invoice_records=config.invoice_records,
        ),
        # Under cdc the event stream is read continuously; polling is the safety net.
        poll_interval=config.cdc_poll_interval if events else config.poll_interval,
        close=close,
    )
