"""The BottleCRM connector: scan streams, the webhook receiver (when a webhook secret is
configured), the mapping and the sink, over one client.

Its settings (:class:`BottleCrmSettings`) are loaded by the spec (``connectors.bottlecrm.spec``):
the ``[bottlecrm]`` section of the config file and ``Q2C_BOTTLECRM__*`` variables (e.g.
``Q2C_BOTTLECRM__URL``, ``Q2C_BOTTLECRM__TOKEN``), over what `q2c dev up` recorded.
"""

from __future__ import annotations

from connectors.base.runtime import ConnectorParts, Service
from connectors.bottlecrm.client import BottleCrmClient
from connectors.bottlecrm.mapping import SYSTEM, BottleCrmMapper
from connectors.bottlecrm.settings import BottleCrmSettings
from connectors.bottlecrm.sink import BottleCrmSink
from connectors.bottlecrm.source import (
    AccountStream,
    ContactStream,
    DealStream,
    ProductStream,
    WebhookReceiver,
)


async def connect(config: BottleCrmSettings) -> ConnectorParts:
    client = BottleCrmClient(config)
    services: list[Service] = []
    if config.webhook_secret is not None:
        receiver = WebhookReceiver(
            client,
            config.webhook_secret,
            host=config.webhook_host,
            port=config.webhook_port,
            tolerance=config.webhook_tolerance,
        )
        services.append(receiver.serve)
    return ConnectorParts(
        system=SYSTEM,
        mapper=BottleCrmMapper(default_currency=config.currency),
        streams=[
            AccountStream(client),
            ContactStream(client),
            DealStream(client),
            ProductStream(client),
        ],
        sink=BottleCrmSink(client, currency=config.currency),
        services=services,
        poll_interval=config.scan_interval,
        close=client.close,
    )
