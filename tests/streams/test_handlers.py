"""The sync's steps, without Kafka: what each message does to the state and which
commands, audit records and reference updates it produces."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from schemas import (
    AuditKind,
    CommandResult,
    CreateSalesOrder,
    Outcome,
    ReportSyncStatus,
    SyncStatus,
    UpdateAccountBalance,
    UpdateDealFinancialStatus,
    UpsertCrmInvoice,
    UpsertCustomer,
    UpsertItem,
    fingerprint,
)
from schemas.changes import EntityChange, SystemRole
from schemas.decisions import DealApproval
from schemas.entities import (
    CreditMemo,
    Customer,
    EntityKind,
    ExternalIds,
    Invoice,
    InvoiceState,
    InvoiceStatus,
    Item,
    Payment,
    PaymentApplication,
    SalesOrder,
    SalesOrderState,
)
from schemas.envelope import Operation
from schemas.types import Money
from streams.config import SyncConfig
from streams.handlers.deals import (
    OrderState,
    OrderStatus,
    on_approval,
    on_order_result,
    on_quote_change,
    on_recheck,
)
from streams.handlers.finance import (
    balance_stale,
    new_finance_state,
    on_finance_change,
    on_ledger_recheck,
)
from streams.handlers.master import on_master_change, on_master_result
from streams.rules.deletes import ItemDeletion
from tests.streams.factories import T0, change, customer, eur, item, line, quote

CFG = SyncConfig()
CRM, ERP = SystemRole.CRM, SystemRole.ERP
NOW = T0 + timedelta(minutes=30)


@dataclass
class Views:
    customers: dict[str, Customer] = field(default_factory=dict)
    items: dict[str, Item] = field(default_factory=dict)
    deleted: dict[str, ItemDeletion] = field(default_factory=dict)

    def customer(self, ids: ExternalIds) -> Customer | None:
        return self.customers.get(ids.crm_id or "")

    def item(self, key: str) -> Item | None:
        return self.items.get(key)

    def deleted_item(self, key: str) -> ItemDeletion | None:
        return self.deleted.get(key)


def test_a_new_crm_account_is_created_in_the_erp_and_its_echo_is_silent() -> None:
    golden, step = on_master_change(None, change(customer(), CRM), "customer:acc-1", CFG, NOW)
    (emit,) = step.commands
    assert emit.role is ERP
    assert emit.key == "customer:acc-1"
    assert isinstance(emit.command, UpsertCustomer)
    assert emit.command.target_system == "tryton"
    assert emit.command.customer.name == "Acme GmbH"

    result = CommandResult(
        idempotency_key=emit.command.idempotency_key,
        command="upsert_customer",
        target_system="tryton",
        entity=EntityKind.CUSTOMER,
        outcome=Outcome.CREATED,
        ids=ExternalIds(crm_id="acc-1", erp_id="42"),
        completed_at=NOW,
    )
    linked, step = on_master_result(golden, result, "customer:acc-1", CFG, NOW)
    assert linked is not None
    assert linked.ids == ExternalIds(crm_id="acc-1", erp_id="42")
    assert [c.ids.erp_id for c in step.customers] == ["42"]

    echo, step = on_master_change(
        linked, change(customer(erp_id="42"), ERP, minutes=1), "customer:acc-1", CFG, NOW
    )
    assert step.commands == []
    assert step.audits == []
    assert echo.ids.erp_id == "42"


def test_a_customer_made_in_the_erp_is_created_in_the_crm_when_configured() -> None:
    first = customer(crm_id=None, erp_id="77", name="Wayne Enterprises", approved=True)
    key = "customer:erp:77"
    golden, step = on_master_change(None, change(first, ERP), key, CFG, NOW)
    (emit,) = step.commands
    assert emit.role is CRM
    assert isinstance(emit.command, UpsertCustomer)
    assert emit.command.target_system == "bottlecrm"
    assert emit.command.customer.ids == ExternalIds(erp_id="77")
    assert emit.command.customer.approved  # the ERP's finance fields go along
    assert [c.ids for c in step.customers] == [ExternalIds(erp_id="77")]

    result = CommandResult(
        idempotency_key=emit.command.idempotency_key,
        command="upsert_customer",
        target_system="bottlecrm",
        entity=EntityKind.CUSTOMER,
        outcome=Outcome.CREATED,
        ids=ExternalIds(crm_id="acc-9", erp_id="77"),
        completed_at=NOW,
    )
    linked, _ = on_master_result(golden, result, key, CFG, NOW)
    assert linked is not None
    assert linked.ids == ExternalIds(crm_id="acc-9", erp_id="77")

    # Not configured: an ERP-first customer stays in the ERP.
    off = SyncConfig(erp_customers_to_crm=False)
    _, step = on_master_change(None, change(first, ERP), key, off, NOW)
    assert step.commands == []


def test_an_erp_edit_of_a_crm_owned_field_is_audited_and_written_back() -> None:
    golden, _ = on_master_change(
        None, change(customer(erp_id="42"), CRM), "customer:acc-1", CFG, NOW
    )
    _, step = on_master_change(
        golden,
        change(customer(erp_id="42", name="ACME typo"), ERP, minutes=2),
        "customer:acc-1",
        CFG,
        NOW,
    )
    (audit,) = step.audits
    assert audit.kind is AuditKind.OVERWRITTEN
    assert audit.field == "name"
    assert audit.attempted is not None
    assert audit.attempted.value == "ACME typo"
    (emit,) = step.commands
    assert emit.role is ERP
    assert isinstance(emit.command, UpsertCustomer)
    assert emit.command.customer.name == "Acme GmbH"


def test_a_failed_customer_upsert_is_shown_on_the_crm_account() -> None:
    golden, _ = on_master_change(None, change(customer(), CRM), "customer:acc-1", CFG, NOW)
    failed = CommandResult(
        idempotency_key="k",
        command="upsert_customer",
        target_system="tryton",
        entity=EntityKind.CUSTOMER,
        outcome=Outcome.FAILED,
        message="tryton: the record failed validation: invalid VAT number",
        completed_at=NOW,
    )
    _, step = on_master_result(golden, failed, "customer:acc-1", CFG, NOW)
    assert step.audits[0].kind is AuditKind.REJECTED
    (emit,) = step.commands
    assert isinstance(emit.command, ReportSyncStatus)
    assert emit.command.status is SyncStatus.REJECTED
    assert "invalid VAT number" in emit.command.message


def test_erp_items_flow_to_the_crm_but_crm_only_products_do_not_flow_to_the_erp() -> None:
    _, step = on_master_change(None, change(item("W-1"), ERP), "item:W-1", CFG, NOW)
    (emit,) = step.commands
    assert emit.role is CRM
    assert isinstance(emit.command, UpsertItem)
    assert [i.sku for i in step.items] == ["W-1"]
    crm_only = Item(ids=ExternalIds(crm_id="prod-Z"), sku="Z-1", name="Z", updated_at=T0)
    _, step = on_master_change(None, change(crm_only, CRM), "item:Z-1", CFG, NOW)
    assert step.commands == []


def known_views() -> Views:
    return Views(
        customers={"acc-1": customer(erp_id="42")},
        items={"prod-W-1": item("W-1", "100.00"), "prod-G-2": item("G-2", "25.00", erp_id="8")},
    )


def test_a_won_deal_becomes_one_order_with_erp_ids() -> None:
    state = OrderState(deal="deal-1")
    won = change(quote(line(1, "W-1", "2", "100.00"), line(2, "G-2", "1", "25.00")), CRM)
    state, step = on_quote_change(state, won, known_views(), CFG, NOW)
    assert state.status is OrderStatus.ORDERING
    (emit,) = step.commands
    assert emit.role is ERP
    assert emit.key == "deal:deal-1"
    order = emit.command
    assert isinstance(order, CreateSalesOrder)
    assert order.reference == "deal-1"
    assert order.quote.customer == ExternalIds(crm_id="acc-1", erp_id="42")
    assert [ln.item.erp_id for ln in order.quote.lines if ln.item] == ["7", "8"]

    # Re-delivered, or edited after ordering: never a second order.
    again, step = on_quote_change(state, won, known_views(), CFG, NOW)
    assert step.commands == []
    edited = change(quote(line(1, "W-1", "3", "100.00")), CRM, minutes=5)
    _, step = on_quote_change(state, edited, known_views(), CFG, NOW)
    assert step.commands == []

    result = CommandResult(
        idempotency_key=order.idempotency_key,
        command="create_sales_order",
        target_system="tryton",
        entity=EntityKind.SALES_ORDER,
        outcome=Outcome.CREATED,
        ids=ExternalIds(crm_id="deal-1", erp_id="so-9"),
        completed_at=NOW,
    )
    state, step = on_order_result(again, result, CFG, NOW)
    assert state.status is OrderStatus.ORDERED
    (emit,) = step.commands
    assert isinstance(emit.command, ReportSyncStatus)
    assert emit.command.status is SyncStatus.SYNCED


def test_a_trigger_rule_on_the_customer_is_decided_once_the_customer_is_known() -> None:
    cfg = SyncConfig.model_validate(
        {"trigger": {"rules": [{"when": [{"field": "customer.currency", "value": "EUR"}]}]}}
    )
    views = known_views()
    known = views.customers.pop("acc-1")
    deal = quote(line(1, "W-1", "1", "100.00"))
    won = change(deal, CRM)
    state, step = on_quote_change(OrderState(deal="deal-1"), won, views, cfg, NOW)
    assert state.status is OrderStatus.WAITING  # for its customer, like any deal
    assert step.commands == []  # but it is told nothing: it may never be an order
    # The customer arrives, billed in dollars: the rule does not hold, no order.
    views.customers["acc-1"] = known.model_copy(update={"currency": "USD"})
    state, step = on_recheck(state, views, cfg, NOW)
    assert state.status is OrderStatus.NONE
    assert step.commands == []
    # In euros, the same deal is ordered.
    views.customers["acc-1"] = known.model_copy(update={"currency": "EUR"})
    state, step = on_quote_change(
        OrderState(deal="deal-1"), change(deal, CRM, minutes=1), views, cfg, NOW
    )
    assert state.status is OrderStatus.ORDERING
    assert [type(e.command) for e in step.commands] == [CreateSalesOrder]


def test_a_deal_waits_for_its_item_then_goes_through() -> None:
    views = known_views()
    del views.items["prod-G-2"]
    won = change(quote(line(1, "W-1", "1", "100.00"), line(2, "G-2", "1", "25.00")), CRM)
    state, step = on_quote_change(OrderState(deal="deal-1"), won, views, CFG, NOW)
    assert state.status is OrderStatus.WAITING
    (emit,) = step.commands
    assert isinstance(emit.command, ReportSyncStatus)
    assert emit.command.status is SyncStatus.WAITING
    assert "prod-G-2" in emit.command.message
    # Nothing new: a recheck reports nothing twice.
    state, step = on_recheck(state, views, CFG, NOW)
    assert step.commands == []
    views.items["prod-G-2"] = item("G-2", "25.00", erp_id="8")
    state, step = on_recheck(state, views, CFG, NOW)
    assert state.status is OrderStatus.ORDERING
    assert isinstance(step.commands[0].command, CreateSalesOrder)


def test_a_deep_discount_waits_for_approval() -> None:
    won = change(quote(line(1, "W-1", "1", "50.00")), CRM)
    state, step = on_quote_change(OrderState(deal="deal-1"), won, known_views(), CFG, NOW)
    assert state.status is OrderStatus.APPROVAL
    assert step.audits[0].kind is AuditKind.APPROVAL_REQUESTED
    assert isinstance(step.commands[0].command, ReportSyncStatus)
    assert step.commands[0].command.status is SyncStatus.PENDING_APPROVAL
    approval = DealApproval(deal_crm_id="deal-1", approved=True, actor="cfo@example.com", at=NOW)
    state, step = on_approval(state, approval, known_views(), CFG, NOW)
    assert state.status is OrderStatus.ORDERING
    assert step.audits[0].kind is AuditKind.APPROVED
    assert step.audits[0].actor == "cfo@example.com"
    assert any(isinstance(e.command, CreateSalesOrder) for e in step.commands)


def test_a_declined_or_wrongly_priced_deal_is_rejected_with_the_reason_once() -> None:
    over = change(quote(line(1, "W-1", "1", "150.00")), CRM)
    state, step = on_quote_change(OrderState(deal="deal-1"), over, known_views(), CFG, NOW)
    assert state.status is OrderStatus.REJECTED
    (emit,) = step.commands
    assert isinstance(emit.command, ReportSyncStatus)
    assert "above the price book's 100.00" in emit.command.message
    # The same content re-sent with another fingerprint: not reported again.
    same = change(quote(line(1, "W-1", "1", "150.00")), CRM, minutes=1)
    _, step = on_quote_change(state, same, known_views(), CFG, NOW)
    assert step.commands == []
    assert step.audits == []

    held, _ = on_quote_change(
        OrderState(deal="deal-2"),
        change(quote(line(1, "W-1", "1", "50.00"), crm_id="deal-2"), CRM),
        known_views(),
        CFG,
        NOW,
    )
    declined, step = on_approval(
        held,
        DealApproval(deal_crm_id="deal-2", approved=False, actor="cfo", reason="too cheap", at=NOW),
        known_views(),
        CFG,
        NOW,
    )
    assert declined.status is OrderStatus.REJECTED
    assert step.audits[0].kind is AuditKind.DECLINED
    assert isinstance(step.commands[0].command, ReportSyncStatus)
    assert step.commands[0].command.message == "declined by cfo: too cheap"


def erp_change(data: SalesOrder | Invoice | CreditMemo | Payment, n: int) -> EntityChange:
    kind = {
        SalesOrder: EntityKind.SALES_ORDER,
        Invoice: EntityKind.INVOICE,
        CreditMemo: EntityKind.CREDIT_MEMO,
        Payment: EntityKind.PAYMENT,
    }[type(data)]
    return EntityChange(
        entity=kind,
        ids=data.ids,
        origin_system="tryton",
        origin_role=ERP,
        operation=Operation.UPDATE,
        source_ts=T0,
        fingerprint=fingerprint({"n": n, "d": data.model_dump(mode="json")}),
        data=data,
    )


def test_orders_invoices_and_payments_are_written_back_to_the_deal_and_account() -> None:
    cust = ExternalIds(crm_id="acc-1", erp_id="42")
    order = SalesOrder(
        ids=ExternalIds(erp_id="so-9", crm_id="deal-1"),
        number="SO9",
        reference="deal-1",
        customer=cust,
        currency="EUR",
        state=SalesOrderState.PROCESSING,
        untaxed=eur("200"),
        tax=eur("0"),
        total=eur("200"),
        updated_at=T0,
    )
    state = new_finance_state("42")
    state, step = on_finance_change(state, erp_change(order, 1), None, CFG, NOW)
    (deal,) = [e.command for e in step.commands if isinstance(e.command, UpdateDealFinancialStatus)]
    assert deal.order_number == "SO9"
    assert deal.invoice_status is InvoiceStatus.NONE

    invoice = Invoice(
        ids=ExternalIds(erp_id="inv-1"),
        number="INV1",
        customer=cust,
        sales_order=ExternalIds(erp_id="so-9"),
        currency="EUR",
        state=InvoiceState.POSTED,
        due_date=date(2026, 11, 1),
        untaxed=eur("200"),
        tax=eur("0"),
        total=eur("200"),
        amount_due=eur("200"),
        updated_at=T0,
    )
    state, step = on_finance_change(state, erp_change(invoice, 2), None, CFG, NOW)
    kinds = {type(e.command) for e in step.commands}
    assert kinds == {UpdateDealFinancialStatus, UpdateAccountBalance, UpsertCrmInvoice}
    record = next(e.command for e in step.commands if isinstance(e.command, UpsertCrmInvoice))
    assert record.account.crm_id == "acc-1"
    assert record.deal == ExternalIds(crm_id="deal-1", erp_id="so-9")
    assert (record.number, record.order_number, record.state.value) == ("INV1", "SO9", "posted")
    balance = next(e.command for e in step.commands if isinstance(e.command, UpdateAccountBalance))
    assert balance.account == cust
    assert (balance.outstanding.amount, balance.overdue.amount) == (Decimal(200), Decimal(200))
    deal = next(
        e.command for e in step.commands if isinstance(e.command, UpdateDealFinancialStatus)
    )
    assert deal.invoice_status is InvoiceStatus.AWAITING_PAYMENT
    assert [(i.number, i.amount_due.amount) for i in deal.invoices] == [("INV1", Decimal(200))]

    paid = invoice.model_copy(update={"state": InvoiceState.PAID, "amount_due": eur("0")})
    payment = Payment(
        ids=ExternalIds(erp_id="pay-1"),
        customer=cust,
        amount=eur("200"),
        received_on=date(2026, 11, 20),
        updated_at=T0,
    )
    state, _ = on_finance_change(state, erp_change(paid, 3), None, CFG, NOW)
    state, step = on_finance_change(state, erp_change(payment, 4), None, CFG, NOW)
    deal = next(
        e.command for e in step.commands if isinstance(e.command, UpdateDealFinancialStatus)
    )
    assert deal.invoice_status is InvoiceStatus.PAID
    assert deal.last_payment_date == date(2026, 11, 20)
    # The same payment delivered twice changes nothing and sends nothing.
    _, step = on_finance_change(state, erp_change(payment, 4), None, CFG, NOW)
    assert step.commands == []


def test_a_credit_memo_and_its_refund_update_the_record_of_the_invoice_they_correct() -> None:
    cust = ExternalIds(crm_id="acc-1", erp_id="42")
    invoice = Invoice(
        ids=ExternalIds(erp_id="inv-1"),
        number="INV1",
        customer=cust,
        currency="EUR",
        state=InvoiceState.PAID,
        untaxed=eur("100"),
        tax=eur("0"),
        total=eur("100"),
        amount_due=eur("0"),
        updated_at=T0,
    )
    memo = CreditMemo(
        ids=ExternalIds(erp_id="cn-1"),
        number="CN1",
        customer=cust,
        credited_invoice=ExternalIds(erp_id="inv-1"),
        currency="EUR",
        state=InvoiceState.POSTED,
        untaxed=eur("20"),
        tax=eur("0"),
        total=eur("20"),
        amount_open=eur("20"),
        updated_at=T0,
    )
    refund = Payment(
        ids=ExternalIds(erp_id="r-1"),
        customer=cust,
        amount=eur("20"),
        received_on=date(2026, 11, 27),
        applications=(PaymentApplication(invoice=ExternalIds(erp_id="cn-1"), amount=eur("20")),),
        updated_at=T0,
        refund=True,
    )
    state = new_finance_state("42")
    records: list[UpsertCrmInvoice] = []
    changes: tuple[Invoice | CreditMemo | Payment, ...] = (invoice, memo, refund)
    for n, data in enumerate(changes, start=1):
        state, step = on_finance_change(state, erp_change(data, n), "acc-1", CFG, NOW)
        records += [e.command for e in step.commands if isinstance(e.command, UpsertCrmInvoice)]
    # One record per change, all of the invoice the memo corrects (the ERP had no order).
    assert [r.invoice.erp_id for r in records] == ["inv-1"] * 3
    assert [r.deal for r in records] == [None] * 3
    assert [(r.credited.amount, r.overpaid.amount, r.refunded.amount) for r in records] == [
        (Decimal(0), Decimal(0), Decimal(0)),
        (Decimal(20), Decimal(20), Decimal(0)),
        (Decimal(20), Decimal(20), Decimal(20)),
    ]
    (linked,) = records[-1].credit_memos
    assert (linked.number, linked.refunded.amount) == ("CN1", Decimal(20))
    # Unchanged, the refund delivered again sends no record.
    _, step = on_finance_change(state, erp_change(refund, 3), "acc-1", CFG, NOW)
    assert step.commands == []


def test_invoice_records_wait_for_the_account_to_be_known_in_the_crm() -> None:
    cust = ExternalIds(erp_id="42")
    invoice = Invoice(
        ids=ExternalIds(erp_id="inv-1"),
        number="INV1",
        customer=cust,
        currency="EUR",
        state=InvoiceState.POSTED,
        untaxed=eur("100"),
        tax=eur("0"),
        total=eur("100"),
        amount_due=eur("100"),
        updated_at=T0,
    )
    state, step = on_finance_change(new_finance_state("42"), erp_change(invoice, 1), None, CFG, NOW)
    assert not [e for e in step.commands if isinstance(e.command, UpsertCrmInvoice)]
    order = SalesOrder(
        ids=ExternalIds(erp_id="so-9"),
        customer=ExternalIds(erp_id="42", crm_id="acc-1"),
        currency="EUR",
        state=SalesOrderState.PROCESSING,
        untaxed=eur("100"),
        tax=eur("0"),
        total=eur("100"),
        updated_at=T0,
    )
    _, step = on_finance_change(state, erp_change(order, 2), None, CFG, NOW)
    (record,) = [e.command for e in step.commands if isinstance(e.command, UpsertCrmInvoice)]
    assert (record.invoice.erp_id, record.account.crm_id) == ("inv-1", "acc-1")


def test_the_overdue_balance_is_recomputed_as_due_dates_pass() -> None:
    cust = ExternalIds(crm_id="acc-1", erp_id="42")
    due = NOW.date() + timedelta(days=3)
    invoice = Invoice(
        ids=ExternalIds(erp_id="inv-1"),
        number="INV1",
        customer=cust,
        currency="EUR",
        state=InvoiceState.POSTED,
        due_date=due,
        untaxed=eur("80"),
        tax=eur("0"),
        total=eur("80"),
        amount_due=eur("80"),
        updated_at=T0,
    )
    state, step = on_finance_change(
        new_finance_state("42"), erp_change(invoice, 1), "acc-1", CFG, NOW
    )
    (balance,) = [e.command for e in step.commands if isinstance(e.command, UpdateAccountBalance)]
    assert (balance.outstanding.amount, balance.overdue.amount) == (Decimal(80), Decimal(0))
    assert state.balance_day == NOW.date()

    # Until the due date has passed, nothing is stale and a recheck sends nothing.
    on_due_date = NOW + timedelta(days=3)
    assert not balance_stale(state, on_due_date.date())
    state, step = on_ledger_recheck(state, CFG, on_due_date)
    assert step.commands == []

    later = NOW + timedelta(days=4)
    assert balance_stale(state, later.date())
    state, step = on_ledger_recheck(state, CFG, later)
    (balance,) = [e.command for e in step.commands if isinstance(e.command, UpdateAccountBalance)]
    assert (balance.outstanding.amount, balance.overdue.amount) == (Decimal(80), Decimal(80))
    assert balance.as_of == later
    assert not balance_stale(state, (later + timedelta(days=30)).date())
    # Rechecked again (a repeated nudge): nothing new to say.
    _, step = on_ledger_recheck(state, CFG, later + timedelta(hours=1))
    assert step.commands == []


def test_balances_are_kept_and_shown_per_currency() -> None:
    cust = ExternalIds(crm_id="acc-1", erp_id="42")

    def bill(erp_id: str, money: Money) -> Invoice:
        return Invoice(
            ids=ExternalIds(erp_id=erp_id),
            customer=cust,
            currency=money.currency,
            state=InvoiceState.POSTED,
            due_date=NOW.date() - timedelta(days=1),
            untaxed=money,
            tax=money.model_copy(update={"amount": Decimal(0)}),
            total=money,
            amount_due=money,
            updated_at=T0,
        )

    state = new_finance_state("42")
    state, _ = on_finance_change(state, erp_change(bill("1", eur("80")), 1), "acc-1", CFG, NOW)
    usd = Money(amount=Decimal(30), currency="USD")
    _, step = on_finance_change(state, erp_change(bill("2", usd), 2), "acc-1", CFG, NOW)
    (balance,) = [e.command for e in step.commands if isinstance(e.command, UpdateAccountBalance)]
    assert [
        (b.outstanding.currency, b.outstanding.amount, b.overdue.amount) for b in balance.balances
    ] == [
        ("EUR", Decimal(80), Decimal(80)),
        ("USD", Decimal(30), Decimal(30)),
    ]
    assert balance.outstanding == eur("80")


def test_a_ledger_without_a_crm_account_is_never_stale() -> None:
    state = new_finance_state("42")
    assert not balance_stale(state, NOW.date() + timedelta(days=90))


def test_a_product_only_the_crm_has_is_not_an_erp_item() -> None:
    views = known_views()
    views.items["prod-G-404"] = Item(
        ids=ExternalIds(crm_id="prod-G-404"), sku="G-404", name="Gadget", updated_at=T0
    )
    won = change(quote(line(1, "G-404", "1", "10.00")), CRM)
    state, step = on_quote_change(OrderState(deal="deal-1"), won, views, CFG, NOW)
    assert state.status is OrderStatus.WAITING
    assert not any(isinstance(e.command, CreateSalesOrder) for e in step.commands)
