"""How q2c reaches one Salesforce org, and what it writes there."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, SecretStr, model_validator


class WriteBackFields(BaseModel):
    """The API names of the custom fields q2c writes (``q2c connector setup salesforce``
    creates the missing ones through the Tooling API)."""

    order_number: str = "ERP_Order_Number__c"
    order_state: str = "ERP_Order_State__c"
    invoice_status: str = "ERP_Invoice_Status__c"
    invoice_numbers: str = "ERP_Invoice_Numbers__c"
    invoiced_total: str = "ERP_Invoiced_Total__c"
    amount_due: str = "ERP_Amount_Due__c"
    last_payment_date: str = "ERP_Last_Payment_Date__c"
    outstanding_balance: str = "ERP_Outstanding_Balance__c"
    overdue_balance: str = "ERP_Overdue_Balance__c"
    customer_code: str = Field(
        default="ERP_Customer_Code__c",
        description="Account external id: the ERP customer code, how an ERP-first customer "
        "is upserted and found again.",
    )
    item_code: str = Field(
        default="Q2C_SKU__c",
        description="Product2 external id: the SKU both systems share (products are upserted "
        "by it).",
    )
    renewal_key: str = Field(
        default="Q2C_Renewal_Key__c",
        description="Opportunity external id: the renewal (subscription and renewal date) a "
        "renewal opportunity q2c opened is for (renewal opportunities are upserted by it).",
    )
    price_list_code: str = Field(
        default="Q2C_Price_List__c",
        description="Pricebook2 external id: the ERP price list a custom price book shows "
        "(price books are upserted by it).",
    )
    sync_status: str = "Q2C_Sync_Status__c"
    sync_reason: str = "Q2C_Sync_Reason__c"
    invoice_records: str = Field(
        default="ERP_Invoice_Records__c",
        description="Opportunity Long Text Area (32768): one line per ERP invoice of the "
        "deal, written when ``invoice_records`` is ``opportunity_field``.",
    )


class SalesforceSettings(BaseModel):
    """One org: the login host, the connected app's credentials and how q2c paces itself."""

    login_url: str = Field(
        default="https://login.salesforce.com",
        description="The OAuth host (https://test.salesforce.com for a sandbox); API calls go "
        "to the instance_url its token answer names.",
    )
    api_version: str = Field(default="62.0", pattern=r"^\d+\.\d$")
    consumer_key: str | None = Field(
        default=None, description="The connected app's consumer key (JWT bearer flow)."
    )
    username: str | None = Field(default=None, description="The user q2c acts as (JWT sub).")
    private_key_file: str | None = Field(
        default=None, description="PEM file of the RSA key whose certificate the app holds."
    )
    private_key: SecretStr | None = Field(default=None, description="The same key, inline PEM.")
    audience: str | None = Field(default=None, description="The JWT aud; the login URL unless set.")
    client_id: str | None = Field(default=None, description="Refresh-token flow: client id.")
    client_secret: SecretStr | None = Field(default=None)
    refresh_token: SecretStr | None = Field(default=None)
    call_client: str = Field(
        default="q2c",
        pattern=r"^[A-Za-z0-9_.-]{1,40}$",
        description="Sent as Sforce-Call-Options: client=<this> so q2c knows its own writes.",
    )
    tracking: Literal["polling", "cdc"] = Field(
        default="polling",
        description="How changes are followed; polling stays the safety net under cdc.",
    )
    pubsub_address: str = Field(
        default="api.pubsub.salesforce.com:7443",
        description="The Pub/Sub API (host:port) Change Data Capture is read from; TLS except "
        "on a loopback address.",
    )
    pubsub_topic: str = Field(
        default="/data/ChangeEvents",
        pattern=r"^/data/\w+$",
        description="The change event channel: every selected object's changes by default.",
    )
    api_share: float = Field(
        default=0.5,
        gt=0,
        le=1,
        description="The share of the org's daily API allowance q2c may use; polling slows "
        "down as it is approached and pauses when it is spent.",
    )
    poll_interval: float = Field(default=15.0, gt=0, description="Seconds between polls.")
    cdc_poll_interval: float = Field(
        default=300.0,
        gt=0,
        description=(
            "Seconds between the polls that back Change Data Capture up (tracking = cdc): "
            "they catch what the event stream could not deliver, at a fraction of the API use."
        ),
    )
    overlap: float = Field(
        default=120.0, ge=0, description="Seconds each poll reaches back before its mark."
    )
    delete_interval: float = Field(
        default=60.0,
        ge=0,
        description="Seconds between getDeleted calls of a stream (the API counts whole "
        "minutes; each window starts at the previous answer's latestDateCovered).",
    )
    batch_size: int = Field(
        default=2000, ge=200, le=2000, description="Sforce-Query-Options batchSize."
    )
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    fields: WriteBackFields = Field(default_factory=WriteBackFields)
    invoice_records: Literal["refuse", "opportunity_field"] = Field(
        default="opportunity_field",
        description=(
            "What becomes of an ERP invoice record (Salesforce has no standard invoice "
            "object): 'opportunity_field' keeps one line per invoice in the opportunity's "
            "invoice-records field (made by set-up), 'refuse' dead-letters each with the "
            "reason (for orgs that keep invoices elsewhere, e.g. Salesforce Billing)."
        ),
    )
    timeout: float = Field(default=30.0, gt=0)
    max_attempts: int = Field(default=6, ge=1)

    @model_validator(mode="after")
    def _one_flow(self) -> SalesforceSettings:
        jwt = self.consumer_key and self.username and (self.private_key or self.private_key_file)
        refresh = self.client_id and self.refresh_token
        if not jwt and not refresh:
            raise ValueError(
                "set consumer_key, username and private_key(_file) for the JWT bearer flow, "
                "or client_id, client_secret and refresh_token for the refresh-token flow"
            )
        return self

    @property
    def flow(self) -> Literal["jwt", "refresh_token"]:
        """JWT bearer when its credentials are set, else the refresh token."""
        has_key = self.private_key is not None or self.private_key_file is not None
        if self.consumer_key and self.username and has_key:
            return "jwt"
        return "refresh_token"
