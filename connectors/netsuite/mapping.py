"""NetSuite records → canonical entities. Pure functions, no I/O.

Records arrive as the source publishes them: SuiteQL rows (lower-case columns, string
values, ``T``/``F`` booleans, times in the account's zone) with what rides along (see
:mod:`connectors.netsuite.records`). Customers are customers (their external id is the
CRM account id q2c upserted them by), items are items (``itemid`` is the SKU), sales
orders carry the CRM deal id as external id, invoices and credit memos carry their
customer and the order or invoice they were made from, payments the invoices they are
applied to. NetSuite keeps transaction amounts signed by their accounting side; the
canonical documents carry them positive. Subsidiary, currency and exchange rate stay in
the raw record (the raw topic keeps the source's truth); the canonical document carries
its currency's ISO code.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import Any, ClassVar

from connectors.base.mapping import Mapper, MappingError, RecordType
from connectors.netsuite.errors import SYSTEM
from connectors.netsuite.records import CREDIT_MEMO, CUSTOMER, INVOICE, ITEM, PAYMENT, SALES_ORDER
from connectors.netsuite.suiteql import parse_bool, parse_date, parse_decimal
from schemas import (
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
)
from schemas.changes import SystemRole

_ORDER_STATES: Mapping[str, SalesOrderState] = {
    "A": SalesOrderState.QUOTATION,  # Pending Approval
    "B": SalesOrderState.CONFIRMED,  # Pending Fulfillment
    "C": SalesOrderState.CANCELLED,
    "D": SalesOrderState.PROCESSING,  # Partially Fulfilled
    "E": SalesOrderState.PROCESSING,  # Pending Billing/Partially Fulfilled
    "F": SalesOrderState.PROCESSING,  # Pending Billing
    "G": SalesOrderState.DONE,  # Billed
    "H": SalesOrderState.DONE,  # Closed
}
_ORDER_STATE_NAMES: Mapping[str, str] = {
    "pending approval": "A",
    "pending fulfillment": "B",
    "cancelled": "C",
    "partially fulfilled": "D",
    "pending billing/partially fulfilled": "E",
    "pending billing": "F",
    "billed": "G",
    "closed": "H",
}
_ORDER_INVOICING: Mapping[str, InvoiceStatus] = {
    "E": InvoiceStatus.PENDING,
    "F": InvoiceStatus.PENDING,
    "G": InvoiceStatus.AWAITING_PAYMENT,
}
_INVOICE_STATE_NAMES: Mapping[str, str] = {
    "open": "A",
    "paid in full": "B",
    "fully applied": "B",
    "voided": "V",
    "pending approval": "D",
    "rejected": "E",
}


def status_code(value: Any, names: Mapping[str, str]) -> str:
    """A transaction status as its code letter: ``B``, ``SalesOrd:B`` or ``Pending
    Fulfillment`` all read ``B``."""
    text = str(value or "").strip()
    if ":" in text:
        text = text.rsplit(":", 1)[1]
    if len(text) == 1:
        return text.upper()
    return names.get(text.lower(), text)


def order_status_code(value: Any) -> str:
    """A sales order's status as its code letter (``A`` pending approval … ``H`` closed)."""
    return status_code(value, _ORDER_STATE_NAMES)


def _text(record: Mapping[str, Any], *names: str) -> str | None:
    for name in names:
        value = record.get(name)
        if value is not None and str(value).strip():
            return str(value).strip()
    return None


def _decimal(record: Mapping[str, Any], *names: str, default: Decimal | None = None) -> Decimal:
    for name in names:
        if record.get(name) not in (None, ""):
            try:
                number = parse_decimal(record[name])
            except ValueError as exc:
                raise MappingError(str(exc), field=name) from None
            assert number is not None
            return number
    if default is not None:
        return default
    raise MappingError("a number is missing", field=names[0])


def _date(record: Mapping[str, Any], name: str) -> Any:
    try:
        return parse_date(record.get(name))
    except ValueError as exc:
        raise MappingError(str(exc), field=name) from None


Currencies = Mapping[str, str]
"""NetSuite currency internal id → ISO code."""


def currency_of(record: Mapping[str, Any], currencies: Currencies) -> str:
    """The ISO code of the record's currency: the ``currencysymbol`` read with it, else its
    ``currency`` id looked up in the account's currencies (a REST record names it by id)."""
    code = _text(record, "currencysymbol") or currencies.get(_text(record, "currency") or "")
    if code is None or len(code) != 3:
        raise MappingError("the record's currency has no ISO code", field="currency")
    return code.upper()


def to_customer(
    record: Mapping[str, Any], updated_at: datetime, currencies: Currencies
) -> Customer:
    name = _text(record, "companyname", "altname", "entityid")
    if name is None:
        raise MappingError("a customer needs a name", field="companyname")
    inactive = parse_bool(record.get("isinactive"))
    on_hold = str(record.get("creditholdoverride") or "").upper() == "ON"
    return Customer(
        ids=ExternalIds(erp_id=str(record["id"]), crm_id=_text(record, "externalid")),
        name=name,
        status=CustomerStatus.INACTIVE if inactive else CustomerStatus.ACTIVE,
        # A customer finance put on credit hold cannot take new orders.
        approved=not inactive and not on_hold,
        email=_text(record, "email"),
        phone=_text(record, "phone"),
        website=_text(record, "url"),
        currency=currency_of(record, currencies) if _text(record, "currency") else None,
        payment_terms=_text(record, "terms"),
        updated_at=updated_at,
    )


def to_item(record: Mapping[str, Any], updated_at: datetime, currency: str) -> Item:
    sku = _text(record, "itemid")
    if sku is None:
        raise MappingError("an item needs an itemid (its SKU) to be synced", field="itemid")
    prices = _base_prices(record, currency)
    inactive = parse_bool(record.get("isinactive"))
    return Item(
        ids=ExternalIds(erp_id=str(record["id"]), crm_id=None),
        sku=sku,
        name=_text(record, "displayname", "itemid") or sku,
        description=_text(record, "salesdescription", "description"),
        saleable=not inactive,
        active=not inactive,
        prices=prices,
        updated_at=updated_at,
    )


def _base_prices(record: Mapping[str, Any], currency: str) -> tuple[PriceBookPrice, ...]:
    """The item's base price level prices (``baseprices``: currency symbol and unit price
    each), else a ``price``/``rate`` column in ``currency``."""
    listed = record.get("baseprices")
    if isinstance(listed, list) and listed:
        prices = []
        for n, entry in enumerate(listed):
            if not isinstance(entry, Mapping) or not entry.get("currency"):
                raise MappingError("a base price needs its currency", field=f"baseprices[{n}]")
            amount = _decimal(entry, "unitprice")
            code = str(entry["currency"]).upper()
            prices.append(PriceBookPrice(unit_price=Money(amount=amount, currency=code)))
        return tuple(prices)
    for name in ("price", "rate"):
        if record.get(name) not in (None, ""):
            amount = _decimal(record, name)
            return (PriceBookPrice(unit_price=Money(amount=amount, currency=currency)),)
    return ()


def _lines(record: Mapping[str, Any], currency: str) -> tuple[DocumentLine, ...]:
    rows = record.get("lines") or []
    if not isinstance(rows, list):
        raise MappingError("a list was expected", field="lines")
    lines: list[DocumentLine] = []
    for row in rows:
        if not isinstance(row, Mapping) or parse_bool(row.get("mainline")):
            continue  # the header line carries the document's own amounts
        if parse_bool(row.get("taxline")) or not row.get("item"):
            continue
        n = len(lines) + 1
        where = f"lines[{n}]"
        quantity = abs(_decimal(row, "quantity", default=Decimal(1)))
        amount = abs(_decimal(row, "foreignamount", "netamount", "amount", default=Decimal(0)))
        rate = row.get("rate")
        unit = (
            abs(_decimal(row, "rate"))
            if rate not in (None, "")
            else (amount / quantity if quantity else Decimal(0))
        )
        try:
            lines.append(
                DocumentLine(
                    line_no=n,
                    item=ExternalIds(erp_id=str(row["item"])),
                    sku=_text(row, "itemsku"),
                    description=_text(row, "memo"),
                    quantity=quantity,
                    unit_price=Money(amount=unit, currency=currency),
                    amount=Money(amount=amount, currency=currency),
                )
            )
        except ValueError as exc:
            raise MappingError(str(exc), field=where) from None
    return tuple(lines)


def _totals(record: Mapping[str, Any], currency: str) -> tuple[Money, Money, Money]:
    total = abs(_decimal(record, "foreigntotal", "total"))
    tax = abs(_decimal(record, "taxtotal", default=Decimal(0)))
    return (
        Money(amount=total - tax, currency=currency),
        Money(amount=tax, currency=currency),
        Money(amount=total, currency=currency),
    )


def _customer_ids(record: Mapping[str, Any]) -> ExternalIds:
    entity = _text(record, "entity")
    if entity is None:
        raise MappingError("the transaction has no customer", field="entity")
    return ExternalIds(erp_id=entity, crm_id=_text(record, "entityexternalid"))


def _created_from(record: Mapping[str, Any]) -> str | None:
    found = _text(record, "createdfrom")
    if found:
        return found
    for line in record.get("lines") or ():
        if isinstance(line, Mapping) and (found := _text(line, "createdfrom")):
            return found
    return None


def to_sales_order(
    record: Mapping[str, Any], updated_at: datetime, currencies: Currencies
) -> SalesOrder:
    currency = currency_of(record, currencies)
    reference = _text(record, "externalid")
    code = status_code(record.get("status"), _ORDER_STATE_NAMES)
    state = _ORDER_STATES.get(code)
    if state is None:
        raise MappingError(f"unknown sales order status {code[:20]!r}", field="status")
    untaxed, tax, total = _totals(record, currency)
    return SalesOrder(
        ids=ExternalIds(erp_id=str(record["id"]), crm_id=reference),
        number=_text(record, "tranid"),
        reference=reference,
        customer=_customer_ids(record),
        quote=ExternalIds(crm_id=reference) if reference else None,
        currency=currency,
        state=state,
        invoice_status=_ORDER_INVOICING.get(code, InvoiceStatus.NONE),
        order_date=_date(record, "trandate"),
        lines=_lines(record, currency),
        untaxed=untaxed,
        tax=tax,
        total=total,
        updated_at=updated_at,
    )


def _invoice_state(record: Mapping[str, Any]) -> InvoiceState:
    code = status_code(record.get("status"), _INVOICE_STATE_NAMES)
    if code == "B":
        return InvoiceState.PAID
    if code in ("V", "C"):
        return InvoiceState.CANCELLED
    if code in ("D", "E"):
        return InvoiceState.DRAFT
    return InvoiceState.POSTED


def to_invoice(record: Mapping[str, Any], updated_at: datetime, currencies: Currencies) -> Invoice:
    currency = currency_of(record, currencies)
    untaxed, tax, total = _totals(record, currency)
    state = _invoice_state(record)
    remaining = record.get("foreignamountunpaid", record.get("foreignamountremaining"))
    due = (
        abs(_decimal(record, "foreignamountunpaid", "foreignamountremaining"))
        if remaining not in (None, "")
        else (Decimal(0) if state in (InvoiceState.PAID, InvoiceState.CANCELLED) else total.amount)
    )
    order = _created_from(record)
    return Invoice(
        ids=ExternalIds(erp_id=str(record["id"])),
        number=_text(record, "tranid"),
        customer=_customer_ids(record),
        sales_order=ExternalIds(erp_id=order) if order else None,
        currency=currency,
        state=state,
        invoice_date=_date(record, "trandate"),
        due_date=_date(record, "duedate"),
        lines=_lines(record, currency),
        untaxed=untaxed,
        tax=tax,
        total=total,
        amount_due=Money(amount=due, currency=currency),
        updated_at=updated_at,
    )


def to_credit_memo(
    record: Mapping[str, Any], updated_at: datetime, currencies: Currencies
) -> CreditMemo:
    currency = currency_of(record, currencies)
    untaxed, tax, total = _totals(record, currency)
    credited = _created_from(record)
    return CreditMemo(
        ids=ExternalIds(erp_id=str(record["id"])),
        number=_text(record, "tranid"),
        customer=_customer_ids(record),
        credited_invoice=ExternalIds(erp_id=credited) if credited else None,
        currency=currency,
        state=_invoice_state(record),
        issue_date=_date(record, "trandate"),
        reason=_text(record, "memo"),
        lines=_lines(record, currency),
        untaxed=untaxed,
        tax=tax,
        total=total,
        updated_at=updated_at,
    )


def _applications(record: Mapping[str, Any], currency: str) -> tuple[PaymentApplication, ...]:
    applied: dict[str, Decimal] = {}
    for link in record.get("applications") or ():
        if not isinstance(link, Mapping) or not _text(link, "previousdoc"):
            continue
        amount = abs(_decimal(link, "foreignamount", "amount", default=Decimal(0)))
        key = str(link["previousdoc"])
        applied[key] = applied.get(key, Decimal(0)) + amount
    return tuple(
        PaymentApplication(
            invoice=ExternalIds(erp_id=invoice), amount=Money(amount=amount, currency=currency)
        )
        for invoice, amount in applied.items()
    )


def to_payment(record: Mapping[str, Any], updated_at: datetime, currencies: Currencies) -> Payment:
    currency = currency_of(record, currencies)
    received = _date(record, "trandate")
    if received is None:
        raise MappingError("the payment has no date", field="trandate")
    amount = abs(_decimal(record, "foreigntotal", "total"))
    return Payment(
        ids=ExternalIds(erp_id=str(record["id"])),
        customer=_customer_ids(record),
        amount=Money(amount=amount, currency=currency),
        received_on=received,
        method=_text(record, "paymentmethod", "paymentoption"),
        reference=_text(record, "tranid", "memo"),
        applications=_applications(record, currency),
        updated_at=updated_at,
    )


class NetSuiteMapper(Mapper):
    system: ClassVar[str] = SYSTEM
    role: ClassVar[SystemRole] = SystemRole.ERP

    def __init__(
        self,
        currency: str = "USD",
        currencies: Currencies | None = None,
        currency_id: str = "1",
    ) -> None:
        # The base currency (items' base prices are in it) and the account's currencies by
        # internal id; without them, the base currency is known by its id alone.
        self.currency = currency
        table = dict(currencies or {currency_id: currency})
        self.records = {
            CUSTOMER: RecordType(EntityKind.CUSTOMER, partial(to_customer, currencies=table)),
            ITEM: RecordType(EntityKind.ITEM, partial(to_item, currency=currency)),
            SALES_ORDER: RecordType(
                EntityKind.SALES_ORDER, partial(to_sales_order, currencies=table)
            ),
            INVOICE: RecordType(EntityKind.INVOICE, partial(to_invoice, currencies=table)),
            CREDIT_MEMO: RecordType(
                EntityKind.CREDIT_MEMO, partial(to_credit_memo, currencies=table)
            ),
            PAYMENT: RecordType(EntityKind.PAYMENT, partial(to_payment, currencies=table)),
        }
