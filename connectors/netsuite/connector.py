"""The NetSuite connector: the SuiteQL streams, the mapping and the sink, over one client.

Its settings (:class:`NetSuiteSettings`) are loaded by the spec
(``connectors.netsuite.spec``): the ``[netsuite]`` section of the config file and
``Q2C_NETSUITE__*`` variables (e.g. ``Q2C_NETSUITE__TOKEN_SECRET``), over what
`q2c dev up --erp netsuite` recorded.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from connectors.base.runtime import ConnectorParts
from connectors.netsuite.client import NetSuiteClient
from connectors.netsuite.errors import SYSTEM
from connectors.netsuite.mapping import NetSuiteMapper
from connectors.netsuite.settings import NetSuiteSettings
from connectors.netsuite.sink import NetSuiteSink
from connectors.netsuite.source import STREAMS


def sink_of(client: NetSuiteClient, config: NetSuiteSettings) -> NetSuiteSink:
    return NetSuiteSink(
        client,
        subsidiary_id=config.subsidiary_id,
        currency_id=config.currency_id,
        currencies=config.currencies,
        order_status=config.order_status,
        item_type=config.item_type,
        async_writes=config.async_writes,
    )


async def connect(config: NetSuiteSettings) -> ConnectorParts:
    client = NetSuiteClient.of(config)
    sink = sink_of(client, config)
    try:
        currency = await sink.base_currency()
        currencies = await sink.currencies()
    except BaseException:
        await client.close()
        raise
    zone = ZoneInfo(config.time_zone)
    return ConnectorParts(
        system=SYSTEM,
        mapper=NetSuiteMapper(
            currency=currency, currencies=currencies, currency_id=config.currency_id
        ),
        streams=[
            stream(
                client,
                zone=zone,
                window=dt.timedelta(days=config.window_days),
                overlap=dt.timedelta(seconds=config.overlap),
                page_size=config.page_size,
            )
            for stream in STREAMS
        ],
        sink=sink,
        poll_interval=config.poll_interval,
        close=client.close,
    )
