"""The Tryton connector: the ``last_modified_at`` streams, the mapping and the sink, over
one client.

Its settings (:class:`TrytonSettings`) are loaded by the spec (``connectors.tryton.spec``):
the ``[tryton]`` section of the config file and ``Q2C_TRYTON__*`` variables (e.g.
``Q2C_TRYTON__URL``, ``Q2C_TRYTON__PASSWORD``), over what `q2c dev up` recorded.
"""

from __future__ import annotations

import datetime as dt

from connectors.base.runtime import ConnectorParts
from connectors.tryton.client import TrytonClient
from connectors.tryton.errors import SYSTEM
from connectors.tryton.mapping import TrytonMapper
from connectors.tryton.settings import TrytonSettings
from connectors.tryton.sink import TrytonSink
from connectors.tryton.source import STREAMS


async def connect(config: TrytonSettings) -> ConnectorParts:
    client = TrytonClient(config)
    sink = TrytonSink(
        client,
        unit=config.unit,
        account_category=config.account_category,
        item_type=config.item_type,
    )
    try:
        currency = config.currency or await sink.company_currency()
        own_parties = await sink.own_parties()
    except BaseException:
        await client.close()
        raise
    overlap = dt.timedelta(seconds=config.overlap)
    delete_scan = (
        dt.timedelta(seconds=config.delete_scan_interval) if config.report_deletes else None
    )
    return ConnectorParts(
        system=SYSTEM,
        mapper=TrytonMapper(currency=currency, own_parties=own_parties),
        streams=[
            stream(client, overlap=overlap, page_size=config.page_size, delete_scan=delete_scan)
            for stream in STREAMS
        ],
        sink=sink,
        poll_interval=config.poll_interval,
        close=client.close,
    )
