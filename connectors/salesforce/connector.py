"""The Salesforce connector: one polling stream per object, the mapping and the sink, over
one client.

Its settings (:class:`SalesforceSettings`) are loaded by the spec
(``connectors.salesforce.spec``): the ``[salesforce]`` section of the config file and
``Q2C_SALESFORCE__*`` variables, over what `q2c dev up` recorded. With ``tracking = "cdc"``
the Change Data Capture stream (``connectors.salesforce.cdc``) is added when installed, and
the polling streams stay as the safety net.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any

from connectors.base.runtime import ConnectorParts
from connectors.base.source import Stream
from connectors.salesforce.client import SalesforceClient
from connectors.salesforce.mapping import SYSTEM, SalesforceMapper
from connectors.salesforce.settings import SalesforceSettings
from connectors.salesforce.sink import SalesforceSink
from connectors.salesforce.source import STREAMS, ObjectStream


def change_event_streams(
    client: SalesforceClient, config: SalesforceSettings, polling: Sequence[ObjectStream]
) -> list[Stream]:
    """The Change Data Capture streams, when ``tracking`` asks for them and the module
    that provides them (``connectors.salesforce.cdc``, its ``streams(client, config,
    polling)``) is there."""
    if config.tracking != "cdc":
        return []
    try:
        module: Any = importlib.import_module("connectors.salesforce.cdc")
    except ModuleNotFoundError as exc:
        if exc.name != "connectors.salesforce.cdc":
            raise
        return []
    return list(module.streams(client, config, polling))


async def connect(config: SalesforceSettings) -> ConnectorParts:
    client = SalesforceClient(config)
    polling = [stream(client, config) for stream in STREAMS]
    return ConnectorParts(
        system=SYSTEM,
        mapper=SalesforceMapper(default_currency=config.currency),
        streams=[*change_event_streams(client, config, polling), *polling],
        sink=SalesforceSink(client, config.fields, currency=config.currency),
        poll_interval=config.poll_interval,
        close=client.close,
    )
