"""The ERP's orders, invoices, credit memos and payments of one customer, and what the CRM
is told of them: each deal's order number, state, invoices, amounts, shipments, returns and
subscriptions, and the account's outstanding and overdue balance and the serial numbers it
received, with their warranty end dates. A write-back is sent only when what it says
changed.

The overdue balance also changes as due dates pass: the worker's ledger timer asks
:func:`balance_stale` of each customer, and :func:`on_ledger_recheck` recomputes the
balance of one whose invoice fell due since. Renewals come due as days pass too: a
subscription of the customer's orders coming up for renewal opens a renewal deal in the
CRM (when the policy says so), once per renewal date, found by the timer
(:func:`renewal_due`) or when the subscription changes."""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from typing import Protocol

import orjson
from pydantic import BaseModel, ConfigDict

from schemas import (
    CreateRenewalDeal,
    UpdateAccountBalance,
    UpdateDealFinancialStatus,
    UpsertCrmInvoice,
)
from schemas.changes import EntityChange, SystemRole
from schemas.commands import CurrencyBalance
from schemas.commands import InvoiceSummary as InvoiceLine
from schemas.entities import CreditMemo, ExternalIds, Invoice, Item, Payment, SalesOrder
from schemas.keys import customer_key, deal_key
from schemas.types import Money
from streams.config import SyncConfig
from streams.handlers.common import Emit, Step, command_fields
from streams.rules.invoices import invoice_record
from streams.rules.ledger import (
    CustomerLedger,
    account_balance,
    account_credit,
    apply_invoice,
    apply_payment,
    currencies,
    deal_credit,
    deal_financials,
    fell_due_between,
    order_of,
    primary_currency,
)
from streams.rules.renewals import (
    RenewalDue,
    due_renewals,
    renewal_amount,
    renewal_key,
    renewal_lines,
    renewal_name,
)
from streams.rules.returns import originals, returns_of
from streams.rules.warranty import installed_base


class FinanceState(BaseModel):
    model_config = ConfigDict(frozen=True)

    ledger: CustomerLedger
    orders: dict[str, SalesOrder] = {}
    account_crm_id: str | None = None
    fingerprints: dict[str, str] = {}
    sent: dict[str, str] = {}
    """Digest of the last write-back per CRM record (so an unchanged one is not re-sent)."""
    balance_day: date | None = None
    """The day the account's overdue balance was last computed for."""
    renewals: dict[str, date] = {}
    """Per subscription (ERP id), the renewal date it opened a renewal deal for."""
    invoice_documents: dict[str, Invoice] = {}
    """The customer's invoices as the ERP last sent them (for the CRM's invoice records)."""
    memo_documents: dict[str, CreditMemo] = {}


class Items(Protocol):
    """The item view: an item by ERP id, CRM id or SKU."""

    def item(self, key: str) -> Item | None: ...


def _digest(body: dict[str, object]) -> str:
    """A stable digest of a write-back's content (its models dumped as JSON)."""
    payload = {
        k: v.model_dump(mode="json") if isinstance(v, BaseModel) else v for k, v in body.items()
    }
    return hashlib.sha256(
        orjson.dumps(payload, option=orjson.OPT_SORT_KEYS, default=str)
    ).hexdigest()


def _deal_of(order: SalesOrder) -> str | None:
    """The CRM deal an ERP order came from (its reference is the deal id)."""
    if order.reference:
        return order.reference
    if order.quote is not None and order.quote.crm_id:
        return order.quote.crm_id
    return order.ids.crm_id


def _invoice_lines(order: SalesOrder, ledger: CustomerLedger) -> tuple[InvoiceLine, ...]:
    lines = []
    for summary in sorted(ledger.invoices.values(), key=lambda s: s.erp_id):
        if order_of(summary, ledger) != order.ids.erp_id:
            continue
        lines.append(
            InvoiceLine(
                number=summary.number,
                state=summary.state,
                credit_memo=summary.credit,
                total=Money(amount=summary.total, currency=summary.currency),
                amount_due=Money(amount=summary.amount_due, currency=summary.currency),
                due_date=summary.due_date,
            )
        )
    return tuple(lines)


def _write_backs(
    state: FinanceState, orders: list[SalesOrder], cfg: SyncConfig, now: datetime
) -> tuple[FinanceState, Step]:
    step = Step()
    sent = dict(state.sent)
    for order in orders:
        deal = _deal_of(order)
        if deal is None:
            continue
        status, invoiced, paid, outstanding = deal_financials(order, state.ledger)
        credit, refunded = deal_credit(order, state.ledger)
        body: dict[str, object] = {
            "deal": ExternalIds(crm_id=deal, erp_id=order.ids.erp_id),
            "order_number": order.number,
            "order_state": order.state,
            "invoice_status": status,
            "invoiced": invoiced,
            "paid": paid,
            "outstanding": outstanding,
            "invoices": _invoice_lines(order, state.ledger),
            "last_payment_date": state.ledger.last_payment,
            "shipment_status": order.shipment_status,
            "shipments": order.shipments,
            "returns": returns_of(order, state.orders.values(), state.ledger),
            "subscriptions": order.subscriptions,
            "credit": credit,
            "refunded": refunded,
        }
        digest = _digest(body)
        if sent.get(f"deal:{deal}") == digest:
            continue
        sent[f"deal:{deal}"] = digest
        command = UpdateDealFinancialStatus.model_validate(
            {
                **command_fields(cfg, SystemRole.CRM, now, "deal_financials", deal, digest),
                **body,
                "as_of": now,
            }
        )
        step.commands.append(Emit(SystemRole.CRM, deal_key(deal), command))

    currency = primary_currency(state.ledger)
    serials = installed_base(state.orders.values())
    if currency is None and serials:
        # Units shipped before anything is invoiced: the balance is nothing yet, in the
        # orders' currency.
        currency = min(order.currency for order in state.orders.values())
    account = state.account_crm_id
    if account and currency is not None:
        outstanding, overdue = account_balance(state.ledger, currency, now.date())
        state = state.model_copy(update={"balance_day": now.date()})
        per_currency = [
            (*account_balance(state.ledger, code, now.date()), account_credit(state.ledger, code))
            for code in currencies(state.ledger)
        ]
        body = {
            "account": ExternalIds(crm_id=account, erp_id=state.ledger.customer),
            "outstanding": outstanding,
            "overdue": overdue,
            "unapplied_credit": account_credit(state.ledger, currency),
            "last_payment_date": state.ledger.last_payment,
            "serial_numbers": serials,
            "balances": tuple(
                CurrencyBalance(outstanding=o, overdue=d, credit=c) for o, d, c in per_currency
            ),
        }
        digest = _digest(body)
        if sent.get("account") != digest:
            sent["account"] = digest
            balance = UpdateAccountBalance.model_validate(
                {
                    **command_fields(cfg, SystemRole.CRM, now, "account_balance", account, digest),
                    **body,
                    "as_of": now,
                }
            )
            step.commands.append(
                Emit(SystemRole.CRM, customer_key(ExternalIds(crm_id=account)), balance)
            )
    return state.model_copy(update={"sent": sent}), step


def _invoice_records(
    state: FinanceState, invoice_ids: set[str], cfg: SyncConfig, now: datetime
) -> tuple[FinanceState, Step]:
    """An ``upsert_crm_invoice`` for each of the invoices whose record changed, once the
    account is known in the CRM (the record waits in the state until then)."""
    step = Step()
    account = state.account_crm_id
    if account is None:
        return state, step
    sent = dict(state.sent)
    for erp_id in sorted(invoice_ids):
        invoice = state.invoice_documents.get(erp_id)
        if invoice is None:
            continue
        order = state.orders.get(invoice.sales_order.erp_id or "") if invoice.sales_order else None
        deal = _deal_of(order) if order is not None else None
        body: dict[str, object] = {
            **invoice_record(invoice, state.ledger, state.memo_documents),
            "account": ExternalIds(crm_id=account, erp_id=state.ledger.customer),
            "deal": ExternalIds(crm_id=deal, erp_id=order.ids.erp_id) if order and deal else None,
            "order_number": order.number if order is not None else None,
        }
        digest = _digest(body)
        if sent.get(f"invoice:{erp_id}") == digest:
            continue
        sent[f"invoice:{erp_id}"] = digest
        command = UpsertCrmInvoice.model_validate(
            {
                **command_fields(cfg, SystemRole.CRM, now, "crm_invoice", erp_id, digest),
                **body,
                "as_of": now,
            }
        )
        # Keyed by the account: its invoices are written in order, and a billing contact
        # the first one makes is there for the next.
        step.commands.append(
            Emit(SystemRole.CRM, customer_key(ExternalIds(crm_id=account)), command)
        )
    return state.model_copy(update={"sent": sent}), step


def _touched_invoices(state: FinanceState, data: object) -> set[str]:
    """The invoices whose CRM record a change affects: the invoice itself, the invoice a
    credit memo corrects, those a payment paid (or whose memo it refunded), those of an
    order."""
    ids: set[str] = set()
    if isinstance(data, Invoice) and data.ids.erp_id:
        ids.add(data.ids.erp_id)
    elif isinstance(data, CreditMemo) and data.credited_invoice is not None:
        ids.add(data.credited_invoice.erp_id or "")
    elif isinstance(data, Payment):
        for application in data.applications:
            target = application.invoice.erp_id or ""
            memo = state.memo_documents.get(target)
            if memo is not None and memo.credited_invoice is not None:
                target = memo.credited_invoice.erp_id or ""
            ids.add(target)
    elif isinstance(data, SalesOrder) and data.ids.erp_id:
        ids.update(
            erp_id
            for erp_id, invoice in state.invoice_documents.items()
            if invoice.sales_order is not None and invoice.sales_order.erp_id == data.ids.erp_id
        )
    return {erp_id for erp_id in ids if erp_id in state.invoice_documents}


def on_finance_change(
    state: FinanceState,
    change: EntityChange,
    account_crm_id: str | None,
    cfg: SyncConfig,
    now: datetime,
    items: Items | None = None,
) -> tuple[FinanceState, Step]:
    """Fold one ERP change into the customer's ledger; write back what it changed, and
    open the renewal deals a changed subscription brought due."""
    record = f"{change.entity}:{change.origin_id}"
    if state.fingerprints.get(record) == change.fingerprint:
        return state, Step()
    account_was_unknown = state.account_crm_id is None
    state = state.model_copy(
        update={
            "fingerprints": {**state.fingerprints, record: change.fingerprint},
            "account_crm_id": account_crm_id or state.account_crm_id,
        }
    )
    data = change.data
    affected: list[SalesOrder] = []
    if isinstance(data, SalesOrder) and data.ids.erp_id:
        state = state.model_copy(update={"orders": {**state.orders, data.ids.erp_id: data}})
        affected = [data]
        if data.customer.crm_id and not state.account_crm_id:
            state = state.model_copy(update={"account_crm_id": data.customer.crm_id})
    elif isinstance(data, Invoice | CreditMemo):
        state = state.model_copy(update={"ledger": apply_invoice(state.ledger, data)})
        if data.ids.erp_id and isinstance(data, Invoice):
            documents = {**state.invoice_documents, data.ids.erp_id: data}
            state = state.model_copy(update={"invoice_documents": documents})
        elif data.ids.erp_id and isinstance(data, CreditMemo):
            memos = {**state.memo_documents, data.ids.erp_id: data}
            state = state.model_copy(update={"memo_documents": memos})
        summary = state.ledger.invoices.get(data.ids.erp_id or "")
        order_id = order_of(summary, state.ledger) if summary is not None else None
        if order_id is None and data.sales_order is not None:
            order_id = data.sales_order.erp_id  # a credit note of the sale it came from
        # An invoice arriving after a memo that credits it links the memo to its order too.
        affected = [o for oid, o in state.orders.items() if oid == order_id]
    elif isinstance(data, Payment):
        state = state.model_copy(update={"ledger": apply_payment(state.ledger, data)})
        affected = list(state.orders.values())
    else:
        return state, Step()
    # A return has no deal of its own: it is told on the deal of the order it returns.
    state, step = _write_backs(state, originals(affected, state.orders), cfg, now)
    if isinstance(data, SalesOrder):
        state, renewals = open_renewals(state, cfg, now, items)
        step.extend(renewals)
    touched = _touched_invoices(state, data)
    if account_was_unknown and state.account_crm_id is not None:
        touched = set(state.invoice_documents)  # the records that waited for the account
    state, records = _invoice_records(state, touched, cfg, now)
    step.commands.extend(records.commands)
    return state, step


def balance_stale(state: FinanceState, today: date) -> bool:
    """Whether the account's overdue balance, last computed on ``state.balance_day``, is no
    longer true ``today`` (an invoice fell due in between)."""
    if state.account_crm_id is None or primary_currency(state.ledger) is None:
        return False
    if state.balance_day is None:
        return True
    return fell_due_between(state.ledger, state.balance_day, today)


def renewal_due(state: FinanceState, today: date, cfg: SyncConfig) -> bool:
    """Whether a renewal of the customer's subscriptions is due ``today`` and not opened
    (the account known, so a deal can be opened on it)."""
    if state.account_crm_id is None:
        return False
    return bool(due_renewals(state.orders.values(), state.renewals, today, cfg.renewals))


def on_ledger_recheck(
    state: FinanceState, cfg: SyncConfig, now: datetime, items: Items | None = None
) -> tuple[FinanceState, Step]:
    """Recompute the account's balances as of ``now`` (written back only if they changed)
    and open the renewal deals that came due."""
    state, step = _write_backs(state, [], cfg, now)
    state, renewals = open_renewals(state, cfg, now, items)
    step.extend(renewals)
    return state, step


def _known_items(due: RenewalDue, items: Items | None) -> dict[str, Item]:
    found: dict[str, Item] = {}
    for line in due.subscription.lines:
        key = (line.item.erp_id if line.item else None) or line.sku
        item = items.item(key) if items is not None and key else None
        if key and item is not None:
            found[key] = item
    return found


def _renewal_deal(
    state: FinanceState, due: RenewalDue, cfg: SyncConfig, now: datetime, items: Items | None
) -> CreateRenewalDeal:
    sub = due.subscription
    currency = sub.lines[0].unit_price.currency if sub.lines else due.order.currency
    lines = renewal_lines(sub.lines, _known_items(due, items), currency)
    key = renewal_key(cfg.erp_system, due.subscription_id, due.renewal_date)
    deal = _deal_of(due.order)
    return CreateRenewalDeal.model_validate(
        {
            # One deal per renewal, whatever brings it due again: keyed by the renewal.
            **command_fields(cfg, SystemRole.CRM, now, "create_renewal_deal", key),
            "renewal_key": key,
            "account": ExternalIds(crm_id=state.account_crm_id, erp_id=state.ledger.customer),
            "name": renewal_name(cfg.renewals, due),
            "stage": cfg.renewals.stage,
            "currency": currency,
            "lines": lines,
            "amount": renewal_amount(lines, currency),
            "close_date": due.renewal_date,
            "original_deal": ExternalIds(crm_id=deal) if deal else None,
            "subscription": sub.ids,
            "subscription_number": sub.number,
        }
    )


def open_renewals(
    state: FinanceState, cfg: SyncConfig, now: datetime, items: Items | None = None
) -> tuple[FinanceState, Step]:
    """A renewal deal for each renewal of the customer's subscriptions that came due and
    has none yet; remembered, so each renewal date opens one."""
    step = Step()
    account = state.account_crm_id
    if account is None:
        return state, step
    due = due_renewals(state.orders.values(), state.renewals, now.date(), cfg.renewals)
    if not due:
        return state, step
    opened = dict(state.renewals)
    for renewal in due:
        command = _renewal_deal(state, renewal, cfg, now, items)
        step.commands.append(
            Emit(SystemRole.CRM, customer_key(ExternalIds(crm_id=account)), command)
        )
        opened[renewal.subscription_id] = renewal.renewal_date
    return state.model_copy(update={"renewals": opened}), step


def new_finance_state(customer_erp_id: str) -> FinanceState:
    return FinanceState(ledger=CustomerLedger(customer=customer_erp_id))
