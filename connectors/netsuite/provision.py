"""What a NetSuite account needs before q2c can sync with it: nothing is created there.

The subsidiary and currency of the customers q2c creates are the accountants' to set up;
the set-up checks the credentials work and both exist, so a misconfigured installation
fails at deployment rather than at its first customer.
"""

from __future__ import annotations

from collections.abc import Sequence

from connectors.base.errors import ConnectorError, ErrorKind
from connectors.base.spec import SetupOptions
from connectors.netsuite.client import NetSuiteClient
from connectors.netsuite.connector import sink_of
from connectors.netsuite.errors import SYSTEM
from connectors.netsuite.settings import NetSuiteSettings
from connectors.netsuite.sink import internal_id


async def provision(config: NetSuiteSettings, options: SetupOptions) -> Sequence[str]:
    """`q2c connector setup netsuite`: the checks, said in one line."""
    del options  # NetSuite is polled: no webhook, no secret
    client = NetSuiteClient.of(config)
    try:
        currency = await sink_of(client, config).base_currency()
        subsidiary = internal_id(config.subsidiary_id, "subsidiary")
        rows = await client.suiteql_rows(
            f"SELECT id, name FROM subsidiary WHERE id = {subsidiary}"  # noqa: S608
        )
    finally:
        await client.close()
    if not rows:
        raise ConnectorError(
            ErrorKind.FATAL,
            f"NetSuite has no subsidiary {config.subsidiary_id} (Q2C_NETSUITE__SUBSIDIARY_ID)",
            system=SYSTEM,
        )
    return [
        f"netsuite: account {config.account_id}, subsidiary {rows[0].get('name') or subsidiary}, "
        f"currency {currency} present"
    ]
