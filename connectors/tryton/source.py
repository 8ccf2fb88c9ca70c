"""Tryton's source: its models polled through ``last_modified_at`` on the modified-since
strategy, with an overlap window and delete scans by id.

The parts live apart:

- the strategy (overlap window, (id, timestamp) de-duplication, delete scans):
  :mod:`connectors.base.tracking.modified`;
- the cursor format (``lm1:``): :mod:`connectors.base.tracking.modified_cursor`, id-range
  compression: :mod:`connectors.base.tracking.idranges`;
- a Tryton row as JSON and as a raw change: :mod:`connectors.tryton.records`;
- how a declared stream reads Tryton: :mod:`connectors.tryton.polling`;
- the streams, declared by attributes: :mod:`connectors.tryton.streams`.

Everything is importable from here under its earlier name.
"""

from __future__ import annotations

from connectors.base.tracking import ModifiedCursor, id_runs, ids_of
from connectors.tryton.polling import (
    EVERYTHING,
    Expand,
    ModifiedStream,
    PartyIdentifiers,
    party_identifiers,
)
from connectors.tryton.records import Row, deleted_change, jsonable, raw_change
from connectors.tryton.streams import (
    STREAMS,
    AddressStream,
    ContactMechanismStream,
    IdentifierStream,
    InvoiceStream,
    PartyPartStream,
    PartyStream,
    PaymentStream,
    ProductStream,
    SaleStream,
)

__all__ = [
    "EVERYTHING",
    "STREAMS",
    "AddressStream",
    "ContactMechanismStream",
    "Expand",
    "IdentifierStream",
    "InvoiceStream",
    "ModifiedCursor",
    "ModifiedStream",
    "PartyIdentifiers",
    "PartyPartStream",
    "PartyStream",
    "PaymentStream",
    "ProductStream",
    "Row",
    "SaleStream",
    "deleted_change",
    "id_runs",
    "ids_of",
    "jsonable",
    "party_identifiers",
    "raw_change",
]
