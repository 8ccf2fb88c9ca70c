"""The sync's business configuration: which systems play CRM and ERP, who owns which field,
what a delete does in the other system, what an erasure anonymises, when a deal becomes an
order, the order policy, and whether renewals coming due open deals.
``[sync]`` in the config file or ``Q2C_SYNC__*`` variables (nested values as JSON)."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field

from schemas.changes import SystemRole
from streams.rules.deletes import DeletePolicy
from streams.rules.erasure import ErasurePolicy
from streams.rules.ownership import OwnershipConfig
from streams.rules.renewals import RenewalPolicy
from streams.rules.triggers import OrderTrigger
from streams.rules.validation import OrderPolicy


class SyncConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    crm_system: str = "bottlecrm"
    erp_system: str = "tryton"
    ownership: OwnershipConfig = OwnershipConfig()
    deletes: DeletePolicy = DeletePolicy()
    erasure: ErasurePolicy = ErasurePolicy()
    trigger: OrderTrigger = OrderTrigger()
    policy: OrderPolicy = OrderPolicy()
    renewals: RenewalPolicy = RenewalPolicy()
    erp_customers_to_crm: bool = Field(
        default=True,
        description=(
            "A customer created in the ERP is created in the CRM too (the ERP keeps its "
            "finance fields); false: ERP-first customers stay in the ERP."
        ),
    )
    recheck_interval: timedelta = Field(
        default=timedelta(seconds=5), description="How often parked deals are looked at again."
    )
    ledger_interval: timedelta = Field(
        default=timedelta(minutes=1),
        gt=timedelta(0),
        description=(
            "How often the ledgers are looked at for invoices that fell due and renewals "
            "coming due."
        ),
    )

    def system(self, role: SystemRole) -> str:
        return self.crm_system if role is SystemRole.CRM else self.erp_system
