"""The custom fields q2c writes back onto BottleCRM deals, accounts and invoices.

BottleCRM keeps ERP facts nowhere else, so each one is a custom field, defined once per org
(``BottleCrmClient.ensure_custom_fields``). Keys are prefixed so they cannot collide with
an org's own fields: ``erp_`` for facts copied from the ERP, ``q2c_`` for q2c's own status.
Amounts are numbers (BottleCRM stores them as floats; q2c compares them as decimals).
"""

from __future__ import annotations

from typing import Final

from connectors.bottlecrm.models import CustomFieldSpec, CustomFieldTarget
from schemas.commands import SyncStatus

_SYNC_LABELS: Final = {
    SyncStatus.SYNCED: "In step with the ERP",
    SyncStatus.PENDING_APPROVAL: "Waiting for approval",
    SyncStatus.WAITING: "Waiting for a customer or an item",
    SyncStatus.REJECTED: "Rejected; see the reason",
}
SYNC_STATES: Final = tuple((status.value, _SYNC_LABELS[status]) for status in SyncStatus)

RENEWAL_KEY: Final = "q2c_renewal_key"
"""On a renewal deal q2c opened: the renewal it is for (how a repeated command finds it)."""
RENEWAL_OF: Final = "q2c_renewal_of"
"""On a renewal deal q2c opened: the deal the subscription was sold on."""

DEAL_FIELDS: Final = (
    CustomFieldSpec(
        target_model="Opportunity",
        key="erp_order_number",
        label="ERP sales order",
        field_type="text",
    ),
    CustomFieldSpec(
        target_model="Opportunity",
        key="erp_order_state",
        label="ERP order state",
        field_type="text",
    ),
    CustomFieldSpec(
        target_model="Opportunity",
        key="erp_invoice_status",
        label="Invoice status",
        field_type="text",
    ),
    CustomFieldSpec(
        target_model="Opportunity",
        key="erp_invoice_numbers",
        label="Invoice numbers",
        field_type="text",
    ),
    CustomFieldSpec(
        target_model="Opportunity",
        key="erp_invoiced_total",
        label="Invoiced total",
        field_type="number",
    ),
    CustomFieldSpec(
        target_model="Opportunity",
        key="erp_amount_due",
        label="Amount due",
        field_type="number",
    ),
    CustomFieldSpec(
        target_model="Opportunity",
        key="erp_credit",
        label="Customer credit (overpaid)",
        field_type="number",
    ),
    CustomFieldSpec(
        target_model="Opportunity",
        key="erp_refunded_total",
        label="Refunded",
        field_type="number",
    ),
    CustomFieldSpec(
        target_model="Opportunity",
        key="erp_last_payment_date",
        label="Last payment",
        field_type="date",
    ),
    CustomFieldSpec(
        target_model="Opportunity",
        key="erp_shipment_status",
        label="Shipment status",
        field_type="text",
    ),
    CustomFieldSpec(
        target_model="Opportunity",
        key="erp_shipped_date",
        label="Last shipped",
        field_type="date",
    ),
    CustomFieldSpec(
        target_model="Opportunity",
        key="erp_tracking_references",
        label="Tracking references",
        field_type="text",
    ),
    CustomFieldSpec(
        target_model="Opportunity",
        key="erp_shipments",
        label="Shipments",
        field_type="textarea",
    ),
    CustomFieldSpec(
        target_model="Opportunity",
        key="erp_returns",
        label="Returns",
        field_type="textarea",
    ),
    CustomFieldSpec(
        target_model="Opportunity",
        key="erp_returned_total",
        label="Returned total",
        field_type="number",
    ),
    CustomFieldSpec(
        target_model="Opportunity",
        key="erp_credited_total",
        label="Credited for returns",
        field_type="number",
    ),
    CustomFieldSpec(
        target_model="Opportunity",
        key="erp_subscriptions",
        label="Subscriptions",
        field_type="textarea",
    ),
    CustomFieldSpec(
        target_model="Opportunity",
        key="erp_renewal_date",
        label="Next renewal",
        field_type="date",
    ),
    CustomFieldSpec(
        target_model="Opportunity",
        key=RENEWAL_KEY,
        label="Renewal of (subscription and date)",
        field_type="text",
    ),
    CustomFieldSpec(
        target_model="Opportunity",
        key=RENEWAL_OF,
        label="Renewal of deal",
        field_type="text",
    ),
    CustomFieldSpec(
        target_model="Opportunity",
        key="q2c_sync_status",
        label="ERP sync status",
        field_type="dropdown",
        options=SYNC_STATES,
    ),
    CustomFieldSpec(
        target_model="Opportunity",
        key="q2c_sync_reason",
        label="ERP sync reason",
        field_type="textarea",
    ),
)

ACCOUNT_FIELDS: Final = (
    CustomFieldSpec(
        target_model="Account",
        key="erp_customer_code",
        label="ERP customer",
        field_type="text",
    ),
    CustomFieldSpec(
        target_model="Account",
        key="erp_outstanding_balance",
        label="Outstanding balance",
        field_type="number",
    ),
    CustomFieldSpec(
        target_model="Account",
        key="erp_overdue_balance",
        label="Overdue balance",
        field_type="number",
    ),
    CustomFieldSpec(
        target_model="Account",
        key="erp_unapplied_credit",
        label="Unapplied credit (overpaid, open credit memos)",
        field_type="number",
    ),
    CustomFieldSpec(
        target_model="Account",
        key="erp_last_payment_date",
        label="Last payment",
        field_type="date",
    ),
    CustomFieldSpec(
        target_model="Account",
        key="erp_serial_numbers",
        label="Serial numbers and warranty",
        field_type="textarea",
    ),
    CustomFieldSpec(
        target_model="Account",
        key="erp_next_warranty_end",
        label="Next warranty end",
        field_type="date",
    ),
    CustomFieldSpec(
        target_model="Account",
        key="erp_balances",
        label="Balances by currency",
        field_type="text",
    ),
    CustomFieldSpec(
        target_model="Account",
        key="erp_finance_status",
        label="Finance acceptance",
        field_type="text",
    ),
    CustomFieldSpec(
        target_model="Account",
        key="erp_credit_limit",
        label="Credit limit",
        field_type="number",
    ),
    CustomFieldSpec(
        target_model="Account",
        key="erp_available_credit",
        label="Available credit",
        field_type="number",
    ),
    CustomFieldSpec(
        target_model="Account",
        key="erp_credit_hold",
        label="Credit hold",
        field_type="text",
    ),
    CustomFieldSpec(
        target_model="Account",
        key="erp_payment_terms",
        label="Payment terms",
        field_type="text",
    ),
    CustomFieldSpec(
        target_model="Account",
        key="erp_price_book",
        label="Price book",
        field_type="text",
    ),
    CustomFieldSpec(
        target_model="Account",
        key="q2c_sync_status",
        label="ERP sync status",
        field_type="dropdown",
        options=SYNC_STATES,
    ),
    CustomFieldSpec(
        target_model="Account",
        key="q2c_sync_reason",
        label="ERP sync reason",
        field_type="textarea",
    ),
)


def _field(target: CustomFieldTarget, key: str, label: str, kind: str) -> CustomFieldSpec:
    return CustomFieldSpec.model_validate(
        {"target_model": target, "key": key, "label": label, "field_type": kind}
    )


INVOICE_FIELDS: Final = (
    _field("Invoice", "erp_invoice_id", "ERP invoice id", "text"),
    _field("Invoice", "erp_invoice_number", "ERP invoice number", "text"),
    _field("Invoice", "erp_invoice_state", "ERP invoice state", "text"),
    _field("Invoice", "erp_total", "ERP total", "number"),
    _field("Invoice", "erp_amount_paid", "Paid (ERP)", "number"),
    _field("Invoice", "erp_amount_due", "Due (ERP, less credit memos)", "number"),
    _field("Invoice", "erp_credited_total", "Credited by credit memos", "number"),
    _field("Invoice", "erp_overpaid", "Overpaid (customer credit)", "number"),
    _field("Invoice", "erp_refunded", "Refunded", "number"),
    _field("Invoice", "erp_credit_memos", "Credit memos", "textarea"),
)
"""An ERP invoice kept as a BottleCRM invoice: found again by ``erp_invoice_id``; the ERP's
own amounts beside BottleCRM's (which follow the payments q2c records on it)."""

Q2C_FIELDS: Final = DEAL_FIELDS + ACCOUNT_FIELDS + INVOICE_FIELDS
