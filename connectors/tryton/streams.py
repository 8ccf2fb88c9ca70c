"""The Tryton models q2c follows, each declared by a few attributes.

Parties, products and sales report deletes (Tryton keeps no trace of them: the stream
compares ids, see :mod:`connectors.base.tracking.modified`); invoices and payments are
filtered by a domain (customer ones only), so they cannot.
"""

from __future__ import annotations

from connectors.tryton.polling import (
    Expand,
    ModifiedStream,
    PartyIdentifiers,
    Prices,
    SameMove,
    SameReference,
)

_LINE_FIELDS = (
    "sequence",
    "type",
    "product",
    "product.code",
    "description",
    "quantity",
    "unit.name",
    "unit_price",
    "amount",
)


class PartyStream(ModifiedStream):
    name = model = "party.party"
    reports_deletes = True
    fields = (
        "name",
        "code",
        "active",
        "identifiers",
        "addresses",
        "contact_mechanisms",
        "lang",
        # account_credit_limit: finance's acceptance (a limit set) and what counts against it.
        "credit_limit_amount",
        "credit_amount",
        "customer_payment_term.name",
        # sale_price_list: the price list the party's sales are priced from.
        "sale_price_list.name",
    )
    related = (
        PartyIdentifiers(into="identifiers"),
        Expand(
            "addresses",
            "party.address",
            (
                "street",
                "postal_code",
                "city",
                "country.code",
                "subdivision.code",
                "invoice",
                "delivery",
                "active",
                "sequence",
            ),
        ),
        Expand(
            "contact_mechanisms",
            "party.contact_mechanism",
            ("type", "value", "invoice", "active", "sequence"),
        ),
    )


class PartyPartStream(ModifiedStream):
    """Edits of a party's addresses, contact mechanisms or identifiers change those records,
    not the party: these streams publish the party as it now is, stamped with the part's
    time."""

    fields = ("party",)
    part_of = ("party", PartyStream)


class AddressStream(PartyPartStream):
    name = model = "party.address"


class ContactMechanismStream(PartyPartStream):
    name = model = "party.contact_mechanism"


class IdentifierStream(PartyPartStream):
    name = model = "party.identifier"


class ProductStream(ModifiedStream):
    name = model = "product.product"
    reports_deletes = True
    fields = (
        "code",
        "name",
        "description",
        "active",
        "salable",
        "type",
        "default_uom.name",
        "list_price_used",
        "template",
    )

    # Each product with its price in every price book and currency.
    related = (Prices(),)


class RepricingStream(ModifiedStream):
    """An edit of a price list, of one of its lines or of a currency rate changes what
    Tryton prices every product at, but no product: it publishes every product as it is
    now priced, stamped with the edit's time."""

    reprices = ProductStream


class PriceListStream(RepricingStream):
    name = model = "product.price_list"
    fields = ("name", "price", "active")


class PriceListLineStream(RepricingStream):
    name = model = "product.price_list.line"
    fields = ("price_list", "product", "category", "quantity", "formula")


class CurrencyRateStream(RepricingStream):
    name = model = "currency.currency.rate"
    fields = ("currency", "date", "rate")


class SaleStream(ModifiedStream):
    """A sale with its lines, its party's identifiers, its customer shipments and stock
    moves, and the subscriptions made for the same deal; a return sale names the sale it
    returns (``origin``)."""

    name = model = "sale.sale"
    reports_deletes = True
    fields = (
        "number",
        "reference",
        "description",
        "party",
        "state",
        "invoice_state",
        "shipment_state",
        "sale_date",
        "currency.code",
        "untaxed_amount",
        "tax_amount",
        "total_amount",
        "lines",
        "invoices",
        "shipments",
        "moves",
        "origin",
    )
    related = (
        Expand("lines", "sale.line", _LINE_FIELDS),
        PartyIdentifiers(into="party_identifiers", party="party"),
        Expand(
            "shipments",
            "stock.shipment.out",
            ("number", "reference", "state", "planned_date", "effective_date"),
        ),
        # The sale lines' stock moves: which shipment carries how much of which item, its
        # serial (lot) number and the item's warranty duration (a product attribute).
        Expand(
            "moves",
            "stock.move",
            (
                "shipment",
                "product",
                "product.code",
                "product.attributes",
                "quantity",
                "state",
                "lot.number",
            ),
        ),
        SameReference(
            "subscriptions",
            "sale.subscription",
            (
                "number",
                "state",
                "start_date",
                "end_date",
                "next_invoice_date",
                "currency.code",
                # What it bills for: renewal deals are opened with these lines.
                "lines.quantity",
                "lines.unit_price",
                "lines.description",
                "lines.service.product",
                "lines.service.product.code",
            ),
        ),
    )


class ShipmentStream(ModifiedStream):
    """Customer shipments: each step in the warehouse (assigned, picked, packed, done)
    changes the shipment, but the sale only when its shipment state changes; so a shipment
    edit publishes the sales it ships, as they now are."""

    name = model = "stock.shipment.out"
    fields = ("state",)
    listed_in = ("shipments", SaleStream)


class SubscriptionStream(ModifiedStream):
    """Subscriptions sold on a deal keep its id as their reference, like its sale: a
    subscription edit publishes that sale, whose deal shows the renewal dates."""

    name = model = "sale.subscription"
    fields = ("reference",)
    same_reference_as = SaleStream


class InvoiceStream(ModifiedStream):
    """Customer invoices and credit notes (a credit note is an invoice with a negative
    total in Tryton), with their lines, their party's identifiers and their due dates (the
    maturity dates of the receivable lines)."""

    name = model = "account.invoice"
    domain = (("type", "=", "out"),)
    fields = (
        "type",
        "number",
        "reference",
        "party",
        "state",
        "invoice_date",
        "payment_term_date",
        "currency.code",
        "untaxed_amount",
        "tax_amount",
        "total_amount",
        "amount_to_pay",
        "reconciled",
        "lines",
        "sales",
        "lines_to_pay",
        # A credit note's credited invoices (its lines' origins).
        "origin_invoices",
    )
    related = (
        Expand("lines", "account.invoice.line", _LINE_FIELDS),
        PartyIdentifiers(into="party_identifiers", party="party"),
        Expand("lines_to_pay", "account.move.line", ("maturity_date",)),
    )


class PaymentStream(ModifiedStream):
    """Payments of customer invoices: the move lines Tryton links to an invoice as paying
    it (through the pay wizard or a bank statement), with the other lines of their move
    (an overpayment is a line of its own on the receivable, paying no invoice). A line that
    pays out (a debit on a credit note) is a refund."""

    name = model = "account.move.line"
    domain = (("invoice_payment", "!=", None), ("invoice_payment.type", "=", "out"))
    fields = (
        "move",
        "account",
        "party",
        "date",
        "debit",
        "credit",
        "currency.code",
        "description",
        "journal.name",
        "move.number",
        "move_state",
        "invoice_payment",
        "invoice_payment.number",
    )
    related = (
        PartyIdentifiers(into="party_identifiers", party="party"),
        SameMove(
            into="move_lines",
            fields=("account", "party", "debit", "credit", "invoice_payment", "reconciliation"),
        ),
    )


# Polled in this order, so within one poll the records a change refers to come first:
# a customer before its sales, a payment before the invoice it settles (both are written
# by the same transaction).
STREAMS: tuple[type[ModifiedStream], ...] = (
    PartyStream,
    AddressStream,
    ContactMechanismStream,
    IdentifierStream,
    ProductStream,
    PriceListStream,
    PriceListLineStream,
    CurrencyRateStream,
    SaleStream,
    ShipmentStream,
    SubscriptionStream,
    PaymentStream,
    InvoiceStream,
)
