"""Operators fix deals from the web console, in a real browser, on the real peers.

A deal closed won with an item the ERP lacks shows on the deals page as rejected, with the
reason; once the item exists in Tryton, the operator clicks Retry, and after a reload the page
shows the deal synced with its ERP order (one confirmed Tryton sale). A deal held for a
discount beyond policy is approved from the page under the approver's name, becomes a sale,
and a reconciliation run from the console finds nothing unexplained."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import Page

from connectors.bottlecrm.models import ProductInput
from q2c.deadletters import read_topic
from schemas import CODEC, DecodeError
from schemas.decisions import DealApproval
from tests.e2e.browser import chromium, screenshot_on_failure, sign_in
from tests.e2e.conftest import Stack
from tests.e2e.helpers import (
    account_in_both,
    crm_product,
    deal_fields,
    item_known_to_the_sync,
    make_item,
    sale_of,
    won_deal,
)

pytestmark = pytest.mark.integration


async def _row_once(stack: Stack, page: Page, deal: str, status: str) -> str:
    """The text of ``deal``'s row once the reloaded deals page shows it ``status``."""

    async def probe() -> str | None:
        await page.reload()
        row = page.locator("tr", has_text=deal)
        if await row.count() != 1:
            return None
        text = await row.inner_text()
        return text if status in text.split() else None

    return await stack.eventually(probe, f"deal {deal} shown {status} on the console")


def _shows_order(sale: dict[str, object], row: str) -> bool:
    return (
        re.search(rf"{re.escape(str(sale['number']))} \((confirmed|processing|done)\)", row)
        is not None
    )


@pytest.mark.q2c_env(Q2C_SYNC__POLICY='{"max_wait": "PT10S"}')
async def test_an_operator_retries_a_rejected_deal_from_the_console(
    stack: Stack, tmp_path: Path
) -> None:
    account, party = await account_in_both(stack, "Initech")
    gadget = await stack.crm.create_product(ProductInput(name="Item C-505", sku="C-505", price=10))
    deal = await won_deal(stack, account, [(gadget, "3", "10")], "Staplers")
    rejected = await deal_fields(stack, deal, q2c_sync_status="rejected")

    token = stack.env["Q2C_WORKER__ADMIN_TOKEN"]
    deals_url = f"{stack.worker.url}/q2c/console/deals"
    async with chromium() as browser:
        page = await browser.new_page()
        async with screenshot_on_failure(page, tmp_path / "console.png"):
            asked = await page.goto(deals_url)
            assert asked is not None
            assert asked.status == 401
            await page.get_by_label("Admin token").fill("not the token")
            await page.get_by_role("button", name="Sign in").click()
            assert await page.get_by_role("alert").inner_text() == "That is not the admin token."
            await page.get_by_label("Admin token").fill(token)
            await page.get_by_role("button", name="Sign in").click()
            await page.wait_for_url(deals_url)
            assert await page.locator("h1").inner_text() == "Deals"

            row = await _row_once(stack, page, deal, "rejected")
            assert rejected["q2c_sync_reason"] in row
            assert "to exist in the ERP" in row

            await make_item(stack, "C-505", "10")
            await item_known_to_the_sync(stack, "C-505")
            await page.locator("tr", has_text=deal).get_by_role("button", name="Retry").click()
            await page.wait_for_url(lambda url: url.startswith(f"{deals_url}?note="))
            done = await page.get_by_role("status").inner_text()
            assert done.startswith(f"deal {deal}: sent through the sync again")

            sale = await sale_of(stack, deal, ("confirmed", "processing"))
            assert sale["party"] == party
            row = await _row_once(stack, page, deal, "synced")
            assert _shows_order(sale, row), row
            assert "Retry" not in row


async def _decisions(stack: Stack) -> list[DealApproval]:
    found = []
    for record in await read_topic({"bootstrap_servers": stack.bootstrap}, stack.topics.control):
        try:
            found.append(CODEC.decode_as(record.value or b"", DealApproval))
        except DecodeError:
            continue
    return found


@pytest.mark.q2c_env(Q2C_SYNC__POLICY='{"max_discount_percent": "10"}')
async def test_an_operator_approves_a_held_deal_and_reconciles_from_the_console(
    stack: Stack, tmp_path: Path
) -> None:
    await make_item(stack, "W-1", "100")
    widget = await crm_product(stack, "W-1")
    account, party = await account_in_both(stack, "Hooli")
    deal = await won_deal(stack, account, [(widget, "3", "75")], "Deep discount")
    held = await deal_fields(stack, deal, q2c_sync_status="pending_approval")

    token = stack.env["Q2C_WORKER__ADMIN_TOKEN"]
    console = f"{stack.worker.url}/q2c/console"
    async with chromium() as browser:
        page = await browser.new_page()
        async with screenshot_on_failure(page, tmp_path / "console.png"):
            await sign_in(page, f"{console}/deals", token)
            row = await _row_once(stack, page, deal, "pending_approval")
            assert held["q2c_sync_reason"] in row
            line = page.locator("tr", has_text=deal)
            await line.get_by_label("Approved by").fill("cfo@example.test")
            await line.get_by_role("button", name="Approve").click()
            await page.wait_for_url(lambda url: url.startswith(f"{console}/deals?note="))
            done = await page.get_by_role("status").inner_text()
            assert done == f"deal {deal}: approved by cfo@example.test"
            decisions = [(d.deal_crm_id, d.approved, d.actor) for d in await _decisions(stack)]
            assert decisions == [(deal, True, "cfo@example.test")]

            sale = await sale_of(stack, deal, ("confirmed", "processing"))
            assert sale["party"] == party
            row = await _row_once(stack, page, deal, "synced")
            assert _shows_order(sale, row), row

            await page.get_by_role("link", name="Reconciliation").click()
            assert "No reconciliation has run" in await page.locator("main").inner_text()
            await page.get_by_role("button", name="Run now").click()
            await page.wait_for_url(lambda url: url.startswith(f"{console}/reconcile?note="))
            report = await page.locator("main").inner_text()
            assert "reconciled: no discrepancy" in report
            assert "No discrepancy" in report
            assert "rejected (0)" in report
