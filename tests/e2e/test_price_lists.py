"""Price lists and currencies on the real peers (Tryton's product_price_list,
sale_price_list and currency rates): a customer's price list is its price book, shown on
the CRM account; its deals are validated against that book (a deal at the standard price
is rejected with the reason); a deal in EUR waits for the ERP's EUR rate, then becomes a
EUR sale that Tryton converts at the rate of the day, and its invoice flows back in EUR."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

import pytest

from connectors.bottlecrm.models import DealInput, LineItemInput
from schemas import Item
from tests.e2e.conftest import Stack
from tests.e2e.helpers import (
    CONFIRMED,
    account_fields,
    account_in_both,
    crm_product,
    deal_fields,
    item_known_to_the_sync,
    make_item,
    sale_of,
    won_deal,
)

pytestmark = pytest.mark.integration


def _priced(book: str, currency: str, amount: str) -> Callable[[Item], bool]:
    """Whether an item is priced at ``amount`` in ``book`` and ``currency``."""

    def check(item: Item) -> bool:
        price = item.price(currency, book)
        return price is not None and price.amount == Decimal(amount)

    return check


async def _eur_deal(stack: Stack, account: str, product_id: str, price: str) -> str:
    deal = await stack.crm.create_deal(
        DealInput(name="Euro order", account=account, currency="EUR", amount=Decimal(price))
    )
    await stack.crm.add_line_item(
        deal,
        LineItemInput(product_id=product_id, quantity=Decimal(1), unit_price=Decimal(price)),
    )
    await stack.crm.close_won(deal, dt.date.today())
    return deal


async def test_a_customers_price_list_prices_its_deals_in_its_currency(stack: Stack) -> None:
    (euro,) = await stack.erp.create(
        "currency.currency",
        [{"name": "Euro", "code": "EUR", "symbol": "€", "rounding": Decimal("0.01")}],
    )
    await make_item(stack, "W-1", "100")
    widget = await crm_product(stack, "W-1")
    # "Gold": 10 % off the list price.
    (gold,) = await stack.erp.create(
        "product.price_list",
        [
            {
                "name": "Gold",
                "price": "list_price",
                "lines": [("create", [{"formula": "unit_price * 0.9"}])],
            }
        ],
    )
    account, party = await account_in_both(stack, "Globex")
    await stack.erp.write("party.party", [party], {"sale_price_list": gold})
    # The CRM account shows the customer's price book; the sync knows the item's Gold price.
    await account_fields(stack, account, erp_price_book="Gold")
    await item_known_to_the_sync(stack, "W-1", until=_priced("Gold", "USD", "90"))

    # At the standard price: above Gold's, rejected with the reason on the deal.
    standard = await won_deal(stack, account, [(widget, "1", "100")], "At the standard price")
    rejected = await deal_fields(stack, standard, q2c_sync_status="rejected")
    assert (
        "price 100.00 is above the customer's price book 'Gold': 90.00"
        in (rejected["q2c_sync_reason"])
    )
    # At Gold's price: a sale priced from Gold, as Tryton would price it itself.
    listed = await won_deal(stack, account, [(widget, "2", "90")], "At the list price")
    sale = await sale_of(stack, listed, CONFIRMED)
    assert sale["total_amount"] == Decimal("180.00")
    (priced,) = await stack.erp.read("sale.sale", [sale["id"]], ["price_list", "currency.code"])
    assert (priced["price_list"], priced["currency."]["code"]) == (gold, "USD")
    await deal_fields(stack, listed, q2c_sync_status="synced")
    assert await stack.erp.search("sale.sale", [("reference", "=", standard)]) == []

    # In EUR, before the ERP has a EUR rate: the deal waits, and says why.
    euro_deal = await _eur_deal(stack, account, widget.id, "81")
    today = dt.date.today().isoformat()
    waiting = await deal_fields(stack, euro_deal, q2c_sync_status="waiting")
    assert f"no EUR rate on {today} in the ERP" in waiting["q2c_sync_reason"]
    assert await stack.erp.search("sale.sale", [("reference", "=", euro_deal)]) == []

    # Finance enters the day's rate (1 USD = 0.9 EUR): Gold's 90 USD is 81 EUR; the deal
    # becomes a sale in EUR.
    await stack.erp.create(
        "currency.currency.rate",
        [{"currency": euro, "date": dt.date.today(), "rate": Decimal("0.9")}],
    )
    euro_sale = await sale_of(stack, euro_deal, CONFIRMED)
    (in_euro,) = await stack.erp.read(
        "sale.sale", [euro_sale["id"]], ["currency.code", "price_list", "total_amount"]
    )
    assert (in_euro["currency."]["code"], in_euro["total_amount"]) == ("EUR", Decimal("81.00"))
    assert in_euro["price_list"] == gold

    # Its invoice is in EUR, booked at the rate of the day (90.00 USD receivable), and the
    # CRM shows the EUR amounts on the deal and the account.
    (invoice,) = (
        euro_sale["invoices"] or (await sale_of(stack, euro_deal, ("processing",)))["invoices"]
    )
    await stack.erp.button("account.invoice", "post", [invoice])
    (posted,) = await stack.erp.read(
        "account.invoice", [invoice], ["currency.code", "total_amount", "lines_to_pay"]
    )
    assert (posted["currency."]["code"], posted["total_amount"]) == ("EUR", Decimal("81.00"))
    receivable = await stack.erp.read(
        "account.move.line", posted["lines_to_pay"], ["debit", "amount_second_currency"]
    )
    assert [(r["debit"], r["amount_second_currency"]) for r in receivable] == [
        (Decimal("90.00"), Decimal("81.00"))
    ]
    await deal_fields(stack, euro_deal, erp_invoiced_total="81.00", erp_amount_due="81.00")
    balances = await account_fields(stack, account, erp_balances="*")
    assert "EUR 81.00" in balances["erp_balances"]
