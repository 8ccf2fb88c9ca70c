"""Steps shared by the end-to-end tests: make records in the peers, wait for their effects."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any, Protocol, TypeVar

from aiokafka import AIOKafkaConsumer, TopicPartition

from connectors.bottlecrm import BottleCrmClient
from connectors.bottlecrm.models import AccountInput, DealInput, LineItemInput, Product
from connectors.tryton.client import WizardStep
from q2c.core.kafka_admin import group_lags, partitions_of
from schemas import CODEC, Contract, DecodeError, Item
from tests.e2e.conftest import Stack

T = TypeVar("T")


class CrmStack(Protocol):
    """A stack whose CRM is BottleCRM, whatever its ERP: what the CRM-side steps need."""

    crm: BottleCrmClient

    async def eventually(
        self, probe: Callable[[], Awaitable[T | None]], what: str, within: float = 180.0
    ) -> T: ...


async def make_item(
    stack: Stack, sku: str, price: str, kind: str = "service", warranty_months: int | None = None
) -> int:
    """A salable Tryton item; ``kind`` "goods" for one that is shipped, with a warranty
    duration (the ``warranty_months`` attribute) when given."""
    product: dict[str, Any] = {"suffix_code": sku}
    warranty: dict[str, Any] = {}
    if warranty_months is not None:
        product["attributes"] = {"warranty_months": warranty_months}
        warranty["attribute_set"] = stack.records["warranty_attribute_set"]
    (template,) = await stack.erp.create(
        "product.template",
        [
            {
                **warranty,
                "name": f"Item {sku}",
                "type": kind,
                "salable": True,
                "list_price": Decimal(price),
                "default_uom": stack.records["unit"],
                "sale_uom": stack.records["unit"],
                "account_category": stack.records["account_category"],
                "products": [("create", [product])],
            }
        ],
    )
    return int(template)


async def crm_product(stack: CrmStack, sku: str) -> Product:
    async def probe() -> Product | None:
        return await stack.crm.find_product_by_sku(sku)

    return await stack.eventually(probe, f"product {sku} in BottleCRM")


async def account_in_both(stack: Stack, name: str) -> tuple[str, int]:
    """A new BottleCRM account, once q2c has made it a Tryton party: (account, party)."""
    account = await stack.crm.create_account(AccountInput(name=name, email="ap@example.test"))

    async def party() -> int | None:
        rows = await stack.erp.search("party.party", [("identifiers.code", "=", account)])
        return int(rows[0]) if rows else None

    return account, await stack.eventually(party, f"account {name} as a Tryton party")


async def won_deal(
    stack: Stack, account: str, lines: list[tuple[Product, str, str]], name: str = "Deal"
) -> str:
    """A deal with ``(product, quantity, unit price)`` lines, moved to Closed Won."""
    total = sum((Decimal(q) * Decimal(p) for _, q, p in lines), Decimal(0))
    deal = await stack.crm.create_deal(
        DealInput(name=name, account=account, currency="USD", amount=total)
    )
    for product, quantity, price in lines:
        await stack.crm.add_line_item(
            deal,
            LineItemInput(
                product_id=product.id, quantity=Decimal(quantity), unit_price=Decimal(price)
            ),
        )
    await stack.crm.close_won(deal, dt.date.today())
    return deal


async def sale_of(stack: Stack, deal: str, states: tuple[str, ...]) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        rows = await stack.erp.search_read(
            "sale.sale",
            [("reference", "=", deal)],
            ["state", "party", "lines", "total_amount", "invoices", "number"],
        )
        if len(rows) > 1:
            raise AssertionError(f"{len(rows)} sales for deal {deal}")
        return rows[0] if rows and rows[0]["state"] in states else None

    return await stack.eventually(probe, f"a {'/'.join(states)} sale for deal {deal}")


CONFIRMED = ("confirmed", "processing")


async def one_confirmed_sale_each(stack: Stack, party: int, totals: dict[str, int]) -> None:
    """Each deal of ``totals`` (deal: total) is exactly one confirmed sale of ``party`` for its
    total, and Tryton holds no other sale."""
    for deal, total in totals.items():  # sale_of fails as soon as it sees two sales for one deal
        sale = await sale_of(stack, deal, CONFIRMED)
        assert sale["party"] == party
        assert sale["total_amount"] == total
    rows = await stack.erp.search_read("sale.sale", [], ["reference", "state"])
    per_deal = Counter(str(row["reference"]) for row in rows)
    assert per_deal == Counter(dict.fromkeys(totals, 1)), stack.diagnostics()
    assert all(row["state"] in CONFIRMED for row in rows)


def _same(value: Any, expected: str) -> bool:
    if value is None or value == "":
        return False
    if expected == "*":  # any value
        return True
    if "|" in expected:  # any of these
        return any(_same(value, one) for one in expected.split("|"))
    try:
        return Decimal(str(value)) == Decimal(expected)
    except ArithmeticError:
        return str(value) == expected


async def deal_fields(stack: CrmStack, deal: str, **expected: str) -> dict[str, Any]:
    """The deal's custom fields once they hold ``expected`` ("*": any value)."""
    seen: dict[str, Any] = {}

    async def probe() -> dict[str, Any] | None:
        seen.clear()
        seen.update((await stack.crm.get_deal(deal)).custom_fields)
        ok = all(_same(seen.get(k), v) for k, v in expected.items())
        return dict(seen) if ok else None

    try:
        return await stack.eventually(probe, f"deal {deal} custom fields {expected}")
    except AssertionError as exc:
        raise AssertionError(f"the deal's custom fields: {seen}\n{exc}") from None


async def account_fields(stack: CrmStack, account: str, **expected: str) -> dict[str, Any]:
    """The account's custom fields once they hold ``expected`` ("*": any value)."""
    seen: dict[str, Any] = {}

    async def probe() -> dict[str, Any] | None:
        seen.clear()
        seen.update((await stack.crm.get_account(account)).custom_fields)
        ok = all(_same(seen.get(k), v) for k, v in expected.items())
        return dict(seen) if ok else None

    try:
        return await stack.eventually(probe, f"account {account} custom fields {expected}")
    except AssertionError as exc:
        raise AssertionError(f"the account's custom fields: {seen}\n{exc}") from None


async def item_known_to_the_sync(
    stack: Stack, sku: str, until: Callable[[Item], bool] | None = None
) -> None:
    """Wait until the sync's item view holds ``sku`` as an ERP item (one ``until`` accepts,
    when given): a deal validated from then on finds it."""
    consumer = AIOKafkaConsumer(
        stack.topics.reference("items"),
        bootstrap_servers=stack.bootstrap,
        auto_offset_reset="earliest",
    )
    await consumer.start()

    async def probe() -> Item | None:
        batches = await consumer.getmany(timeout_ms=500)
        for records in batches.values():
            for record in records:
                try:
                    item = CODEC.decode_as(record.value or b"", Item)
                except DecodeError:
                    continue
                known = item.sku == sku and item.ids.erp_id and item.ids.crm_id
                if known and (until is None or until(item)):
                    return item
        return None

    try:
        await stack.eventually(probe, f"item {sku} in the sync's item view")
    finally:
        await consumer.stop()


async def everything_on(stack: Stack, topic: str) -> list[Contract]:
    """Every message on ``topic`` now, decoded (tombstones left out), read to its end."""
    consumer = AIOKafkaConsumer(bootstrap_servers=stack.bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = await partitions_of({"bootstrap_servers": stack.bootstrap}, topic)
        tps = [TopicPartition(topic, p) for p in partitions]
        if not tps:
            return []
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        found: list[Contract] = []
        while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
            for records in (await consumer.getmany(*tps, timeout_ms=500)).values():
                found += [CODEC.decode(r.value) for r in records if r.value is not None]
        return found
    finally:
        await consumer.stop()


async def worker_caught_up(stack: Stack) -> None:
    """Wait until the worker has handled, and committed, every message on its inputs: what
    it does next is caused only by what is published from then on (or by its timers)."""
    group = stack.env["Q2C_WORKER__APP_ID"]

    async def probe() -> bool | None:
        lags = await group_lags({"bootstrap_servers": stack.bootstrap}, group)
        behind = lags.get(group)
        return True if behind is not None and not any(behind.values()) else None

    await stack.eventually(probe, "the worker handled every message on its inputs")


async def posted_credit_note(
    stack: Stack, invoice: int, party: int, line_values: dict[str, Any]
) -> dict[str, Any]:
    """Finance credits ``invoice`` of ``party`` in Tryton (its credit wizard, without refund),
    writes ``line_values`` on the note's one line and posts it: the note's id, number and
    total."""
    await stack.erp.run_wizard(
        "account.invoice.credit",
        model="account.invoice",
        ids=[invoice],
        steps=[WizardStep("start", "credit", {"with_refund": False})],
    )
    (note,) = await stack.erp.search(
        "account.invoice", [("party", "=", party), ("id", "!=", invoice)]
    )
    (line,) = (await stack.erp.read("account.invoice", [note], ["lines"]))[0]["lines"]
    await stack.erp.write("account.invoice.line", [line], line_values)
    await stack.erp.button("account.invoice", "post", [note])
    (posted,) = await stack.erp.read("account.invoice", [note], ["number", "total_amount"])
    return dict(posted)
