"""What a BottleCRM org needs before q2c can sync with it, made idempotently.

q2c's custom fields on deals and accounts (where the ERP's status is written back), and a
webhook subscription to the connector's receiver. `q2c connector setup bottlecrm` and the
local stack (`q2c dev up`) both come here, so a cluster's set-up Job makes exactly what a
laptop gets.

BottleCRM mints a webhook's signing secret itself and shows it once, when the endpoint is
made or its secret rotated; afterwards only a hint (its last four characters) is readable.
So an existing endpoint is kept, and the configured secret is checked against the hint: a
receiver with the wrong secret would refuse every delivery.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from connectors.base.errors import ConnectorError, ErrorKind
from connectors.base.spec import SetupOptions
from connectors.bottlecrm.client import BottleCrmClient
from connectors.bottlecrm.fields import Q2C_FIELDS
from connectors.bottlecrm.mapping import SYSTEM
from connectors.bottlecrm.models import CustomFieldSpec
from connectors.bottlecrm.settings import BottleCrmSettings

# Every event of the objects the connector reads.
WEBHOOK_EVENTS = (
    "account.created",
    "account.updated",
    "account.deleted",
    "contact.created",
    "contact.updated",
    "contact.deleted",
    "deal.created",
    "deal.updated",
    "deal.deleted",
    "deal.won",
    "deal.lost",
)


@dataclass(frozen=True)
class Provisioned:
    """What the set-up found or made; ``secret`` only when a secret was minted now."""

    fields: int
    webhook: str | None = None
    created: bool = False
    secret: SecretStr | None = None


def _hint(secret: SecretStr) -> str:
    return f"whsec_...{secret.get_secret_value()[-4:]}"


async def ensure_fields(
    client: BottleCrmClient, fields: Iterable[CustomFieldSpec] = Q2C_FIELDS
) -> int:
    return len(await client.ensure_custom_fields(fields))


async def ensure_webhook(
    client: BottleCrmClient, url: str, *, mint: bool = True, rotate: bool = False
) -> tuple[str, bool, SecretStr | None]:
    """The endpoint delivering q2c's events to ``url``: (id, created, new secret or None).

    Without ``mint`` (nowhere to keep a new secret) a missing endpoint is an error rather
    than one whose secret nobody will ever know."""
    for endpoint in await client.webhooks():
        if endpoint.url != url:
            continue
        if not set(WEBHOOK_EVENTS) <= set(endpoint.events) or not endpoint.is_active:
            await client.update_webhook(
                endpoint.id, sorted(set(endpoint.events) | set(WEBHOOK_EVENTS))
            )
        secret: SecretStr | None = None
        if rotate:
            secret = await client.rotate_webhook_secret(endpoint.id)
        else:
            configured = client.settings.webhook_secret
            hint = getattr(endpoint, "secret_hint", None)
            if configured is not None and hint is not None and _hint(configured) != hint:
                raise ConnectorError(
                    ErrorKind.FATAL,
                    f"Q2C_BOTTLECRM__WEBHOOK_SECRET is not the secret of the webhook to {url} "
                    f"(BottleCRM has {hint}); rotate it with --rotate-secret --secret-file FILE",
                    system=SYSTEM,
                )
        return endpoint.id, False, secret
    if not mint:
        raise ConnectorError(
            ErrorKind.FATAL,
            f"BottleCRM has no webhook to {url}; make it once with --secret-file FILE and put "
            "the secret in Q2C_BOTTLECRM__WEBHOOK_SECRET (BottleCRM shows it only then)",
            system=SYSTEM,
        )
    endpoint, minted = await client.register_webhook(url, WEBHOOK_EVENTS, description="q2c")
    return endpoint.id, True, minted


async def make_ready(
    client: BottleCrmClient,
    webhook_url: str | None = None,
    *,
    mint: bool = True,
    rotate: bool = False,
) -> Provisioned:
    """Custom fields, then (given ``webhook_url``) the webhook subscription."""
    fields = await ensure_fields(client)
    if webhook_url is None:
        return Provisioned(fields=fields)
    endpoint, created, secret = await ensure_webhook(client, webhook_url, mint=mint, rotate=rotate)
    return Provisioned(fields=fields, webhook=endpoint, created=created, secret=secret)


def keep_secret(secret: SecretStr, path: Path) -> None:
    """Writes ``secret`` to ``path``, readable by its owner only."""
    path.touch(mode=0o600)
    os.chmod(path, 0o600)
    path.write_text(secret.get_secret_value())


async def provision(config: BottleCrmSettings, options: SetupOptions) -> Sequence[str]:
    """`q2c connector setup bottlecrm`: custom fields, and with ``options.webhook_url`` the
    webhook subscription; a secret minted now goes to ``options.secret_file`` (and only
    there: BottleCRM shows it once)."""
    if options.rotate_secret and options.secret_file is None:
        raise ConnectorError(
            ErrorKind.FATAL, "rotating the webhook secret needs a file to keep it", system=SYSTEM
        )
    url = options.webhook_url
    async with BottleCrmClient(config) as client:
        done = await make_ready(
            client, url, mint=options.secret_file is not None, rotate=options.rotate_secret
        )
    lines = [f"bottlecrm: {done.fields} custom fields defined"]
    if done.webhook is not None:
        lines.append(
            f"bottlecrm: webhook {done.webhook} to {url} {'made' if done.created else 'present'}"
        )
    if done.secret is not None and options.secret_file is not None:
        keep_secret(done.secret, options.secret_file)
        lines.append(
            f"bottlecrm: its signing secret is in {options.secret_file}; "
            "put it in Q2C_BOTTLECRM__WEBHOOK_SECRET"
        )
    return lines
