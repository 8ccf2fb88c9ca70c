"""The BottleCRM connector: scan streams, the webhook receiver (when a webhook secret is
configured), the mapping and the sink, over one client.

Settings come from the ``[bottlecrm]`` section of the config file and ``Q2C_BOTTLECRM__*``
variables (e.g. ``Q2C_BOTTLECRM__URL``, ``Q2C_BOTTLECRM__TOKEN``), over what `q2c dev up`
recorded for the local server.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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
from q2c.core.settings import Settings, load_section

_RECORDED = ("url", "token", "jwt", "webhook_secret", "webhook_port")


def configured(defaults: Mapping[str, Any]) -> BottleCrmSettings:
    """The connector's settings: config file and ``Q2C_BOTTLECRM__*`` over ``defaults``."""
    recorded = {key: defaults[key] for key in _RECORDED if defaults.get(key)}
    return load_section(BottleCrmSettings, SYSTEM, recorded)


async def build(settings: Settings, defaults: Mapping[str, Any]) -> ConnectorParts:
    del settings  # nothing global is needed beyond what the runtime passes around
    config = configured(defaults)
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
