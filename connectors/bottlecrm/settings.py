"""How q2c reaches one BottleCRM organization."""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr


class BottleCrmSettings(BaseModel):
    """One BottleCRM org: its URL and the credentials q2c acts with there."""

    url: str = Field(description="Base URL, e.g. https://crm.example.com (no trailing /api).")
    token: SecretStr = Field(description="Personal access token (bcrm_pat_...).")
    jwt: SecretStr | None = Field(
        default=None,
        description="An org-bound JWT; only webhook registration needs it (tokens may not).",
    )
    webhook_secret: SecretStr | None = Field(
        default=None, description="The whsec_... secret of q2c's webhook endpoint."
    )
    webhook_tolerance: float = Field(
        default=300.0, gt=0, description="Seconds a signed webhook stays acceptable."
    )
    timeout: float = Field(default=30.0, gt=0)
    max_attempts: int = Field(default=6, ge=1)
    rate: float | None = Field(default=None, gt=0, description="Calls a second; none = no limit.")
    page_size: int = Field(default=200, ge=1, le=1000)
    currency: str = Field(
        default="USD", pattern=r"^[A-Z]{3}$", description="The org's currency (deals, prices)."
    )
    scan_interval: float = Field(
        default=60.0, gt=0, description="Seconds between full scans; webhooks fill the gaps."
    )
    webhook_host: str = Field(default="127.0.0.1", description="Where the receiver listens.")
    webhook_port: int = Field(default=8787, ge=0, le=65535)
