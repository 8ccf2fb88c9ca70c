"""What the write-backs put in BottleCRM's custom fields about shipments and returns (on the
deal) and serial numbers with their warranty (on the account)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from connectors.bottlecrm.fields import ACCOUNT_FIELDS, DEAL_FIELDS
from connectors.bottlecrm.sink import (
    account_fields,
    deal_fields,
    renewal_date,
    shipment_lines,
    shipped_on,
)
from schemas import (
    ExternalIds,
    InvoiceStatus,
    Money,
    SalesOrderState,
    Shipment,
    ShipmentLine,
    ShipmentState,
    ShipmentStatus,
    Subscription,
    SubscriptionState,
    UpdateAccountBalance,
    UpdateDealFinancialStatus,
)
from schemas.commands import ReturnedLine, ReturnSummary, SerialNumber

WHEN = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
ZERO = Money(amount=Decimal(0), currency="USD")
DONE = Shipment(
    ids=ExternalIds(erp_id="11"),
    number="CS11",
    reference="1Z-TRACK-1",
    state=ShipmentState.DONE,
    planned_date=date(2026, 12, 1),
    effective_date=date(2026, 12, 2),
    lines=(ShipmentLine(sku="G-1", quantity=Decimal("1.0")), ShipmentLine(quantity=Decimal("0.5"))),
)
WAITING = Shipment(
    ids=ExternalIds(erp_id="12"),
    state=ShipmentState.WAITING,
    lines=(ShipmentLine(item=ExternalIds(erp_id="4"), quantity=Decimal(1)),),
)
CANCELLED = Shipment(
    ids=ExternalIds(erp_id="13"), number="CS13", reference="OLD", state=ShipmentState.CANCELLED
)


def command(**shipping: object) -> UpdateDealFinancialStatus:
    return UpdateDealFinancialStatus.model_validate(
        {
            "idempotency_key": "k",
            "target_system": "bottlecrm",
            "issued_at": WHEN,
            "deal": ExternalIds(crm_id="deal-1"),
            "invoice_status": InvoiceStatus.NONE,
            "invoiced": ZERO,
            "paid": ZERO,
            "outstanding": ZERO,
            "as_of": WHEN,
            **shipping,
        }
    )


def test_shipments_read_one_line_each_without_cancelled_ones() -> None:
    assert shipment_lines((DONE, WAITING, CANCELLED)) == (
        "CS11 done, planned 2026-12-01, shipped 2026-12-02, ref 1Z-TRACK-1: 1 x G-1, 0.5 x ?\n"
        "12 waiting: 1 x 4"
    )
    assert shipment_lines((CANCELLED,)) is None
    assert shipped_on((DONE, WAITING)) == date(2026, 12, 2)
    assert shipped_on((WAITING,)) is None


def test_a_partly_shipped_deal_shows_status_dates_and_tracking() -> None:
    values = deal_fields(
        command(
            shipment_status=ShipmentStatus.PARTIALLY_SHIPPED, shipments=(DONE, WAITING, CANCELLED)
        )
    )
    assert values["erp_shipment_status"] == "partially_shipped"
    assert values["erp_shipped_date"] == date(2026, 12, 2)
    assert values["erp_tracking_references"] == "1Z-TRACK-1"
    assert len(values["erp_shipments"].splitlines()) == 2
    assert set(values) <= {f.key for f in DEAL_FIELDS}


def test_an_erp_that_reports_no_shipments_leaves_the_shipment_fields_alone() -> None:
    values = deal_fields(command())
    assert not {k for k in values if "ship" in k or "tracking" in k}


def balance(serials: tuple[SerialNumber, ...] | None) -> UpdateAccountBalance:
    return UpdateAccountBalance.model_validate(
        {
            "idempotency_key": "k",
            "target_system": "bottlecrm",
            "issued_at": WHEN,
            "account": ExternalIds(crm_id="acc-1"),
            "outstanding": ZERO,
            "overdue": ZERO,
            "as_of": WHEN,
            "serial_numbers": serials,
        }
    )


def test_the_account_lists_serial_numbers_and_the_next_warranty_end() -> None:
    units = (
        SerialNumber(
            serial_number="SN-A",
            sku="S-1",
            shipped_on=date(2025, 1, 5),
            warranty_until=date(2026, 1, 5),  # over before as_of
            order_number="7",
        ),
        SerialNumber(
            serial_number="SN-B",
            sku="S-1",
            shipped_on=date(2026, 12, 1),
            warranty_until=date(2027, 12, 1),
            order_number="9",
        ),
        SerialNumber(serial_number="SN-C"),
    )
    values = account_fields(balance(units))
    assert values["erp_serial_numbers"].splitlines() == [
        "SN-A S-1, shipped 2025-01-05, warranty until 2026-01-05, order 7",
        "SN-B S-1, shipped 2026-12-01, warranty until 2027-12-01, order 9",
        "SN-C",
    ]
    assert values["erp_next_warranty_end"] == date(2027, 12, 1)
    assert set(values) <= {f.key for f in ACCOUNT_FIELDS}


def test_an_erp_that_reports_no_serial_numbers_leaves_them_alone() -> None:
    assert "erp_serial_numbers" not in account_fields(balance(None))
    assert account_fields(balance(()))["erp_serial_numbers"] is None


def usd(amount: str) -> Money:
    return Money(amount=Decimal(amount), currency="USD")


def test_returns_read_one_line_each_with_their_credit() -> None:
    returns = (
        ReturnSummary(
            number="7",
            state=SalesOrderState.PROCESSING,
            lines=(ReturnedLine(sku="R-1", quantity=Decimal("1.0"), amount=usd("100.00")),),
            total=usd("100.00"),
            credited=usd("100.00"),
            credit_notes=("CN-3",),
        ),
        ReturnSummary(state=SalesOrderState.CONFIRMED, total=usd("50.00"), credited=usd("0")),
    )
    values = deal_fields(command(shipment_status=ShipmentStatus.SENT, returns=returns))
    assert values["erp_returns"].splitlines() == [
        "Return 7 processing: 1 x R-1 (100.00); credited 100.00 by CN-3",
        "Return (unnumbered) confirmed",
    ]
    assert (values["erp_returned_total"], values["erp_credited_total"]) == (
        Decimal("150.00"),
        Decimal("100.00"),
    )
    none = deal_fields(command(shipment_status=ShipmentStatus.SENT))
    assert (none["erp_returns"], none["erp_returned_total"], none["erp_credited_total"]) == (
        None,
        None,
        None,
    )


def test_subscriptions_show_with_the_next_renewal_date() -> None:
    subs = (
        Subscription(
            ids=ExternalIds(erp_id="3"),
            number="SUB-3",
            state=SubscriptionState.RUNNING,
            start_date=date(2026, 12, 1),
            end_date=date(2027, 11, 30),
            next_invoice_date=date(2027, 1, 1),
        ),
        Subscription(
            ids=ExternalIds(erp_id="4"),
            state=SubscriptionState.CLOSED,
            start_date=date(2025, 1, 1),
            end_date=date(2025, 12, 31),  # over: no renewal
        ),
        Subscription(ids=ExternalIds(erp_id="5"), state=SubscriptionState.CANCELLED),
        Subscription(
            ids=ExternalIds(erp_id="6"),
            state=SubscriptionState.RUNNING,
            start_date=date(2026, 1, 1),
        ),
    )
    values = deal_fields(command(shipment_status=ShipmentStatus.NONE, subscriptions=subs))
    assert values["erp_subscriptions"].splitlines() == [
        "SUB-3 running, 2026-12-01 to 2027-11-30, next invoice 2027-01-01",
        "4 closed, 2025-01-01 to 2025-12-31",
        "6 running, 2026-01-01 to open end",
    ]
    assert values["erp_renewal_date"] == date(2027, 11, 30)
    assert renewal_date(subs[1:]) is None
