"""Applying q2c's commands to NetSuite: customers, contacts, items and sales orders.

Every write is an external-id upsert (``PUT /record/v1/{type}/eid:{id}``): a customer's
external id is its CRM account id, a contact's its CRM contact id, an item's its SKU, a
sales order's the CRM deal id. So a write repeated because its answer was lost (a dropped
connection after NetSuite applied it, a retry after a timeout) lands on the same record.
Before writing, the record is read by that key and compared: a command that would change
nothing writes nothing and reports UNCHANGED. Sales orders may instead be created through
the asynchronous service with an idempotency key derived from the command's own
(``async_writes``): a repeated request finds the job the first one started.
"""

# SuiteQL built here quotes its text (quote()) and checks its ids (internal_id()).
# ruff: noqa: S608

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, ClassVar

from connectors.base import ConnectorError, ErrorKind, Sink
from connectors.base.sink import handles
from connectors.netsuite.client import NetSuiteClient
from connectors.netsuite.errors import SYSTEM
from connectors.netsuite.mapping import order_status_code
from connectors.netsuite.suiteql import quote
from schemas import (
    CommandResult,
    CreateSalesOrder,
    Customer,
    CustomerStatus,
    DeleteMode,
    DeleteRecord,
    EntityKind,
    ExternalIds,
    Item,
    Outcome,
    UpsertContact,
    UpsertCustomer,
    UpsertItem,
)

log = logging.getLogger(__name__)

ITEM_TYPES: Mapping[str, str] = {
    "InvtPart": "inventoryItem",
    "Service": "serviceSaleItem",
    "NonInvtPart": "nonInventorySaleItem",
}
"""SuiteQL's ``item.itemtype`` → the REST record type."""


def _skip(reason: str) -> ConnectorError:
    return ConnectorError(ErrorKind.SKIPPABLE, reason, system=SYSTEM)


def internal_id(value: str, what: str) -> str:
    """A command's ERP id as a NetSuite internal id (digits)."""
    text = value.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        raise _skip(f"the ERP id {value[:40]!r} of the {what} is not a NetSuite internal id")
    return text


def external_key(value: str, what: str) -> str:
    """An external id usable in ``eid:`` paths."""
    text = value.strip()
    if not text or "/" in text or len(text) > 255:
        raise _skip(f"{text[:40]!r} cannot be the external id of a {what}")
    return text


def _ref(value: Any) -> str | None:
    """The id of a reference field as the record service returns it (``{"id": ..}``)."""
    if isinstance(value, Mapping):
        return str(value.get("id")) if value.get("id") is not None else None
    return None if value is None else str(value)


def differs(current: Mapping[str, Any], wanted: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of ``wanted`` the record does not have yet (references by id)."""
    changed: dict[str, Any] = {}
    for key, value in wanted.items():
        have = current.get(key)
        if isinstance(value, Mapping) and "id" in value:
            if _ref(have) != str(value["id"]):
                changed[key] = value
        elif isinstance(value, Decimal | float | int) and not isinstance(value, bool):
            try:
                same = have is not None and Decimal(str(have)) == Decimal(str(value))
            except ArithmeticError:
                same = False
            if not same:
                changed[key] = value
        elif (have or None) != (value or None) and have != value:
            changed[key] = value
    return changed


def customer_body(customer: Customer) -> dict[str, Any]:
    """The customer fields q2c keeps in step (subsidiary and currency are set once)."""
    body: dict[str, Any] = {
        "companyName": customer.name,
        "isInactive": customer.status is CustomerStatus.INACTIVE,
    }
    for key, value in (
        ("email", customer.email),
        ("phone", customer.phone),
        ("url", customer.website),
    ):
        if value:
            body[key] = value
    if customer.payment_terms and customer.payment_terms.isdigit():
        body["terms"] = {"id": customer.payment_terms}
    return body


BASE_PRICE_LEVEL = "1"
"""NetSuite's "Base Price" price level."""


def item_body(item: Item) -> dict[str, Any]:
    body: dict[str, Any] = {
        "itemId": item.sku,
        "displayName": item.name,
        "isInactive": not item.active,
    }
    if item.description:
        body["salesDescription"] = item.description
    return body


def price_sublist(amount: Decimal, currency_id: str) -> dict[str, Any]:
    """The base price level's price in the currency ``currency_id``, as the item record's
    pricing sublist takes it (the lowest quantity tier)."""
    return {
        "items": [
            {
                "priceLevel": {"id": BASE_PRICE_LEVEL},
                "currencyPage": {"id": currency_id},
                "quantity": {"value": 0},
                "price": float(amount),
            }
        ]
    }


class NetSuiteSink(Sink):
    system: ClassVar[str] = SYSTEM

    def __init__(
        self,
        client: NetSuiteClient,
        *,
        subsidiary_id: str = "1",
        currency_id: str = "1",
        currencies: Mapping[str, str] | None = None,
        order_status: str = "B",
        item_type: str = "inventoryItem",
        async_writes: bool = False,
    ) -> None:
        self.client = client
        self.subsidiary_id = subsidiary_id
        self.currency_id = currency_id
        self._currencies = dict(currencies or {})
        self.order_status = order_status
        self.item_type = item_type
        self.async_writes = async_writes

    async def currencies(self) -> dict[str, str]:
        """The account's currencies: internal id → ISO code."""
        rows = await self.client.suiteql_rows("SELECT id, symbol FROM currency")
        return {str(r["id"]): str(r["symbol"]).upper() for r in rows if r.get("symbol")}

    async def currency_id_of(self, code: str | None) -> str:
        """NetSuite's internal id of the currency ``code`` (the default when None)."""
        if not code:
            return self.currency_id
        if not self._currencies:
            self._currencies = {iso: i for i, iso in (await self.currencies()).items()}
        found = self._currencies.get(code.upper())
        if found is None:
            raise _skip(f"NetSuite has no currency {code}")
        return found

    async def base_price(self, item_id: str) -> Decimal | None:
        """The item's base price level price in the default currency (lowest tier)."""
        rows = await self.client.suiteql_rows(
            "SELECT unitprice FROM pricing"
            f" WHERE item = {internal_id(item_id, 'item')} AND pricelevel = {BASE_PRICE_LEVEL}"
            f" AND currency = {internal_id(self.currency_id, 'currency')} ORDER BY quantity"
        )
        value = rows[0].get("unitprice") if rows else None
        return Decimal(str(value)) if value not in (None, "") else None

    async def base_currency(self) -> str:
        """The ISO code of the default currency (items' base prices are in it)."""
        rows = await self.client.suiteql_rows(
            f"SELECT symbol FROM currency WHERE id = {internal_id(self.currency_id, 'currency')}"
        )
        if not rows or not rows[0].get("symbol"):
            raise ConnectorError(
                ErrorKind.FATAL,
                f"NetSuite has no currency {self.currency_id}; check currency_id",
                system=SYSTEM,
            )
        return str(rows[0]["symbol"]).upper()

    # -- customers ----------------------------------------------------------------------

    async def find_customer(self, ids: ExternalIds) -> dict[str, Any] | None:
        if ids.crm_id:
            found = await self.client.get_record(
                "customer", f"eid:{external_key(ids.crm_id, 'customer')}"
            )
            if found is not None:
                return found
        if ids.erp_id:
            return await self.client.get_record("customer", internal_id(ids.erp_id, "customer"))
        return None

    @handles(UpsertCustomer)
    async def upsert_customer(self, command: UpsertCustomer) -> CommandResult:
        customer = command.customer
        wanted = customer_body(customer)
        current = await self.find_customer(customer.ids)
        if current is None:
            if not customer.ids.crm_id:
                raise _skip("a customer without a CRM id cannot be created in NetSuite")
            key = external_key(customer.ids.crm_id, "customer")
            body = {
                **wanted,
                "externalId": key,
                "subsidiary": {"id": self.subsidiary_id},
                "currency": {"id": await self.currency_id_of(customer.currency)},
            }
            erp_id = await self.client.upsert("customer", key, body)
            outcome = Outcome.CREATED
        else:
            erp_id = str(current["id"])
            changed = differs(current, wanted)
            if customer.ids.crm_id and current.get("externalId") != customer.ids.crm_id:
                changed["externalId"] = customer.ids.crm_id
            if changed:
                await self.client.update("customer", erp_id, changed)
            outcome = Outcome.UPDATED if changed else Outcome.UNCHANGED
        ids = ExternalIds(crm_id=customer.ids.crm_id, erp_id=erp_id)
        return self.result(command, EntityKind.CUSTOMER, outcome, ids)

    # -- contacts -----------------------------------------------------------------------

    @handles(UpsertContact)
    async def upsert_contact(self, command: UpsertContact) -> CommandResult:
        """A person at a customer: a NetSuite contact attached to the customer, keyed by
        the CRM contact id."""
        contact = command.contact
        if contact.ids.crm_id is None:
            raise _skip("a contact without a CRM id cannot be kept in NetSuite")
        company = await self.find_customer(contact.customer) if contact.customer else None
        if company is None:
            raise _skip(f"the customer of contact {contact.ids.crm_id} is not in NetSuite")
        key = external_key(contact.ids.crm_id, "contact")
        wanted: dict[str, Any] = {
            "lastName": contact.last_name,
            "company": {"id": str(company["id"])},
        }
        for name, value in (
            ("firstName", contact.first_name),
            ("title", contact.title),
            ("email", contact.email),
            ("phone", contact.phone),
        ):
            if value:
                wanted[name] = value
        current = await self.client.get_record("contact", f"eid:{key}")
        if current is not None and not differs(current, wanted):
            outcome, erp_id = Outcome.UNCHANGED, str(current["id"])
        else:
            body = {**wanted, "externalId": key, "subsidiary": {"id": self.subsidiary_id}}
            if current is not None:
                body.pop("subsidiary")
            erp_id = await self.client.upsert("contact", key, body)
            outcome = Outcome.CREATED if current is None else Outcome.UPDATED
        ids = ExternalIds(crm_id=contact.ids.crm_id, erp_id=erp_id)
        return self.result(command, EntityKind.CONTACT, outcome, ids)

    # -- items --------------------------------------------------------------------------

    async def find_item(self, ids: ExternalIds | None, sku: str | None) -> tuple[str, str] | None:
        """(internal id, REST record type) of the item with ``ids`` or ``sku``."""
        conditions = []
        if ids is not None and ids.erp_id:
            conditions.append(f"id = {internal_id(ids.erp_id, 'item')}")
        if sku:
            conditions.append(f"itemid = {quote(sku)}")
        if not conditions:
            return None
        rows = await self.client.suiteql_rows(
            f"SELECT id, itemtype FROM item WHERE {' OR '.join(conditions)} ORDER BY id"
        )
        if not rows:
            return None
        row = rows[0]
        return str(row["id"]), ITEM_TYPES.get(str(row.get("itemtype")), self.item_type)

    @handles(UpsertItem)
    async def upsert_item(self, command: UpsertItem) -> CommandResult:
        item = command.item
        price = item.price(await self.base_currency())
        wanted = item_body(item)
        found = await self.find_item(item.ids, item.sku)
        if found is None:
            key = external_key(item.sku, "item")
            # An item's subsidiaries (a multiselect) are left to the account's item form.
            body = {**wanted, "externalId": key}
            if price is not None:
                body["price"] = price_sublist(price.amount, self.currency_id)
            erp_id = await self.client.upsert(self.item_type, key, body)
            outcome = Outcome.CREATED
        else:
            erp_id, record_type = found
            current = await self.client.get_record(record_type, erp_id) or {}
            changed = differs(current, wanted)
            if price is not None and await self.base_price(erp_id) != price.amount:
                changed["price"] = price_sublist(price.amount, self.currency_id)
            if changed:
                await self.client.update(record_type, erp_id, changed)
            outcome = Outcome.UPDATED if changed else Outcome.UNCHANGED
        ids = ExternalIds(crm_id=item.ids.crm_id, erp_id=erp_id)
        return self.result(command, EntityKind.ITEM, outcome, ids)

    # -- deletes ------------------------------------------------------------------------

    async def _deletable(self, command: DeleteRecord) -> tuple[str, dict[str, Any] | None]:
        """The record type and the record that stand for the command's record (None when
        it is gone)."""
        ids = command.record
        if command.entity is EntityKind.CUSTOMER:
            return "customer", await self.find_customer(ids)
        if command.entity is EntityKind.CONTACT:
            if ids.crm_id is None:
                raise _skip("a contact without a CRM id has no external id in NetSuite")
            key = external_key(ids.crm_id, "contact")
            return "contact", await self.client.get_record("contact", f"eid:{key}")
        if command.entity is EntityKind.ITEM:
            found = await self.find_item(ids, None)
            if found is None:
                return self.item_type, None
            record_type, record_id = found[1], found[0]
            return record_type, await self.client.get_record(record_type, record_id)
        raise _skip(f"q2c does not delete {command.entity} records in NetSuite")

    @handles(DeleteRecord)
    async def delete_record(self, command: DeleteRecord) -> CommandResult:
        """Archives (``isInactive``) or deletes the customer, contact or item; a record
        already gone, or already inactive, is UNCHANGED. NetSuite refuses to delete a record
        others need (a customer with transactions): the refusal is the command's failure,
        in NetSuite's words."""
        if command.mode is DeleteMode.ANONYMISE:
            raise _skip(
                "q2c does not anonymise records in NetSuite: its REST record API cannot "
                "remove personal information from system notes; use a PI removal task "
                "(SuiteScript N/piremoval) and set sync.erasure.anonymise_erp = false"
            )
        record_type, current = await self._deletable(command)
        outcome = Outcome.UNCHANGED
        if current is not None and command.mode is DeleteMode.ARCHIVE:
            if current.get("isInactive") is not True:
                await self.client.update(record_type, str(current["id"]), {"isInactive": True})
                outcome = Outcome.UPDATED
        elif current is not None and await self.client.delete(record_type, str(current["id"])):
            outcome = Outcome.UPDATED
        return self.result(command, command.entity, outcome, command.record)

    # -- sales orders -------------------------------------------------------------------

    @handles(CreateSalesOrder)
    async def create_sales_order(self, command: CreateSalesOrder) -> CommandResult:
        key = external_key(command.reference, "sales order")
        current = await self.client.get_record("salesOrder", f"eid:{key}")
        if current is not None:
            status = _ref(current.get("orderStatus")) or current.get("status")
            if order_status_code(status) == "C":
                raise _skip(f"sales order {command.reference} was cancelled in NetSuite")
            ids = ExternalIds(crm_id=command.reference, erp_id=str(current["id"]))
            return self.result(command, EntityKind.SALES_ORDER, Outcome.UNCHANGED, ids)
        body = await self._order_body(command, key)
        if self.async_writes:
            erp_id = await self.client.create_async("salesOrder", body, command.idempotency_key)
        else:
            erp_id = await self.client.upsert("salesOrder", key, body)
        ids = ExternalIds(crm_id=command.reference, erp_id=erp_id)
        return self.result(command, EntityKind.SALES_ORDER, Outcome.CREATED, ids)

    async def _order_body(self, command: CreateSalesOrder, key: str) -> dict[str, Any]:
        quote_ = command.quote
        customer = await self.find_customer(quote_.customer)
        if customer is None:
            who = quote_.customer.crm_id or quote_.customer.erp_id
            raise _skip(f"customer {who} is not in NetSuite")
        lines = await self._order_lines(quote_.lines)
        body: dict[str, Any] = {
            "externalId": key,
            "entity": {"id": str(customer["id"])},
            "currency": {"id": await self.currency_id_of(quote_.currency)},
            "orderStatus": {"id": self.order_status},
            "tranDate": date.today().isoformat(),
            "item": {"items": lines},
        }
        if quote_.number:
            body["memo"] = quote_.number
        return body

    async def _order_lines(self, lines: Sequence[Any]) -> list[dict[str, Any]]:
        if not lines:
            raise _skip("the quote has no lines")
        found: list[dict[str, Any]] = []
        for line in lines:
            item = await self.find_item(line.item, line.sku)
            if item is None:
                raise _skip(f"line {line.line_no}: item {line.sku or line.item} is not in NetSuite")
            rate = line.unit_price.amount * (Decimal(100) - line.discount_percent) / Decimal(100)
            entry: dict[str, Any] = {
                "item": {"id": item[0]},
                "quantity": float(line.quantity),
                "rate": float(rate.quantize(Decimal("0.0001"))),
            }
            if line.description:
                entry["description"] = line.description
            found.append(entry)
        return found
