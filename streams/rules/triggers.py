"""When a deal becomes an order: by default when its CRM stage is Closed Won; configurable,
e.g. "and amount ≥ 10,000" or other stage names."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from schemas.entities import Quote, QuoteStatus


def _normal(stage: str) -> str:
    return stage.strip().upper().replace(" ", "_").replace("-", "_")


class OrderTrigger(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    stages: frozenset[str] = Field(
        default=frozenset({"CLOSED_WON"}),
        description="CRM stages that mean won (compared case- and separator-insensitively).",
    )
    accepted_quote: bool = Field(
        default=False, description="Also order when the quote itself is marked accepted."
    )
    min_amount: Decimal | None = Field(
        default=None, description="Only deals whose total is at least this much."
    )

    def fires(self, quote: Quote) -> bool:
        won = quote.stage is not None and _normal(quote.stage) in {_normal(s) for s in self.stages}
        if self.accepted_quote and quote.status is QuoteStatus.ACCEPTED:
            won = True
        if not won:
            return False
        return self.min_amount is None or quote.total.amount >= self.min_amount

    def describe(self) -> str:
        text = "stage is " + " or ".join(sorted(self.stages))
        if self.min_amount is not None:
            text += f" and amount ≥ {self.min_amount}"
        return text
