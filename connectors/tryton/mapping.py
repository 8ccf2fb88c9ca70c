"""Tryton records → canonical entities. Pure functions, no I/O.

Parties are customers, products are items, sales are sales orders, customer invoices are
invoices (or credit memos: Tryton keeps a credit note as an invoice with a negative total;
the canonical credit memo carries positive amounts), and the move lines paying a customer
invoice are payments.

The CRM id of a party is its identifier without a type (typed identifiers are tax and
company numbers); a sale's ``reference`` is the CRM deal id. Records arrive as the source
streams publish them: decimals as strings, timestamps in ISO 8601, many-to-one fields read
through a dotted name as ``{"field.": {"id": .., "code": ..}}``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from connectors.base.mapping import Mapper, MappingError, RecordType
from connectors.tryton.errors import SYSTEM
from connectors.tryton.prices import STANDARD
from schemas import (
    Address,
    CreditMemo,
    Customer,
    CustomerStatus,
    DocumentLine,
    EntityKind,
    ExternalIds,
    Invoice,
    InvoiceState,
    InvoiceStatus,
    Item,
    Money,
    Payment,
    PaymentApplication,
    PriceBookPrice,
    SalesOrder,
    SalesOrderState,
    Shipment,
    ShipmentLine,
    ShipmentState,
    ShipmentStatus,
    Subscription,
    SubscriptionLine,
    SubscriptionState,
)
from schemas.changes import SystemRole

PARTY = "party.party"
PRODUCT = "product.product"
SALE = "sale.sale"
INVOICE = "account.invoice"
PAYMENT = "account.move.line"

_INVOICE_STATUS: Mapping[str, InvoiceStatus] = {
    "none": InvoiceStatus.NONE,
    "pending": InvoiceStatus.PENDING,
    "awaiting payment": InvoiceStatus.AWAITING_PAYMENT,
    "partially paid": InvoiceStatus.PARTIALLY_PAID,
    "paid": InvoiceStatus.PAID,
    # An exception waits for a person in the ERP; to the CRM it is still pending.
    "exception": InvoiceStatus.PENDING,
}


_SHIPMENT_STATUS: Mapping[str, ShipmentStatus] = {
    "none": ShipmentStatus.NONE,
    "waiting": ShipmentStatus.WAITING,
    "partially shipped": ShipmentStatus.PARTIALLY_SHIPPED,
    "sent": ShipmentStatus.SENT,
    "exception": ShipmentStatus.EXCEPTION,
}
_CUSTOMER_SHIPMENT = "stock.shipment.out"
WARRANTY_ATTRIBUTE = "warranty_months"
"""The product attribute (``product_attribute`` module) holding an item's warranty in
months."""


def crm_id_of(identifiers: Any) -> str | None:
    """The CRM id among a party's identifiers: the first one without a type."""
    for identifier in identifiers or ():
        if isinstance(identifier, Mapping) and not identifier.get("type"):
            code = str(identifier.get("code") or "").strip()
            if code:
                return code
    return None


def _tax_id(identifiers: Any) -> str | None:
    for identifier in identifiers or ():
        if isinstance(identifier, Mapping) and identifier.get("type"):
            return str(identifier.get("code") or "") or None
    return None


def _decimal(value: Any, field: str) -> Decimal:
    if value is None:
        raise MappingError("a number is missing", field=field)
    try:
        # Floats (Tryton's quantities) through repr: 2.5 stays 2.5, not 2.4999...
        number = Decimal(repr(value) if isinstance(value, float) else str(value))
    except (InvalidOperation, ValueError):
        number = None
    if number is None or isinstance(value, bool | list | dict) or not number.is_finite():
        raise MappingError(f"{str(value)[:80]!r} is not a number", field=field)
    return number


def _rows(record: Mapping[str, Any], field: str) -> list[Mapping[str, Any]]:
    """A one-to-many field read whole: a list of objects (others are ignored)."""
    rows = record.get(field) or []
    if not isinstance(rows, list):
        raise MappingError(f"a list was expected, not {type(rows).__name__}", field=field)
    return [row for row in rows if isinstance(row, Mapping)]


def _money(value: Any, currency: str, field: str) -> Money:
    return Money(amount=_decimal(value, field), currency=currency)


def _date(value: Any) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) and value else None


def _code(record: Mapping[str, Any], field: str) -> str | None:
    related = record.get(f"{field}.")
    if isinstance(related, Mapping) and related.get("code"):
        return str(related["code"])
    return None


def _currency(record: Mapping[str, Any]) -> str:
    currency = _code(record, "currency")
    if currency is None:
        raise MappingError("the document has no currency", field="currency")
    return currency


def _address(record: Mapping[str, Any]) -> Address:
    return Address(
        street=(record.get("street") or None),
        city=(record.get("city") or None),
        postal_code=(record.get("postal_code") or None),
        region=_code(record, "subdivision"),
        country=_code(record, "country"),
    )


def _pick(rows: Sequence[Mapping[str, Any]], flag: str) -> Mapping[str, Any] | None:
    active = [row for row in rows if row.get("active", True)]
    flagged = [row for row in active if row.get(flag)]
    chosen = flagged or active
    return chosen[0] if chosen else None


def _mechanism(rows: Sequence[Mapping[str, Any]], *types: str) -> str | None:
    for row in rows:
        if row.get("active", True) and row.get("type") in types and row.get("value"):
            return str(row["value"])
    return None


def to_customer(record: Mapping[str, Any], updated_at: datetime, currency: str = "USD") -> Customer:
    """A party. Finance accepts a customer by giving it a credit limit
    (``account_credit_limit``): until then it is not approved; the limit and what the ERP
    counts against it (the party's receivable) are in the company's ``currency``."""
    name = str(record.get("name") or "").strip()
    if not name:
        raise MappingError("a party needs a name", field="name")
    addresses = _rows(record, "addresses")
    mechanisms = _rows(record, "contact_mechanisms")
    billing, shipping = _pick(addresses, "invoice"), _pick(addresses, "delivery")
    active = bool(record.get("active", True))
    limit = record.get("credit_limit_amount")
    used = record.get("credit_amount")
    term = record.get("customer_payment_term.")
    price_list = record.get("sale_price_list.")
    return Customer(
        ids=ExternalIds(erp_id=str(record["id"]), crm_id=crm_id_of(record.get("identifiers"))),
        name=name,
        status=CustomerStatus.ACTIVE if active else CustomerStatus.INACTIVE,
        approved=active and limit is not None,
        credit_limit=None if limit is None else _money(limit, currency, "credit_limit_amount"),
        credit_used=None if used is None else _money(used, currency, "credit_amount"),
        payment_terms=str(term["name"]) if isinstance(term, Mapping) and term.get("name") else None,
        tax_id=_tax_id(record.get("identifiers")),
        email=_mechanism(mechanisms, "email"),
        phone=_mechanism(mechanisms, "phone", "mobile"),
        website=_mechanism(mechanisms, "website"),
        billing_address=_address(billing) if billing else None,
        shipping_address=_address(shipping) if shipping else None,
        updated_at=updated_at,
        price_book=(
            str(price_list["name"]).strip() or None
            if isinstance(price_list, Mapping) and price_list.get("name")
            else None
        ),
    )


def _list_price(record: Mapping[str, Any], currency: str) -> tuple[PriceBookPrice, ...]:
    """The product's list price, in the company's ``currency``: the standard book."""
    price = record.get("list_price_used")
    if price is None:
        return ()
    return (PriceBookPrice(unit_price=_money(price, currency, "list_price_used")),)


def _book_prices(record: Mapping[str, Any], currency: str) -> tuple[PriceBookPrice, ...]:
    """The product's other prices per price book, currency and tier, as the source read
    them from Tryton (:mod:`connectors.tryton.prices`): all but the list price in the
    company's ``currency``; none in a record read before price lists were followed."""
    rows = record.get("prices")
    if rows is None:
        return ()
    if not isinstance(rows, list):
        raise MappingError(f"a list was expected, not {type(rows).__name__}", field="prices")
    prices: list[PriceBookPrice] = []
    for n, row in enumerate(rows, 1):
        if not isinstance(row, Mapping):
            raise MappingError("a price is an object", field=f"prices[{n}]")
        book = str(row.get("price_book") or "").strip()
        code = str(row.get("currency") or "").strip()
        if not book or not code:
            raise MappingError("a price needs a price book and a currency", field=f"prices[{n}]")
        tier = row.get("min_quantity")
        if book == STANDARD and code == currency and tier is None:
            continue  # the list price, read as such
        prices.append(
            PriceBookPrice(
                price_book=book,
                unit_price=_money(row.get("unit_price"), code, f"prices[{n}].unit_price"),
                min_quantity=None if tier is None else _decimal(tier, f"prices[{n}].min_quantity"),
            )
        )
    return tuple(prices)


def to_item(record: Mapping[str, Any], updated_at: datetime, currency: str) -> Item:
    sku = str(record.get("code") or "").strip()
    if not sku:
        raise MappingError("a product needs a code (its SKU) to be synced", field="code")
    unit = record.get("default_uom.")
    return Item(
        ids=ExternalIds(erp_id=str(record["id"])),
        sku=sku,
        name=str(record.get("name") or sku),
        description=record.get("description") or None,
        unit=str(unit.get("name")) if isinstance(unit, Mapping) and unit.get("name") else "unit",
        saleable=bool(record.get("salable", True)),
        active=bool(record.get("active", True)),
        prices=_list_price(record, currency),
        book_prices=_book_prices(record, currency),
        updated_at=updated_at,
    )


def _lines(record: Mapping[str, Any], currency: str, sign: Decimal) -> tuple[DocumentLine, ...]:
    lines: list[DocumentLine] = []
    ordered = sorted(
        _rows(record, "lines"),
        key=lambda line: (line.get("sequence") is None, line.get("sequence") or 0, line["id"]),
    )
    for line in ordered:
        if line.get("type", "line") != "line":
            continue  # titles, comments and subtotals carry no amount
        n = len(lines) + 1
        product = line.get("product")
        lines.append(
            DocumentLine(
                line_no=n,
                item=ExternalIds(erp_id=str(product)) if product else None,
                sku=_code(line, "product"),
                description=line.get("description") or None,
                quantity=sign * _decimal(line.get("quantity"), f"lines[{n}].quantity"),
                unit_price=_money(line.get("unit_price"), currency, f"lines[{n}].unit_price"),
                amount=Money(
                    amount=sign * _decimal(line.get("amount"), f"lines[{n}].amount"),
                    currency=currency,
                ),
            )
        )
    return tuple(lines)


def _shipment_of(move: Mapping[str, Any]) -> int | None:
    """The customer shipment a stock move is on (a reference ``"model,id"``), if any."""
    model, _, shipment = str(move.get("shipment") or "").partition(",")
    return int(shipment) if model == _CUSTOMER_SHIPMENT and shipment.isdigit() else None


def _warranty_months(move: Mapping[str, Any], n: int) -> int | None:
    """The moved item's warranty duration: its ``warranty_months`` attribute."""
    product = move.get("product.")
    attributes = product.get("attributes") if isinstance(product, Mapping) else None
    months = attributes.get(WARRANTY_ATTRIBUTE) if isinstance(attributes, Mapping) else None
    if months is None:
        return None
    if isinstance(months, bool) or not isinstance(months, int) or months < 0:
        raise MappingError(
            f"{str(months)[:40]!r} is not a number of months", field=f"moves[{n}].product"
        )
    return months


def _shipment_lines(record: Mapping[str, Any]) -> dict[int, list[ShipmentLine]]:
    """Per customer shipment, what its moves carry (cancelled moves carry nothing)."""
    found: dict[int, list[ShipmentLine]] = {}
    for n, move in enumerate(sorted(_rows(record, "moves"), key=lambda m: m["id"]), 1):
        shipment = _shipment_of(move)
        if shipment is None or move.get("state") == "cancelled":
            continue
        product = move.get("product")
        lot = move.get("lot.")
        found.setdefault(shipment, []).append(
            ShipmentLine(
                item=ExternalIds(erp_id=str(product)) if product else None,
                sku=_code(move, "product"),
                quantity=_decimal(move.get("quantity"), f"moves[{n}].quantity"),
                serial_number=(
                    str(lot["number"]) if isinstance(lot, Mapping) and lot.get("number") else None
                ),
                warranty_months=_warranty_months(move, n),
            )
        )
    return found


def _shipments(record: Mapping[str, Any]) -> tuple[Shipment, ...]:
    lines = _shipment_lines(record)
    shipments = []
    for row in sorted(_rows(record, "shipments"), key=lambda r: r["id"]):
        try:
            state = ShipmentState(str(row.get("state")))
        except ValueError:
            raise MappingError(
                f"{str(row.get('state'))[:40]!r} is not a shipment state", field="shipments"
            ) from None
        shipments.append(
            Shipment(
                ids=ExternalIds(erp_id=str(row["id"])),
                number=row.get("number") or None,
                reference=row.get("reference") or None,
                state=state,
                planned_date=_date(row.get("planned_date")),
                effective_date=_date(row.get("effective_date")),
                lines=tuple(lines.get(int(row["id"]), ())),
            )
        )
    return tuple(shipments)


def _subscription_lines(
    row: Mapping[str, Any], currency: str, n: int
) -> tuple[SubscriptionLine, ...]:
    """What the subscription bills for: each line's service product, quantity and price."""
    lines = []
    for m, line in enumerate(sorted(_rows(row, "lines."), key=lambda r: r["id"]), 1):
        where = f"subscriptions[{n}].lines[{m}]"
        service = line.get("service.")
        product = service.get("product") if isinstance(service, Mapping) else None
        lines.append(
            SubscriptionLine(
                item=ExternalIds(erp_id=str(product)) if product else None,
                sku=_code(service, "product") if isinstance(service, Mapping) else None,
                description=line.get("description") or None,
                quantity=_decimal(line.get("quantity"), f"{where}.quantity"),
                unit_price=_money(line.get("unit_price"), currency, f"{where}.unit_price"),
            )
        )
    return tuple(lines)


def _subscriptions(record: Mapping[str, Any], currency: str) -> tuple[Subscription, ...]:
    subscriptions = []
    for n, row in enumerate(sorted(_rows(record, "subscriptions"), key=lambda r: r["id"]), 1):
        try:
            state = SubscriptionState(str(row.get("state")))
        except ValueError:
            raise MappingError(
                f"{str(row.get('state'))[:40]!r} is not a subscription state",
                field="subscriptions",
            ) from None
        subscriptions.append(
            Subscription(
                ids=ExternalIds(erp_id=str(row["id"])),
                number=row.get("number") or None,
                state=state,
                start_date=_date(row.get("start_date")),
                end_date=_date(row.get("end_date")),
                next_invoice_date=_date(row.get("next_invoice_date")),
                lines=_subscription_lines(row, _code(row, "currency") or currency, n),
            )
        )
    return tuple(subscriptions)


def _origin_sale(record: Mapping[str, Any]) -> ExternalIds | None:
    """The sale a return sale returns: its ``origin`` (``"sale.sale,ID"``)."""
    model, _, sale = str(record.get("origin") or "").partition(",")
    return ExternalIds(erp_id=sale) if model == SALE and sale.isdigit() else None


def _customer_ids(record: Mapping[str, Any]) -> ExternalIds:
    return ExternalIds(
        erp_id=str(record["party"]), crm_id=crm_id_of(record.get("party_identifiers"))
    )


def to_sales_order(record: Mapping[str, Any], updated_at: datetime) -> SalesOrder:
    currency = _currency(record)
    reference = str(record.get("reference") or "").strip() or None
    return SalesOrder(
        # The deal id is the order's CRM-side id too: the xref links deal and sale.
        ids=ExternalIds(erp_id=str(record["id"]), crm_id=reference),
        number=record.get("number") or None,
        reference=reference,
        customer=_customer_ids(record),
        quote=ExternalIds(crm_id=reference) if reference else None,
        currency=currency,
        state=SalesOrderState(record["state"]),
        invoice_status=_INVOICE_STATUS.get(str(record.get("invoice_state")), InvoiceStatus.NONE),
        order_date=_date(record.get("sale_date")),
        lines=_lines(record, currency, Decimal(1)),
        untaxed=_money(record.get("untaxed_amount"), currency, "untaxed_amount"),
        tax=_money(record.get("tax_amount"), currency, "tax_amount"),
        total=_money(record.get("total_amount"), currency, "total_amount"),
        updated_at=updated_at,
        shipment_status=_SHIPMENT_STATUS.get(
            str(record.get("shipment_state")), ShipmentStatus.NONE
        ),
        shipments=_shipments(record),
        subscriptions=_subscriptions(record, currency),
        return_of=_origin_sale(record),
    )


def _due_date(record: Mapping[str, Any]) -> date | None:
    """The earliest maturity of the invoice's receivable lines (its next due date)."""
    dates = [
        due
        for line in record.get("lines_to_pay") or ()
        if isinstance(line, Mapping) and (due := _date(line.get("maturity_date")))
    ]
    return min(dates) if dates else None


def _overpayment(record: Mapping[str, Any]) -> Decimal:
    """What the pay wizard kept of a receipt as the customer's credit: the lines of the same
    move on the same receivable account and party that pay no invoice (Tryton's
    ``pay_invoice`` with an ``overpayment``). Whether that very line is reconciled does not
    matter: when the payment settles the invoice exactly, Tryton reconciles the invoice with
    it and leaves an earlier partial payment open instead; the customer's credit is the
    same."""
    total = Decimal(0)
    for line in record.get("move_lines") or ():
        if not isinstance(line, Mapping):
            continue
        same_account = line.get("account") == record.get("account")
        if not same_account or line.get("party") != record.get("party"):
            continue
        if line.get("invoice_payment") is not None:
            continue
        total += _decimal(line.get("credit"), "credit") - _decimal(line.get("debit"), "debit")
    return max(total, Decimal(0))


def to_payment(record: Mapping[str, Any], updated_at: datetime) -> Payment | None:
    """A customer payment (a credit on the receivable paying an invoice, with what it paid
    above the invoice as ``unapplied``), or a refund (a debit paying out a credit note);
    None for a line without a party or amount."""
    currency = _code(record, "currency")
    if currency is None:
        raise MappingError("the payment has no currency", field="currency")
    amount = _decimal(record.get("credit"), "credit") - _decimal(record.get("debit"), "debit")
    if amount == 0 or record.get("party") is None:
        return None
    refund = amount < 0
    received = _date(record.get("date"))
    if received is None:
        raise MappingError("the payment has no date", field="date")
    applied = Money(amount=abs(amount), currency=currency)
    over = Decimal(0) if refund else _overpayment(record)
    invoice = record.get("invoice_payment")
    journal = record.get("journal.")
    move = record.get("move.")
    return Payment(
        ids=ExternalIds(erp_id=str(record["id"])),
        customer=_customer_ids(record),
        amount=Money(amount=applied.amount + over, currency=currency),
        received_on=received,
        method=str(journal["name"])
        if isinstance(journal, Mapping) and journal.get("name")
        else None,
        reference=(
            str(record.get("description") or "")
            or (str(move["number"]) if isinstance(move, Mapping) and move.get("number") else None)
        ),
        applications=(
            (PaymentApplication(invoice=ExternalIds(erp_id=str(invoice)), amount=applied),)
            if invoice
            else ()
        ),
        updated_at=updated_at,
        refund=refund,
        unapplied=Money(amount=over, currency=currency) if over else None,
    )


def is_credit_note(record: Mapping[str, Any]) -> bool:
    return _decimal(record.get("total_amount"), "total_amount") < 0


def to_invoice(record: Mapping[str, Any], updated_at: datetime) -> Invoice:
    currency = _currency(record)
    sales = record.get("sales") or []
    return Invoice(
        ids=ExternalIds(erp_id=str(record["id"])),
        number=record.get("number") or None,
        customer=_customer_ids(record),
        sales_order=ExternalIds(erp_id=str(sales[0])) if sales else None,
        currency=currency,
        state=InvoiceState(record["state"]),
        invoice_date=_date(record.get("invoice_date")),
        due_date=_due_date(record),
        lines=_lines(record, currency, Decimal(1)),
        untaxed=_money(record.get("untaxed_amount"), currency, "untaxed_amount"),
        tax=_money(record.get("tax_amount"), currency, "tax_amount"),
        total=_money(record.get("total_amount"), currency, "total_amount"),
        amount_due=_money(record.get("amount_to_pay"), currency, "amount_to_pay"),
        updated_at=updated_at,
    )


def _negated(record: Mapping[str, Any], field: str, currency: str) -> Money:
    return Money(amount=-_decimal(record.get(field), field), currency=currency)


def to_credit_memo(record: Mapping[str, Any], updated_at: datetime) -> CreditMemo:
    """A credit note: an invoice with a negative total, whose lines credit the lines of the
    invoice it corrects (``origin_invoices``); its open credit is its amount to pay, negative
    in Tryton until it is reconciled."""
    currency = _currency(record)
    minus = Decimal(-1)
    sales = record.get("sales") or []
    credited = record.get("origin_invoices") or []
    to_pay = record.get("amount_to_pay")
    return CreditMemo(
        ids=ExternalIds(erp_id=str(record["id"])),
        number=record.get("number") or None,
        customer=_customer_ids(record),
        sales_order=ExternalIds(erp_id=str(sales[0])) if sales else None,
        credited_invoice=ExternalIds(erp_id=str(credited[0])) if credited else None,
        amount_open=(
            None
            if to_pay is None
            else Money(amount=abs(_decimal(to_pay, "amount_to_pay")), currency=currency)
        ),
        currency=currency,
        state=InvoiceState(record["state"]),
        issue_date=_date(record.get("invoice_date")),
        reason=record.get("description") or None,
        lines=_lines(record, currency, minus),
        untaxed=_negated(record, "untaxed_amount", currency),
        tax=_negated(record, "tax_amount", currency),
        total=_negated(record, "total_amount", currency),
        updated_at=updated_at,
    )


def to_customer_invoice(
    record: Mapping[str, Any], updated_at: datetime
) -> Invoice | CreditMemo | None:
    """A customer invoice, or a credit memo when its total is negative; None for a supplier
    invoice (not part of quote-to-cash)."""
    if record.get("type", "out") != "out":
        return None
    if is_credit_note(record):
        return to_credit_memo(record, updated_at)
    return to_invoice(record, updated_at)


class TrytonMapper(Mapper):
    system: ClassVar[str] = SYSTEM
    role: ClassVar[SystemRole] = SystemRole.ERP

    def __init__(self, currency: str = "USD", own_parties: frozenset[str] = frozenset()) -> None:
        self.currency = currency  # the company currency: products' list prices are in it
        # The company's own party and its employees' are no customers (and must not reach
        # the CRM as accounts).
        self.own_parties = own_parties
        # Deletions are reported for parties, products and sales only (see the source's
        # ``ModifiedStream.reports_deletes``).
        self.records = {
            PARTY: RecordType(
                EntityKind.CUSTOMER,
                lambda record, at: (
                    None
                    if str(record.get("id")) in own_parties
                    else to_customer(record, at, currency)
                ),
            ),
            PRODUCT: RecordType(EntityKind.ITEM, lambda record, at: to_item(record, at, currency)),
            SALE: RecordType(EntityKind.SALES_ORDER, to_sales_order),
            INVOICE: RecordType(EntityKind.INVOICE, to_customer_invoice, deletes=False),
            PAYMENT: RecordType(EntityKind.PAYMENT, to_payment, deletes=False),
        }
