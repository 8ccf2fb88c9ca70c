"""What an org needs before q2c syncs with it: the custom fields q2c writes (their API names
are settings), made idempotently through the Tooling API (``tooling/sobjects/CustomField``,
``FullName`` and ``Metadata``).

A field the object already describes is left as it is. When the user q2c acts as may not
define fields (the API answers ``INSUFFICIENT_ACCESS`` or a bare 403), nothing is guessed:
setup prints, line by line, exactly what an administrator must create, and the connector's
queries name the missing fields until then.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from connectors.base import ConnectorError, ErrorKind
from connectors.base.spec import SetupOptions
from connectors.salesforce.client import SalesforceClient
from connectors.salesforce.mapping import ACCOUNT, OPPORTUNITY, PRICE_BOOK, PRODUCT
from connectors.salesforce.settings import SalesforceSettings, WriteBackFields


@dataclass(frozen=True)
class FieldSpec:
    obj: str
    name: str
    label: str
    metadata: Mapping[str, Any]

    @property
    def full_name(self) -> str:
        return f"{self.obj}.{self.name}"

    def describe(self) -> str:
        """The field as an administrator creates it in Setup."""
        kind = str(self.metadata["type"])
        if "length" in self.metadata:
            kind += f"({self.metadata['length']})"
        elif "precision" in self.metadata:
            kind += f"({self.metadata['precision']}, {self.metadata['scale']})"
        extra = ", External ID, Unique" if self.metadata.get("externalId") else ""
        return f"{self.full_name}: {kind}{extra}, label {self.label!r}"


def _text(length: int) -> dict[str, Any]:
    return {"type": "Text", "length": length}


_MONEY: Mapping[str, Any] = {"type": "Number", "precision": 18, "scale": 2}
_DATE: Mapping[str, Any] = {"type": "Date"}
_KEY: Mapping[str, Any] = {"type": "Text", "length": 80, "externalId": True, "unique": True}


_LONG_TEXT: Mapping[str, Any] = {"type": "LongTextArea", "length": 32768, "visibleLines": 5}


def field_specs(names: WriteBackFields, invoice_records: bool = False) -> list[FieldSpec]:
    """Every field q2c writes, on the object it belongs to (the opportunity's invoice
    records only when invoices are kept there)."""

    def spec(obj: str, name: str, label: str, metadata: Mapping[str, Any]) -> FieldSpec:
        return FieldSpec(obj, name, label, {**metadata, "label": label})

    return [
        spec(OPPORTUNITY, names.order_number, "ERP order number", _text(80)),
        spec(OPPORTUNITY, names.order_state, "ERP order state", _text(40)),
        spec(OPPORTUNITY, names.invoice_status, "ERP invoice status", _text(40)),
        spec(OPPORTUNITY, names.invoice_numbers, "ERP invoice numbers", _text(255)),
        spec(OPPORTUNITY, names.invoiced_total, "ERP invoiced total", _MONEY),
        spec(OPPORTUNITY, names.amount_due, "ERP amount due", _MONEY),
        spec(OPPORTUNITY, names.last_payment_date, "ERP last payment date", _DATE),
        spec(OPPORTUNITY, names.sync_status, "q2c sync status", _text(40)),
        spec(OPPORTUNITY, names.sync_reason, "q2c sync reason", _text(255)),
        spec(OPPORTUNITY, names.renewal_key, "q2c renewal key", _KEY),
        spec(ACCOUNT, names.customer_code, "ERP customer code", _KEY),
        spec(ACCOUNT, names.outstanding_balance, "ERP outstanding balance", _MONEY),
        spec(ACCOUNT, names.overdue_balance, "ERP overdue balance", _MONEY),
        spec(ACCOUNT, names.last_payment_date, "ERP last payment date", _DATE),
        spec(ACCOUNT, names.sync_status, "q2c sync status", _text(40)),
        spec(ACCOUNT, names.sync_reason, "q2c sync reason", _text(255)),
        spec(PRODUCT, names.item_code, "q2c SKU", _KEY),
        spec(PRICE_BOOK, names.price_list_code, "q2c price list", _KEY),
    ] + (
        [spec(OPPORTUNITY, names.invoice_records, "ERP invoice records", _LONG_TEXT)]
        if invoice_records
        else []
    )


def refused(error: ConnectorError) -> bool:
    """The user may not define fields (as opposed to a field the org refuses)."""
    return error.status == 403 or "INSUFFICIENT_ACCESS" in error.reason


async def existing_fields(client: SalesforceClient, obj: str) -> frozenset[str]:
    described = await client.describe(obj)
    fields = described.get("fields")
    if not isinstance(fields, list):
        raise ConnectorError(
            ErrorKind.FATAL, f"the {obj} description lists no fields", system="salesforce"
        )
    return frozenset(str(f.get("name")) for f in fields if isinstance(f, Mapping))


async def ensure_fields(
    client: SalesforceClient, names: WriteBackFields, invoice_records: bool = False
) -> list[str]:
    """Creates the missing fields; what was done (or what an admin must do), line by line."""
    lines: list[str] = []
    wanted = field_specs(names, invoice_records)
    present: dict[str, frozenset[str]] = {}
    for obj in dict.fromkeys(f.obj for f in wanted):
        present[obj] = await existing_fields(client, obj)
    missing = [f for f in wanted if f.name not in present[f.obj]]
    lines += [f"salesforce: {f.full_name} exists" for f in wanted if f not in missing]
    for position, field in enumerate(missing):
        try:
            await client.create_custom_field(field.full_name, field.metadata)
        except ConnectorError as exc:
            if not refused(exc):
                raise
            rest = missing[position:]
            lines.append(
                "salesforce: this user may not create custom fields "
                f"({exc.reason}); an administrator must create:"
            )
            lines += [f"  {f.describe()}" for f in rest]
            return lines
        lines.append(f"salesforce: created {field.describe()}")
    return lines


async def provision(config: SalesforceSettings, options: SetupOptions) -> Sequence[str]:
    del options  # Salesforce pushes no webhooks to q2c
    client = SalesforceClient(config)
    try:
        kept = config.invoice_records == "opportunity_field"
        return await ensure_fields(client, config.fields, invoice_records=kept)
    finally:
        await client.close()
