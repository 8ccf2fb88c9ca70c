"""When a deal becomes an order: by default when its CRM stage is Closed Won; configurable,
e.g. "and amount ≥ 10,000", other stage names, or rules over the deal's currency, its own
attributes and its customer's fields.

A rule holds when every one of its conditions holds; with rules configured, a won deal
becomes an order when at least one rule holds. A condition names a field:

- ``stage``, ``amount`` (the deal's total), ``currency``, ``status`` (the quote's);
- ``deal.NAME``: an attribute the CRM deal carries (``Quote.attributes``: its type, lead
  source, probability, ...);
- ``customer.NAME``: a field of the customer as the ERP knows it (``status``, ``approved``,
  ``currency``, ``payment_terms``, ``billing_address.country``, ...).

A customer condition cannot be decided before the customer is known to the ERP:
:meth:`OrderTrigger.decide` answers ``None`` then, and the deal waits for its customer
(without telling the CRM deal anything: it may never be an order); it is decided again once
the customer is there.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.entities import Customer, Quote, QuoteStatus


def _normal(stage: str) -> str:
    return stage.strip().upper().replace(" ", "_").replace("-", "_")


class Op(StrEnum):
    EQ = "eq"
    NE = "ne"
    IN = "in"
    NOT_IN = "not_in"
    GT = "gt"
    GTE = "gte"
    LT = "lt"
    LTE = "lte"
    PRESENT = "present"
    ABSENT = "absent"


_ORDERED = {Op.GT: ">", Op.GTE: "≥", Op.LT: "<", Op.LTE: "≤"}
_DEAL_FIELDS = frozenset({"stage", "amount", "currency", "status"})


class _Unknown:
    """A customer field asked of a customer not known yet."""


UNKNOWN = _Unknown()


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip()


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _same(left: Any, right: str) -> bool:
    """Equal as numbers when both are numbers, else as text without regard to case."""
    a, b = _number(left), _number(right)
    if a is not None and b is not None:
        return a == b
    return _text(left).casefold() == right.strip().casefold()


class Condition(BaseModel):
    """One test of one field, e.g. ``{field = "customer.status", op = "eq", value = "active"}``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    field: str = Field(
        description="stage, amount, currency, status, deal.NAME or customer.NAME[.NAME]"
    )
    op: Op = Op.EQ
    value: str | list[str] | None = None

    @model_validator(mode="after")
    def _valid(self) -> Condition:
        head = self.field.split(".", 1)[0]
        if self.field not in _DEAL_FIELDS and head not in ("deal", "customer"):
            raise ValueError(
                f"unknown field {self.field!r}: {sorted(_DEAL_FIELDS)}, deal.*, customer.*"
            )
        if head in ("deal", "customer") and "." not in self.field:
            raise ValueError(f"{self.field!r} names no field: {head}.NAME")
        wants_list = self.op in (Op.IN, Op.NOT_IN)
        if self.op in (Op.PRESENT, Op.ABSENT):
            if self.value is not None:
                raise ValueError(f"{self.op} takes no value")
        elif wants_list != isinstance(self.value, list):
            raise ValueError(f"{self.op} takes {'a list' if wants_list else 'one value'}")
        if self.op in _ORDERED and _number(self.value) is None:
            raise ValueError(f"{self.op} compares numbers: {self.value!r} is not one")
        return self

    @property
    def needs_customer(self) -> bool:
        return self.field.startswith("customer.")

    def holds(self, value: Any) -> bool:
        """Whether the field's ``value`` (None: the record has no such field) passes."""
        if self.op is Op.PRESENT:
            return value is not None and _text(value) != ""
        if self.op is Op.ABSENT:
            return value is None or _text(value) == ""
        if value is None:
            return self.op in (Op.NE, Op.NOT_IN)
        if isinstance(self.value, list):
            found = any(_same(value, v) for v in self.value)
            return found if self.op is Op.IN else not found
        expected = str(self.value)
        if self.op is Op.EQ:
            return _same(value, expected)
        if self.op is Op.NE:
            return not _same(value, expected)
        number, limit = _number(value), _number(expected)
        if number is None or limit is None:
            return False
        return {
            Op.GT: number > limit,
            Op.GTE: number >= limit,
            Op.LT: number < limit,
            Op.LTE: number <= limit,
        }[self.op]

    def describe(self) -> str:
        if self.op in (Op.PRESENT, Op.ABSENT):
            return f"{self.field} is {'set' if self.op is Op.PRESENT else 'not set'}"
        if isinstance(self.value, list):
            verb = "is one of" if self.op is Op.IN else "is none of"
            return f"{self.field} {verb} {', '.join(self.value)}"
        verb = {Op.EQ: "is", Op.NE: "is not", **_ORDERED}[self.op]
        return f"{self.field} {verb} {self.value}"


class TriggerRule(BaseModel):
    """Conditions that must all hold."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = ""
    when: tuple[Condition, ...] = Field(min_length=1)

    def describe(self) -> str:
        text = " and ".join(c.describe() for c in self.when)
        return f"{self.name} ({text})" if self.name else text


def _lookup(record: Mapping[str, Any], path: str) -> Any:
    value: Any = record
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def field_value(field: str, quote: Quote, customer: Customer | None) -> Any:
    """The value a condition on ``field`` tests (UNKNOWN: a customer not known yet)."""
    if field == "stage":
        return quote.stage
    if field == "amount":
        return quote.total.amount
    if field == "currency":
        return quote.currency
    if field == "status":
        return quote.status.value
    head, _, rest = field.partition(".")
    if head == "deal":
        return quote.attributes.get(rest)
    if customer is None:
        return UNKNOWN
    return _lookup(customer.model_dump(mode="json"), rest)


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
    rules: tuple[TriggerRule, ...] = Field(
        default=(),
        description="With rules, a won deal is ordered when at least one of them holds.",
    )

    def won(self, quote: Quote) -> bool:
        """Won and large enough: the stage (or acceptance) and the minimum amount."""
        won = quote.stage is not None and _normal(quote.stage) in {_normal(s) for s in self.stages}
        if self.accepted_quote and quote.status is QuoteStatus.ACCEPTED:
            won = True
        if not won:
            return False
        return self.min_amount is None or quote.total.amount >= self.min_amount

    def decide(self, quote: Quote, customer: Customer | None) -> bool | None:
        """Whether the deal becomes an order; None while that depends on a customer the ERP
        does not know yet."""
        if not self.won(quote):
            return False
        if not self.rules:
            return True
        undecided = False
        for rule in self.rules:
            verdicts = []
            for condition in rule.when:
                value = field_value(condition.field, quote, customer)
                verdicts.append(None if value is UNKNOWN else condition.holds(value))
            if all(v is True for v in verdicts):
                return True
            if False not in verdicts:
                undecided = True
        return None if undecided else False

    def fires(self, quote: Quote, customer: Customer | None = None) -> bool:
        """Whether the deal becomes an order; a rule that depends on a customer not given
        counts as holding (the deal is then held to the rule once its customer is known)."""
        return self.decide(quote, customer) is not False

    def describe(self) -> str:
        text = "stage is " + " or ".join(sorted(self.stages))
        if self.min_amount is not None:
            text += f" and amount ≥ {self.min_amount}"
        if self.rules:
            text += " and " + " or ".join(f"[{r.describe()}]" for r in self.rules)
        return text
