"""Quote to cash through the documented operations: a sales order is invoiced with
``!transform/invoice``, paid by a customer payment's ``apply`` sublist, credited with
``!transform/creditMemo``; deletes land in the deletion log SuiteQL reads."""

from __future__ import annotations

from typing import Any

from .conftest import TbaClient, record_id

RECORDS = "/services/rest/record/v1"


async def _order(client: TbaClient, quantity: int = 2) -> tuple[str, str, str]:
    customer = record_id(
        await client.call(
            "POST", f"{RECORDS}/customer", {"companyName": "Acme", "terms": {"id": "2"}}
        )
    )
    item = record_id(
        await client.call("POST", f"{RECORDS}/inventoryItem", {"itemId": "W", "basePrice": 50})
    )
    order = record_id(
        await client.call(
            "POST",
            f"{RECORDS}/salesOrder",
            {
                "entity": {"id": customer},
                "item": {"items": [{"item": {"id": item}, "quantity": quantity}]},
            },
        )
    )
    return customer, item, order


async def _get(client: TbaClient, kind: str, key: str) -> dict[str, Any]:
    reply = await client.call("GET", f"{RECORDS}/{kind}/{key}?expandSubResources=true")
    assert reply.status == 200, reply.body
    body: dict[str, Any] = reply.body
    return body


async def test_invoice_payment_and_credit(client: TbaClient) -> None:
    customer, _, order = await _order(client)
    invoice = record_id(
        await client.call("POST", f"{RECORDS}/salesOrder/{order}/!transform/invoice", {})
    )
    billed = await _get(client, "invoice", invoice)
    assert billed["total"] == 100.0
    assert billed["amountRemaining"] == 100.0
    assert billed["createdFrom"]["id"] == order
    assert billed["terms"]["refName"] == "Net 30"
    assert (await _get(client, "salesOrder", order))["orderStatus"]["id"] == "G"
    again = await client.call("POST", f"{RECORDS}/salesOrder/{order}/!transform/invoice", {})
    assert again.status == 400

    payment = record_id(
        await client.call(
            "POST",
            f"{RECORDS}/customerPayment",
            {
                "customer": {"id": customer},
                "payment": 60,
                "apply": {"items": [{"doc": {"id": invoice}, "apply": True, "amount": 60}]},
            },
        )
    )
    paid = await _get(client, "customerPayment", payment)
    assert [line["doc"]["id"] for line in paid["apply"]["items"]] == [invoice]
    partly = await _get(client, "invoice", invoice)
    assert partly["amountRemaining"] == 40.0
    assert partly["status"]["id"] == "Open"

    too_much = await client.call(
        "POST",
        f"{RECORDS}/customerPayment",
        {
            "customer": {"id": customer},
            "apply": {"items": [{"doc": {"id": invoice}, "amount": 41}]},
        },
    )
    assert too_much.status == 400
    assert too_much.body["o:errorDetails"][0]["o:errorPath"] == "apply.items[0].amount"

    credit = record_id(
        await client.call("POST", f"{RECORDS}/invoice/{invoice}/!transform/creditMemo", {})
    )
    credited = await _get(client, "creditMemo", credit)
    assert credited["total"] == 100.0
    assert credited["applied"] == 40.0
    settled = await _get(client, "invoice", invoice)
    assert settled["amountRemaining"] == 0.0
    assert settled["status"]["id"] == "Paid In Full"

    links = await client.suiteql(
        "SELECT previousdoc, nextdoc, linktype, foreignamount FROM nexttransactionlinelink"
        " WHERE linktype = 'Payment' ORDER BY id"
    )
    assert [(i["previousdoc"], i["nextdoc"], i["foreignamount"]) for i in links.body["items"]] == [
        (invoice, payment, "60"),
        (invoice, credit, "40"),
    ]
    signs = await client.suiteql(
        "SELECT t.type, tl.mainline, tl.quantity, tl.foreignamount FROM transactionline tl"
        " JOIN transaction t ON t.id = tl.transaction WHERE t.type IN ('CustInvc', 'CustCred')"
        " ORDER BY t.id, tl.id"
    )
    assert [
        (i["type"], i["mainline"], i.get("quantity"), i["foreignamount"])
        for i in signs.body["items"]
    ] == [
        ("CustInvc", "T", None, "100"),
        ("CustInvc", "F", "-2", "-100"),
        ("CustCred", "T", None, "-100"),
        ("CustCred", "F", "2", "100"),
    ]
    lines = await client.call("GET", f"{RECORDS}/invoice/{invoice}/item")
    assert [(line["quantity"], line["amount"]) for line in lines.body["items"]] == [(2.0, 100.0)]
    types = await client.suiteql("SELECT type FROM transaction ORDER BY id")
    assert [i["type"] for i in types.body["items"]] == [
        "SalesOrd",
        "CustInvc",
        "CustPymt",
        "CustCred",
    ]


async def test_deletes_fill_the_deletion_log(client: TbaClient) -> None:
    customer, item, order = await _order(client)
    blocked = await client.call("DELETE", f"{RECORDS}/customer/{customer}")
    assert blocked.status == 400
    assert (await client.call("DELETE", f"{RECORDS}/salesOrder/{order}")).status == 204
    assert (await client.call("DELETE", f"{RECORDS}/customer/{customer}")).status == 204
    gone = await client.call("GET", f"{RECORDS}/customer/{customer}")
    assert gone.status == 404
    log = await client.suiteql(
        "SELECT recordid, type, deleteddate FROM deletedrecord ORDER BY deleteddate, id"
    )
    assert [(i["recordid"], i["type"]) for i in log.body["items"]] == [
        (order, "salesorder"),
        (customer, "customer"),
    ]
    assert item


async def _stamp(client: TbaClient, order: str) -> str:
    reply = await client.suiteql(
        "SELECT id, TO_CHAR(lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS.FF6') AS lm FROM transaction"
    )
    stamps = {item["id"]: item["lm"] for item in reply.body["items"]}
    stamp: str = stamps[order]
    return stamp


async def test_patch_moves_lastmodifieddate_and_merges_lines(client: TbaClient) -> None:
    _, item, order = await _order(client, quantity=1)
    before = await _stamp(client, order)
    patched = await client.call(
        "PATCH",
        f"{RECORDS}/salesOrder/{order}",
        {"memo": "rush", "item": {"items": [{"line": 1, "quantity": 3}, {"item": {"id": item}}]}},
    )
    assert patched.status == 204
    after = await _get(client, "salesOrder", order)
    assert after["memo"] == "rush"
    assert [line["quantity"] for line in after["item"]["items"]] == [3.0, 1.0]
    assert after["total"] == 200.0
    assert await _stamp(client, order) > before
