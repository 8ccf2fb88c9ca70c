"""The demonstration a deployment must give: an item made in the ERP reaches the CRM, and a
deal closed won in the CRM becomes one confirmed ERP sale, written back on the deal."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any, TypeVar

from connectors.bottlecrm.client import BottleCrmClient
from connectors.bottlecrm.models import AccountInput, DealInput, LineItemInput
from connectors.tryton.client import TrytonClient
from q2c.devstack.bottlecrm import OrgAccess
from q2c.devstack.procs import first_result
from tests.plugins.tryton import TrytonPeer

T = TypeVar("T")


async def won_deal_becomes_a_sale(
    erp: TrytonClient,
    crm: BottleCrmClient,
    records: dict[str, Any],
    diagnostics: Callable[[], str],
    within: float = 150.0,
) -> dict[str, Any]:
    """The confirmed sale of a new won deal (its fields: state, reference, total_amount)."""

    async def eventually(probe: Callable[[], Awaitable[T | None]], what: str) -> T:
        try:
            return await first_result(probe, within)
        except TimeoutError:
            raise AssertionError(f"never happened: {what}\n{diagnostics()}") from None

    sku = f"D-{uuid.uuid4().hex[:6]}"
    await erp.create(
        "product.template",
        [
            {
                "name": f"Item {sku}",
                "type": "service",
                "salable": True,
                "list_price": Decimal("100"),
                "default_uom": records["unit"],
                "sale_uom": records["unit"],
                "account_category": records["account_category"],
                "products": [("create", [{"suffix_code": sku}])],
            }
        ],
    )

    async def product() -> Any:
        return await crm.find_product_by_sku(sku)

    item = await eventually(product, f"product {sku} in BottleCRM")
    account = await crm.create_account(AccountInput(name="Deploy Ltd", email="ap@deploy.test"))
    deal = await crm.create_deal(
        DealInput(name="Deploy", account=account, currency="USD", amount=Decimal("200"))
    )
    await crm.add_line_item(
        deal, LineItemInput(product_id=item.id, quantity=Decimal(2), unit_price=Decimal(100))
    )
    await crm.close_won(deal, dt.date.today())

    async def sale() -> dict[str, Any] | None:
        rows = await erp.search_read(
            "sale.sale", [("reference", "=", deal)], ["state", "reference", "total_amount"]
        )
        assert len(rows) <= 1, f"{len(rows)} sales for deal {deal}"
        return rows[0] if rows and rows[0]["state"] in ("confirmed", "processing") else None

    found: dict[str, Any] = await eventually(sale, f"a confirmed sale for deal {deal}")
    return found


async def won_deal_syncs_through_the_webhook(
    tryton_db: TrytonPeer, bottlecrm_org: OrgAccess, diagnostics: Callable[[], str]
) -> None:
    """A won deal becomes one confirmed sale of 200, and BottleCRM delivered its ``deal.won``
    event to the rehearsed receiver."""
    async with (
        TrytonClient(tryton_db.settings()) as erp,
        BottleCrmClient(bottlecrm_org.settings()) as crm,
    ):
        sale = await won_deal_becomes_a_sale(erp, crm, tryton_db.records, diagnostics)
        assert sale["total_amount"] == 200
        (hook,) = await crm.webhooks()
        deliveries = await crm.call(
            "GET", f"/api/webhooks/{hook.id}/deliveries/", credential=bottlecrm_org.jwt
        )
        shown = [(d["event"], d["status"], d["error"]) for d in deliveries["results"]]
        assert ("deal.won", "succeeded", "") in shown, shown
