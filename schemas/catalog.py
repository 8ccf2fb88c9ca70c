"""The catalog: every message type q2c puts on a topic, by subject, with its upcasters.

The codec reads and writes only what the catalog lists; ``q2c schemas check`` compares each
listed model with its committed JSON Schemas. A new message type is added to
:data:`MODELS`, then ``q2c schemas freeze`` writes its first version.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from schemas.base import Contract
from schemas.changes import EntityChange
from schemas.commands import (
    CommandResult,
    CreateRenewalDeal,
    CreateSalesOrder,
    DeleteRecord,
    ReportSyncStatus,
    UpdateAccountBalance,
    UpdateDealFinancialStatus,
    UpsertContact,
    UpsertCrmInvoice,
    UpsertCustomer,
    UpsertItem,
)
from schemas.decisions import (
    DeadLetterResolution,
    DealApproval,
    EraseRecord,
    RecheckDeal,
    RecheckLedger,
)
from schemas.entities import (
    Contact,
    CreditMemo,
    CrossReference,
    Customer,
    Invoice,
    Item,
    Payment,
    Quote,
    SalesOrder,
)
from schemas.envelope import RawChange
from schemas.records import AuditRecord, DeadLetter
from schemas.upcasters import UPCASTERS
from schemas.upcasting import UpcasterRegistry


class Catalog:
    """Message types by subject, plus the upcasters that bring old versions up to date."""

    def __init__(
        self, models: Iterable[type[Contract]], upcasters: UpcasterRegistry | None = None
    ) -> None:
        self._models: dict[str, type[Contract]] = {}
        for model in models:
            subject = model.schema_subject
            if subject in self._models:
                raise ValueError(f"two models for subject {subject!r}")
            if model.schema_version < 1:
                raise ValueError(f"{subject}: versions start at 1")
            self._models[subject] = model
        self.upcasters = upcasters or UpcasterRegistry()
        for subject, version in self.upcasters:
            known = self._models.get(subject)
            if known is None:
                raise ValueError(f"an upcaster for unknown subject {subject!r}")
            if version >= known.schema_version:
                raise ValueError(
                    f"{subject}: upcaster from v{version}, but the model is v{known.schema_version}"
                )

    @property
    def models(self) -> Mapping[str, type[Contract]]:
        return self._models

    def subjects(self) -> list[str]:
        return sorted(self._models)

    def model(self, subject: str) -> type[Contract] | None:
        return self._models.get(subject)

    def owns(self, message: Contract) -> bool:
        return self._models.get(message.schema_subject) is type(message)


MODELS: tuple[type[Contract], ...] = (
    RawChange,
    EntityChange,
    Customer,
    Contact,
    Item,
    Quote,
    SalesOrder,
    Invoice,
    CreditMemo,
    Payment,
    CrossReference,
    UpsertCustomer,
    UpsertContact,
    UpsertItem,
    DeleteRecord,
    CreateSalesOrder,
    CreateRenewalDeal,
    UpdateDealFinancialStatus,
    UpdateAccountBalance,
    UpsertCrmInvoice,
    ReportSyncStatus,
    CommandResult,
    DeadLetter,
    AuditRecord,
    DealApproval,
    RecheckDeal,
    RecheckLedger,
    EraseRecord,
    DeadLetterResolution,
)

CATALOG = Catalog(MODELS, UPCASTERS)
