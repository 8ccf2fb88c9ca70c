"""How many JSON-RPC calls a sales order costs the Tryton sink, counted by the client on the
real server: six for a new sale (existence check, party, products, create, quote, confirm),
whatever its number of lines; reads only for a replay."""

from __future__ import annotations

from collections import Counter

import pytest

from connectors.tryton import TrytonClient
from connectors.tryton.sink import TrytonSink
from schemas import CreateSalesOrder, ExternalIds, Outcome
from tests.integration.peers.test_tryton_sink import customer, item, order
from tests.plugins.tryton import TrytonPeer

pytestmark = pytest.mark.integration

LOOK_UPS = Counter(
    {
        "model.sale.sale.search_read": 1,
        "model.party.party.search_read": 1,
        "model.product.product.search_read": 1,
    }
)
NEW_SALE = LOOK_UPS + Counter(
    {"model.sale.sale.create": 1, "model.sale.sale.quote": 1, "model.sale.sale.confirm": 1}
)


async def calls_of(
    client: TrytonClient, sink: TrytonSink, command: CreateSalesOrder
) -> Counter[str]:
    """The calls applying ``command`` sent, by method."""
    before = client.calls.copy()
    await sink.apply(command)
    return client.calls - before


async def test_a_new_sale_takes_six_calls_and_a_replay_only_reads(
    tryton_client: TrytonClient, tryton_db: TrytonPeer
) -> None:
    sink = TrytonSink(tryton_client)
    await sink.apply(customer("ACC-20", "Soylent"))
    await sink.apply(item("CONS-DAY", "800"))
    # The first sale also reads the configuration (the currency, the default payment term).
    await sink.apply(order("DEAL-20", "ACC-20", "CONS-DAY"))

    assert await calls_of(tryton_client, sink, order("DEAL-21", "ACC-20", "CONS-DAY")) == NEW_SALE
    assert await calls_of(tryton_client, sink, order("DEAL-21", "ACC-20", "CONS-DAY")) == LOOK_UPS
    rows = await tryton_client.search_read(
        "sale.sale", [("reference", "=", "DEAL-21")], ["state", "payment_term", "lines"]
    )
    assert [row["state"] for row in rows] == ["processing"]
    assert len(rows[0]["lines"]) == 2
    (config,) = await tryton_client.read(
        "account.configuration", [1], ["default_customer_payment_term"]
    )
    assert rows[0]["payment_term"] == config["default_customer_payment_term"]


async def test_products_by_erp_id_and_by_sku_are_found_in_one_call(
    tryton_client: TrytonClient, tryton_db: TrytonPeer
) -> None:
    sink = TrytonSink(tryton_client)
    await sink.apply(customer("ACC-22", "Initrode"))
    by_sku = await sink.apply(item("CONS-DAY", "800"))
    by_id = await sink.apply(item("TRAINING", "500", name="Training day"))
    assert by_id.ids is not None
    command = order("DEAL-22", "ACC-22", "CONS-DAY")
    first, second = command.quote.lines
    lines = (first, second.model_copy(update={"sku": None, "item": by_id.ids}))
    command = command.model_copy(
        update={"quote": command.quote.model_copy(update={"lines": lines})}
    )
    sink.config_ttl = 0.0  # the configuration is read again for this sale

    calls = await calls_of(tryton_client, sink, command)

    assert calls["model.product.product.search_read"] == 1
    assert calls["model.currency.currency.search"] == 1
    (sale,) = await tryton_client.search_read(
        "sale.sale", [("reference", "=", "DEAL-22")], ["lines"]
    )
    products = await tryton_client.read("sale.line", sale["lines"], ["product", "sequence"])
    assert by_sku.ids is not None
    assert sorted((row["sequence"], str(row["product"])) for row in products) == [
        (1, by_sku.ids.erp_id),
        (2, by_id.ids.erp_id),
    ]


async def test_a_party_found_by_its_erp_id_takes_one_call(
    tryton_client: TrytonClient, tryton_db: TrytonPeer
) -> None:
    sink = TrytonSink(tryton_client)
    party = await sink.apply(customer("ACC-23", "Cyberdyne"))
    await sink.apply(item("CONS-DAY", "800"))
    assert party.ids is not None
    command = order("DEAL-23", "ACC-23", "CONS-DAY")
    command = command.model_copy(
        update={
            "quote": command.quote.model_copy(
                update={"customer": ExternalIds(erp_id=party.ids.erp_id)}
            )
        }
    )

    calls = await calls_of(tryton_client, sink, command)

    assert calls["model.party.party.search_read"] == 1
    assert calls["model.party.party.search"] == 0
    (sale,) = await tryton_client.search_read(
        "sale.sale", [("reference", "=", "DEAL-23")], ["party", "state"]
    )
    assert (str(sale["party"]), sale["state"]) == (party.ids.erp_id, "processing")
    again = await sink.apply(command)
    assert again.outcome is Outcome.UNCHANGED
