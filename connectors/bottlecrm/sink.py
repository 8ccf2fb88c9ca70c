"""Applying q2c's commands to BottleCRM: the ERP's facts written back onto deals and
accounts as custom fields, sync statuses, and the ERP's products.

Every command is idempotent. Custom fields are read first and written only when they
differ (so a replayed command changes nothing and fires no webhook), then read back: a key
BottleCRM dropped is an error, not a silent success. Products are looked up by SKU, the
natural key both systems share, before one is created.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any, ClassVar

from connectors.base import ConnectorError, ErrorKind, Sink
from connectors.base.sink import handles
from connectors.bottlecrm.client import BottleCrmClient, ObjectName, same_value
from connectors.bottlecrm.errors import CustomFieldsNotApplied
from connectors.bottlecrm.fields import RENEWAL_KEY, RENEWAL_OF
from connectors.bottlecrm.invoices import (
    KEY_FIELD,
    custom_values,
    invoice_body,
    invoice_title,
    payment_changes,
    wanted_payments,
)
from connectors.bottlecrm.mapping import SYSTEM, account_input, contact_input
from connectors.bottlecrm.models import (
    AccountInput,
    ContactInput,
    CustomFieldTarget,
    DealInput,
    DealStage,
    LineItem,
    LineItemInput,
    Product,
    ProductInput,
)
from schemas import (
    CommandResult,
    CreateRenewalDeal,
    Customer,
    DeleteMode,
    DeleteRecord,
    EntityKind,
    ExternalIds,
    Item,
    Money,
    Outcome,
    ReportSyncStatus,
    Shipment,
    ShipmentState,
    Subscription,
    SubscriptionLine,
    SubscriptionState,
    UpdateAccountBalance,
    UpdateDealFinancialStatus,
    UpsertContact,
    UpsertCrmInvoice,
    UpsertCustomer,
    UpsertItem,
)
from schemas.commands import CrmInvoiceState, InvoiceSummary, ReturnSummary, SerialNumber

_TARGETS: Mapping[EntityKind, CustomFieldTarget] = {
    EntityKind.QUOTE: "Opportunity",
    EntityKind.CUSTOMER: "Account",
}
_OBJECTS: Mapping[CustomFieldTarget, ObjectName] = {"Opportunity": "deal", "Account": "account"}


def _skip(reason: str) -> ConnectorError:
    return ConnectorError(ErrorKind.SKIPPABLE, reason, system=SYSTEM)


def _crm_id(ids: ExternalIds, what: str) -> str:
    if ids.crm_id is None:
        raise _skip(f"the {what} has no BottleCRM id (erp id {ids.erp_id})")
    return ids.crm_id


def invoice_numbers(invoices: tuple[InvoiceSummary, ...]) -> str | None:
    """The deal's invoice numbers for people: credit memos marked, unnumbered ones left out."""
    numbers = [
        f"{inv.number} (credit)" if inv.credit_memo else inv.number
        for inv in invoices
        if inv.number
    ]
    return ", ".join(numbers) or None


def _quantity(value: Decimal) -> str:
    return format(value.normalize(), "f") if value == value.to_integral() else str(value)


def shipment_lines(shipments: tuple[Shipment, ...]) -> str | None:
    """One line per live shipment for people: number, state, dates, tracking reference and
    what it carries, e.g. ``CS2 done, planned 2026-12-01, shipped 2026-12-02, ref 1Z99: 2 x
    W-1``. Cancelled shipments are left out."""
    lines = []
    for shipment in shipments:
        if shipment.state is ShipmentState.CANCELLED:
            continue
        parts = [f"{shipment.number or shipment.ids.erp_id} {shipment.state.value}"]
        if shipment.planned_date:
            parts.append(f"planned {shipment.planned_date.isoformat()}")
        if shipment.effective_date:
            parts.append(f"shipped {shipment.effective_date.isoformat()}")
        if shipment.reference:
            parts.append(f"ref {shipment.reference}")
        carried = ", ".join(
            f"{_quantity(line.quantity)} x {line.sku or (line.item and line.item.erp_id) or '?'}"
            for line in shipment.lines
        )
        lines.append(", ".join(parts) + (f": {carried}" if carried else ""))
    return "\n".join(lines) or None


def shipped_on(shipments: tuple[Shipment, ...]) -> date | None:
    """When the latest shipment that left the warehouse left."""
    dates = [
        s.effective_date
        for s in shipments
        if s.effective_date and s.state in (ShipmentState.SHIPPED, ShipmentState.DONE)
    ]
    return max(dates) if dates else None


def _total(amounts: Iterable[Money]) -> Decimal | None:
    """The sum of ``amounts``; None (the field left empty) for none."""
    listed = [money.amount for money in amounts]
    return sum(listed, Decimal(0)) if listed else None


def return_lines(returns: tuple[ReturnSummary, ...]) -> str | None:
    """One line per return for people, e.g. ``Return 7 processing: 1 x R-1 (100.00);
    credited 100.00 by 5``."""
    lines = []
    for returned in returns:
        items = ", ".join(
            f"{_quantity(line.quantity)} x {line.sku or line.description or '?'}"
            f" ({line.amount.amount})"
            for line in returned.lines
        )
        text = f"Return {returned.number or '(unnumbered)'} {returned.state.value}"
        text += f": {items}" if items else ""
        if returned.credit_notes:
            text += f"; credited {returned.credited.amount} by {', '.join(returned.credit_notes)}"
        lines.append(text)
    return "\n".join(lines) or None


_RENEWING = frozenset({SubscriptionState.QUOTATION, SubscriptionState.RUNNING})


def subscription_lines(subscriptions: tuple[Subscription, ...]) -> str | None:
    """One line per subscription for people, e.g. ``SUB-3 running, 2026-12-01 to
    2027-11-30, next invoice 2027-01-01``; cancelled ones are left out."""
    lines = []
    for sub in subscriptions:
        if sub.state is SubscriptionState.CANCELLED:
            continue
        text = f"{sub.number or sub.ids.erp_id} {sub.state.value}"
        if sub.start_date:
            text += f", {sub.start_date.isoformat()} to "
            text += sub.end_date.isoformat() if sub.end_date else "open end"
        if sub.next_invoice_date and sub.state is SubscriptionState.RUNNING:
            text += f", next invoice {sub.next_invoice_date.isoformat()}"
        lines.append(text)
    return "\n".join(lines) or None


def renewal_date(subscriptions: tuple[Subscription, ...]) -> date | None:
    """The soonest end of a subscription that is running (or quoted): the next renewal."""
    ends = [s.end_date for s in subscriptions if s.end_date and s.state in _RENEWING]
    return min(ends) if ends else None


def deal_fields(command: UpdateDealFinancialStatus) -> dict[str, Any]:
    values: dict[str, Any] = {
        "erp_order_number": command.order_number,
        "erp_order_state": command.order_state.value if command.order_state else None,
        "erp_invoice_status": command.invoice_status.value,
        "erp_invoice_numbers": invoice_numbers(command.invoices),
        "erp_invoiced_total": command.invoiced.amount,
        "erp_amount_due": command.outstanding.amount,
        "erp_credit": command.credit.amount if command.credit is not None else None,
        "erp_refunded_total": command.refunded.amount if command.refunded is not None else None,
        "erp_last_payment_date": command.last_payment_date,
    }
    if command.shipment_status is None:  # an ERP that reports nothing after the order
        return values
    live = [s for s in command.shipments if s.state is not ShipmentState.CANCELLED]
    returns = command.returns
    values |= {
        "erp_shipment_status": command.shipment_status.value,
        "erp_shipped_date": shipped_on(command.shipments),
        "erp_tracking_references": ", ".join(s.reference for s in live if s.reference) or None,
        "erp_shipments": shipment_lines(command.shipments),
        "erp_returns": return_lines(returns),
        "erp_returned_total": _total(r.total for r in returns),
        "erp_credited_total": _total(r.credited for r in returns),
        "erp_subscriptions": subscription_lines(command.subscriptions),
        "erp_renewal_date": renewal_date(command.subscriptions),
    }
    return values


def serial_lines(units: tuple[SerialNumber, ...]) -> str | None:
    """One line per serial number for people, e.g. ``SN-1 G-1, shipped 2026-12-01,
    warranty until 2027-12-01, order 12``."""
    lines = []
    for unit in units:
        parts = [f"{unit.serial_number} {unit.sku or ''}".rstrip()]
        if unit.shipped_on:
            parts.append(f"shipped {unit.shipped_on.isoformat()}")
        if unit.warranty_until:
            parts.append(f"warranty until {unit.warranty_until.isoformat()}")
        if unit.order_number:
            parts.append(f"order {unit.order_number}")
        lines.append(", ".join(parts))
    return "\n".join(lines) or None


def next_warranty_end(units: tuple[SerialNumber, ...], today: date) -> date | None:
    """The soonest warranty end still to come (today included)."""
    ends = [u.warranty_until for u in units if u.warranty_until and u.warranty_until >= today]
    return min(ends) if ends else None


def balances_text(command: UpdateAccountBalance) -> str:
    """The customer's balance in every currency, for people: "EUR 50.00 (overdue 0.00);
    USD 0.00 (overdue 0.00, credit 30.00)"."""
    return "; ".join(
        f"{b.outstanding.currency} {b.outstanding.amount} (overdue {b.overdue.amount}"
        + (f", credit {b.credit.amount})" if b.credit is not None and b.credit.amount else ")")
        for b in command.balances
    )


def account_fields(command: UpdateAccountBalance) -> dict[str, Any]:
    values: dict[str, Any] = {
        "erp_outstanding_balance": command.outstanding.amount,
        "erp_overdue_balance": command.overdue.amount,
        "erp_unapplied_credit": (
            command.unapplied_credit.amount if command.unapplied_credit is not None else None
        ),
        "erp_last_payment_date": command.last_payment_date,
    }
    if command.serial_numbers is not None:  # an ERP that reports serial numbers
        values["erp_serial_numbers"] = serial_lines(command.serial_numbers)
        values["erp_next_warranty_end"] = next_warranty_end(
            command.serial_numbers, command.as_of.date()
        )
    if command.balances:
        values["erp_balances"] = balances_text(command)
    if command.account.erp_id:
        values["erp_customer_code"] = command.account.erp_id
    return values


STANDARD_BOOK = "standard"


def finance_fields(customer: Customer) -> dict[str, Any]:
    """What the ERP says of a customer's finances, for the account's custom fields:
    acceptance, credit limit, available credit, credit hold, payment terms and the price
    book its orders are priced from (BottleCRM keeps no price books of its own)."""
    available = customer.available_credit
    hold = "no"
    if available is not None and available.amount <= 0:
        hold = "on hold: no credit available"
    return {
        "erp_finance_status": "accepted" if customer.approved else "awaiting acceptance",
        "erp_credit_limit": customer.credit_limit.amount if customer.credit_limit else None,
        "erp_available_credit": available.amount if available is not None else None,
        "erp_credit_hold": hold,
        "erp_payment_terms": customer.payment_terms,
        "erp_price_book": customer.price_book or STANDARD_BOOK,
    }


def differences(wanted: Mapping[str, Any], current: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of ``wanted`` whose value ``current`` does not have."""
    return {key: value for key, value in wanted.items() if not same_value(value, current.get(key))}


def product_price(item: Item, currency: str) -> Money | None:
    """The item's standard price in the org's currency, else its first standard price."""
    preferred = item.price(currency)
    if preferred is not None:
        return preferred
    base = [p.unit_price for p in item.prices if p.price_book == "standard" and not p.min_quantity]
    return base[0] if base else None


def product_input(item: Item, currency: str) -> ProductInput:
    fields: dict[str, Any] = {
        "name": item.name,
        "sku": item.sku,
        "description": item.description,
        "is_active": item.active and item.saleable,
    }
    price = product_price(item, currency)
    if price is not None:
        fields.update(price=price.amount, currency=price.currency)
    return ProductInput(**fields)


def product_changes(product: Product, wanted: ProductInput) -> ProductInput | None:
    """The fields of ``wanted`` that ``product`` does not have yet; None when in step."""
    current = product.model_dump()
    differ = {
        key: value
        for key, value in wanted.payload().items()
        if not same_value(value, current.get(key))
        and not (value is None and current.get(key) in (None, ""))
    }
    return ProductInput.model_validate(wanted.model_dump(include=set(differ))) if differ else None


def renewal_stage(stage: str | None) -> DealStage:
    """The renewal deal's stage: the configured one, else the first open stage."""
    if stage is None:
        return DealStage.PROSPECTING
    try:
        return DealStage(stage.upper())
    except ValueError:
        known = ", ".join(s.value for s in DealStage)
        raise _skip(f"{stage!r} is not a BottleCRM deal stage ({known})") from None


def renewal_description(command: CreateRenewalDeal) -> str:
    sub = command.subscription_number or command.subscription.erp_id or "?"
    text = f"Renewal of subscription {sub} on {command.close_date.isoformat()}"
    if command.original_deal and command.original_deal.crm_id:
        text += f", sold on deal {command.original_deal.crm_id}"
    return text + "."


def _line_matches(line: LineItem, wanted: LineItemInput) -> bool:
    product = line.product.id if line.product is not None else None
    return (
        product == wanted.product_id
        and (wanted.product_id is not None or line.name == wanted.name)
        and line.quantity == wanted.quantity
        and line.unit_price == wanted.unit_price
    )


def missing_lines(present: list[LineItem], wanted: list[LineItemInput]) -> list[LineItemInput]:
    """The lines of ``wanted`` the deal does not have yet (each present line counts once)."""
    left = list(present)
    missing = []
    for line in wanted:
        match = next((p for p in left if _line_matches(p, line)), None)
        if match is None:
            missing.append(line)
        else:
            left.remove(match)
    return missing


class BottleCrmSink(Sink):
    system: ClassVar[str] = SYSTEM

    def __init__(self, client: BottleCrmClient, currency: str = "USD") -> None:
        self.client = client
        self.currency = currency

    @handles(UpdateDealFinancialStatus)
    async def update_deal(self, command: UpdateDealFinancialStatus) -> CommandResult:
        deal = _crm_id(command.deal, "deal")
        outcome = await self.set_fields("Opportunity", deal, deal_fields(command))
        return self.result(command, EntityKind.QUOTE, outcome, command.deal)

    @handles(UpdateAccountBalance)
    async def update_account(self, command: UpdateAccountBalance) -> CommandResult:
        account = _crm_id(command.account, "account")
        outcome = await self.set_fields("Account", account, account_fields(command))
        return self.result(command, EntityKind.CUSTOMER, outcome, command.account)

    @handles(UpsertCrmInvoice)
    async def upsert_invoice(self, command: UpsertCrmInvoice) -> CommandResult:
        """Finds the invoice by its ERP id (else creates it, with its lines and a contact),
        then brings its status, payments and ERP fields in step; see
        :mod:`connectors.bottlecrm.invoices`."""
        account = _crm_id(command.account, "account")
        erp_id = command.invoice.erp_id
        if not erp_id:
            raise _skip("the invoice has no ERP id: nothing to find it again by")
        invoice_id = await self._invoice_by_erp_id(account, erp_id, invoice_title(command))
        outcome = Outcome.UNCHANGED
        if invoice_id is None:
            contact = await self._billing_contact(account)
            body = invoice_body(command, account, contact, with_lines=True)
            body["custom_fields"] = custom_values(command)
            invoice_id = await self.client.create_invoice(body)
            outcome = Outcome.CREATED
        current = await self.client.invoice(invoice_id)
        if current.get("status") == "Draft" and outcome is not Outcome.CREATED:
            contact = _ref_id(current.get("contact")) or await self._billing_contact(account)
            body = invoice_body(command, account, contact, with_lines=True)
            if _draft_differs(current, body):
                await self.client.update_invoice(invoice_id, body)
                outcome = Outcome.UPDATED
        if await self._invoice_status(invoice_id, current, command.state):
            outcome = outcome if outcome is Outcome.CREATED else Outcome.UPDATED
            current = await self.client.invoice(invoice_id)
        if await self._invoice_payments(invoice_id, current, command):
            outcome = outcome if outcome is Outcome.CREATED else Outcome.UPDATED
            current = await self.client.invoice(invoice_id)
        values = custom_values(command)
        stored = current.get("custom_fields") or {}
        differ = {k: v for k, v in values.items() if not same_value(v, stored.get(k))}
        if differ:
            await self.client.update_invoice(invoice_id, {"custom_fields": differ})
            stored = (await self.client.invoice(invoice_id)).get("custom_fields") or {}
            missing = [k for k, v in differ.items() if not same_value(v, stored.get(k))]
            if missing:
                raise CustomFieldsNotApplied(f"Invoice {invoice_id}", sorted(missing))
            outcome = outcome if outcome is Outcome.CREATED else Outcome.UPDATED
        ids = ExternalIds(crm_id=invoice_id, erp_id=erp_id)
        return self.result(command, EntityKind.INVOICE, outcome, ids)

    async def _invoice_by_erp_id(self, account: str, erp_id: str, title: str) -> str | None:
        """The account's invoice carrying ``erp_id`` (those titled as q2c titles it are
        read first: the list does not show custom fields)."""
        rows = [row async for row in self.client.invoices(account)]
        rows.sort(key=lambda row: row.get("invoice_title") != title)
        for row in rows:
            found = await self.client.invoice(str(row["id"]))
            if (found.get("custom_fields") or {}).get(KEY_FIELD) == erp_id:
                return str(found["id"])
        return None

    async def _billing_contact(self, account: str) -> str:
        """The account's oldest active contact; else a billing contact made from the
        account's e-mail address."""
        contacts = await self.client.account_contacts(account)
        for contact in contacts:
            if contact.is_active:
                return contact.id
        record = await self.client.get_account(account)
        if not record.email:
            raise _skip(
                f"account {account} has no contact and no e-mail address: BottleCRM needs a "
                "contact on every invoice"
            )
        billing = ContactInput(
            first_name="Billing",
            last_name=record.name[:255],
            email=record.email,
            phone=record.phone,
            title="Billing contact",
            account=account,
        )
        try:
            return await self.client.create_contact(billing)
        except ConnectorError as exc:
            # BottleCRM keeps one contact per e-mail address in an org, and accounts of one
            # group often share their accounts-payable address: the billing contact of the
            # second such account is made without it.
            if exc.status != 400 or "already exists with this email" not in exc.reason:
                raise
        return await self.client.create_contact(billing.model_copy(update={"email": None}))

    async def _invoice_status(
        self, invoice_id: str, current: Mapping[str, Any], state: CrmInvoiceState
    ) -> bool:
        """Sends an issued invoice, cancels a cancelled one; whether it changed anything."""
        status = current.get("status")
        if state is CrmInvoiceState.CANCELLED:
            if status in ("Cancelled", "Paid"):
                return False  # BottleCRM cannot cancel a paid invoice: the ERP state says so
            await self.client.cancel_invoice(invoice_id)
            return True
        if state is not CrmInvoiceState.DRAFT and status == "Draft":
            await self.client.send_invoice(invoice_id)
            return True
        return False

    async def _invoice_payments(
        self, invoice_id: str, current: Mapping[str, Any], command: UpsertCrmInvoice
    ) -> bool:
        if current.get("status") in ("Cancelled", "Draft"):
            return False
        stored = [p for p in current.get("payments") or () if isinstance(p, Mapping)]
        delete, add = payment_changes(wanted_payments(command), stored)
        for payment_id in delete:
            await self.client.delete_invoice_payment(invoice_id, payment_id)
        if delete:
            current = await self.client.invoice(invoice_id)
        due = Decimal(str(current.get("amount_due") or 0))
        for payment in add:
            amount = min(Decimal(payment["amount"]), due)
            if amount <= 0:
                continue  # BottleCRM refuses a payment above what it shows due
            await self.client.add_invoice_payment(invoice_id, {**payment, "amount": amount})
            due -= amount
        return bool(delete or add)

    @handles(ReportSyncStatus)
    async def report_sync_status(self, command: ReportSyncStatus) -> CommandResult:
        target = _TARGETS.get(command.entity)
        if target is None:
            raise _skip(f"BottleCRM shows no sync status on a {command.entity}")
        record = _crm_id(command.record, str(command.entity))
        values = {"q2c_sync_status": command.status.value, "q2c_sync_reason": command.message}
        outcome = await self.set_fields(target, record, values)
        return self.result(command, command.entity, outcome, command.record)

    async def set_fields(
        self, target: CustomFieldTarget, record_id: str, values: Mapping[str, Any]
    ) -> Outcome:
        """Writes the custom fields that differ (verified); UNCHANGED when none do."""
        current = await self.client.record(_OBJECTS[target], record_id)
        stored = current.get("custom_fields") or {}
        differ = {k: v for k, v in values.items() if not same_value(v, stored.get(k))}
        if not differ:
            return Outcome.UNCHANGED
        await self.client.write_custom_fields(target, record_id, differ)
        return Outcome.UPDATED

    @handles(CreateRenewalDeal)
    async def create_renewal_deal(self, command: CreateRenewalDeal) -> CommandResult:
        """The renewal deal, found by the renewal key q2c keeps on it, else created with
        that key; then the lines it lacks (a create cut short is completed by the repeat)."""
        account = _crm_id(command.account, "account")
        stage = renewal_stage(command.stage)
        wanted = [await self._renewal_line(line) for line in command.lines]
        deal_id = await self._deal_by_renewal_key(command.renewal_key)
        outcome = Outcome.UNCHANGED
        marks = {
            RENEWAL_KEY: command.renewal_key,
            RENEWAL_OF: command.original_deal.crm_id if command.original_deal else None,
        }
        if deal_id is None:
            deal = DealInput(
                name=command.name,
                account=account,
                stage=stage,
                currency=command.currency,
                amount=command.amount.amount,
                closed_on=command.close_date,
                description=renewal_description(command),
            )
            deal_id = await self.client.create_deal(deal, custom_fields=marks)
            outcome = Outcome.CREATED
        # Verified: a key BottleCRM dropped on create would let a repeat open another deal.
        if await self.set_fields("Opportunity", deal_id, marks) is Outcome.UPDATED:
            outcome = outcome if outcome is Outcome.CREATED else Outcome.UPDATED
        for line in missing_lines(await self.client.line_items(deal_id), wanted):
            await self.client.add_line_item(deal_id, line)
            outcome = outcome if outcome is Outcome.CREATED else Outcome.UPDATED
        ids = ExternalIds(crm_id=deal_id)
        return self.result(command, EntityKind.QUOTE, outcome, ids)

    async def _deal_by_renewal_key(self, key: str) -> str | None:
        # BottleCRM cannot filter deals by custom field: the renewal key is looked for in
        # every deal of the org.
        async for deal in self.client.deals():
            if deal.custom_fields.get(RENEWAL_KEY) == key:
                return deal.id
        return None

    async def _renewal_line(self, line: SubscriptionLine) -> LineItemInput:
        product_id = line.item.crm_id if line.item is not None else None
        if product_id is None and line.sku:
            product = await self.client.find_product_by_sku(line.sku)
            product_id = product.id if product is not None else None
        fields: dict[str, Any] = {"quantity": line.quantity, "unit_price": line.unit_price.amount}
        if product_id is not None:
            fields["product_id"] = product_id
        else:
            fields["name"] = line.description or line.sku or "Subscription"
        if line.description:
            fields["description"] = line.description
        return LineItemInput(**fields)

    @handles(UpsertCustomer)
    async def upsert_customer(self, command: UpsertCustomer) -> CommandResult:
        """Updates the account (found by CRM id, else by the ERP customer code q2c keeps on
        it) or creates it carrying that code, so a replayed create finds it next time."""
        customer = command.customer
        erp_id = customer.ids.erp_id
        wanted = account_input(customer)
        account_id = customer.ids.crm_id or await self._account_by_erp_id(erp_id, customer.name)
        # The ERP's view of the customer's finances, once the ERP knows the customer.
        finance = {"erp_customer_code": erp_id, **finance_fields(customer)} if erp_id else {}
        if account_id is None:
            account_id = await self.client.create_account(wanted, custom_fields=finance or None)
            outcome = Outcome.CREATED
        else:
            current = await self.client.record("account", account_id)
            changes = differences(wanted.payload(), current)
            if changes:
                await self.client.update_account(account_id, AccountInput(**changes))
            coded = Outcome.UNCHANGED
            if finance:  # the code is how an ERP-first customer is found again
                coded = await self.set_fields("Account", account_id, finance)
            updated = changes or coded is Outcome.UPDATED
            outcome = Outcome.UPDATED if updated else Outcome.UNCHANGED
        ids = ExternalIds(crm_id=account_id, erp_id=erp_id)
        return self.result(command, EntityKind.CUSTOMER, outcome, ids)

    async def _account_by_erp_id(self, erp_id: str | None, name: str) -> str | None:
        if not erp_id:
            return None
        # BottleCRM cannot filter by custom field on every database: look among accounts of
        # that name first, then among all (the name may have changed since).
        for search in dict.fromkeys((name or None, None)):
            async for account in self.client.accounts(name=search):
                if account.custom_fields.get("erp_customer_code") == erp_id:
                    return account.id
        return None

    @handles(UpsertContact)
    async def upsert_contact(self, command: UpsertContact) -> CommandResult:
        """Updates the contact (by CRM id, else by email address) or creates it."""
        contact = command.contact
        account_id = contact.customer.crm_id if contact.customer else None
        if contact.customer and account_id is None:
            account_id = await self._account_by_erp_id(contact.customer.erp_id, "")
        wanted = contact_input(contact, account_id)
        contact_id = contact.ids.crm_id or await self._contact_by_email(contact.email)
        if contact_id is None:
            contact_id = await self.client.create_contact(wanted)
            outcome = Outcome.CREATED
        else:
            current = await self.client.record("contact", contact_id)
            changes = differences(wanted.payload(), current)
            outcome = Outcome.UNCHANGED
            if changes:
                await self.client.update_contact(contact_id, ContactInput(**changes))
                outcome = Outcome.UPDATED
        ids = ExternalIds(crm_id=contact_id, erp_id=contact.ids.erp_id)
        return self.result(command, EntityKind.CONTACT, outcome, ids)

    async def _contact_by_email(self, email: str | None) -> str | None:
        if not email:
            return None
        async for contact in self.client.contacts(email=email):
            if (contact.email or "").lower() == email.lower():
                return contact.id
        return None

    @handles(UpsertItem)
    async def upsert_item(self, command: UpsertItem) -> CommandResult:
        item = command.item
        wanted = product_input(item, self.currency)
        product = await self.client.find_product_by_sku(item.sku)
        if product is None:
            product = await self.client.create_product(wanted)
            outcome = Outcome.CREATED
        else:
            changes = product_changes(product, wanted)
            if changes is None:
                outcome = Outcome.UNCHANGED
            else:
                product = await self.client.update_product(product.id, changes)
                outcome = Outcome.UPDATED
        ids = ExternalIds(crm_id=product.id, erp_id=item.ids.erp_id)
        return self.result(command, EntityKind.ITEM, outcome, ids)

    @handles(DeleteRecord)
    async def delete_record(self, command: DeleteRecord) -> CommandResult:
        """Archives (``is_active`` off) or deletes the account, contact or product; one
        that is already gone, already inactive or was never in BottleCRM is UNCHANGED."""
        obj = _DELETABLE.get(command.entity)
        if obj is None:
            raise _skip(f"q2c does not delete {command.entity} records in BottleCRM")
        record_id = command.record.crm_id
        if record_id is None:
            return self.result(command, command.entity, Outcome.UNCHANGED, command.record)
        try:
            current = await self.client.record(obj, record_id)
        except ConnectorError as exc:
            if exc.status != 404:
                raise
            return self.result(command, command.entity, Outcome.UNCHANGED, command.record)
        outcome = Outcome.UPDATED
        if command.mode is DeleteMode.ANONYMISE:
            outcome = await self._anonymise(obj, record_id, current)
        elif command.mode is DeleteMode.DELETE:
            await _DELETE[obj](self.client, record_id)
        elif current.get("is_active", True) is not False:
            await _ARCHIVE[obj](self.client, record_id)
        else:
            outcome = Outcome.UNCHANGED
        return self.result(command, command.entity, outcome, command.record)

    async def _anonymise(self, obj: ObjectName, record_id: str, current: dict[str, Any]) -> Outcome:
        """A customer's erasure: the account's name is replaced (BottleCRM wants a name,
        unique in the org) and its email, phone, website, address and notes cleared; so are
        those of each of its contacts. A record anonymised already is UNCHANGED."""
        if obj == "product":
            raise _skip("a product holds no personal data: q2c does not anonymise it")
        if obj == "contact":
            return await self._anonymise_contact(record_id, current)
        name = anonymised_name("customer", record_id)
        outcome = Outcome.UNCHANGED
        if current.get("name") != name or any(current.get(f) for f in _ACCOUNT_PERSONAL):
            await self.client.update_account(
                record_id,
                AccountInput.model_validate({"name": name, **dict.fromkeys(_ACCOUNT_PERSONAL)}),
            )
            outcome = Outcome.UPDATED
        async for contact in self.client.contacts():
            if contact.account == record_id:
                found = await self.client.record("contact", contact.id)
                if await self._anonymise_contact(contact.id, found) is Outcome.UPDATED:
                    outcome = Outcome.UPDATED
        return outcome

    async def _anonymise_contact(self, contact_id: str, current: dict[str, Any]) -> Outcome:
        last = anonymised_name("contact", contact_id)
        if current.get("last_name") == last and not any(current.get(f) for f in _CONTACT_PERSONAL):
            return Outcome.UNCHANGED
        await self.client.update_contact(
            contact_id,
            ContactInput.model_validate(
                {"first_name": "Erased", "last_name": last, **dict.fromkeys(_CONTACT_PERSONAL)}
            ),
        )
        return Outcome.UPDATED


def anonymised_name(what: str, record_id: str) -> str:
    """The name an erased record keeps: the same for the same record (so anonymising twice
    changes nothing), different between records (account names are unique in an org)."""
    return f"Erased {what} {hashlib.sha256(record_id.encode()).hexdigest()[:10]}"


_ACCOUNT_PERSONAL = (
    "email",
    "phone",
    "website",
    "address_line",
    "city",
    "state",
    "postcode",
    "description",
)
_CONTACT_PERSONAL = ("email", "phone", "title", "description")


def _ref_id(value: Any) -> str | None:
    """The id of a nested record (``{"id": ...}``) or a bare id."""
    if isinstance(value, Mapping):
        value = value.get("id")
    return str(value) if value else None


def _draft_differs(current: Mapping[str, Any], body: Mapping[str, Any]) -> bool:
    """Whether a draft invoice's title, dates or lines differ from what the ERP has."""
    for key in ("invoice_title", "issue_date", "due_date"):
        if key in body and not same_value(body[key], current.get(key)):
            return True
    if _ref_id(current.get("opportunity")) != body.get("opportunity_id"):
        return True
    stored = sorted(
        (
            str(line.get("name")),
            Decimal(str(line.get("quantity"))),
            Decimal(str(line.get("unit_price"))),
        )
        for line in current.get("line_items") or ()
        if isinstance(line, Mapping)
    )
    wanted = sorted(
        (str(line["name"]), Decimal(line["quantity"]), Decimal(line["unit_price"]))
        for line in body.get("line_items") or ()
    )
    return stored != wanted


_DELETABLE: Mapping[EntityKind, ObjectName] = {
    EntityKind.CUSTOMER: "account",
    EntityKind.CONTACT: "contact",
    EntityKind.ITEM: "product",
}
_DELETE: Mapping[ObjectName, Callable[[BottleCrmClient, str], Awaitable[None]]] = {
    "account": BottleCrmClient.delete_account,
    "contact": BottleCrmClient.delete_contact,
    "product": BottleCrmClient.delete_product,
}


async def _archive_product(client: BottleCrmClient, product_id: str) -> None:
    await client.update_product(product_id, ProductInput(is_active=False))


_ARCHIVE: Mapping[ObjectName, Callable[[BottleCrmClient, str], Awaitable[None]]] = {
    "account": lambda client, i: client.update_account(i, AccountInput(is_active=False)),
    "contact": lambda client, i: client.update_contact(i, ContactInput(is_active=False)),
    "product": _archive_product,
}
