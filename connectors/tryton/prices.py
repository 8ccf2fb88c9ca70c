"""An item's prices per price book and currency, as Tryton computes them.

Tryton prices a sale line through the product's ``sale_price_uom`` (the sale module's
``get_sale_price``): from the list price, or from a price list's formulas when the context
names one (``sale_price_list``), converted to the context's currency with the company's
rate of the sale date (``currency.currency.compute``). ``product.price_list.compute`` and
``currency.currency.compute`` are not exposed over RPC, but reading ``sale_price_uom`` with
that context is: the source reads the price each price list gives each product in each
currency Tryton has a rate for, so the CRM and the validation see exactly the price Tryton
puts on a sale line, rounding and formulas included, without q2c re-implementing either.

A price list is a price book by its name; the product's own list price is the ``standard``
book. A price list line may apply from a quantity on: each such quantity is read as a tier
(``min_quantity``). A product no line of a list matches has no price in that book (Tryton
then prices the sale from the list price): validation falls back to the standard book.

A currency without a rate on the day has no conversion: its prices are left out, and
validation tells a deal in that currency that the ERP has no rate (a missing price with
prices in other currencies).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from connectors.tryton.client import TrytonClient
from connectors.tryton.records import Row

STANDARD = "standard"
"""The price book of the products' own list prices."""


@dataclass(frozen=True)
class PriceBook:
    """A price list (or the list price, ``id`` None) and the quantities its lines start at."""

    name: str
    id: int | None = None
    tiers: tuple[Decimal, ...] = ()


@dataclass(frozen=True)
class Currency:
    id: int
    code: str


async def price_books(client: TrytonClient) -> list[PriceBook]:
    """The standard book and the company's active price lists, with their tiers."""
    company = client.context.get("company")
    # Tryton prices from the lists of the user's company only (another's is refused).
    domain = [("company", "=", int(company))] if company else []
    lists = await client.search_read(
        "product.price_list", domain, ["name"], order=[("name", "ASC"), ("id", "ASC")]
    )
    tiers: dict[int, set[Decimal]] = {int(row["id"]): set() for row in lists}
    if tiers:
        for line in await client.search_read(
            "product.price_list.line",
            [("price_list", "in", sorted(tiers)), ("quantity", ">", 0)],
            ["price_list", "quantity"],
        ):
            tiers[int(line["price_list"])].add(Decimal(repr(float(line["quantity"]))))
    books = [PriceBook(STANDARD)]
    for row in lists:
        name = str(row.get("name") or "").strip()
        if name and name != STANDARD:
            books.append(PriceBook(name, int(row["id"]), tuple(sorted(tiers[int(row["id"])]))))
    return books


async def priced_currencies(client: TrytonClient, today: dt.date) -> list[Currency]:
    """The company's currency first, then every active currency with a rate on ``today``
    (Tryton converts with the latest rate on or before the date)."""
    company = client.context.get("company")
    (row,) = await client.read("company.company", [int(company or 1)], ["currency"])
    own = int(row["currency"])
    found = await client.search_read(
        "currency.currency",
        ["OR", ("id", "=", own), ("rates.date", "<=", today)],
        ["code"],
        order=[("code", "ASC")],
    )
    currencies = [Currency(int(r["id"]), str(r["code"])) for r in found]
    return sorted(currencies, key=lambda c: (c.id != own, c.code))


async def _read_prices(
    client: TrytonClient, products: Sequence[int], context: dict[str, Any]
) -> dict[int, Any]:
    rows = await client.read("product.product", list(products), ["sale_price_uom"], context=context)
    return {int(r["id"]): r.get("sale_price_uom") for r in rows}


async def add_prices(client: TrytonClient, rows: list[Row], today: dt.date | None = None) -> None:
    """Add ``prices`` to product ``rows`` (in place): ``{"price_book", "currency",
    "min_quantity", "unit_price"}`` per book, currency and tier Tryton gives a price."""
    if not rows:
        return
    today = today or dt.date.today()
    books = await price_books(client)
    currencies = await priced_currencies(client, today)
    products = [int(row["id"]) for row in rows]
    prices: dict[int, list[Row]] = {pid: [] for pid in products}
    for book in books:
        for currency in currencies:
            for tier in (None, *book.tiers):
                context: dict[str, Any] = {
                    "currency": currency.id,
                    "sale_date": today,
                    "quantity": float(tier) if tier is not None else 0,
                }
                if book.id is not None:
                    context["price_list"] = book.id
                found = await _read_prices(client, products, context)
                for pid in products:
                    amount = found.get(pid)
                    if amount is None:
                        continue
                    prices[pid].append(
                        {
                            "price_book": book.name,
                            "currency": currency.code,
                            "min_quantity": tier,
                            "unit_price": amount,
                        }
                    )
    for row in rows:
        row["prices"] = _without_repeated_tiers(prices[int(row["id"])])


def _without_repeated_tiers(prices: list[Row]) -> list[Row]:
    """Drop a tier whose price is the one below it (the quantity of a line that does not
    apply to this product)."""
    kept: list[Row] = []
    below: dict[tuple[str, str], Any] = {}
    for price in prices:
        key = (str(price["price_book"]), str(price["currency"]))
        if price["min_quantity"] is not None and below.get(key) == price["unit_price"]:
            continue
        below[key] = price["unit_price"]
        kept.append(price)
    return kept
