"""The standard objects' own behaviour (Object Reference for the Salesforce Platform): an
opportunity's ``IsWon``/``IsClosed``/``Probability``/``ForecastCategoryName`` follow its
stage and its ``Amount`` is the sum of its line items once it has any; a line item needs an
active price book entry of the opportunity's price book (which it sets when the opportunity
has none) and takes its list price and product from it; an entry in a custom price book needs
the product's standard price first (``STANDARD_PRICE_NOT_DEFINED``); deleting an account or
an opportunity deletes what hangs off it; a contact's ``Name`` is its first and last name.
A quote belongs to an opportunity (its account and price book come from it), takes a
``QuoteNumber``, and totals its line items
(``Subtotal``, ``TotalPrice``, ``GrandTotal`` with tax and shipping, ``LineItemCount``), so
a line's change changes its quote; an opportunity's ``SyncedQuoteId`` names one of its own
quotes, whose ``IsSyncing`` follows it, and deleting that quote clears it. Syncing does not
copy line items between the quote and the opportunity here (on a real org it does)."""

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
            if values.get("SyncedQuoteId") is not None:
                self._check_synced(row.id, str(values["SyncedQuoteId"]))
            self._opportunity_fields(values, stage_changed=True, explicit=explicit)
        elif row.sobject == "PricebookEntry":
            self._check_entry(values)
        elif row.sobject == "OpportunityLineItem":
            self._line_from_entry(values)
            _line_totals(values, values)
        elif row.sobject == "Quote":
            self._new_quote(values)
        elif row.sobject == "QuoteLineItem":
            self._quote_line_from_entry(values)
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
            synced = merged.get("SyncedQuoteId")
            if synced is not None and synced != row.values.get("SyncedQuoteId"):
                self._check_synced(row.id, str(synced))
            stage_changed = merged.get("StageName") != row.values.get("StageName")
            self._opportunity_fields(merged, stage_changed=stage_changed, explicit=explicit)
            if self._lines(row.id):
                merged["Amount"] = self._line_sum(row.id)
                merged["ExpectedRevenue"] = _expected(merged)
        elif row.sobject in ("OpportunityLineItem", "QuoteLineItem"):
            _line_totals(merged, explicit)
        elif row.sobject == "Quote":
            merged["GrandTotal"] = _grand_total(merged)
        elif row.sobject == "PricebookEntry" and merged.get("UseStandardPrice"):
            merged["UnitPrice"] = self._standard_price(str(merged["Product2Id"]))
        return {k: v for k, v in merged.items() if row.values.get(k) != v}

    def after_change(self, tx: Transaction, sobject: str, values: dict[str, Any]) -> None:
        """What a written record changes elsewhere: a line item its opportunity's amount or
        its quote's totals, an opportunity its quotes' ``IsSyncing``."""
        if sobject == "OpportunityLineItem":
            self._refresh_amount(tx, str(values["OpportunityId"]))
        elif sobject == "QuoteLineItem":
            self._refresh_quote(tx, str(values["QuoteId"]))
        elif sobject == "Opportunity" and "Quote" in self.store.objects:
            synced = values.get("SyncedQuoteId")
            for quote in self._quotes(str(values["Id"])):
                if bool(quote.values.get("IsSyncing")) != (quote.id == synced):
                    tx.modify(quote.id, {"IsSyncing": quote.id == synced}, self.store.now())

    def _new_quote(self, values: dict[str, Any]) -> None:
        opportunity = self.store.rows[str(values["OpportunityId"])]
        values["AccountId"] = opportunity.values.get("AccountId")
        if values.get("Pricebook2Id") is None:
            values["Pricebook2Id"] = opportunity.values.get("Pricebook2Id")
        numbered = sum(1 for _ in self.store.all_rows("Quote", include_deleted=True))
        values["QuoteNumber"] = f"{numbered + 1:08d}"
        values["IsSyncing"] = False
        values["Status"] = values.get("Status") or "Draft"
        values.update(Subtotal=0.0, TotalPrice=0.0, LineItemCount=0, Discount=None)
        values["GrandTotal"] = _grand_total(values)

    def _check_synced(self, opportunity_id: str, quote_id: str) -> None:
        quote = self.store.rows.get(quote_id)
        if (
            quote is None
            or quote.sobject != "Quote"
            or quote.values.get("OpportunityId") != opportunity_id
        ):
            raise _integrity(
                "SyncedQuoteId (the synced quote must be a quote of this opportunity)",
                ("SyncedQuoteId",),
            )

    def _entry_of_line(self, values: dict[str, Any], parent: str, noun: str) -> Row:
        """The line's active price book entry, in the price book of its ``parent`` (the
        opportunity or quote, by the line's ``parent`` field), as Salesforce checks it."""
        entry_id = values.get("PricebookEntryId")
        if entry_id is None:
            raise SalesforceError(
                400,
                "REQUIRED_FIELD_MISSING",
                "Required fields are missing: [PricebookEntryId]",
                ["PricebookEntryId"],
            )
        entry = self.store.rows[str(entry_id)]
        owner = self.store.rows[str(values[parent])]
        if not entry.values.get("IsActive"):
            raise _integrity(
                "PricebookEntryId (pricebook entry is inactive)", ("PricebookEntryId",)
            )
        pricebook_id = owner.values.get("Pricebook2Id")
        if pricebook_id is not None and pricebook_id != entry.values["Pricebook2Id"]:
            raise _integrity(
                "PricebookEntryId (pricebook entry is in a different pricebook than the one "
                f"assigned to the {noun})",
                ("PricebookEntryId",),
            )
        return entry

    def _quote_line_from_entry(self, values: dict[str, Any]) -> None:
        entry = self._entry_of_line(values, "QuoteId", "quote")
        values["Product2Id"] = entry.values["Product2Id"]
        values["ListPrice"] = entry.values["UnitPrice"]
        numbered = sum(1 for _ in self.store.all_rows("QuoteLineItem", include_deleted=True))
        values["LineNumber"] = f"{numbered + 1:08d}"
        if values.get("UnitPrice") is None:
            values["UnitPrice"] = entry.values["UnitPrice"]

    def _quotes(self, opportunity_id: str) -> list[Row]:
        return [
            row
            for row in self.store.all_rows("Quote")
            if row.values["OpportunityId"] == opportunity_id
        ]

    def _refresh_quote(self, tx: Transaction, quote_id: str) -> None:
        quote = self.store.rows[quote_id]
        if quote.deleted_at is not None:
            return
        lines = [
            row for row in self.store.all_rows("QuoteLineItem") if row.values["QuoteId"] == quote_id
        ]
        subtotal = round(sum(float(r.values["Subtotal"] or 0) for r in lines), 2)
        total = round(sum(float(r.values["TotalPrice"] or 0) for r in lines), 2)
        values: dict[str, Any] = {
            "Subtotal": subtotal,
            "TotalPrice": total,
            "LineItemCount": len(lines),
            "Discount": round((1 - total / subtotal) * 100, 2) if subtotal else None,
        }
        values["GrandTotal"] = _grand_total({**quote.values, **values})
        if lines and quote.values.get("Pricebook2Id") is None:
            entry = self.store.rows[str(lines[0].values["PricebookEntryId"])]
            values["Pricebook2Id"] = entry.values["Pricebook2Id"]
        changed = {k: v for k, v in values.items() if quote.values.get(k) != v}
        if changed:
            tx.modify(quote_id, changed, self.store.now())

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
        entry = self._entry_of_line(values, "OpportunityId", "opportunity")
        opportunity = self.store.rows[str(values["OpportunityId"])]
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
            for child in ("OpportunityLineItem", "QuoteLineItem")
            for line in self.store.all_rows(child)
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
        elif row.sobject == "QuoteLineItem":
            self._refresh_quote(tx, str(row.values["QuoteId"]))
        elif row.sobject == "Quote":
            opportunity = self.store.rows.get(str(row.values["OpportunityId"]))
            if (
                opportunity is not None
                and opportunity.deleted_at is None
                and opportunity.values.get("SyncedQuoteId") == row.id
            ):
                tx.modify(opportunity.id, {"SyncedQuoteId": None}, self.store.now())


def _grand_total(values: Mapping[str, Any]) -> float:
    """The quote's total with its tax and shipping."""
    parts = (values.get("TotalPrice"), values.get("Tax"), values.get("ShippingHandling"))
    return round(sum(float(v or 0) for v in parts), 2)


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
