"""Applying q2c's commands to Salesforce: the ERP's facts written back to custom fields on
opportunities and accounts, sync statuses, accounts and contacts, and the ERP's items as
products of the standard price book.

Every command is idempotent. A record is read first and written only where it differs (so
a replayed command changes nothing and is answered UNCHANGED). Field writes go through
sObject Collections with ``allOrNone=false``: each record's own result decides, and a record
the org refuses (``FIELD_CUSTOM_VALIDATION_EXCEPTION``, ``DUPLICATES_DETECTED``, …) is a
SKIPPABLE error with Salesforce's words. Records q2c may have to create are upserted by an
external id, so a create repeated after a crash finds the first: an account by the ERP
customer code, a product by its SKU, a renewal opportunity by its renewal key.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar, Literal

from connectors.base import ConnectorError, ErrorKind, Sink
from connectors.base.sink import handles
from connectors.salesforce.client import Record, SalesforceClient
from connectors.salesforce.mapping import (
    ACCOUNT,
    CONTACT,
    OPPORTUNITY,
    PRICE_BOOK,
    PRODUCT,
    SYSTEM,
    account_fields,
    contact_fields,
    product_fields,
)
from connectors.salesforce.settings import WriteBackFields
from connectors.salesforce.source import standard_pricebook
from connectors.salesforce.wire import soql_literal
from schemas import (
    CommandResult,
    CreateRenewalDeal,
    DeleteMode,
    DeleteRecord,
    EntityKind,
    ExternalIds,
    Item,
    Money,
    Outcome,
    ReportSyncStatus,
    SubscriptionLine,
    UpdateAccountBalance,
    UpdateDealFinancialStatus,
    UpsertContact,
    UpsertCrmInvoice,
    UpsertCustomer,
    UpsertItem,
)
from schemas.commands import InvoiceSummary

_TARGETS: Mapping[EntityKind, str] = {EntityKind.QUOTE: OPPORTUNITY, EntityKind.CUSTOMER: ACCOUNT}
_DELETABLE: Mapping[EntityKind, str] = {
    EntityKind.CUSTOMER: ACCOUNT,
    EntityKind.CONTACT: CONTACT,
    EntityKind.ITEM: PRODUCT,
}
_ARCHIVABLE: Mapping[str, str] = {PRODUCT: "IsActive"}
LINE_ITEM = "OpportunityLineItem"
RENEWAL_STAGE = "Prospecting"
"""A renewal opportunity's stage unless configured: the first open stage of a new org."""
"""The objects with an active flag (Account and Contact have none)."""


def _skip(reason: str) -> ConnectorError:
    return ConnectorError(ErrorKind.SKIPPABLE, reason, system=SYSTEM)


def _crm_id(ids: ExternalIds, what: str) -> str:
    if ids.crm_id is None:
        raise _skip(f"the {what} has no Salesforce id (erp id {ids.erp_id})")
    return ids.crm_id


def wire(value: Any) -> Any:
    """A value as JSON carries it to the REST API (numbers as numbers, dates ISO)."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def same_value(wanted: Any, stored: Any) -> bool:
    """Whether a field read back holds ``wanted`` (numbers compared as numbers, an empty
    text as no value, dates as ISO text)."""
    if wanted is None or wanted == "":
        return stored is None or stored == ""
    if isinstance(wanted, bool) or isinstance(stored, bool):
        return wanted is stored
    if isinstance(wanted, int | float | Decimal):
        try:
            return stored is not None and Decimal(str(wanted)) == Decimal(str(stored))
        except InvalidOperation:
            return False
    if isinstance(wanted, dt.date):
        return bool(wanted.isoformat() == stored)
    return bool(str(wanted) == stored)


def differences(wanted: Mapping[str, Any], current: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in wanted.items() if not same_value(v, current.get(k))}


def invoice_numbers(invoices: tuple[InvoiceSummary, ...]) -> str | None:
    numbers = [
        f"{inv.number} (credit)" if inv.credit_memo else inv.number
        for inv in invoices
        if inv.number
    ]
    return ", ".join(numbers) or None


def deal_values(command: UpdateDealFinancialStatus, names: WriteBackFields) -> dict[str, Any]:
    return {
        names.order_number: command.order_number,
        names.order_state: command.order_state.value if command.order_state else None,
        names.invoice_status: command.invoice_status.value,
        names.invoice_numbers: invoice_numbers(command.invoices),
        names.invoiced_total: command.invoiced.amount,
        names.amount_due: command.outstanding.amount,
        names.last_payment_date: command.last_payment_date,
    }


def account_values(command: UpdateAccountBalance, names: WriteBackFields) -> dict[str, Any]:
    values: dict[str, Any] = {
        names.outstanding_balance: command.outstanding.amount,
        names.overdue_balance: command.overdue.amount,
        names.last_payment_date: command.last_payment_date,
    }
    if command.account.erp_id:
        values[names.customer_code] = command.account.erp_id
    return values


def book_prices(item: Item, currency: str) -> dict[str, Money]:
    """The item's base price in each of the ERP's other price books, in the org's
    ``currency`` (an org without multiple currencies keeps one currency per entry; tiers
    have no place in a price book entry)."""
    return {
        p.price_book: p.unit_price
        for p in item.book_prices
        if p.price_book != "standard" and p.unit_price.currency == currency and not p.min_quantity
    }


def invoice_record_line(command: UpsertCrmInvoice) -> str:
    """One invoice for people, keyed by its ERP id, e.g. ``[erp 12] INV-3 partially_paid,
    issued 2026-12-01, due 2026-12-31, total USD 200.00, paid 50.00, due 150.00; credit
    memos CN-1 (posted, 20.00, open 20.00)``."""
    cur = command.currency
    parts = [f"[erp {command.invoice.erp_id}] {command.number or '(unnumbered)'}"]
    parts[0] += f" {command.state.value}"
    if command.issue_date:
        parts.append(f"issued {command.issue_date.isoformat()}")
    if command.due_date:
        parts.append(f"due {command.due_date.isoformat()}")
    parts.append(f"total {cur} {command.total.amount}")
    parts.append(f"paid {command.amount_paid.amount}")
    parts.append(f"due {command.amount_due.amount}")
    if command.overpaid.amount:
        parts.append(f"overpaid {command.overpaid.amount}")
    if command.refunded.amount:
        parts.append(f"refunded {command.refunded.amount}")
    text = ", ".join(parts)
    memos = [
        f"{m.number or m.ids.erp_id} ({m.state.value}, {m.total.amount}, open {m.open.amount})"
        for m in command.credit_memos
    ]
    return text + (f"; credit memos {', '.join(memos)}" if memos else "")


def merged_invoice_records(current: str | None, command: UpsertCrmInvoice) -> str:
    """The field's lines with this invoice's line replaced (or added), in ERP id order."""
    key = f"[erp {command.invoice.erp_id}] "
    lines = [line for line in (current or "").splitlines() if line and not line.startswith(key)]
    return "\n".join(sorted([*lines, invoice_record_line(command)]))


def product_price(item: Item, currency: str) -> Money | None:
    """The item's standard price in the org's currency, else its first standard price."""
    preferred = item.price(currency)
    if preferred is not None:
        return preferred
    base = [p.unit_price for p in item.prices if p.price_book == "standard" and not p.min_quantity]
    return base[0] if base else None


class SalesforceSink(Sink):
    system: ClassVar[str] = SYSTEM

    def __init__(
        self,
        client: SalesforceClient,
        fields: WriteBackFields | None = None,
        currency: str = "USD",
        invoice_records: Literal["refuse", "opportunity_field"] = "opportunity_field",
    ) -> None:
        self.client = client
        self.names = fields or WriteBackFields()
        self.currency = currency
        self._books: dict[str, str] = {}
        self.invoice_records = invoice_records

    # -- write-back ---------------------------------------------------------------------

    @handles(UpdateDealFinancialStatus)
    async def update_deal(self, command: UpdateDealFinancialStatus) -> CommandResult:
        deal = _crm_id(command.deal, "deal")
        outcome = await self.set_fields(OPPORTUNITY, deal, deal_values(command, self.names))
        return self.result(command, EntityKind.QUOTE, outcome, command.deal)

    @handles(UpdateAccountBalance)
    async def update_account(self, command: UpdateAccountBalance) -> CommandResult:
        account = _crm_id(command.account, "account")
        outcome = await self.set_fields(ACCOUNT, account, account_values(command, self.names))
        return self.result(command, EntityKind.CUSTOMER, outcome, command.account)

    @handles(UpsertCrmInvoice)
    async def upsert_invoice(self, command: UpsertCrmInvoice) -> CommandResult:
        """A Sales Cloud org has no invoice object (Salesforce's Invoice and InvoiceLine
        come with Order Management, Subscription Management or Billing licences, made by
        those products from orders): by configuration the invoice is kept as one line of the
        opportunity's invoice-records field, or refused with the reason (a dead letter,
        never a silent drop)."""
        if self.invoice_records == "refuse":
            raise _skip(
                f"invoice {command.number or command.invoice.erp_id}: Salesforce has no "
                "standard invoice object q2c writes to (Invoice needs an Order Management or "
                "Billing licence) and invoice_records is 'refuse' (set it to "
                "'opportunity_field' to keep invoices on the opportunity)"
            )
        if command.deal is None or command.deal.crm_id is None:
            raise _skip(
                f"invoice {command.number or command.invoice.erp_id} bills no opportunity "
                "known to Salesforce: nowhere to keep it"
            )
        deal = command.deal.crm_id
        current = await self.client.record(OPPORTUNITY, deal)
        if current is None:
            raise _skip(f"{OPPORTUNITY} {deal} does not exist (deleted?)")
        field = self.names.invoice_records
        stored = current.get(field)
        wanted = merged_invoice_records(stored if isinstance(stored, str) else None, command)
        outcome = Outcome.UNCHANGED
        if not same_value(wanted, stored):
            await self.save(OPPORTUNITY, deal, {field: wanted})
            outcome = Outcome.UPDATED
        return self.result(command, EntityKind.INVOICE, outcome, command.invoice)

    @handles(ReportSyncStatus)
    async def report_sync_status(self, command: ReportSyncStatus) -> CommandResult:
        target = _TARGETS.get(command.entity)
        if target is None:
            raise _skip(f"Salesforce shows no sync status on a {command.entity}")
        record = _crm_id(command.record, str(command.entity))
        values = {
            self.names.sync_status: command.status.value,
            self.names.sync_reason: command.message[:255] or None,
        }
        outcome = await self.set_fields(target, record, values)
        return self.result(command, command.entity, outcome, command.record)

    async def set_fields(self, obj: str, record_id: str, values: Mapping[str, Any]) -> Outcome:
        """Writes the fields that differ; UNCHANGED when none do."""
        current = await self.client.record(obj, record_id)
        if current is None:
            raise _skip(f"{obj} {record_id} does not exist (deleted?)")
        differ = differences(values, current)
        if not differ:
            return Outcome.UNCHANGED
        await self.save(obj, record_id, differ)
        return Outcome.UPDATED

    async def save(self, obj: str, record_id: str, values: Mapping[str, Any]) -> None:
        """One record's fields through sObject Collections (``allOrNone=false``)."""
        record = {
            "attributes": {"type": obj},
            "Id": record_id,
            **{k: wire(v) for k, v in values.items()},
        }
        (failure,) = await self.client.update_many([record])
        if failure is not None:
            raise failure

    # -- accounts and contacts -------------------------------------------------------------

    @handles(UpsertCustomer)
    async def upsert_customer(self, command: UpsertCustomer) -> CommandResult:
        """The account by Salesforce id, else by the ERP customer code (an external id), else
        upserted by that code so a repeated create finds it."""
        customer = command.customer
        erp_id = customer.ids.erp_id
        code = self.names.customer_code
        wanted: dict[str, Any] = account_fields(customer)
        if erp_id:
            wanted[code] = erp_id
        account_id = customer.ids.crm_id or await self._find(ACCOUNT, code, erp_id)
        if account_id is None:
            if erp_id:
                fields = {k: wire(v) for k, v in wanted.items() if k != code}
                account_id, created = await self.client.upsert(ACCOUNT, code, erp_id, fields)
                outcome = Outcome.CREATED if created else Outcome.UPDATED
            else:
                account_id = await self.client.create(ACCOUNT, _present(wanted))
                outcome = Outcome.CREATED
        else:
            outcome = await self.set_fields(ACCOUNT, account_id, wanted)
        ids = ExternalIds(crm_id=account_id, erp_id=erp_id)
        return self.result(command, EntityKind.CUSTOMER, outcome, ids)

    async def _find(self, obj: str, field: str, value: str | None) -> str | None:
        if not value:
            return None
        where = f"{field} = {soql_literal(value)}"
        found = await self.client.query(
            " ".join(("SELECT Id FROM", obj, "WHERE", where, "LIMIT 2"))
        )
        if len(found) > 1:
            raise _skip(f"several {obj} records have {field} {value!r}")
        return str(found[0]["Id"]) if found else None

    @handles(UpsertContact)
    async def upsert_contact(self, command: UpsertContact) -> CommandResult:
        """The contact by Salesforce id, else by e-mail address, else created."""
        contact = command.contact
        account_id = contact.customer.crm_id if contact.customer else None
        if contact.customer and account_id is None:
            account_id = await self._find(
                ACCOUNT, self.names.customer_code, contact.customer.erp_id
            )
        wanted = contact_fields(contact, account_id)
        contact_id = contact.ids.crm_id or await self._contact_by_email(contact.email)
        if contact_id is None:
            contact_id = await self.client.create(CONTACT, _present(wanted))
            outcome = Outcome.CREATED
        else:
            outcome = await self.set_fields(CONTACT, contact_id, wanted)
        ids = ExternalIds(crm_id=contact_id, erp_id=contact.ids.erp_id)
        return self.result(command, EntityKind.CONTACT, outcome, ids)

    async def _contact_by_email(self, email: str | None) -> str | None:
        if not email:
            return None
        where = f"Email = {soql_literal(email)}"
        found = await self.client.query(
            " ".join(("SELECT Id FROM Contact WHERE", where, "ORDER BY CreatedDate, Id LIMIT 1"))
        )
        return str(found[0]["Id"]) if found else None

    # -- items ------------------------------------------------------------------------------

    @handles(UpsertItem)
    async def upsert_item(self, command: UpsertItem) -> CommandResult:
        """The product by its SKU (an external id on Product2), else one an org user made
        with that product code (it gets the SKU), else upserted by the SKU; with its price
        in the standard price book."""
        item = command.item
        code = self.names.item_code
        wanted = product_fields(item)
        product_id = await self._find(PRODUCT, code, item.sku)
        if product_id is None:
            product_id = await self._find(PRODUCT, "ProductCode", item.sku)
            wanted[code] = item.sku
        if product_id is None:
            fields = {k: wire(v) for k, v in wanted.items() if k != code}
            product_id, created = await self.client.upsert(PRODUCT, code, item.sku, fields)
            outcome = Outcome.CREATED if created else Outcome.UPDATED
        else:
            outcome = await self.set_fields(PRODUCT, product_id, wanted)
        priced = await self._standard_price(product_id, product_price(item, self.currency))
        for book, price in book_prices(item, self.currency).items():
            # A custom book's entry needs the standard one first (Salesforce refuses it
            # otherwise); an item without a standard price has none in custom books either.
            if product_price(item, self.currency) is None:
                break
            priced = await self._book_price(book, product_id, price) or priced
        if priced and outcome is Outcome.UNCHANGED:
            outcome = Outcome.UPDATED
        ids = ExternalIds(crm_id=product_id, erp_id=item.ids.erp_id)
        return self.result(command, EntityKind.ITEM, outcome, ids)

    # -- renewals -----------------------------------------------------------------------------

    @handles(CreateRenewalDeal)
    async def create_renewal_deal(self, command: CreateRenewalDeal) -> CommandResult:
        """The renewal opportunity, upserted by its renewal key (an external id) when none
        has it yet; a found one is left as the sales rep keeps it, but gets the lines it
        lacks (a create cut short is completed by the repeat)."""
        account = _crm_id(command.account, "account")
        key_field = self.names.renewal_key
        entries = [await self._renewal_entry(line) for line in command.lines]
        opportunity = await self._find(OPPORTUNITY, key_field, command.renewal_key)
        outcome = Outcome.UNCHANGED
        if opportunity is None:
            book = await standard_pricebook(self.client)
            fields: dict[str, Any] = {
                "Name": command.name[:120],
                "AccountId": account,
                "StageName": command.stage or RENEWAL_STAGE,
                "CloseDate": command.close_date.isoformat(),
                "Pricebook2Id": book,
                "Description": _renewal_description(command),
            }
            if not command.lines:
                fields["Amount"] = wire(command.amount.amount)
            opportunity, created = await self.client.upsert(
                OPPORTUNITY, key_field, command.renewal_key, fields
            )
            outcome = Outcome.CREATED if created else Outcome.UPDATED
        where = f"OpportunityId = {soql_literal(opportunity)}"
        present = await self.client.query(
            " ".join(
                ("SELECT Id, PricebookEntryId, Quantity, UnitPrice FROM", LINE_ITEM, "WHERE", where)
            )
        )
        for line, entry in zip(command.lines, entries, strict=True):
            match = next((p for p in present if _same_line(p, entry, line)), None)
            if match is not None:
                present.remove(match)
                continue
            await self.client.create(
                LINE_ITEM,
                {
                    "OpportunityId": opportunity,
                    "PricebookEntryId": entry,
                    "Quantity": wire(line.quantity),
                    "UnitPrice": wire(line.unit_price.amount),
                    **({"Description": line.description[:255]} if line.description else {}),
                },
            )
            if outcome is Outcome.UNCHANGED:
                outcome = Outcome.UPDATED
        return self.result(command, EntityKind.QUOTE, outcome, ExternalIds(crm_id=opportunity))

    async def _renewal_entry(self, line: SubscriptionLine) -> str:
        """The standard price book entry of the line's product (by Salesforce id, else SKU)."""
        product = line.item.crm_id if line.item is not None else None
        if product is None:
            product = await self._find(PRODUCT, self.names.item_code, line.sku)
        if product is None:
            raise _skip(f"the renewal's item {line.sku or '?'} is not a Salesforce product")
        book = await standard_pricebook(self.client)
        where = f"Pricebook2Id = {soql_literal(book)} AND Product2Id = {soql_literal(product)}"
        found = await self.client.query(
            " ".join(("SELECT Id FROM PricebookEntry WHERE", where, "LIMIT 1"))
        )
        if not found:
            raise _skip(f"product {line.sku or product} has no standard price book entry")
        return str(found[0]["Id"])

    # -- deletes -----------------------------------------------------------------------------

    @handles(DeleteRecord)
    async def delete_record(self, command: DeleteRecord) -> CommandResult:
        """Archives (a product inactive) or deletes the account, contact or product; one
        already gone, already inactive or never in Salesforce is UNCHANGED. Accounts and
        contacts have no active flag: archiving one is refused with the reason."""
        obj = _DELETABLE.get(command.entity)
        if obj is None:
            raise _skip(f"q2c does not delete {command.entity} records in Salesforce")
        if command.mode is DeleteMode.ANONYMISE:
            raise _skip(
                "q2c does not anonymise records in Salesforce: erase the person with "
                "Privacy Center's Right to Be Forgotten request (PrivacyRTBFRequest) or a "
                "delete, and set sync.erasure.anonymise_crm = false"
            )
        record_id = command.record.crm_id
        current = await self.client.record(obj, record_id) if record_id else None
        if record_id is None or current is None:
            return self.result(command, command.entity, Outcome.UNCHANGED, command.record)
        if command.mode is DeleteMode.DELETE:
            try:
                await self.client.request(
                    "DELETE", self.client.data_path(f"sobjects/{obj}/{record_id}")
                )
            except ConnectorError as exc:
                if not _gone(exc):
                    raise
                return self.result(command, command.entity, Outcome.UNCHANGED, command.record)
            return self.result(command, command.entity, Outcome.UPDATED, command.record)
        flag = _ARCHIVABLE.get(obj)
        if flag is None:
            raise _skip(
                f"a Salesforce {obj} has no active flag to archive it by; "
                f"set the delete policy of {command.entity} records to delete or audit"
            )
        outcome = await self.set_fields(obj, record_id, {flag: False})
        return self.result(command, command.entity, outcome, command.record)

    async def _price_book(self, name: str) -> str:
        """The id of the custom price book showing the ERP's price list ``name``, upserted by
        its external id (made active, named after the list)."""
        known = self._books.get(name)
        if known is not None:
            return known
        code = self.names.price_list_code
        book, _ = await self.client.upsert(
            PRICE_BOOK, code, name, {"Name": name[:255], "IsActive": True}
        )
        self._books[name] = book
        return book

    async def _book_price(self, name: str, product_id: str, price: Money) -> bool:
        """Creates or corrects the product's entry in the price book of ``name``."""
        return await self._entry(await self._price_book(name), product_id, price)

    async def _standard_price(self, product_id: str, price: Money | None) -> bool:
        """Creates or corrects the product's standard price book entry; True if written."""
        if price is None:
            return False
        return await self._entry(await standard_pricebook(self.client), product_id, price)

    async def _entry(self, book: str, product_id: str, price: Money) -> bool:
        """Creates or corrects the product's entry in ``book``; True if written."""
        where = f"Pricebook2Id = {soql_literal(book)} AND Product2Id = {soql_literal(product_id)}"
        found = await self.client.query(
            " ".join(("SELECT Id, UnitPrice, IsActive FROM PricebookEntry WHERE", where))
        )
        if not found:
            entry = {
                "Pricebook2Id": book,
                "Product2Id": product_id,
                "UnitPrice": wire(price.amount),
                "IsActive": True,
            }
            await self.client.create("PricebookEntry", entry)
            return True
        current: Record = found[0]
        wanted = {"UnitPrice": price.amount, "IsActive": True}
        differ = differences(wanted, current)
        if not differ:
            return False
        await self.save("PricebookEntry", str(current["Id"]), differ)
        return True


def _renewal_description(command: CreateRenewalDeal) -> str:
    sub = command.subscription_number or command.subscription.erp_id or "?"
    text = f"Renewal of subscription {sub} on {command.close_date.isoformat()}"
    if command.original_deal and command.original_deal.crm_id:
        text += f", sold on opportunity {command.original_deal.crm_id}"
    return text + "."


def _same_line(present: Record, entry: str, line: SubscriptionLine) -> bool:
    return (
        present.get("PricebookEntryId") == entry
        and same_value(line.quantity, present.get("Quantity"))
        and same_value(line.unit_price.amount, present.get("UnitPrice"))
    )


def _gone(error: ConnectorError) -> bool:
    return error.status == 404 or "ENTITY_IS_DELETED" in error.reason


def _present(values: Mapping[str, Any]) -> dict[str, Any]:
    """The values set, as the API takes them (a create leaves the rest at their defaults)."""
    return {k: wire(v) for k, v in values.items() if v is not None}
