"""Debian's chromium, driven by Playwright for Python: the browser the console is tested in.

Playwright never downloads a browser here (the machines have no route to its CDN): it is
pointed at /usr/bin/chromium, which `make install` installs from Debian's packages. The flags
keep chromium from reaching out to Google's services, which a closed network refuses.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from playwright.async_api import Browser, Page, async_playwright

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _installed() -> bool:
    return CHROMIUM.exists()


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    if not _installed():
        raise AssertionError(f"{CHROMIUM} is missing: `make install` installs Debian's chromium")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            yield browser
        finally:
            await browser.close()


@asynccontextmanager
async def screenshot_on_failure(page: Page, shot: Path) -> AsyncIterator[Page]:
    """``page``; when the block fails, a screenshot of it at ``shot``, named in the failure."""
    try:
        yield page
    except Exception as exc:
        await page.screenshot(path=str(shot), full_page=True)
        raise AssertionError(f"{exc}\nscreenshot of the console: {shot}") from exc


async def sign_in(page: Page, url: str, token: str) -> None:
    """Open ``url`` of the console, answer its sign-in form with ``token``, land on ``url``."""
    asked = await page.goto(url)
    assert asked is not None
    assert asked.status == 401
    await page.get_by_label("Admin token").fill(token)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(url)
