"""Debian's chromium, driven by Playwright for Python: the browser the console is tested in.

Playwright never downloads a browser here (the machines have no route to its CDN): it is
pointed at /usr/bin/chromium, which `make install` installs from Debian's packages. The flags
keep chromium from reaching out to Google's services, which a closed network refuses.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from playwright.async_api import Browser, async_playwright

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
