"""The Tryton source streams against the real server: snapshot, overlap de-duplication,
updates, paging, and the records the mapping needs riding along."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from connectors.tryton import TrytonClient, WizardStep
from connectors.tryton.mapping import TrytonMapper
from connectors.tryton.source import (
    AddressStream,
    ContactMechanismStream,
    IdentifierStream,
    InvoiceStream,
    ModifiedCursor,
    PartyStream,
    PaymentStream,
    ProductStream,
    SaleStream,
)
from schemas import (
    Customer,
    ExternalIds,
    Invoice,
    InvoiceState,
    Item,
    Money,
    Operation,
    Payment,
    SalesOrder,
    SalesOrderState,
)
from tests.plugins.tryton import TrytonPeer

pytestmark = pytest.mark.integration


async def _party(client: TrytonClient, name: str, crm_id: str | None = None) -> int:
    values: dict[str, object] = {
        "name": name,
        "addresses": [("create", [{"street": "1 Main St", "city": "Springfield"}])],
        "contact_mechanisms": [("create", [{"type": "email", "value": f"{name}@example.com"}])],
    }
    if crm_id:
        values["identifiers"] = [("create", [{"code": crm_id}])]
    (party,) = await client.create("party.party", [values])
    return party


async def test_parties_snapshot_then_only_changes(
    tryton_client: TrytonClient, tryton_db: TrytonPeer
) -> None:
    stream = PartyStream(tryton_client)
    first = await stream.read(None)
    # The pristine database holds the company's and the employee's parties.
    names = {c.record["name"] for c in first.changes}
    assert {"Q2C Local Company", "Q2C Sales Desk"} <= names
    assert first.cursor is not None
    assert not first.more

    acme = await _party(tryton_client, "acme", crm_id="ACC-1")
    second = await stream.read(first.cursor)
    assert [(c.record_id, c.operation) for c in second.changes] == [(str(acme), Operation.CREATE)]
    record = second.changes[0].record
    assert record["identifiers"] == [{"type": None, "code": "ACC-1"}]
    assert record["contact_mechanisms"][0]["value"] == "acme@example.com"  # type: ignore[index,call-overload]
    assert record["addresses"][0]["city"] == "Springfield"  # type: ignore[index,call-overload]

    # Polling again re-reads the overlap window but publishes nothing twice.
    third = await stream.read(second.cursor)
    assert third.changes == []

    await tryton_client.write("party.party", [acme], {"name": "Acme Corp"})
    fourth = await stream.read(third.cursor)
    assert [(c.record_id, c.operation) for c in fourth.changes] == [(str(acme), Operation.UPDATE)]
    assert fourth.changes[0].record["name"] == "Acme Corp"
    assert fourth.changes[0].fingerprint != second.changes[0].fingerprint
    assert fourth.changes[0].source_ts >= second.changes[0].source_ts

    # Archiving is an update too (the stream reads archived records).
    await tryton_client.write("party.party", [acme], {"active": False})
    fifth = await stream.read(fourth.cursor)
    assert [c.record["active"] for c in fifth.changes] == [False]


async def test_paging_and_batches_resume_without_gaps_or_repeats(
    tryton_client: TrytonClient, tryton_db: TrytonPeer
) -> None:
    created = set()
    for i in range(7):
        created.add(str(await _party(tryton_client, f"bulk{i}")))
    stream = PartyStream(tryton_client, page_size=2, batch_size=3)
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(10):
        batch = await stream.read(cursor)
        seen.extend(c.record_id for c in batch.changes)
        cursor = batch.cursor
        if not batch.more:
            break
    assert created <= set(seen)
    assert len(seen) == len(set(seen))  # nothing published twice
    assert (await stream.read(cursor)).changes == []


async def test_paging_through_records_of_one_transaction(
    tryton_client: TrytonClient, tryton_db: TrytonPeer
) -> None:
    # Records created by one call share one timestamp: pages split them by id.
    stream = PartyStream(tryton_client, page_size=2, batch_size=2)
    cursor = (await stream.read(None)).cursor
    ids = await tryton_client.create("party.party", [{"name": f"same{i}"} for i in range(5)])
    seen: list[str] = []
    for _ in range(10):
        batch = await stream.read(cursor)
        seen.extend(c.record_id for c in batch.changes)
        cursor = batch.cursor
        if not batch.more:
            break
    assert seen == [str(i) for i in sorted(ids)]
    stamps = {c.source_ts for c in (await PartyStream(tryton_client).read(None)).changes[-5:]}
    assert len(stamps) == 1


async def test_a_late_commit_inside_the_overlap_window_is_still_published(
    tryton_client: TrytonClient, tryton_db: TrytonPeer
) -> None:
    stream = PartyStream(tryton_client)
    batch = await stream.read(None)
    state = ModifiedCursor.decode(batch.cursor)
    assert state.high_water is not None
    # As if the last poll had seen a record stamped later than everything committed so far:
    # a record committed now with an older stamp must still come through.
    ahead = ModifiedCursor(state.high_water + dt.timedelta(seconds=60), state.seen)
    late = await _party(tryton_client, "late")
    found = await stream.read(ahead.encode())
    assert [c.record_id for c in found.changes] == [str(late)]


async def test_products_sales_and_invoices_carry_what_the_mapping_needs(
    tryton_client: TrytonClient, tryton_db: TrytonPeer
) -> None:
    client, records = tryton_client, tryton_db.records
    party = await _party(client, "buyer", crm_id="ACC-9")
    (address,) = (await client.read("party.party", [party], ["addresses"]))[0]["addresses"]
    await client.create(
        "product.template",
        [
            {
                "name": "Onboarding",
                "type": "service",
                "salable": True,
                "list_price": Decimal("250"),
                "default_uom": records["unit"],
                "sale_uom": records["unit"],
                "account_category": records["account_category"],
                "products": [("create", [{"suffix_code": "ONB-1"}])],
            }
        ],
    )
    products = (await ProductStream(client).read(None)).changes
    (product_change,) = [c for c in products if c.record["code"] == "ONB-1"]
    assert product_change.record["list_price_used"] == "250"
    assert product_change.record["default_uom."] == {"id": records["unit"], "name": "Unit"}
    product = int(product_change.record_id)

    (sale,) = await client.create(
        "sale.sale",
        [
            {
                "party": party,
                "invoice_address": address,
                "reference": "DEAL-9",
                "payment_term": records["payment_term"],
                "lines": [
                    (
                        "create",
                        [
                            {
                                "product": product,
                                "quantity": 2.0,
                                "unit": records["unit"],
                                "unit_price": Decimal("250"),
                            }
                        ],
                    )
                ],
            }
        ],
    )
    await client.button("sale.sale", "quote", [sale])
    await client.button("sale.sale", "confirm", [sale])
    (sale_change,) = (await SaleStream(client).read(None)).changes
    rec = sale_change.record
    assert (rec["reference"], rec["state"], rec["total_amount"]) == (
        "DEAL-9",
        "processing",
        "500.00",
    )
    assert rec["currency."] == {"id": records["currency"], "code": "USD"}
    assert rec["party_identifiers"] == [{"type": None, "code": "ACC-9"}]
    lines, invoices = rec["lines"], rec["invoices"]
    assert isinstance(lines, list)
    assert isinstance(invoices, list)
    (line,) = lines
    assert isinstance(line, dict)
    assert line["product."] == {"id": product, "code": "ONB-1"}
    assert line["quantity"] == 2.0

    (invoice,) = invoices
    assert isinstance(invoice, int)
    await client.button("account.invoice", "post", [invoice])
    (invoice_change,) = (await InvoiceStream(client).read(None)).changes
    inv = invoice_change.record
    assert (inv["state"], inv["amount_to_pay"], inv["sales"]) == ("posted", "500.00", [sale])
    assert inv["invoice_date"] == dt.date.today().isoformat()
    assert inv["party_identifiers"] == [{"type": None, "code": "ACC-9"}]

    # The mapping reads these real records into canonical entities.
    mapper = TrytonMapper(currency="USD")
    (item,) = mapper.to_canonical(product_change)
    assert isinstance(item.data, Item)
    assert (item.data.sku, item.data.price("USD")) == ("ONB-1", Money(amount=250, currency="USD"))
    (order,) = mapper.to_canonical(sale_change)
    assert isinstance(order.data, SalesOrder)
    assert order.data.customer == ExternalIds(erp_id=str(party), crm_id="ACC-9")
    assert order.data.quote == ExternalIds(crm_id="DEAL-9")
    assert order.data.state is SalesOrderState.PROCESSING
    assert [(line.sku, line.quantity) for line in order.data.lines] == [("ONB-1", Decimal(2))]
    (bill,) = mapper.to_canonical(invoice_change)
    assert isinstance(bill.data, Invoice)
    assert bill.data.sales_order == ExternalIds(erp_id=str(sale))
    assert bill.data.amount_due == Money(amount=500, currency="USD")
    customers = [
        c for c in (await PartyStream(client).read(None)).changes if c.record_id == str(party)
    ]
    (customer,) = mapper.to_canonical(customers[0])
    assert isinstance(customer.data, Customer)
    assert customer.data.ids == ExternalIds(erp_id=str(party), crm_id="ACC-9")
    assert customer.data.email == "buyer@example.com"
    assert customer.data.billing_address is not None
    assert customer.data.billing_address.city == "Springfield"


async def test_address_contact_and_identifier_edits_publish_their_party(
    tryton_client: TrytonClient, tryton_db: TrytonPeer
) -> None:
    client = tryton_client
    party = await _party(client, "movers")
    streams = [AddressStream(client), ContactMechanismStream(client), IdentifierStream(client)]
    # A first read publishes nothing (the party stream's own first read publishes every
    # party): it marks the parts read up to the newest.
    firsts = [await stream.read(None) for stream in streams]
    assert [batch.changes for batch in firsts] == [[], [], []]
    cursors = [batch.cursor for batch in firsts]

    (row,) = await client.read("party.party", [party], ["addresses", "contact_mechanisms"])
    await client.write("party.address", row["addresses"], {"city": "Shelbyville"})
    await client.write(
        "party.contact_mechanism", row["contact_mechanisms"], {"value": "new@example.com"}
    )
    await client.create("party.identifier", [{"party": party, "code": "ACC-55"}])

    published = []
    for stream, cursor in zip(streams, cursors, strict=True):
        batch = await stream.read(cursor)
        published.append(batch.changes)
        assert (await stream.read(batch.cursor)).changes == []
    address_changes, mechanism_changes, identifier_changes = published
    for changes in published:
        assert [(c.object, c.record_id, c.operation) for c in changes] == [
            ("party.party", str(party), Operation.UPDATE)
        ]
    final = identifier_changes[0].record
    assert final["addresses"][0]["city"] == "Shelbyville"  # type: ignore[index,call-overload]
    assert final["contact_mechanisms"][0]["value"] == "new@example.com"  # type: ignore[index,call-overload]
    assert final["identifiers"] == [{"type": None, "code": "ACC-55"}]
    # The party as the mapping sees it, whichever part moved.
    (customer,) = TrytonMapper().to_canonical(identifier_changes[0])
    assert customer.ids == ExternalIds(erp_id=str(party), crm_id="ACC-55")
    assert address_changes[0].source_ts <= identifier_changes[0].source_ts
    assert mechanism_changes[0].record_id == str(party)


async def test_payments_and_due_dates(tryton_client: TrytonClient, tryton_db: TrytonPeer) -> None:
    client, records = tryton_client, tryton_db.records
    party = await _party(client, "payer", crm_id="ACC-12")
    (address,) = (await client.read("party.party", [party], ["addresses"]))[0]["addresses"]
    (template,) = await client.create(
        "product.template",
        [
            {
                "name": "Licence",
                "type": "service",
                "salable": True,
                "list_price": Decimal("120"),
                "default_uom": records["unit"],
                "sale_uom": records["unit"],
                "account_category": records["account_category"],
                "products": [("create", [{"suffix_code": "LIC"}])],
            }
        ],
    )
    (product,) = (await client.read("product.template", [template], ["products"]))[0]["products"]
    line = {"product": product, "quantity": 1.0, "unit": records["unit"]}
    (sale,) = await client.create(
        "sale.sale",
        [
            {
                "party": party,
                "invoice_address": address,
                "reference": "DEAL-12",
                "payment_term": records["payment_term"],
                "lines": [("create", [{**line, "unit_price": Decimal("120")}])],
            }
        ],
    )
    await client.button("sale.sale", "quote", [sale])
    await client.button("sale.sale", "confirm", [sale])
    (invoice,) = (await client.read("sale.sale", [sale], ["invoices"]))[0]["invoices"]
    await client.button("account.invoice", "post", [invoice])
    payments = PaymentStream(client)
    cursor = (await payments.read(None)).cursor
    await client.run_wizard(
        "account.invoice.pay",
        model="account.invoice",
        ids=[invoice],
        steps=[
            WizardStep(
                "start",
                "choice",
                {"amount": Decimal("70"), "payment_method": records["invoice_payment_method"]},
            ),
            # A partial payment: Tryton asks how to treat the rest; keep it open.
            WizardStep("ask", "pay", {"type": "partial"}),
        ],
    )
    mapper = TrytonMapper()
    (paid,) = (await payments.read(cursor)).changes
    (payment_change,) = mapper.to_canonical(paid)
    payment = payment_change.data
    assert isinstance(payment, Payment)
    assert payment.customer == ExternalIds(erp_id=str(party), crm_id="ACC-12")
    assert payment.amount == Money(amount=Decimal("70"), currency="USD")
    assert payment.received_on == dt.date.today()
    assert [a.invoice for a in payment.applications] == [ExternalIds(erp_id=str(invoice))]

    (invoice_change,) = (await InvoiceStream(client).read(None)).changes
    (bill,) = mapper.to_canonical(invoice_change)
    assert isinstance(bill.data, Invoice)
    assert bill.data.due_date == dt.date.today()  # the "Direct" payment term
    assert bill.data.amount_due == Money(amount=Decimal("50"), currency="USD")
    assert bill.data.state is InvoiceState.POSTED

    # Paid 100 on the 50 it still asks (a credit note of the invoice open beside it): the
    # pay wizard's overpayment keeps 50 on the receivable as the customer's credit, beside
    # the line that pays the invoice.
    await client.run_wizard(
        "account.invoice.credit",
        model="account.invoice",
        ids=[invoice],
        steps=[WizardStep("start", "credit", {"with_refund": False})],
    )
    (note,) = await client.search("account.invoice", [("id", "!=", invoice)])
    (note_line,) = (await client.read("account.invoice", [note], ["lines"]))[0]["lines"]
    await client.write("account.invoice.line", [note_line], {"unit_price": Decimal("20")})
    await client.button("account.invoice", "post", [note])
    cursor = (await payments.read(cursor)).cursor
    await client.run_wizard(
        "account.invoice.pay",
        model="account.invoice",
        ids=[invoice],
        steps=[
            WizardStep(
                "start",
                "choice",
                {"amount": Decimal("100"), "payment_method": records["invoice_payment_method"]},
            ),
            WizardStep("ask", "pay", {"type": "overpayment"}),
        ],
    )
    # The earlier payment line comes again too: this payment reconciled it.
    changed = {c.record_id: c for c in (await payments.read(cursor)).changes}
    (overpaid,) = [c for c in changed.values() if c.record_id != paid.record_id]
    (overpaid_change,) = mapper.to_canonical(overpaid)
    over = overpaid_change.data
    assert isinstance(over, Payment)
    assert over.amount == Money(amount=Decimal("100"), currency="USD")
    assert over.unapplied == Money(amount=Decimal("50"), currency="USD")
    assert [a.amount.amount for a in over.applications] == [Decimal("50")]
