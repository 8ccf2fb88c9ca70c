"""An operator fixes a rejected deal from the web console, in a real browser, on the real
peers: the deal closed won with an item the ERP lacks shows on the deals page as rejected,
with the reason; once the item exists in Tryton, the operator clicks Retry, and after a
reload the page shows the deal synced with its ERP order (one confirmed Tryton sale)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import Page

from connectors.bottlecrm.models import ProductInput
from tests.e2e.browser import chromium
from tests.e2e.conftest import Stack
from tests.e2e.helpers import (
    account_in_both,
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
    shot = tmp_path / "console.png"
    async with chromium() as browser:
        page = await browser.new_page()
        try:
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
            ordered = rf"{re.escape(str(sale['number']))} \((confirmed|processing|done)\)"
            assert re.search(ordered, row), row
            assert "Retry" not in row
        except Exception as exc:
            await page.screenshot(path=str(shot), full_page=True)
            raise AssertionError(f"{exc}\nscreenshot of the console: {shot}") from exc
