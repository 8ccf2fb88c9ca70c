"""The BottleCRM client against the real BottleCRM server (one per session, an org per test)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from pydantic import SecretStr

from connectors.base import ConnectorError, ErrorKind
from connectors.bottlecrm import BottleCrmClient
from connectors.bottlecrm.errors import CustomFieldsNotApplied
from connectors.bottlecrm.fields import ACCOUNT_FIELDS, DEAL_FIELDS, Q2C_FIELDS
from connectors.bottlecrm.models import (
    AccountInput,
    ContactInput,
    DealInput,
    DealStage,
    LineItemInput,
    ProductInput,
)
from q2c.devstack.bottlecrm import BottleCrmServer, OrgAccess, provision_org

pytestmark = pytest.mark.integration


async def test_account_create_read_update_delete(bottlecrm_client: BottleCrmClient) -> None:
    crm = bottlecrm_client
    account_id = await crm.create_account(
        AccountInput(name="Acme Ltd", email="ap@acme.example", city="Lyon", currency="EUR")
    )

    account = await crm.get_account(account_id)
    assert (account.name, account.email, account.city, account.currency) == (
        "Acme Ltd",
        "ap@acme.example",
        "Lyon",
        "EUR",
    )

    await crm.update_account(account_id, AccountInput(name="Acme SA", phone="+33 4 72 00 00 00"))
    updated = await crm.get_account(account_id)
    assert updated.name == "Acme SA"
    assert updated.phone is not None
    assert updated.phone.replace(" ", "").endswith("472000000")
    assert updated.email == "ap@acme.example"  # PATCH leaves other fields alone
    assert [a.id async for a in crm.accounts()] == [account_id]

    await crm.delete_account(account_id)
    with pytest.raises(ConnectorError) as gone:
        await crm.get_account(account_id)
    assert gone.value.kind is ErrorKind.SKIPPABLE
    assert gone.value.status == 404


async def test_contact_create_read_update_delete(bottlecrm_client: BottleCrmClient) -> None:
    crm = bottlecrm_client
    account_id = await crm.create_account(AccountInput(name="Globex"))
    contact_id = await crm.create_contact(
        ContactInput(first_name="Ada", last_name="Lovelace", email="ada@globex.example")
    )
    await crm.update_contact(contact_id, ContactInput(title="CTO", account=account_id))

    contact = await crm.get_contact(contact_id)
    assert (contact.first_name, contact.last_name, contact.title, contact.account) == (
        "Ada",
        "Lovelace",
        "CTO",
        account_id,
    )
    listed = [c async for c in crm.contacts()]
    assert [c.email for c in listed] == ["ada@globex.example"]

    await crm.delete_contact(contact_id)
    assert [c async for c in crm.contacts()] == []


async def test_deal_with_line_items_is_won(bottlecrm_client: BottleCrmClient) -> None:
    crm = bottlecrm_client
    account_id = await crm.create_account(AccountInput(name="Initech"))
    widget = await crm.create_product(
        ProductInput(name="Widget", sku="W-100", price=Decimal("12.50"), currency="USD")
    )
    deal_id = await crm.create_deal(
        DealInput(name="Initech widgets", account=account_id, stage=DealStage.PROPOSAL)
    )

    first = await crm.add_line_item(
        deal_id,
        LineItemInput(
            product_id=widget.id, name="Widget", quantity=Decimal(3), unit_price=widget.price
        ),
    )
    second = await crm.add_line_item(
        deal_id,
        LineItemInput(
            name="Installation",
            quantity=Decimal(1),
            unit_price=Decimal("100.00"),
            discount_type="PERCENTAGE",
            discount_value=Decimal(10),
        ),
    )
    assert (first.total, second.total) == (Decimal("37.50"), Decimal("90.00"))
    assert first.product is not None
    assert first.product.sku == "W-100"

    deal = await crm.get_deal(deal_id)
    assert deal.amount == first.total + second.total == Decimal("127.50")
    assert deal.account is not None
    assert deal.account.id == account_id
    assert sorted(item.id for item in deal.line_items) == sorted([first.id, second.id])

    await crm.update_line_item(deal_id, first.id, LineItemInput(quantity=Decimal(4)))
    assert (await crm.get_deal(deal_id)).amount == Decimal("140.00")

    await crm.close_won(deal_id, date(2026, 11, 26))
    won = await crm.get_deal(deal_id)
    assert (won.stage, won.closed_on) == (DealStage.CLOSED_WON, date(2026, 11, 26))

    listed = [d async for d in crm.deals()]
    assert [(d.id, d.stage, d.amount, len(d.line_items)) for d in listed] == [
        (deal_id, "CLOSED_WON", Decimal("140.00"), 2)
    ]

    await crm.delete_line_item(deal_id, second.id)
    assert [i.id for i in await crm.line_items(deal_id)] == [first.id]
    await crm.delete_deal(deal_id)
    assert [d async for d in crm.deals()] == []


async def test_won_deal_needs_close_date(bottlecrm_client: BottleCrmClient) -> None:
    crm = bottlecrm_client
    deal_id = await crm.create_deal(DealInput(name="No date", amount=Decimal(10)))
    with pytest.raises(ConnectorError) as refused:
        await crm.update_deal(deal_id, DealInput(stage=DealStage.CLOSED_WON))
    assert refused.value.kind is ErrorKind.SKIPPABLE
    assert "closed_on" in refused.value.reason


async def test_products_by_sku(bottlecrm_client: BottleCrmClient) -> None:
    crm = bottlecrm_client
    made = await crm.create_product(ProductInput(name="Gadget", sku="G-1", price=Decimal("5.00")))
    await crm.create_product(ProductInput(name="Gadget XL", sku="G-10", price=Decimal("9.00")))

    found = await crm.find_product_by_sku("G-1")
    assert found is not None
    assert found.id == made.id
    assert await crm.find_product_by_sku("G-2") is None

    changed = await crm.update_product(made.id, ProductInput(price=Decimal("5.50")))
    assert changed.price == Decimal("5.50")
    assert (await crm.get_product(made.id)).price == Decimal("5.50")


async def test_custom_fields_written_and_read_back(
    bottlecrm_client: BottleCrmClient,
) -> None:
    crm = bottlecrm_client
    defined = {(d.target_model, d.key) for d in await crm.custom_fields()}
    assert {(f.target_model, f.key) for f in Q2C_FIELDS} <= defined

    account_id = await crm.create_account(AccountInput(name="Umbrella"))
    deal_id = await crm.create_deal(DealInput(name="Umbrella order", account=account_id))
    deal_values = {
        "erp_order_number": "SO-00042",
        "erp_order_state": "processing",
        "erp_invoice_status": "partially paid",
        "erp_invoice_numbers": "INV-7, INV-9",
        "erp_invoiced_total": Decimal("1234.56"),
        "erp_amount_due": Decimal("200.00"),
        "erp_credit": Decimal("30.00"),
        "erp_refunded_total": Decimal("20.00"),
        "erp_last_payment_date": date(2026, 11, 20),
        "erp_shipment_status": "partially_shipped",
        "erp_shipped_date": date(2026, 11, 21),
        "erp_tracking_references": "1Z999AA10123456784",
        "erp_shipments": "CS1 done, shipped 2026-11-21: 1 x W-1\nCS2 waiting: 1 x W-1",
        "erp_returns": "Return 7 processing: 1 x W-1 (100.00); credited 100.00 by CN-3",
        "erp_returned_total": Decimal("100.00"),
        "erp_credited_total": Decimal("100.00"),
        "erp_subscriptions": "SUB-3 running, 2026-12-01 to 2027-11-30, next invoice 2027-01-01",
        "erp_renewal_date": date(2027, 11, 30),
        "q2c_renewal_key": "tryton:subscription:3:2027-11-30",
        "q2c_renewal_of": "deal-7",
        "q2c_sync_status": "synced",
        "q2c_sync_reason": "",
    }
    assert set(deal_values) == {f.key for f in DEAL_FIELDS}
    stored = await crm.write_custom_fields("Opportunity", deal_id, deal_values)
    assert stored["erp_order_number"] == "SO-00042"
    assert stored["erp_invoiced_total"] == pytest.approx(1234.56)
    assert stored["erp_last_payment_date"] == "2026-11-20"
    assert stored["erp_shipments"].splitlines()[1] == "CS2 waiting: 1 x W-1"
    assert "q2c_sync_reason" not in stored  # an empty value is not stored

    # A second write changes only the keys it names.
    await crm.write_custom_fields("Opportunity", deal_id, {"erp_amount_due": Decimal(0)})
    deal = await crm.get_deal(deal_id)
    assert deal.custom_fields["erp_amount_due"] == 0
    assert deal.custom_fields["erp_order_number"] == "SO-00042"

    account_values = {
        "erp_customer_code": "C-0007",
        "erp_outstanding_balance": Decimal("980.10"),
        "erp_overdue_balance": Decimal("120.00"),
        "erp_unapplied_credit": Decimal("30.00"),
        "erp_last_payment_date": "2026-11-01",
        "erp_serial_numbers": "SN-0001 S-1, shipped 2026-11-02, warranty until 2027-11-02",
        "erp_next_warranty_end": "2027-11-02",
        "erp_balances": "USD 980.10 (overdue 120.00)",
        "erp_finance_status": "accepted",
        "erp_credit_limit": Decimal("5000.00"),
        "erp_available_credit": Decimal("4019.90"),
        "erp_credit_hold": "no",
        "erp_payment_terms": "30 days",
        "erp_price_book": "Gold",
        "q2c_sync_status": "rejected",
        "q2c_sync_reason": "credit limit exceeded",
    }
    assert set(account_values) == {f.key for f in ACCOUNT_FIELDS}
    await crm.write_custom_fields("Account", account_id, account_values)
    account = await crm.get_account(account_id)
    assert account.custom_fields["q2c_sync_reason"] == "credit limit exceeded"
    assert account.custom_fields["erp_outstanding_balance"] == pytest.approx(980.10)
    assert account.custom_fields["erp_credit_limit"] == pytest.approx(5000)
    assert account.custom_fields["erp_finance_status"] == "accepted"


async def test_unknown_custom_field_is_detected(bottlecrm_client: BottleCrmClient) -> None:
    crm = bottlecrm_client
    deal_id = await crm.create_deal(DealInput(name="Stark order"))
    with pytest.raises(CustomFieldsNotApplied) as dropped:
        await crm.write_custom_fields(
            "Opportunity", deal_id, {"erp_order_number": "SO-1", "erp_not_defined": "x"}
        )
    assert dropped.value.keys == ["erp_not_defined"]
    assert dropped.value.kind is ErrorKind.SKIPPABLE
    # BottleCRM answered 200 and kept the defined key.
    assert (await crm.get_deal(deal_id)).custom_fields == {"erp_order_number": "SO-1"}


async def test_invalid_custom_value_is_skippable_with_reason(
    bottlecrm_client: BottleCrmClient,
) -> None:
    crm = bottlecrm_client
    deal_id = await crm.create_deal(DealInput(name="Wayne order"))
    with pytest.raises(ConnectorError) as refused:
        await crm.write_custom_fields("Opportunity", deal_id, {"q2c_sync_status": "bogus"})
    assert refused.value.kind is ErrorKind.SKIPPABLE
    assert refused.value.status == 400
    assert "custom_fields.q2c_sync_status: must be one of" in refused.value.reason


async def test_field_errors_are_the_reason(bottlecrm_client: BottleCrmClient) -> None:
    with pytest.raises(ConnectorError) as refused:
        await bottlecrm_client.create_contact(ContactInput(first_name="Nolast"))
    assert refused.value.kind is ErrorKind.SKIPPABLE
    assert refused.value.reason == "rejected: last_name: This field is required."


async def test_ensure_custom_fields_is_idempotent(bottlecrm_client: BottleCrmClient) -> None:
    first = await bottlecrm_client.ensure_custom_fields(Q2C_FIELDS)
    again = await bottlecrm_client.ensure_custom_fields(Q2C_FIELDS)
    assert [d.id for d in first] == [d.id for d in again]
    assert len(await bottlecrm_client.custom_fields()) == len(Q2C_FIELDS)


async def test_pages_through_every_record(bottlecrm_org: OrgAccess) -> None:
    async with BottleCrmClient(bottlecrm_org.settings(page_size=2)) as crm:
        made = {await crm.create_account(AccountInput(name=f"Account {i}")) for i in range(5)}
        inactive = await crm.create_account(AccountInput(name="Dormant"))
        await crm.call("PATCH", f"/api/accounts/{inactive}/", json={"is_active": False})
        seen = [a.id async for a in crm.accounts()]
        assert sorted(seen) == sorted([*made, inactive])
        for i in range(3):
            await crm.create_product(ProductInput(name=f"P{i}", sku=f"P-{i}", price=Decimal(1)))
        assert sorted([p.sku or "" async for p in crm.products()]) == ["P-0", "P-1", "P-2"]


async def test_orgs_do_not_see_each_other(
    bottlecrm: BottleCrmServer, bottlecrm_client: BottleCrmClient
) -> None:
    """What per-test isolation rests on: another org sees none of this org's records."""
    mine = await bottlecrm_client.create_account(AccountInput(name="Mine"))
    assert bottlecrm.user_jwt is not None
    other = await provision_org(bottlecrm.url, bottlecrm.user_jwt, "test-other-org")
    async with BottleCrmClient(other.settings()) as theirs:
        assert [a async for a in theirs.accounts()] == []
        with pytest.raises(ConnectorError) as hidden:
            await theirs.get_account(mine)
    assert hidden.value.status == 404
    assert [a.name async for a in bottlecrm_client.accounts()] == ["Mine"]


async def test_bad_token_is_fatal(bottlecrm_org: OrgAccess) -> None:
    settings = bottlecrm_org.settings(token=SecretStr("bcrm_pat_not-a-real-token"))
    async with BottleCrmClient(settings) as crm:
        with pytest.raises(ConnectorError) as refused:
            await crm.get_account("00000000-0000-0000-0000-000000000000")
    assert refused.value.kind is ErrorKind.FATAL
    assert "not-a-real-token" not in str(refused.value) + refused.value.detail
