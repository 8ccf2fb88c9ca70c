"""A typed async client for BottleCRM's REST API (accounts, contacts, deals with line
items, products, custom fields, webhooks).

Built on the shared :class:`~connectors.base.HttpClient`: retries with backoff, Retry-After,
an optional rate limit, errors classified once (see :mod:`connectors.bottlecrm.errors`).
Creates are sent once and never retried here: a timeout may hide a record that was made,
so the caller looks it up by natural key before trying again (the sinks do). Everything
else (reads, updates by id, deletes) is safe to repeat and is retried.

The token is kept as a ``SecretStr`` and only turned into a header at call time, so no
object of this module holds it in plain text in its repr.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, TypeVar

import orjson
from pydantic import BaseModel, SecretStr, ValidationError

from connectors.base import ConnectorError, ErrorKind, HttpClient, RateLimiter, RetryPolicy
from connectors.bottlecrm.errors import (
    RESOLUTIONS,
    SYSTEM,
    CustomFieldsNotApplied,
    interpret,
    unexpected,
)
from connectors.bottlecrm.models import (
    Account,
    AccountInput,
    Contact,
    ContactInput,
    CustomFieldDefinition,
    CustomFieldSpec,
    CustomFieldTarget,
    Deal,
    DealInput,
    DealStage,
    LineItem,
    LineItemInput,
    Product,
    ProductInput,
    WebhookEndpoint,
)
from connectors.bottlecrm.settings import BottleCrmSettings

M = TypeVar("M", bound=BaseModel)
Page = tuple[list[Any], int]

_SEND_ONCE = RetryPolicy(max_attempts=1)

# Where each object lives: list path, and the key its detail answer wraps the record in.
_DETAIL_PATHS: Mapping[CustomFieldTarget, tuple[str, str]] = {
    "Account": ("/api/accounts/", "account_obj"),
    "Opportunity": ("/api/opportunities/", "opportunity_obj"),
    "Contact": ("/api/contacts/", "contact_obj"),
}


def _accounts_page(body: Any) -> Page:
    # Accounts come in two halves (active, inactive), each paged by the same limit/offset.
    active = body["active_accounts"]
    closed = body["closed_accounts"]
    total = max(int(active["open_accounts_count"]), int(closed["close_accounts_count"]))
    return [*active["open_accounts"], *closed["close_accounts"]], total


def _contacts_page(body: Any) -> Page:
    return list(body["results"]), int(body["count"])


def _deals_page(body: Any) -> Page:
    return list(body["opportunities"]), int(body["opportunities_count"])


def _products_page(body: Any) -> Page:
    return list(body["results"]), int(body["count"])


def _invoices_page(body: Any) -> Page:
    return list(body["results"]), int(body["count"])


def _wired(payload: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON body: decimals and dates as text, nested lists and objects too."""
    out: dict[str, Any] = {}
    for key, value in payload.items():
        if isinstance(value, Mapping):
            out[key] = _wired(value)
        elif isinstance(value, list | tuple):
            out[key] = [_wired(v) if isinstance(v, Mapping) else _wire(v) for v in value]
        else:
            out[key] = _wire(value)
    return out


ObjectName = Literal["account", "contact", "deal", "product"]
_LISTS: Mapping[ObjectName, tuple[str, Callable[[Any], Page]]] = {
    "account": ("/api/accounts/", _accounts_page),
    "contact": ("/api/contacts/", _contacts_page),
    "deal": ("/api/opportunities/", _deals_page),
    "product": ("/api/invoices/products/", _products_page),
}
_TARGETS: Mapping[str, CustomFieldTarget] = {
    "account": "Account",
    "contact": "Contact",
    "deal": "Opportunity",
}


def same_value(expected: Any, stored: Any) -> bool:
    """Whether a custom-field value read back is the one written.

    BottleCRM coerces on write: numbers become floats, dates ISO strings, and an empty
    value is not stored at all. Compare after the same coercion.
    """
    if expected is None or expected == "":
        return stored is None or stored == ""
    if isinstance(expected, bool) or isinstance(stored, bool):
        return expected is stored
    if isinstance(expected, int | float | Decimal) or isinstance(stored, int | float | Decimal):
        try:
            return Decimal(str(expected)) == Decimal(str(stored))
        except InvalidOperation:
            return False
    if isinstance(expected, date):
        return bool(expected.isoformat() == stored)
    return bool(str(expected) == stored)


def _wire(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


class BottleCrmClient:
    """One BottleCRM org. Use as ``async with BottleCrmClient(settings) as crm:``."""

    def __init__(self, settings: BottleCrmSettings, retry: RetryPolicy | None = None) -> None:
        self.settings = settings
        self.http = HttpClient(
            system=SYSTEM,
            base_url=settings.url.rstrip("/"),
            timeout=settings.timeout,
            retry=retry or RetryPolicy(max_attempts=settings.max_attempts),
            limiter=RateLimiter(settings.rate, burst=5) if settings.rate else None,
            resolutions=RESOLUTIONS,
            interpret=interpret,
            default_headers={"Accept": "application/json"},
        )

    def __repr__(self) -> str:
        return f"BottleCrmClient(url={self.settings.url!r})"

    async def __aenter__(self) -> BottleCrmClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self.http.close()

    # -- plumbing ------------------------------------------------------------------------

    async def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        credential: SecretStr | None = None,
        once: bool = False,
    ) -> Any:
        """The decoded JSON answer of one API call (``credential`` defaults to the token)."""
        secret = (credential or self.settings.token).get_secret_value()
        response = await self.http.request(
            method,
            path,
            json=json,
            params=params,
            headers={"Authorization": f"Bearer {secret}"},
            retry=_SEND_ONCE if once else None,
        )
        try:
            return response.json()
        except orjson.JSONDecodeError:
            raise unexpected(f"{method} {path} did not answer JSON") from None

    async def _pages(
        self, path: str, page: Callable[[Any], Page], params: Mapping[str, str] | None = None
    ) -> AsyncIterator[Any]:
        limit = self.settings.page_size
        offset = 0
        while True:
            body = await self.call(
                "GET", path, params={**(params or {}), "limit": str(limit), "offset": str(offset)}
            )
            try:
                items, total = page(body)
            except (KeyError, TypeError, ValueError) as exc:
                raise unexpected(f"GET {path} is not the list shape q2c reads", repr(exc)) from exc
            for item in items:
                yield item
            offset += limit
            if not items or offset >= total:
                return

    @staticmethod
    def _parse(model: type[M], data: Any, what: str) -> M:
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise unexpected(f"{what} does not read as {model.__name__}", str(exc)) from exc

    async def _list(
        self,
        model: type[M],
        path: str,
        page: Callable[[Any], Page],
        params: Mapping[str, str] | None = None,
    ) -> AsyncIterator[M]:
        async for item in self._pages(path, page, params):
            yield self._parse(model, item, f"an item of {path}")

    async def _detail(self, target: CustomFieldTarget, record_id: str) -> Any:
        path, key = _DETAIL_PATHS[target]
        body = await self.call("GET", f"{path}{record_id}/")
        if not isinstance(body, dict) or key not in body:
            raise unexpected(f"GET {path}{record_id}/ has no {key}")
        return body[key]

    async def _create(self, path: str, payload: Mapping[str, Any]) -> str:
        body = await self.call("POST", path, json=payload, once=True)
        record_id = body.get("id") if isinstance(body, dict) else None
        if not record_id:
            raise unexpected(f"POST {path} did not return the new id")
        return str(record_id)

    # -- raw records, as the API sends them (what a source publishes) ---------------------

    def records(self, obj: ObjectName) -> AsyncIterator[dict[str, Any]]:
        """Every record of ``obj`` in the org, as the list endpoint sends it."""
        path, page = _LISTS[obj]
        return self._pages(path, page)

    async def record(self, obj: ObjectName, record_id: str) -> dict[str, Any]:
        """One record as the detail endpoint sends it (a superset of the list's fields)."""
        if obj == "product":  # products carry no custom fields: their own detail endpoint
            found = await self.call("GET", f"/api/invoices/products/{record_id}/")
        else:
            found = await self._detail(_TARGETS[obj], record_id)
        if not isinstance(found, dict):
            raise unexpected(f"{obj} {record_id} is not an object")
        return found

    # -- accounts ------------------------------------------------------------------------

    def accounts(self, name: str | None = None) -> AsyncIterator[Account]:
        """Every account of the org, active and inactive (``name``: whose name contains it)."""
        params = {"name": name} if name else None
        return self._list(Account, "/api/accounts/", _accounts_page, params)

    async def get_account(self, account_id: str) -> Account:
        return self._parse(Account, await self._detail("Account", account_id), "an account")

    async def create_account(
        self, account: AccountInput, custom_fields: Mapping[str, Any] | None = None
    ) -> str:
        payload = account.payload()
        if custom_fields:
            payload["custom_fields"] = {k: _wire(v) for k, v in custom_fields.items()}
        return await self._create("/api/accounts/", payload)

    async def update_account(self, account_id: str, changes: AccountInput) -> None:
        await self.call("PATCH", f"/api/accounts/{account_id}/", json=changes.payload())

    async def delete_account(self, account_id: str) -> None:
        await self.call("DELETE", f"/api/accounts/{account_id}/")

    # -- contacts ------------------------------------------------------------------------

    def contacts(self, email: str | None = None) -> AsyncIterator[Contact]:
        """Every contact of the org (``email``: whose address contains it)."""
        params = {"email": email} if email else None
        return self._list(Contact, "/api/contacts/", _contacts_page, params)

    async def get_contact(self, contact_id: str) -> Contact:
        return self._parse(Contact, await self._detail("Contact", contact_id), "a contact")

    async def create_contact(self, contact: ContactInput) -> str:
        return await self._create("/api/contacts/", contact.payload())

    async def update_contact(self, contact_id: str, changes: ContactInput) -> None:
        await self.call("PATCH", f"/api/contacts/{contact_id}/", json=changes.payload())

    async def delete_contact(self, contact_id: str) -> None:
        await self.call("DELETE", f"/api/contacts/{contact_id}/")

    async def account_contacts(self, account_id: str) -> list[Contact]:
        """The account's contacts, oldest first (the account detail lists them)."""
        path, _ = _DETAIL_PATHS["Account"]
        body = await self.call("GET", f"{path}{account_id}/")
        rows = body.get("contacts") if isinstance(body, dict) else None
        if not isinstance(rows, list):
            raise unexpected(f"GET {path}{account_id}/ lists no contacts")
        contacts = [self._parse(Contact, row, "a contact of an account") for row in rows]
        return sorted(contacts, key=lambda c: (c.created_at is None, c.created_at, c.id))

    # -- invoices ------------------------------------------------------------------------

    def invoices(self, account: str) -> AsyncIterator[dict[str, Any]]:
        """The account's invoices as the list sends them (no custom fields: see
        :meth:`invoice`)."""
        return self._pages("/api/invoices/", _invoices_page, {"account": account})

    async def invoice(self, invoice_id: str) -> dict[str, Any]:
        """One invoice with its line items, payments and custom fields."""
        body = await self.call("GET", f"/api/invoices/{invoice_id}/")
        found = body.get("invoice") if isinstance(body, dict) else None
        if not isinstance(found, dict):
            raise unexpected(f"GET /api/invoices/{invoice_id}/ has no invoice")
        return found

    async def create_invoice(self, payload: Mapping[str, Any]) -> str:
        body = await self.call("POST", "/api/invoices/", json=_wired(payload), once=True)
        found = body.get("invoice") if isinstance(body, dict) else None
        if not isinstance(found, dict) or not found.get("id"):
            raise unexpected("POST /api/invoices/ did not return the new invoice")
        return str(found["id"])

    async def update_invoice(self, invoice_id: str, payload: Mapping[str, Any]) -> None:
        await self.call("PUT", f"/api/invoices/{invoice_id}/", json=_wired(payload))

    async def send_invoice(self, invoice_id: str) -> None:
        """Draft → Sent: BottleCRM's way to mark an invoice issued."""
        await self.call("POST", f"/api/invoices/{invoice_id}/send/")

    async def cancel_invoice(self, invoice_id: str) -> None:
        await self.call("POST", f"/api/invoices/{invoice_id}/cancel/")

    async def add_invoice_payment(self, invoice_id: str, payment: Mapping[str, Any]) -> None:
        await self.call(
            "POST", f"/api/invoices/{invoice_id}/payments/", json=_wired(payment), once=True
        )

    async def delete_invoice_payment(self, invoice_id: str, payment_id: str) -> None:
        await self.call("DELETE", f"/api/invoices/{invoice_id}/payments/{payment_id}/")

    # -- deals ---------------------------------------------------------------------------

    def deals(self) -> AsyncIterator[Deal]:
        """Every deal of the org, with its line items."""
        return self._list(Deal, "/api/opportunities/", _deals_page)

    async def get_deal(self, deal_id: str) -> Deal:
        return self._parse(Deal, await self._detail("Opportunity", deal_id), "a deal")

    async def create_deal(
        self, deal: DealInput, custom_fields: Mapping[str, Any] | None = None
    ) -> str:
        payload = deal.payload()
        if custom_fields:
            payload["custom_fields"] = {k: _wire(v) for k, v in custom_fields.items()}
        return await self._create("/api/opportunities/", payload)

    async def update_deal(self, deal_id: str, changes: DealInput) -> None:
        await self.call("PATCH", f"/api/opportunities/{deal_id}/", json=changes.payload())

    async def close_won(self, deal_id: str, closed_on: date) -> None:
        """Move a deal to Closed Won (BottleCRM requires the close date with it)."""
        await self.update_deal(deal_id, DealInput(stage=DealStage.CLOSED_WON, closed_on=closed_on))

    async def delete_deal(self, deal_id: str) -> None:
        await self.call("DELETE", f"/api/opportunities/{deal_id}/")

    async def line_items(self, deal_id: str) -> list[LineItem]:
        body = await self.call("GET", f"/api/opportunities/{deal_id}/line-items/")
        if not isinstance(body, dict) or not isinstance(body.get("line_items"), list):
            raise unexpected("the line-item list has no line_items")
        return [self._parse(LineItem, item, "a line item") for item in body["line_items"]]

    async def add_line_item(self, deal_id: str, item: LineItemInput) -> LineItem:
        """Adds a line; BottleCRM then sets the deal's amount to the sum of its lines."""
        body = await self.call(
            "POST", f"/api/opportunities/{deal_id}/line-items/", json=item.payload(), once=True
        )
        return self._parse(LineItem, (body or {}).get("line_item"), "the new line item")

    async def update_line_item(
        self, deal_id: str, item_id: str, changes: LineItemInput
    ) -> LineItem:
        body = await self.call(
            "PUT", f"/api/opportunities/{deal_id}/line-items/{item_id}/", json=changes.payload()
        )
        return self._parse(LineItem, (body or {}).get("line_item"), "the updated line item")

    async def delete_line_item(self, deal_id: str, item_id: str) -> None:
        await self.call("DELETE", f"/api/opportunities/{deal_id}/line-items/{item_id}/")

    # -- products ------------------------------------------------------------------------

    def products(self, search: str | None = None) -> AsyncIterator[Product]:
        params = {"search": search} if search else None
        return self._list(Product, "/api/invoices/products/", _products_page, params)

    async def get_product(self, product_id: str) -> Product:
        body = await self.call("GET", f"/api/invoices/products/{product_id}/")
        return self._parse(Product, body, "a product")

    async def find_product_by_sku(self, sku: str) -> Product | None:
        """The product with exactly this SKU (the search also matches names and parts)."""
        async for product in self.products(search=sku):
            if product.sku == sku:
                return product
        return None

    async def create_product(self, product: ProductInput) -> Product:
        body = await self.call("POST", "/api/invoices/products/", json=product.payload(), once=True)
        return self._parse(Product, (body or {}).get("product"), "the new product")

    async def update_product(self, product_id: str, changes: ProductInput) -> Product:
        body = await self.call(
            "PUT", f"/api/invoices/products/{product_id}/", json=changes.payload()
        )
        return self._parse(Product, (body or {}).get("product"), "the updated product")

    async def delete_product(self, product_id: str) -> None:
        await self.call("DELETE", f"/api/invoices/products/{product_id}/")

    # -- custom fields -------------------------------------------------------------------

    async def custom_fields(
        self, target: CustomFieldTarget | None = None
    ) -> list[CustomFieldDefinition]:
        params = {"include_counts": "false"}
        if target:
            params["target_model"] = target
        body = await self.call("GET", "/api/custom-fields/", params=params)
        if not isinstance(body, dict) or not isinstance(body.get("definitions"), list):
            raise unexpected("the custom-field list has no definitions")
        return [
            self._parse(CustomFieldDefinition, item, "a custom field")
            for item in body["definitions"]
        ]

    async def define_custom_field(self, spec: CustomFieldSpec) -> CustomFieldDefinition:
        body = await self.call("POST", "/api/custom-fields/", json=spec.payload(), once=True)
        return self._parse(CustomFieldDefinition, body, "the new custom field")

    async def ensure_custom_fields(
        self, specs: Iterable[CustomFieldSpec]
    ) -> list[CustomFieldDefinition]:
        """Defines each field that is missing; a key already defined as another type, or
        switched off, is an error an admin has to settle (q2c does not change it)."""
        existing = {(d.target_model, d.key): d for d in await self.custom_fields()}
        result: list[CustomFieldDefinition] = []
        for spec in specs:
            found = existing.get((spec.target_model, spec.key))
            if found is None:
                found = await self.define_custom_field(spec)
            elif found.field_type != spec.field_type or not found.is_active:
                raise ConnectorError(
                    ErrorKind.FATAL,
                    f"custom field {spec.target_model}.{spec.key} exists as "
                    f"{found.field_type}{'' if found.is_active else ' (inactive)'}, "
                    f"q2c needs an active {spec.field_type} field",
                    system=SYSTEM,
                )
            result.append(found)
        return result

    async def write_custom_fields(
        self, target: CustomFieldTarget, record_id: str, values: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Writes ``values`` into a record's custom fields (other keys are kept) and reads
        them back; raises :class:`CustomFieldsNotApplied` naming any key that did not take.
        Returns the record's custom fields as stored."""
        path, _ = _DETAIL_PATHS[target]
        payload = {key: _wire(value) for key, value in values.items()}
        await self.call("PATCH", f"{path}{record_id}/", json={"custom_fields": payload})
        record = await self._detail(target, record_id)
        stored = record.get("custom_fields") if isinstance(record, dict) else None
        if not isinstance(stored, dict):
            raise unexpected(f"{target} {record_id} has no custom_fields")
        missing = [key for key, value in values.items() if not same_value(value, stored.get(key))]
        if missing:
            raise CustomFieldsNotApplied(f"{target} {record_id}", sorted(missing))
        return stored

    # -- webhooks (managed with the JWT: BottleCRM refuses tokens here) -----------------

    def _jwt(self) -> SecretStr:
        if self.settings.jwt is None:
            raise ConnectorError(
                ErrorKind.FATAL,
                "managing webhooks needs a signed-in user's JWT (settings.jwt); "
                "personal access tokens are refused there",
                system=SYSTEM,
            )
        return self.settings.jwt

    async def register_webhook(
        self, url: str, events: Iterable[str], description: str = "q2c"
    ) -> tuple[WebhookEndpoint, SecretStr]:
        """A new endpoint for ``events`` and its signing secret (shown only this once)."""
        body = await self.call(
            "POST",
            "/api/webhooks/",
            json={"url": url, "events": list(events), "description": description},
            credential=self._jwt(),
            once=True,
        )
        endpoint = self._parse(WebhookEndpoint, body, "the new webhook")
        secret = body.get("secret") if isinstance(body, dict) else None
        if not isinstance(secret, str) or not secret:
            raise unexpected("the new webhook came without its secret")
        return endpoint, SecretStr(secret)

    async def webhooks(self) -> list[WebhookEndpoint]:
        body = await self.call("GET", "/api/webhooks/", credential=self._jwt())
        items = body.get("endpoints") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise unexpected("the webhook list has no endpoints")
        return [self._parse(WebhookEndpoint, item, "a webhook") for item in items]

    async def update_webhook(self, endpoint_id: str, events: Iterable[str]) -> None:
        """Subscribes the endpoint to ``events`` and switches it on."""
        payload = {"events": list(events), "is_active": True}
        await self.call(
            "PATCH", f"/api/webhooks/{endpoint_id}/", json=payload, credential=self._jwt()
        )

    async def rotate_webhook_secret(self, endpoint_id: str) -> SecretStr:
        """A new signing secret for the endpoint (shown only this once); the old one stops."""
        body = await self.call(
            "POST", f"/api/webhooks/{endpoint_id}/rotate-secret/", credential=self._jwt(), once=True
        )
        secret = body.get("secret") if isinstance(body, dict) else None
        if not isinstance(secret, str) or not secret:
            raise unexpected("the rotated webhook came without its secret")
        return SecretStr(secret)

    async def delete_webhook(self, endpoint_id: str) -> None:
        await self.call("DELETE", f"/api/webhooks/{endpoint_id}/", credential=self._jwt())
