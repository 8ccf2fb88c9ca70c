"""What a Tryton database needs before q2c can sync with it: nothing is created there.

The company, its currency, the unit and the accounting product category of the items q2c
creates are the accountants' to set up; the set-up checks they are there, so a
misconfigured installation fails at deployment rather than at its first item.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from connectors.base.errors import ConnectorError, ErrorKind
from connectors.base.spec import SetupOptions
from connectors.tryton.client import TrytonClient
from connectors.tryton.errors import SYSTEM
from connectors.tryton.settings import TrytonSettings
from connectors.tryton.sink import TrytonSink


@dataclass(frozen=True)
class Checked:
    currency: str
    unit: str
    account_category: str


async def check(client: TrytonClient, config: TrytonSettings) -> Checked:
    sink = TrytonSink(client, unit=config.unit, account_category=config.account_category)
    currency = await sink.company_currency()
    if not await client.search("product.uom", [("name", "=", config.unit)], limit=1):
        raise ConnectorError(
            ErrorKind.FATAL, f"Tryton has no unit {config.unit!r} (Q2C_TRYTON__UNIT)", system=SYSTEM
        )
    category = [("name", "=", config.account_category), ("accounting", "=", True)]
    if not await client.search("product.category", category, limit=1):
        raise ConnectorError(
            ErrorKind.FATAL,
            f"Tryton has no accounting product category {config.account_category!r} "
            "(Q2C_TRYTON__ACCOUNT_CATEGORY)",
            system=SYSTEM,
        )
    return Checked(currency=currency, unit=config.unit, account_category=config.account_category)


async def provision(config: TrytonSettings, options: SetupOptions) -> Sequence[str]:
    """`q2c connector setup tryton`: the checks, said in one line."""
    del options  # Tryton pushes nothing to q2c: no webhook, no secret
    async with TrytonClient(config) as client:
        checked = await check(client, config)
    return [
        f"tryton: company currency {checked.currency}, unit {checked.unit!r}, "
        f"category {checked.account_category!r} present"
    ]
