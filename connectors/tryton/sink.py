"""Applying q2c's commands to Tryton: customers, items and sales orders.

Every command is idempotent because every record is looked up by its natural key first:
a party by its CRM identifier (an identifier without a type), a product by its code (the
SKU), a sale by its ``reference`` (the CRM deal id). Values are written only where they
differ, so a replayed command changes nothing and reports UNCHANGED.

A sales order costs six JSON-RPC calls and four round trips: the sale's existence check, the
party and every product of the quote, looked up together; the create; the ``quote`` and
``confirm`` buttons (two transitions Tryton offers no single call for). Configuration
values that do not change from one sale to the next (the default payment term, the
company's currency, the ids of units, categories and currencies) are kept for
:data:`CONFIG_TTL` seconds.

Each Tryton call is its own transaction, so a failure half-way (a sale created, its
confirmation refused) leaves a partial state; the next attempt finds the sale by reference
and carries on from its state. Tryton's own refusals (a UserError) are permanent for the
command and travel to the dead-letter topic and the CRM with Tryton's words.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, ClassVar, TypeVar, cast

from connectors.base import ConnectorError, ErrorKind, Sink
from connectors.base.sink import handles
from connectors.tryton.client import TrytonClient, WizardStep
from connectors.tryton.errors import SYSTEM, TrytonUserError
from schemas import (
    Address,
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
    Quote,
    UpsertContact,
    UpsertCustomer,
    UpsertItem,
)

log = logging.getLogger(__name__)
_EVERYTHING = {"active_test": False}
_PRICE_PLACES = Decimal("0.0001")  # Tryton's unit price digits
_CONFIRMED = ("confirmed", "processing", "done")
_SALE_PARTY_FIELDS = ("addresses", "customer_payment_term", "sale_price_list")
T = TypeVar("T")

CONFIG_TTL = 60.0
"""Seconds a configuration value read from Tryton is used before it is read again: an
administrator's change (another default payment term, say) reaches sales within it."""


def _skip(reason: str) -> ConnectorError:
    return ConnectorError(ErrorKind.SKIPPABLE, reason, system=SYSTEM)


_NO_RATE = "No rate found for currency"
"""The start of the currency module's ``msg_no_rate``."""


def _no_rate(error: TrytonUserError, currency: str) -> ConnectorError:
    """Tryton's refusal to quote or confirm a sale: readable as it is, except a missing
    currency rate, said the way the sync says it (the deal shows it)."""
    if not error.message.startswith(_NO_RATE):
        return error
    return _skip(f"no {currency} rate on {date.today().isoformat()} in the ERP: {error.message}")


def record_id(erp_id: str, what: str) -> int:
    """A command's ERP id as a Tryton record id; a command naming anything else cannot be
    applied (SKIPPABLE: dead-lettered with the reason)."""
    text = erp_id.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        raise _skip(f"the ERP id {erp_id[:40]!r} of the {what} is not a Tryton record id")
    return int(text)


def crm_identifier_domain(crm_id: str) -> list[Any]:
    """Parties whose untyped identifier is ``crm_id`` (typed ones are tax numbers)."""
    return [("identifiers", "where", [("code", "=", crm_id), ("type", "=", None)])]


def contact_marker(crm_id: str) -> str:
    """The comment that ties contact mechanisms to the CRM contact they came from."""
    return f"q2c contact {crm_id}"


def net_unit_price(unit_price: Decimal, discount_percent: Decimal) -> Decimal:
    """The unit price after the line's discount, at Tryton's precision."""
    net = unit_price * (Decimal(100) - discount_percent) / Decimal(100)
    return net.quantize(_PRICE_PLACES)


def _differ(current: Mapping[str, Any], wanted: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in wanted.items() if current.get(k) != v}


@dataclass(frozen=True)
class SaleParts:
    """What a new sale is made of, looked up in Tryton: the customer's party (its id,
    addresses, payment term and price list) and the sale lines."""

    party: Mapping[str, Any]
    lines: list[dict[str, Any]]


class TrytonSink(Sink):
    system: ClassVar[str] = SYSTEM

    def __init__(
        self,
        client: TrytonClient,
        *,
        unit: str = "Unit",
        account_category: str = "Sales",
        item_type: str = "service",
    ) -> None:
        self.client = client
        self.unit_name = unit
        self.category_name = account_category
        self.item_type = item_type
        self.config_ttl = CONFIG_TTL
        self._config: dict[Hashable, tuple[float, Any]] = {}

    async def _configured(self, key: Hashable, read: Callable[[], Awaitable[T]]) -> T:
        """A configuration value, read again once it is :attr:`config_ttl` seconds old."""
        now = time.monotonic()
        cached = self._config.get(key)
        if cached is not None and cached[0] > now:
            return cast(T, cached[1])
        value = await read()
        self._config[key] = (now + self.config_ttl, value)
        return value

    async def _named(self, model: str, domain: list[Any], what: str) -> int:
        """The id of a configuration record (unit, category, currency)."""

        async def read() -> int:
            found = await self.client.search(model, domain, limit=1)
            if not found:
                raise ConnectorError(
                    ErrorKind.FATAL, f"Tryton has no {what}; check the settings", system=SYSTEM
                )
            return found[0]

        return await self._configured((model, repr(domain)), read)

    # -- customers ----------------------------------------------------------------------

    async def find_party(self, ids: ExternalIds) -> int | None:
        if ids.erp_id is not None:
            found = await self.client.search(
                "party.party", [("id", "=", record_id(ids.erp_id, "party"))], context=_EVERYTHING
            )
            if found:
                return found[0]
        if ids.crm_id is not None:
            found = await self.client.search(
                "party.party", crm_identifier_domain(ids.crm_id), limit=1, context=_EVERYTHING
            )
            if found:
                return found[0]
        return None

    async def _address_values(self, address: Address) -> dict[str, Any]:
        values: dict[str, Any] = {
            "street": address.street or "",
            "city": address.city or "",
            "postal_code": address.postal_code or "",
        }
        if address.country:
            # Countries are reference data loaded into Tryton by its administrators; an
            # address in a country Tryton does not list is still worth keeping.
            found = await self.client.search(
                "country.country", [("code", "=", address.country)], limit=1
            )
            if found:
                values["country"] = found[0]
            else:
                log.warning("Tryton lists no country %s; address kept without it", address.country)
        return values

    @handles(UpsertCustomer)
    async def upsert_customer(self, command: UpsertCustomer) -> CommandResult:
        customer = command.customer
        party = await self.find_party(customer.ids)
        header = {"name": customer.name, "active": customer.status is not CustomerStatus.INACTIVE}
        mechanisms = {
            kind: value
            for kind, value in (
                ("email", customer.email),
                ("phone", customer.phone),
                ("website", customer.website),
            )
            if value
        }
        address = customer.billing_address
        if party is None:
            values: dict[str, Any] = dict(header)
            if customer.ids.crm_id:
                values["identifiers"] = [("create", [{"code": customer.ids.crm_id}])]
            if mechanisms:
                values["contact_mechanisms"] = [
                    ("create", [{"type": k, "value": v} for k, v in mechanisms.items()])
                ]
            # Tryton invoices to an address: a party always gets one, empty if unknown.
            first = await self._address_values(address) if address is not None else {}
            values["addresses"] = [("create", [first])]
            (party,) = await self.client.create("party.party", [values], context=_EVERYTHING)
            outcome = Outcome.CREATED
        else:
            changed = await self._update_party(party, customer, header, mechanisms)
            outcome = Outcome.UPDATED if changed else Outcome.UNCHANGED
        ids = ExternalIds(crm_id=customer.ids.crm_id, erp_id=str(party))
        return self.result(command, EntityKind.CUSTOMER, outcome, ids)

    async def _update_party(
        self,
        party: int,
        customer: Customer,
        header: Mapping[str, Any],
        mechanisms: Mapping[str, str],
    ) -> bool:
        (current,) = await self.client.read(
            "party.party",
            [party],
            ["name", "active", "addresses", "contact_mechanisms"],
            context=_EVERYTHING,
        )
        changed = False
        differ = _differ(current, header)
        if customer.ids.crm_id and not await self.client.search(
            "party.party",
            [("id", "=", party), *crm_identifier_domain(customer.ids.crm_id)],
            context=_EVERYTHING,
        ):
            differ["identifiers"] = [("create", [{"code": customer.ids.crm_id}])]
        if differ:
            await self.client.write("party.party", [party], differ, context=_EVERYTHING)
            changed = True
        existing = await self.client.read(
            "party.contact_mechanism", current["contact_mechanisms"], ["type", "value"]
        )
        for kind, value in mechanisms.items():
            same_kind = [m for m in existing if m["type"] == kind]
            if any(m["value"] == value for m in same_kind):
                continue
            if same_kind:
                await self.client.write(
                    "party.contact_mechanism", [same_kind[0]["id"]], {"value": value}
                )
            else:
                await self.client.create(
                    "party.contact_mechanism", [{"party": party, "type": kind, "value": value}]
                )
            changed = True
        if customer.billing_address is not None:
            wanted = await self._address_values(customer.billing_address)
            addresses = await self.client.read(
                "party.address", current["addresses"], ["street", "city", "postal_code", "country"]
            )
            if not addresses:
                await self.client.create("party.address", [{"party": party, **wanted}])
                changed = True
            elif address_differ := _differ(addresses[0], wanted):
                await self.client.write("party.address", [addresses[0]["id"]], address_differ)
                changed = True
        return changed

    # -- contacts -------------------------------------------------------------------------

    @handles(UpsertContact)
    async def upsert_contact(self, command: UpsertContact) -> CommandResult:
        """A person at a customer becomes contact mechanisms (e-mail, phone) of the
        customer's party, named after the person: Tryton keeps no separate contact records.
        The mechanisms carry the CRM contact id in their comment, their natural key."""
        contact = command.contact
        if contact.ids.crm_id is None:
            raise _skip("a contact without a CRM id cannot be kept in Tryton")
        party = await self.find_party(contact.customer) if contact.customer else None
        if party is None:
            raise _skip(f"the customer of contact {contact.ids.crm_id} is not in Tryton")
        marker = contact_marker(contact.ids.crm_id)
        existing = await self.client.search_read(
            "party.contact_mechanism",
            [("party", "=", party), ("comment", "=", marker)],
            ["type", "value", "name"],
            order=[("id", "ASC")],
            context=_EVERYTHING,
        )
        name = " ".join(p for p in (contact.first_name, contact.last_name) if p)
        wanted = {"email": contact.email, "phone": contact.phone}
        new = not existing
        changed = False
        for kind, value in wanted.items():
            if not value:
                continue
            same = [m for m in existing if m["type"] == kind]
            if not same:
                values = {"party": party, "type": kind, "value": value, "name": name}
                (created,) = await self.client.create(
                    "party.contact_mechanism", [{**values, "comment": marker}]
                )
                existing.append({"id": created, "type": kind, "value": value, "name": name})
                changed = True
            elif differ := _differ(same[0], {"value": value, "name": name}):
                await self.client.write("party.contact_mechanism", [same[0]["id"]], differ)
                changed = True
        if not existing:
            raise _skip(f"contact {contact.ids.crm_id} has neither e-mail nor phone to keep")
        outcome = Outcome.CREATED if new else Outcome.UPDATED if changed else Outcome.UNCHANGED
        ids = ExternalIds(crm_id=contact.ids.crm_id, erp_id=str(existing[0]["id"]))
        return self.result(command, EntityKind.CONTACT, outcome, ids)

    # -- items --------------------------------------------------------------------------

    async def find_product(self, ids: ExternalIds | None, sku: str | None) -> int | None:
        if ids is not None and ids.erp_id is not None:
            found = await self.client.search(
                "product.product",
                [("id", "=", record_id(ids.erp_id, "product"))],
                context=_EVERYTHING,
            )
            if found:
                return found[0]
        if sku:
            found = await self.client.search(
                "product.product", [("code", "=", sku)], limit=1, context=_EVERYTHING
            )
            if found:
                return found[0]
        return None

    @handles(UpsertItem)
    async def upsert_item(self, command: UpsertItem) -> CommandResult:
        item = command.item
        product = await self.find_product(item.ids, item.sku)
        currency = await self._company_currency()
        template_values = self._template_values(item, currency)
        if product is None:
            unit = await self._named("product.uom", [("name", "=", self.unit_name)], "unit")
            category = await self._named(
                "product.category",
                [("name", "=", self.category_name), ("accounting", "=", True)],
                f"accounting product category {self.category_name!r}",
            )
            (template,) = await self.client.create(
                "product.template",
                [
                    {
                        **template_values,
                        "type": self.item_type,
                        "default_uom": unit,
                        "sale_uom": unit,
                        "account_category": category,
                        "products": [("create", [{"suffix_code": item.sku}])],
                    }
                ],
            )
            (row,) = await self.client.read("product.template", [template], ["products"])
            product = int(row["products"][0])
            outcome = Outcome.CREATED
        else:
            (row,) = await self.client.read(
                "product.product", [product], ["template"], context=_EVERYTHING
            )
            template = int(row["template"])
            (current,) = await self.client.read(
                "product.template", [template], list(template_values), context=_EVERYTHING
            )
            differ = _differ(current, template_values)
            if differ:
                await self.client.write("product.template", [template], differ, context=_EVERYTHING)
            outcome = Outcome.UPDATED if differ else Outcome.UNCHANGED
        ids = ExternalIds(crm_id=item.ids.crm_id, erp_id=str(product))
        return self.result(command, EntityKind.ITEM, outcome, ids)

    def _template_values(self, item: Item, currency: str) -> dict[str, Any]:
        values: dict[str, Any] = {
            "name": item.name,
            "salable": item.saleable,
            "active": item.active,
        }
        price = item.price(currency)
        if price is not None:
            values["list_price"] = price.amount
        return values

    async def company_currency(self) -> str:
        """The code of the currency the company keeps its books (and list prices) in."""
        return await self._company_currency()

    async def own_parties(self) -> frozenset[str]:
        """The ids of the company's own party and of its employees' parties."""
        await self.client.connect()
        company = self.client.context.get("company")
        if company is None:
            raise ConnectorError(ErrorKind.FATAL, "the Tryton user has no company", system=SYSTEM)
        (row,) = await self.client.read("company.company", [int(company)], ["party"])
        employees = await self.client.search_read(
            "company.employee", [("company", "=", int(company))], ["party"]
        )
        return frozenset(str(p) for p in (row["party"], *(e["party"] for e in employees)) if p)

    async def _company_currency(self) -> str:
        await self.client.connect()
        company = self.client.context.get("company")
        if company is None:
            raise ConnectorError(ErrorKind.FATAL, "the Tryton user has no company", system=SYSTEM)

        async def read() -> str:
            (row,) = await self.client.read("company.company", [int(company)], ["currency.code"])
            return str(row["currency."]["code"])

        return await self._configured(("company currency", company), read)

    async def _default_payment_term(self) -> int | None:
        """The accounting configuration's customer payment term (None: none set)."""

        async def read() -> int | None:
            terms = await self.client.read(
                "account.configuration", [1], ["default_customer_payment_term"]
            )
            term = terms[0].get("default_customer_payment_term") if terms else None
            return int(term) if term else None

        return await self._configured("default customer payment term", read)

    # -- deletes ------------------------------------------------------------------------

    async def _deletable(self, command: DeleteRecord) -> tuple[str, list[int]]:
        """The model and the records that stand for the command's record in Tryton: the
        party, the contact's mechanisms, or the product's template; none when gone."""
        ids = command.record
        if command.entity is EntityKind.CUSTOMER:
            party = await self.find_party(ids)
            return "party.party", [] if party is None else [party]
        if command.entity is EntityKind.CONTACT:
            if ids.crm_id is None:
                raise _skip("a contact without a CRM id has no contact mechanisms in Tryton")
            found = await self.client.search(
                "party.contact_mechanism",
                [("comment", "=", contact_marker(ids.crm_id))],
                context=_EVERYTHING,
            )
            return "party.contact_mechanism", list(found)
        if command.entity is EntityKind.ITEM:
            product = await self.find_product(ids, None)
            if product is None:
                return "product.template", []
            (row,) = await self.client.read(
                "product.product", [product], ["template"], context=_EVERYTHING
            )
            return "product.template", [int(row["template"])]
        raise _skip(f"q2c does not delete {command.entity} records in Tryton")

    @handles(DeleteRecord)
    async def delete_record(self, command: DeleteRecord) -> CommandResult:
        """Archives (``active`` off) or deletes the party, the contact's mechanisms or the
        item's product template; a record already gone, or already archived, is UNCHANGED.
        Tryton refuses to delete a record others need (a party with sales, a product on an
        invoice): the refusal is the command's failure, in Tryton's words."""
        model, records = await self._deletable(command)
        outcome = Outcome.UNCHANGED
        if records and command.mode is DeleteMode.ANONYMISE:
            outcome = await self._anonymise(command.entity, model, records)
        elif records and command.mode is DeleteMode.ARCHIVE:
            current = await self.client.read(model, records, ["active"], context=_EVERYTHING)
            active = [int(row["id"]) for row in current if row["active"]]
            if active:
                await self.client.write(model, active, {"active": False}, context=_EVERYTHING)
                outcome = Outcome.UPDATED
        elif records:
            await self.client.delete(model, records, context=_EVERYTHING)
            outcome = Outcome.UPDATED
        return self.result(command, command.entity, outcome, command.record)

    async def _anonymise(self, entity: EntityKind, model: str, records: list[int]) -> Outcome:
        """A customer's erasure: the party is made inactive and erased with Tryton's
        ``party.erase`` wizard (its name, identifiers, addresses and contact mechanisms
        blanked); a contact's mechanisms are deleted. Tryton refuses to erase a party with
        pending sales or a receivable or payable balance: the refusal, in Tryton's words,
        is the command's failure, and the party is left active as it was."""
        if entity is EntityKind.CONTACT:
            await self.client.delete(model, records, context=_EVERYTHING)
            return Outcome.UPDATED
        if entity is not EntityKind.CUSTOMER:
            raise _skip(f"q2c does not anonymise {entity} records in Tryton")
        (party,) = records
        (row,) = await self.client.read(model, [party], ["active", "name"], context=_EVERYTHING)
        if not row["active"] and not row["name"]:
            return Outcome.UNCHANGED  # erased already
        if row["active"]:
            await self.client.write(model, [party], {"active": False}, context=_EVERYTHING)
        try:
            await self.client.run_wizard(
                "party.erase",
                model=model,
                ids=[party],
                steps=[WizardStep("ask", "erase", {"party": party})],
                context=_EVERYTHING,
            )
        except ConnectorError:
            if row["active"]:
                await self.client.write(model, [party], {"active": True}, context=_EVERYTHING)
            raise
        return Outcome.UPDATED

    # -- sales orders -------------------------------------------------------------------

    @handles(CreateSalesOrder)
    async def create_sales_order(self, command: CreateSalesOrder) -> CommandResult:
        # The existence check and the look-ups a new sale needs go out together, one round
        # trip instead of three. A replay finds its sale and leaves the look-ups (and what
        # they raised) aside, so it creates nothing twice.
        found, parts = await asyncio.gather(
            self.client.search_read(
                "sale.sale", [("reference", "=", command.reference)], ["state"], limit=1
            ),
            self.sale_parts(command.quote),
            return_exceptions=True,
        )
        if isinstance(found, BaseException):
            raise found
        if found:
            sale, state = int(found[0]["id"]), str(found[0]["state"])
            outcome = Outcome.UNCHANGED if state in _CONFIRMED else Outcome.UPDATED
        else:
            if isinstance(parts, BaseException):
                raise parts
            sale, state = await self._create_sale(command, parts), "draft"
            outcome = Outcome.CREATED
        if state == "cancelled":
            raise _skip(f"sale {command.reference} was cancelled in Tryton")
        try:
            if state == "draft":
                await self.client.button("sale.sale", "quote", [sale])
                state = "quotation"
            if state == "quotation":
                await self.client.button("sale.sale", "confirm", [sale])
        except TrytonUserError as exc:
            raise _no_rate(exc, command.quote.currency) from exc
        ids = ExternalIds(crm_id=command.reference, erp_id=str(sale))
        return self.result(command, EntityKind.SALES_ORDER, outcome, ids)

    async def sale_parts(self, quote: Quote) -> SaleParts:
        """The quote's party and lines, looked up side by side (two calls, one round trip);
        a customer or an item Tryton does not have is SKIPPABLE, the customer named first."""
        party, lines = await asyncio.gather(
            self._sale_party(quote.customer), self._sale_lines(quote.lines), return_exceptions=True
        )
        if isinstance(party, BaseException):
            raise party
        if party is None:
            raise _skip(
                f"customer {quote.customer.crm_id or quote.customer.erp_id} is not in Tryton"
            )
        if isinstance(lines, BaseException):
            raise lines
        return SaleParts(party, lines)

    async def _sale_party(self, ids: ExternalIds) -> dict[str, Any] | None:
        """The party of ``ids`` (by ERP id, else by CRM identifier) with what a sale takes
        from it, in one call when the ERP id finds it."""
        fields = list(_SALE_PARTY_FIELDS)
        if ids.erp_id is not None:
            domain = [("id", "=", record_id(ids.erp_id, "party"))]
            found = await self.client.search_read(
                "party.party", domain, fields, context=_EVERYTHING
            )
            if found:
                return found[0]
        if ids.crm_id is not None:
            found = await self.client.search_read(
                "party.party",
                crm_identifier_domain(ids.crm_id),
                fields,
                limit=1,
                context=_EVERYTHING,
            )
            if found:
                return found[0]
        return None

    async def _create_sale(self, command: CreateSalesOrder, parts: SaleParts) -> int:
        quote = command.quote
        party_row = parts.party
        currency = await self._named(
            "currency.currency", [("code", "=", quote.currency)], f"currency {quote.currency}"
        )
        if party_row["addresses"]:
            address = party_row["addresses"][0]
        else:  # a sale cannot be quoted without an invoice address
            (address,) = await self.client.create("party.address", [{"party": party_row["id"]}])
        values: dict[str, Any] = {
            "party": party_row["id"],
            "reference": command.reference,
            "description": quote.number or None,
            "currency": currency,
            "sale_date": date.today(),
            "invoice_address": address,
            "shipment_address": address,
            "lines": [("create", parts.lines)],
        }
        if party_row.get("sale_price_list"):
            # The customer's price list, as Tryton's sale form sets it from the party.
            values["price_list"] = party_row["sale_price_list"]
        if party_row.get("customer_payment_term"):
            values["payment_term"] = party_row["customer_payment_term"]
        elif term := await self._default_payment_term():
            values["payment_term"] = term
        (sale,) = await self.client.create("sale.sale", [values])
        return sale

    async def _sale_lines(self, lines: Sequence[Any]) -> list[dict[str, Any]]:
        """Sale lines for the quote's lines, their products found in one call: by ERP id,
        else by code (the SKU), as :meth:`find_product` finds one."""
        wanted_ids = {
            record_id(line.item.erp_id, "product")
            for line in lines
            if line.item is not None and line.item.erp_id is not None
        }
        wanted_codes = {line.sku for line in lines if line.sku}
        rows = await self.client.search_read(
            "product.product",
            ["OR", ("id", "in", sorted(wanted_ids)), ("code", "in", sorted(wanted_codes))],
            ["code", "sale_uom"],
            context=_EVERYTHING,
        )
        by_id = {int(found["id"]): found for found in rows}
        by_code: dict[str, dict[str, Any]] = {}
        for found in rows:  # in Tryton's order: the first of a code is the one a search finds
            by_code.setdefault(str(found["code"]), found)
        sale_lines = []
        for line in lines:
            row: dict[str, Any] | None = None
            if line.item is not None and line.item.erp_id is not None:
                row = by_id.get(record_id(line.item.erp_id, "product"))
            if row is None and line.sku:
                row = by_code.get(line.sku)
            if row is None:
                raise _skip(f"line {line.line_no}: item {line.sku or line.item} is not in Tryton")
            sale_lines.append(
                {
                    "type": "line",
                    "sequence": line.line_no,
                    "product": int(row["id"]),
                    "quantity": float(line.quantity),
                    "unit": row["sale_uom"],
                    "unit_price": net_unit_price(line.unit_price.amount, line.discount_percent),
                    "description": line.description or None,
                }
            )
        return sale_lines
