"""How to reach one NetSuite account."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, model_validator


class NetSuiteSettings(BaseModel):
    """Connection settings of the NetSuite client; secrets never print.

    Either token-based authentication (``auth = "tba"``: consumer key and secret, token id
    and secret, signed per request) or OAuth 2.0 client credentials (``auth = "m2m"``: the
    integration's client id, the id of the certificate uploaded for it, and the private key
    that signs the JWT assertion)."""

    base_url: str = Field(
        description="https://<account>.suitetalk.api.netsuite.com (no path).",
    )
    account_id: str = Field(description="The account id, e.g. 1234567_SB1: the TBA realm.")
    auth: Literal["tba", "m2m"] = "tba"
    consumer_key: str = ""
    consumer_secret: SecretStr = SecretStr("")
    token_id: str = ""
    token_secret: SecretStr = SecretStr("")
    client_id: str = ""
    certificate_id: str = ""
    private_key_file: Path | None = None
    time_zone: str = Field(
        default="America/Los_Angeles",
        description="The account's time zone: SuiteQL dates are in it.",
    )
    subsidiary_id: str = Field(default="1", description="Subsidiary of customers q2c creates.")
    currency_id: str = Field(default="1", description="Currency of customers q2c creates.")
    currencies: dict[str, str] = Field(
        default_factory=dict,
        description="Currency ISO code → NetSuite currency id; empty = read from SuiteQL.",
    )
    order_status: Literal["A", "B"] = Field(
        default="B",
        description="Approval state of sales orders q2c creates: A pending, B approved.",
    )
    item_type: Literal["inventoryItem", "serviceSaleItem", "nonInventorySaleItem"] = "inventoryItem"
    concurrency: int = Field(
        default=4, ge=1, le=100, description="Calls q2c has in flight at once (its share)."
    )
    timeout: float = Field(default=60.0, gt=0, description="Seconds allowed for one call.")
    max_attempts: int = Field(default=8, ge=1, description="Tries of a call before giving up.")
    poll_interval: float = Field(default=5.0, gt=0, description="Seconds between polls.")
    overlap: float = Field(
        default=120.0, ge=0, description="Seconds each poll reaches back for late commits."
    )
    page_size: int = Field(default=500, ge=1, le=1000, description="SuiteQL rows a page.")
    window_days: float = Field(
        default=7.0,
        gt=0,
        description="Days one SuiteQL query spans: small enough to stay under 100,000 rows.",
    )
    async_writes: bool = Field(
        default=False,
        description="Create sales orders asynchronously (Prefer: respond-async with an "
        "idempotency key) instead of by external-id upsert.",
    )

    @model_validator(mode="after")
    def _credentials(self) -> NetSuiteSettings:
        if self.auth == "tba":
            missing = [
                name
                for name, value in (
                    ("consumer_key", self.consumer_key),
                    ("consumer_secret", self.consumer_secret.get_secret_value()),
                    ("token_id", self.token_id),
                    ("token_secret", self.token_secret.get_secret_value()),
                )
                if not value
            ]
        else:
            missing = [
                name
                for name, value in (
                    ("client_id", self.client_id),
                    ("certificate_id", self.certificate_id),
                    ("private_key_file", self.private_key_file),
                )
                if not value
            ]
        if missing:
            raise ValueError(f"{self.auth} authentication needs {', '.join(missing)}")
        return self

    @property
    def rest_url(self) -> str:
        return f"{self.base_url.rstrip('/')}/services/rest"
