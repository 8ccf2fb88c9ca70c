"""Reconciliation: what the CRM and the ERP should agree on, every place they do not, and
which of those differences q2c itself explains.

Works on canonical snapshots of both systems (as the connectors map them), joined by the
natural keys the sync writes: the ERP customer carries the CRM account id, the ERP sale's
reference is the CRM deal id, items share their SKU. Customers, items, orders and the
outstanding balance shown on each CRM account (against the ERP's invoices) are compared.

A won deal without an ERP sale is not drift when q2c decided so and told the CRM: the deal's
sync status (rejected, held for approval, waiting for its customer or items) and reason are
on the CRM record. Such deals are *explained*, listed in their own sections, and their
accounts are not expected in the ERP on their account. Everything else that differs is a
:class:`Discrepancy`; where reading the record from its owning system again can fix it, the
discrepancy names that record (:class:`Resync`).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

from schemas.changes import SystemRole
from schemas.entities import (
    CreditMemo,
    Customer,
    DocumentLine,
    EntityKind,
    Invoice,
    Item,
    Quote,
    SalesOrder,
    SalesOrderState,
)
from streams.rules.ledger import CustomerLedger, account_balance, apply_invoice, primary_currency
from streams.rules.triggers import OrderTrigger

CENT = Decimal("0.01")
_UNCONFIRMED = frozenset({SalesOrderState.DRAFT, SalesOrderState.QUOTATION})


class Section(StrEnum):
    """Why a won deal has no ERP sale, as q2c reported it on the CRM deal."""

    REJECTED = "rejected"
    HELD = "held"
    WAITING = "waiting"


_SECTIONS = {
    "rejected": Section.REJECTED,
    "pending_approval": Section.HELD,
    "waiting": Section.WAITING,
}


@dataclass(frozen=True)
class SyncMark:
    """The sync status and reason q2c wrote on a CRM record."""

    status: str
    reason: str = ""


@dataclass(frozen=True)
class Resync:
    """The record whose system owns the truth, to be read again and sent through the sync."""

    role: SystemRole
    entity: EntityKind
    key: str
    """The record's natural key: CRM id for deals and accounts, SKU for items."""


@dataclass(frozen=True)
class Discrepancy:
    kind: str
    record: str
    detail: str
    repair: Resync | None = None

    def __str__(self) -> str:
        return f"{self.kind:<18} {self.record}: {self.detail}"


@dataclass(frozen=True)
class Explained:
    """A won deal without an ERP sale, for a reason q2c gave on the CRM deal."""

    section: Section
    record: str
    reason: str
    repair: Resync | None = None

    def __str__(self) -> str:
        return f"{self.section:<18} {self.record}: {self.reason or '(no reason given)'}"


@dataclass(frozen=True)
class Snapshot:
    customers: list[Customer]
    items: list[Item]
    quotes: list[Quote]
    orders: list[SalesOrder]
    marks: dict[str, SyncMark] = field(default_factory=dict)
    """The sync status q2c wrote on each CRM deal that has one, by deal id."""
    invoices: list[Invoice | CreditMemo] = field(default_factory=list)
    balances: dict[str, Decimal] = field(default_factory=dict)
    """The outstanding balance the CRM shows on each account that has one, by account id."""


@dataclass(frozen=True)
class Reconciliation:
    discrepancies: list[Discrepancy]
    explained: list[Explained]

    @property
    def clean(self) -> bool:
        """Every difference is explained."""
        return not self.discrepancies

    def repairs(self) -> list[Resync]:
        """What reading again may fix: the records behind discrepancies, and rejected deals
        (their cause may have been fixed since: a missing item created, a line corrected)."""
        found = [d.repair for d in self.discrepancies if d.repair is not None]
        found += [e.repair for e in self.explained if e.section is Section.REJECTED and e.repair]
        return list(dict.fromkeys(found))


def _lines(lines: Iterable[DocumentLine]) -> Counter[tuple[str, Decimal, Decimal]]:
    """(SKU, quantity, net amount) of each line, as a multiset."""
    out: Counter[tuple[str, Decimal, Decimal]] = Counter()
    for line in lines:
        key = (line.sku or "?", line.quantity.normalize(), line.amount.amount.quantize(CENT))
        out[key] += 1
    return out


def explanation(deal_id: str, mark: SyncMark | None) -> Explained | None:
    """Why a won deal has no ERP sale, when q2c said so on the deal."""
    section = _SECTIONS.get(mark.status) if mark is not None else None
    if section is None or mark is None:
        return None
    return Explained(
        section, deal_id, mark.reason, Resync(SystemRole.CRM, EntityKind.QUOTE, deal_id)
    )


def _deal_order(quote: Quote, order: SalesOrder, deal_id: str) -> list[Discrepancy]:
    """How the one ERP sale of a won deal differs from the deal."""
    found: list[Discrepancy] = []
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
    if order.state in _UNCONFIRMED:
        found.append(
            Discrepancy(
                "order-unconfirmed",
                deal_id,
                f"ERP sale {order.number or order.ids.erp_id} is still {order.state}",
            )
        )
    return found


def _orders(
    crm: Snapshot, erp: Snapshot, trigger: OrderTrigger
) -> tuple[list[Discrepancy], list[Explained], set[str]]:
    """Deals against ERP sales; also the accounts whose deals should have been ordered."""
    found: list[Discrepancy] = []
    explained: list[Explained] = []
    ordered_accounts: set[str] = set()
    deals = {q.ids.crm_id: q for q in crm.quotes if q.ids.crm_id}
    orders: dict[str, list[SalesOrder]] = defaultdict(list)
    for order in erp.orders:
        deal = order.reference or (order.quote.crm_id if order.quote else None)
        if deal:
            orders[deal].append(order)

    customers = {c.ids.crm_id: c for c in erp.customers if c.ids.crm_id}
    for deal_id, quote in sorted(deals.items()):
        matching = orders.get(deal_id, [])
        if not trigger.fires(quote, customers.get(quote.customer.crm_id or "")):
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
            why = explanation(deal_id, crm.marks.get(deal_id))
            if why is not None:
                explained.append(why)
                continue
            found.append(
                Discrepancy(
                    "missing-order",
                    deal_id,
                    "won deal has no ERP sales order",
                    Resync(SystemRole.CRM, EntityKind.QUOTE, deal_id),
                )
            )
        if quote.customer.crm_id:
            ordered_accounts.add(quote.customer.crm_id)
        if not matching:
            continue
        if len(matching) > 1:
            numbers = ", ".join(o.number or o.ids.erp_id or "?" for o in matching)
            found.append(
                Discrepancy("duplicate-order", deal_id, f"{len(matching)} ERP sales: {numbers}")
            )
        found += _deal_order(quote, matching[0], deal_id)

    for deal_id, matching in sorted(orders.items()):
        if deal_id not in deals:
            found.append(
                Discrepancy(
                    "orphan-order", deal_id, f"ERP sale {matching[0].number} refers to no CRM deal"
                )
            )
    return found, explained, ordered_accounts


def _customers(crm: Snapshot, erp: Snapshot, accounts: Iterable[str]) -> list[Discrepancy]:
    """The accounts of ordered deals: ERP customers, under the CRM's name."""
    found: list[Discrepancy] = []
    parties = {c.ids.crm_id: c for c in erp.customers if c.ids.crm_id}
    known = {c.ids.crm_id: c for c in crm.customers if c.ids.crm_id}
    for account_id in sorted(accounts):
        party = parties.get(account_id)
        account = known.get(account_id)
        repair = Resync(SystemRole.CRM, EntityKind.CUSTOMER, account_id)
        if party is None:
            found.append(
                Discrepancy(
                    "missing-customer",
                    account_id,
                    "CRM account of a won deal is not an ERP customer",
                    repair,
                )
            )
        elif account is not None and party.name != account.name:
            found.append(
                Discrepancy(
                    "name-differs",
                    account_id,
                    f"CRM {account.name!r} vs ERP {party.name!r}",
                    repair,
                )
            )
    return found


def _items(crm: Snapshot, erp: Snapshot, currency: str) -> list[Discrepancy]:
    """Saleable ERP items: CRM products at the ERP's price."""
    found: list[Discrepancy] = []
    products = {i.sku: i for i in crm.items}
    for item in erp.items:
        if not (item.active and item.saleable):
            continue
        repair = Resync(SystemRole.ERP, EntityKind.ITEM, item.sku)
        product = products.get(item.sku)
        if product is None:
            found.append(
                Discrepancy("missing-product", item.sku, "ERP item is not a CRM product", repair)
            )
            continue
        erp_price, crm_price = item.price(currency), product.price(currency)
        if erp_price is not None and (crm_price is None or crm_price.amount != erp_price.amount):
            found.append(
                Discrepancy(
                    "price-differs", item.sku, f"ERP {erp_price} vs CRM {crm_price}", repair
                )
            )
    return found


def erp_balances(erp: Snapshot, today: date) -> dict[str, Decimal]:
    """Each CRM account's outstanding balance as the ERP's invoices give it, computed as the
    sync computes what it writes on the account (posted invoices' amounts due)."""
    accounts = {c.ids.erp_id: c.ids.crm_id for c in erp.customers if c.ids.erp_id}
    ledgers: dict[str, CustomerLedger] = {}
    for invoice in erp.invoices:
        account = accounts.get(invoice.customer.erp_id or "") or invoice.customer.crm_id
        if account:
            ledger = ledgers.get(account) or CustomerLedger(customer=account)
            ledgers[account] = apply_invoice(ledger, invoice)
    found: dict[str, Decimal] = {}
    for account, ledger in ledgers.items():
        currency = primary_currency(ledger)
        if currency is not None:
            found[account] = account_balance(ledger, currency, today)[0].amount
    return found


def _balances(crm: Snapshot, erp: Snapshot, today: date) -> list[Discrepancy]:
    """The outstanding balance shown on CRM accounts against the ERP's open invoices."""
    found: list[Discrepancy] = []
    expected = erp_balances(erp, today)
    for account in sorted(set(expected) | set(crm.balances)):
        erp_amount = expected.get(account, Decimal(0))
        shown = crm.balances.get(account)
        if shown is None and erp_amount == 0:
            continue
        if shown is None or shown.quantize(CENT) != erp_amount.quantize(CENT):
            found.append(
                Discrepancy(
                    "balance-differs",
                    account,
                    f"the CRM shows {shown if shown is not None else 'no balance'}, "
                    f"the ERP's open invoices total {erp_amount.quantize(CENT)}",
                )
            )
    return found


def reconcile(
    crm: Snapshot, erp: Snapshot, trigger: OrderTrigger, currency: str, today: date | None = None
) -> Reconciliation:
    """Every difference between ``crm`` and ``erp``; balances are compared when ``today``
    (the day overdue amounts are counted from) is given."""
    orders, explained, accounts = _orders(crm, erp, trigger)
    found = orders + _customers(crm, erp, accounts) + _items(crm, erp, currency)
    if today is not None:
        found += _balances(crm, erp, today)
    return Reconciliation(found, explained)
