"""The Tryton client against the real Tryton 8.2 server (SQLite, reset per test)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from pydantic import SecretStr

from connectors.tryton import (
    ErrorKind,
    TrytonAuthError,
    TrytonClient,
    TrytonServerError,
    TrytonTransportError,
    TrytonUserError,
    WizardStep,
)
from q2c.devstack import procs
from q2c.devstack.tryton import login, rpc_call
from tests.plugins.tryton import TrytonPeer, TrytonPool

pytestmark = pytest.mark.integration


async def _customer(client: TrytonClient, crm_id: str, name: str = "Acme Corp") -> int:
    (party,) = await client.create(
        "party.party",
        [
            {
                "name": name,
                "identifiers": [("create", [{"code": crm_id}])],
                "addresses": [("create", [{"street": "1 Main Street", "city": "Springfield"}])],
            }
        ],
    )
    return party


async def _service(client: TrytonClient, peer: TrytonPeer, name: str, price: str) -> int:
    (template,) = await client.create(
        "product.template",
        [
            {
                "name": name,
                "type": "service",
                "salable": True,
                "list_price": Decimal(price),
                "default_uom": peer.records["unit"],
                "sale_uom": peer.records["unit"],
                "account_category": peer.records["account_category"],
                "products": [("create", [{}])],
            }
        ],
    )
    (row,) = await client.read("product.template", [template], ["products"])
    (product,) = row["products"]
    return int(product)


async def test_login_loads_the_company_context(
    tryton_client: TrytonClient, tryton_db: TrytonPeer
) -> None:
    assert tryton_client.uid is not None
    assert tryton_client.context["company"] == tryton_db.records["company"]
    assert tryton_client.context["employee"] == tryton_db.records["employee"]
    (user,) = await tryton_client.read("res.user", [tryton_client.uid], ["login"])
    assert user["login"] == "admin"


async def test_party_and_product_round_trip(
    tryton_client: TrytonClient, tryton_db: TrytonPeer
) -> None:
    party = await _customer(tryton_client, "CRM-ACC-0001", "Initech")
    rows = await tryton_client.search_read(
        "party.party",
        [("identifiers.code", "=", "CRM-ACC-0001")],
        ["name", "addresses", "last_modified_at", "create_date"],
    )
    assert [row["id"] for row in rows] == [party]
    assert rows[0]["name"] == "Initech"
    assert len(rows[0]["addresses"]) == 1
    # Timestamps come back as aware UTC datetimes, taken moments ago.
    modified = rows[0]["last_modified_at"]
    assert isinstance(modified, dt.datetime)
    assert modified.tzinfo is dt.UTC
    assert abs(dt.datetime.now(dt.UTC) - modified) < dt.timedelta(minutes=5)

    product = await _service(tryton_client, tryton_db, "Consulting hour", "125.50")
    (row,) = await tryton_client.search_read(
        "product.product", [("id", "=", product)], ["list_price_used", "template", "salable"]
    )
    # The variant has no price of its own, so the template's (per company) is used.
    assert row["list_price_used"] == Decimal("125.50")
    assert isinstance(row["list_price_used"], Decimal)
    assert row["salable"] is True

    await tryton_client.write("party.party", [party], {"name": "Initech Ltd"})
    (renamed,) = await tryton_client.read("party.party", [party], ["name"])
    assert renamed["name"] == "Initech Ltd"

    await tryton_client.delete("party.party", [party])
    assert await tryton_client.search_count("party.party", [("id", "=", party)]) == 0


async def test_sale_quote_confirm_invoice_post_and_pay(
    tryton_client: TrytonClient, tryton_db: TrytonPeer
) -> None:
    client, records = tryton_client, tryton_db.records
    party = await _customer(client, "CRM-ACC-0002")
    (address,) = (await client.read("party.party", [party], ["addresses"]))[0]["addresses"]
    product = await _service(client, tryton_db, "Support plan", "40.00")

    (sale,) = await client.create(
        "sale.sale",
        [
            {
                "party": party,
                "invoice_address": address,
                "shipment_address": address,
                "reference": "CRM-DEAL-0001",
                "payment_term": records["payment_term"],
                "sale_date": dt.date.today(),
                "lines": [
                    (
                        "create",
                        [
                            {
                                "type": "line",
                                "product": product,
                                "quantity": 3.0,
                                "unit": records["unit"],
                                "unit_price": Decimal("40.00"),
                            },
                            {
                                "type": "line",
                                "product": product,
                                "quantity": 1.0,
                                "unit": records["unit"],
                                "unit_price": Decimal("35.00"),
                                "description": "Discounted extra seat",
                            },
                        ],
                    )
                ],
            }
        ],
    )
    await client.button("sale.sale", "quote", [sale])
    (quoted,) = await client.read("sale.sale", [sale], ["state", "number", "total_amount"])
    assert quoted["state"] == "quotation"
    assert quoted["number"]
    assert quoted["total_amount"] == Decimal("155.00")

    await client.button("sale.sale", "confirm", [sale])
    (confirmed,) = await client.read("sale.sale", [sale], ["state", "invoices", "invoice_state"])
    # Confirming runs the sale's processing after the commit: it creates the invoice.
    assert confirmed["state"] == "processing"
    (invoice,) = confirmed["invoices"]

    await client.button("account.invoice", "post", [invoice])
    (posted,) = await client.read(
        "account.invoice", [invoice], ["state", "number", "total_amount", "amount_to_pay"]
    )
    assert posted["state"] == "posted"
    assert posted["number"]
    assert posted["total_amount"] == Decimal("155.00")
    assert posted["amount_to_pay"] == Decimal("155.00")

    await client.run_wizard(
        "account.invoice.pay",
        model="account.invoice",
        ids=[invoice],
        steps=[
            WizardStep(
                "start",
                "choice",
                {
                    "amount": Decimal("155.00"),
                    "payment_method": records["invoice_payment_method"],
                    "date": dt.date.today(),
                    "description": "Wire CRM-DEAL-0001",
                },
            )
        ],
    )
    (paid,) = await client.read("account.invoice", [invoice], ["state", "amount_to_pay"])
    assert paid["state"] == "paid"
    assert paid["amount_to_pay"] == Decimal("0")
    (sale_row,) = await client.search_read(
        "sale.sale", [("reference", "=", "CRM-DEAL-0001")], ["invoice_state"]
    )
    assert sale_row["invoice_state"] == "paid"


async def test_a_lost_session_logs_in_again(tryton_db: TrytonPeer) -> None:
    settings = tryton_db.settings()
    async with TrytonClient(settings) as client, TrytonClient(settings) as admin:
        assert await client.search("res.user", [("login", "=", "admin")]) == [client.uid]
        assert client.logins == 1
        # Writing a user's password makes Tryton drop every session of that user, as an
        # expiry does: the next call gets 401 and the client must log in again by itself.
        assert client.uid is not None
        await admin.write("res.user", [client.uid], {"password": settings.password})
        assert await client.search("res.user", [("login", "=", "admin")]) == [client.uid]
        assert client.logins == 2
        # After a logout the client opens a new session on its own.
        await client.logout()
        assert await client.search_count("res.user", [("login", "=", "admin")]) == 1
        assert client.logins == 3


async def test_a_validation_error_is_permanent_and_keeps_the_server_message(
    tryton_client: TrytonClient, tryton_db: TrytonPeer
) -> None:
    with pytest.raises(TrytonUserError) as raised:
        await tryton_client.create("product.template", [{"default_uom": tryton_db.records["unit"]}])
    error = raised.value
    assert error.kind is ErrorKind.SKIPPABLE
    assert not error.retriable
    assert "Name" in error.message  # Tryton's own words: a value is required for "Name"
    assert error.method == "model.product.template.create"


async def test_deleting_a_confirmed_sale_is_refused_with_the_reason(
    tryton_client: TrytonClient, tryton_db: TrytonPeer
) -> None:
    party = await _customer(tryton_client, "CRM-ACC-0003")
    (row,) = await tryton_client.read("party.party", [party], ["addresses"])
    product = await _service(tryton_client, tryton_db, "Audit", "900.00")
    line = {
        "type": "line",
        "product": product,
        "quantity": 1.0,
        "unit": tryton_db.records["unit"],
        "unit_price": Decimal("900.00"),
    }
    (sale,) = await tryton_client.create(
        "sale.sale",
        [
            {
                "party": party,
                "invoice_address": row["addresses"][0],
                "payment_term": tryton_db.records["payment_term"],
                "lines": [("create", [line])],
            }
        ],
    )
    await tryton_client.button("sale.sale", "quote", [sale])
    with pytest.raises(TrytonUserError) as raised:
        await tryton_client.delete("sale.sale", [sale])
    assert raised.value.kind is ErrorKind.SKIPPABLE
    assert "cancel" in raised.value.message.lower()
    assert await tryton_client.search_count("sale.sale", [("id", "=", sale)]) == 1


async def test_wrong_password_is_fatal_and_never_shows_the_password(tryton_db: TrytonPeer) -> None:
    tryton = tryton_db
    wrong = "not-the-password-4711"
    client = TrytonClient(tryton.settings(password=SecretStr(wrong)))
    try:
        with pytest.raises(TrytonAuthError) as raised:
            await client.login()
    finally:
        await client.close()
    error = raised.value
    assert error.kind is ErrorKind.FATAL
    assert error.status == 401
    for text in (str(error), repr(error), repr(client), repr(tryton.settings())):
        assert wrong not in text
        assert tryton.server.password.get_secret_value() not in text


async def test_unknown_model_is_fatal(tryton_client: TrytonClient) -> None:
    # Tryton answers with its KeyError: a server-side error, not the record's fault.
    with pytest.raises(TrytonServerError) as raised:
        await tryton_client.search("no.such.model", [])
    assert raised.value.kind is ErrorKind.FATAL
    assert "no.such.model" in raised.value.message


async def test_a_method_outside_the_rpc_table_is_refused_as_fatal(
    tryton_client: TrytonClient,
) -> None:
    with pytest.raises(TrytonAuthError) as raised:
        await tryton_client.search("ir.session", [])
    assert raised.value.status == 403
    assert raised.value.kind is ErrorKind.FATAL


async def test_unreachable_server_is_retriable(tryton_db: TrytonPeer) -> None:
    tryton = tryton_db
    nowhere = f"http://127.0.0.1:{procs.free_port()}"
    client = TrytonClient(tryton.settings(url=nowhere, max_attempts=2))
    try:
        with pytest.raises(TrytonTransportError) as raised:
            await client.login()
    finally:
        await client.close()
    assert raised.value.kind is ErrorKind.RETRIABLE
    assert raised.value.status is None
    assert "connection failed" in raised.value.reason


def _count_parties(peer: TrytonPeer, name: str, create: bool = False) -> int:
    url, user = peer.server.rpc_url, peer.server.user
    session = login(url, user, peer.server.password)
    if create:
        rpc_call(url, "model.party.party.create", [[{"name": name}], {}], session=session)
    domain = [["name", "=", name]]
    return int(rpc_call(url, "model.party.party.search_count", [domain, {}], session=session))


def test_resets_take_turns_in_the_background(tryton: TrytonPool) -> None:
    # The servers alternate: the one written to comes back pristine after its turn.
    used = tryton.acquire()
    assert _count_parties(used, "Scratch", create=True) == 1
    tryton.release(used)
    handed_out = [tryton.acquire() for _ in range(len(tryton.peers) - 1)]
    for peer in handed_out:
        tryton.release(peer)
    again = tryton.acquire()
    try:
        assert again is used
        assert _count_parties(again, "Scratch") == 0
    finally:
        tryton.release(again)
    # Each server the test wrote to was reset once it was handed back (how long a reset
    # takes is a figure for the bench, not a condition of the test).
    assert tryton.reset_seconds
