"""Reconciliation: what the CRM and the ERP should agree on, and every place they do not.

Works on canonical snapshots of both systems (as the connectors map them), joined by the
natural keys the sync writes: the ERP customer carries the CRM account id, the ERP sale's
reference is the CRM deal id, items share their SKU.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from schemas.entities import Customer, DocumentLine, Item, Quote, SalesOrder
from streams.rules.triggers import OrderTrigger

CENT = Decimal("0.01")


@dataclass(frozen=True)
class Discrepancy:
    kind: str
    record: str
    detail: str

    def __str__(self) -> str:
        return f"{self.kind:<18} {self.record}: {self.detail}"


@dataclass(frozen=True)
class Snapshot:
    customers: list[Customer]
    items: list[Item]
    quotes: list[Quote]
    orders: list[SalesOrder]


def _lines(lines: Iterable[DocumentLine]) -> Counter[tuple[str, Decimal, Decimal]]:
    """(SKU, quantity, net amount) of each line, as a multiset."""
    out: Counter[tuple[str, Decimal, Decimal]] = Counter()
    for line in lines:
        key = (line.sku or "?", line.quantity.normalize(), line.amount.amount.quantize(CENT))
        out[key] += 1
    return out


def reconcile(
    crm: Snapshot, erp: Snapshot, trigger: OrderTrigger, currency: str
) -> list[Discrepancy]:
    found: list[Discrepancy] = []
    parties = {c.ids.crm_id: c for c in erp.customers if c.ids.crm_id}
    accounts = {c.ids.crm_id: c for c in crm.customers if c.ids.crm_id}
    deals = {q.ids.crm_id: q for q in crm.quotes if q.ids.crm_id}
    orders: dict[str, list[SalesOrder]] = defaultdict(list)
    for order in erp.orders:
        deal = order.reference or (order.quote.crm_id if order.quote else None)
        if deal:
            orders[deal].append(order)

    for deal_id, quote in sorted(deals.items()):
        matching = orders.get(deal_id, [])
        if not trigger.fires(quote):
            if matching:
                found.append(
                    Discrepancy(
                        "order-not-won",
                        deal_id,
                        f"{len(matching)} ERP sale(s) for a deal at stage {quote.stage}",
                    )
                )
            continue
        if not matching:
            found.append(Discrepancy("missing-order", deal_id, "won deal has no ERP sales order"))
            continue
        if len(matching) > 1:
            numbers = ", ".join(o.number or o.ids.erp_id or "?" for o in matching)
            found.append(
                Discrepancy("duplicate-order", deal_id, f"{len(matching)} ERP sales: {numbers}")
            )
        order = matching[0]
        if quote.customer.crm_id and order.customer.crm_id != quote.customer.crm_id:
            found.append(
                Discrepancy(
                    "wrong-customer",
                    deal_id,
                    f"ERP sale bills {order.customer.crm_id or order.customer.erp_id}, "
                    f"the deal's account is {quote.customer.crm_id}",
                )
            )
        if _lines(quote.lines) != _lines(order.lines):
            found.append(
                Discrepancy(
                    "lines-differ",
                    deal_id,
                    f"deal {sorted(_lines(quote.lines).items())} "
                    f"vs ERP {sorted(_lines(order.lines).items())}",
                )
            )
        if order.untaxed.amount != quote.total.amount:
            found.append(
                Discrepancy(
                    "total-differs", deal_id, f"deal {quote.total} vs ERP untaxed {order.untaxed}"
                )
            )

    for deal_id, matching in sorted(orders.items()):
        if deal_id not in deals:
            found.append(
                Discrepancy(
                    "orphan-order", deal_id, f"ERP sale {matching[0].number} refers to no CRM deal"
                )
            )

    for account_id in sorted(
        {q.customer.crm_id for q in deals.values() if q.customer.crm_id and trigger.fires(q)}
    ):
        party = parties.get(account_id)
        account = accounts.get(account_id)
        if party is None:
            found.append(
                Discrepancy(
                    "missing-customer",
                    account_id,
                    "CRM account of a won deal is not an ERP customer",
                )
            )
        elif account is not None and party.name != account.name:
            found.append(
                Discrepancy(
                    "name-differs", account_id, f"CRM {account.name!r} vs ERP {party.name!r}"
                )
            )

    products = {i.sku: i for i in crm.items}
    for item in erp.items:
        if not (item.active and item.saleable):
            continue
        product = products.get(item.sku)
        if product is None:
            found.append(Discrepancy("missing-product", item.sku, "ERP item is not a CRM product"))
            continue
        erp_price, crm_price = item.price(currency), product.price(currency)
        if erp_price is not None and (crm_price is None or crm_price.amount != erp_price.amount):
            found.append(
                Discrepancy("price-differs", item.sku, f"ERP {erp_price} vs CRM {crm_price}")
            )
    return found
