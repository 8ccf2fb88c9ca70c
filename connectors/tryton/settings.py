"""How to reach one Tryton database."""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr


class TrytonSettings(BaseModel):
    """Connection settings of the Tryton client; the password never prints."""

    url: str = Field(description="The server's base URL, e.g. http://127.0.0.1:8000.")
    database: str = Field(description="The database name (the first segment of every path).")
    user: str = "admin"
    password: SecretStr
    language: str = "en"
    timeout: float = Field(default=60.0, gt=0, description="Seconds allowed for one call.")
    max_attempts: int = Field(default=6, ge=1, description="Tries of a read before giving up.")
    rate: float | None = Field(default=None, gt=0, description="Calls a second; none = no limit.")
    poll_interval: float = Field(default=5.0, gt=0, description="Seconds between polls.")
    overlap: float = Field(
        default=120.0,
        ge=0,
        description="Seconds each poll reaches back for records committed late.",
    )
    page_size: int = Field(
        default=200, ge=1, le=10_000, description="Records a read asks for at once."
    )
    report_deletes: bool = Field(
        default=True, description="Find deleted parties, products and sales by id scans."
    )
    delete_scan_interval: float = Field(
        default=300.0, ge=0, description="Seconds between those scans (0 = every poll)."
    )
    currency: str | None = Field(
        default=None, description="The company currency; none = ask Tryton at start."
    )
    unit: str = Field(default="Unit", description="Unit of measure of items q2c creates.")
    account_category: str = Field(
        default="Sales", description="Accounting product category of items q2c creates."
    )
    item_type: str = Field(default="service", description="Product type of items q2c creates.")

    @property
    def rpc_url(self) -> str:
        return f"{self.url.rstrip('/')}/{self.database}/rpc/"
