"""Won deals as the console lists them: the sync status q2c wrote on each CRM deal, its
reason, and the ERP order it became, joined as `q2c reconcile` joins them (the ERP sale's
reference is the CRM deal id)."""

from __future__ import annotations

from dataclasses import dataclass

from schemas import SyncStatus
from streams.rules.reconcile import Snapshot
from streams.rules.triggers import OrderTrigger

NOT_REPORTED = "not reported"
"""A won deal on which q2c has written no status yet (it is on its way, or never arrived)."""


@dataclass(frozen=True)
class DealRow:
    deal: str
    account: str
    total: str
    status: str
    reason: str
    orders: tuple[str, ...]
    """Each ERP sale of the deal, as ``number (state)``."""

    @property
    def held(self) -> bool:
        """Waiting for someone to approve or decline it."""
        return self.status == SyncStatus.PENDING_APPROVAL

    @property
    def rejected(self) -> bool:
        """Rejected by q2c: once its cause is fixed, a resync sends it through again."""
        return self.status == SyncStatus.REJECTED


def deal_rows(crm: Snapshot, erp: Snapshot, trigger: OrderTrigger) -> list[DealRow]:
    """One row per deal the trigger makes an order of, rejected and held deals first."""
    orders: dict[str, list[str]] = {}
    for order in erp.orders:
        deal = order.reference or (order.quote.crm_id if order.quote else None)
        if deal:
            shown = f"{order.number or order.ids.erp_id or '?'} ({order.state})"
            orders.setdefault(deal, []).append(shown)
    customers = {c.ids.crm_id: c for c in erp.customers if c.ids.crm_id}
    rows = []
    for quote in crm.quotes:
        deal = quote.ids.crm_id
        if not deal or not trigger.fires(quote, customers.get(quote.customer.crm_id or "")):
            continue
        mark = crm.marks.get(deal)
        rows.append(
            DealRow(
                deal=deal,
                account=quote.customer.crm_id or "",
                total=str(quote.total),
                status=mark.status if mark is not None else NOT_REPORTED,
                reason=mark.reason if mark is not None else "",
                orders=tuple(sorted(orders.get(deal, []))),
            )
        )
    return sorted(rows, key=lambda row: (_ORDER.get(row.status, len(_ORDER)), row.deal))


_ORDER = {
    str(SyncStatus.REJECTED): 0,
    str(SyncStatus.PENDING_APPROVAL): 1,
    str(SyncStatus.WAITING): 2,
    NOT_REPORTED: 3,
}
"""What needs an operator comes first."""
