"""The standard objects' own behaviour (Object Reference for the Salesforce Platform): an
opportunity's ``IsWon``/``IsClosed``/``Probability``/``ForecastCategoryName`` follow its
stage and its ``Amount`` is the sum of its line items once it has any; a line item needs an
active price book entry of the opportunity's price book (which it sets when the opportunity
has none) and takes its list price and product from it; an entry in a custom price book needs
the product's standard price first (``STANDARD_PRICE_NOT_DEFINED``); deleting an account or
an opportunity deletes what hangs off it; a contact's ``Name`` is its first and last name."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import SalesforceError
from .schema import STAGES
from .store import Row, Store, Transaction


def _integrity(detail: str, fields: tuple[str, ...] = ()) -> SalesforceError:
    return SalesforceError(
        400, "FIELD_INTEGRITY_EXCEPTION", f"field integrity exception: {detail}", fields
    )


class StandardRules:
    def __init__(self, store: Store) -> None:
        self.store = store

    def before_insert(self, row: Row, explicit: dict[str, Any]) -> None:
        values = row.values
        if row.sobject == "Contact":
            values["Name"] = _full_name(values)
        elif row.sobject == "Opportunity":
            self._opportunity_fields(values, stage_changed=True, explicit=explicit)
        elif row.sobject == "PricebookEntry":
            self._check_entry(values)
        elif row.sobject == "OpportunityLineItem":
            self._line_from_entry(values)
            _line_totals(values, values)

    def before_update(
        self, row: Row, merged: dict[str, Any], explicit: dict[str, Any]
    ) -> dict[str, Any]:
        """The values to write: what the body sets plus what the rules derive from it."""
        if row.sobject == "Contact":
            merged["Name"] = _full_name(merged)
        elif row.sobject == "Opportunity":
            moved = explicit.get("Pricebook2Id", row.values.get("Pricebook2Id"))
            if moved != row.values.get("Pricebook2Id") and self._lines(row.id):
                raise _integrity(
                    "Pricebook2Id (cannot change price book on an opportunity with products)",
                    ("Pricebook2Id",),
                )
            stage_changed = merged.get("StageName") != row.values.get("StageName")
            self._opportunity_fields(merged, stage_changed=stage_changed, explicit=explicit)
            if self._lines(row.id):
                merged["Amount"] = self._line_sum(row.id)
                merged["ExpectedRevenue"] = _expected(merged)
        elif row.sobject == "OpportunityLineItem":
            _line_totals(merged, explicit)
        elif row.sobject == "PricebookEntry" and merged.get("UseStandardPrice"):
            merged["UnitPrice"] = self._standard_price(str(merged["Product2Id"]))
        return {k: v for k, v in merged.items() if row.values.get(k) != v}

    def after_change(self, tx: Transaction, sobject: str, values: dict[str, Any]) -> None:
        """What a written record changes elsewhere: a line item its opportunity's amount."""
        if sobject == "OpportunityLineItem":
            self._refresh_amount(tx, str(values["OpportunityId"]))

    def _opportunity_fields(
        self, values: dict[str, Any], *, stage_changed: bool, explicit: Mapping[str, Any]
    ) -> None:
        stage = values.get("StageName")
        probability, closed, won, forecast = STAGES.get(str(stage), (0, False, False, "Pipeline"))
        values["IsClosed"] = closed
        values["IsWon"] = won
        if stage_changed and "Probability" not in explicit:
            values["Probability"] = float(probability)
        if stage_changed and "ForecastCategoryName" not in explicit:
            values["ForecastCategoryName"] = forecast
        values["ExpectedRevenue"] = _expected(values)

    def _check_entry(self, values: dict[str, Any]) -> None:
        pricebook = self.store.rows[str(values["Pricebook2Id"])]
        product = self.store.rows[str(values["Product2Id"])]
        values["Name"] = product.values.get("Name")
        values["ProductCode"] = product.values.get("ProductCode")
        for row in self.store.all_rows("PricebookEntry"):
            if (
                row.values["Pricebook2Id"] == pricebook.id
                and row.values["Product2Id"] == product.id
            ):
                raise SalesforceError(
                    400,
                    "DUPLICATE_VALUE",
                    "This price definition already exists in this price book",
                )
        if pricebook.values.get("IsStandard"):
            if values.get("UseStandardPrice"):
                raise _integrity(
                    "UseStandardPrice (a standard price book entry cannot use the standard price)",
                    ("UseStandardPrice",),
                )
            return
        standard = self._standard_price(product.id)
        if values.get("UseStandardPrice"):
            values["UnitPrice"] = standard

    def _standard_price(self, product_id: str) -> float:
        for row in self.store.all_rows("PricebookEntry"):
            if (
                row.values["Product2Id"] == product_id
                and row.values["Pricebook2Id"] == self.store.standard_pricebook_id
            ):
                return float(row.values["UnitPrice"])
        raise SalesforceError(
            400, "STANDARD_PRICE_NOT_DEFINED", "No standard price defined for this product"
        )

    def _line_from_entry(self, values: dict[str, Any]) -> None:
        entry_id = values.get("PricebookEntryId")
        if entry_id is None:
            raise SalesforceError(
                400,
                "REQUIRED_FIELD_MISSING",
                "Required fields are missing: [PricebookEntryId]",
                ["PricebookEntryId"],
            )
        entry = self.store.rows[str(entry_id)]
        opportunity = self.store.rows[str(values["OpportunityId"])]
        if not entry.values.get("IsActive"):
            raise _integrity(
                "PricebookEntryId (pricebook entry is inactive)", ("PricebookEntryId",)
            )
        pricebook_id = opportunity.values.get("Pricebook2Id")
        if pricebook_id is not None and pricebook_id != entry.values["Pricebook2Id"]:
            raise _integrity(
                "PricebookEntryId (pricebook entry is in a different pricebook than the one "
                "assigned to the opportunity)",
                ("PricebookEntryId",),
            )
        product = self.store.rows[str(entry.values["Product2Id"])]
        values["Product2Id"] = product.id
        values["ListPrice"] = entry.values["UnitPrice"]
        values["ProductCode"] = product.values.get("ProductCode")
        values["Name"] = f"{opportunity.values.get('Name')} {product.values.get('Name')}"
        if values.get("UnitPrice") is not None and values.get("TotalPrice") is not None:
            raise _integrity(
                "TotalPrice (only one of unit price or total price may be specified)",
                ("TotalPrice",),
            )
        if values.get("UnitPrice") is None and values.get("TotalPrice") is None:
            values["UnitPrice"] = entry.values["UnitPrice"]

    def _lines(self, opportunity_id: str) -> list[Row]:
        return [
            row
            for row in self.store.all_rows("OpportunityLineItem")
            if row.values["OpportunityId"] == opportunity_id
        ]

    def _line_sum(self, opportunity_id: str) -> float:
        return round(
            sum(float(r.values["TotalPrice"] or 0) for r in self._lines(opportunity_id)), 2
        )

    def _refresh_amount(self, tx: Transaction, opportunity_id: str) -> None:
        opportunity = self.store.rows[opportunity_id]
        if opportunity.deleted_at is not None:
            return
        lines = self._lines(opportunity_id)
        values: dict[str, Any] = {"HasOpportunityLineItem": bool(lines)}
        if lines:
            values["Amount"] = self._line_sum(opportunity_id)
            values["ExpectedRevenue"] = _expected({**opportunity.values, **values})
            values["Pricebook2Id"] = self.store.rows[
                str(lines[0].values["PricebookEntryId"])
            ].values["Pricebook2Id"]
        changed = {k: v for k, v in values.items() if opportunity.values.get(k) != v}
        if changed:
            tx.modify(opportunity_id, changed, self.store.now())

    def delete(self, tx: Transaction, row: Row) -> None:
        if row.sobject == "Pricebook2" and row.values.get("IsStandard"):
            raise SalesforceError(400, "DELETE_FAILED", "Cannot delete the standard price book")
        if row.sobject == "PricebookEntry" and any(
            line.values["PricebookEntryId"] == row.id
            for line in self.store.all_rows("OpportunityLineItem")
        ):
            raise SalesforceError(
                400, "DELETE_FAILED", "This price book entry is in use by opportunity products"
            )
        tx.remove(row.id, self.store.now())
        sobject = self.store.objects[row.sobject]
        for relationship in sobject.children:
            if not relationship.cascade_delete:
                continue
            for child in list(self.store.all_rows(relationship.child)):
                if child.values.get(relationship.field) == row.id:
                    self.delete(tx, child)
        if row.sobject == "OpportunityLineItem":
            self._refresh_amount(tx, str(row.values["OpportunityId"]))


def _full_name(values: Mapping[str, Any]) -> str:
    return " ".join(str(v) for v in (values.get("FirstName"), values.get("LastName")) if v)


def _expected(values: Mapping[str, Any]) -> float | None:
    amount, probability = values.get("Amount"), values.get("Probability")
    if amount is None or probability is None:
        return None
    return round(float(amount) * float(probability) / 100, 2)


def _line_totals(values: dict[str, Any], explicit: Mapping[str, Any]) -> None:
    """UnitPrice times Quantity, less the discount; a TotalPrice in the body sets UnitPrice."""
    quantity = float(values.get("Quantity") or 0)
    discount = float(values.get("Discount") or 0)
    if explicit.get("TotalPrice") is not None and quantity:
        values["UnitPrice"] = round(float(explicit["TotalPrice"]) / quantity, 2)
    unit = float(values.get("UnitPrice") or 0)
    values["Subtotal"] = round(unit * quantity, 2)
    values["TotalPrice"] = round(unit * quantity * (1 - discount / 100), 2)
