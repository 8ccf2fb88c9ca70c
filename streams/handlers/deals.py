"""Deals: from a won quote to exactly one ERP sales order.

A deal's state lives in one record (:class:`OrderState`) keyed by the deal: the last quote,
whether it waits (for its customer, its items, finance or an approval), was rejected, or has
its order. Every change of status is reported on the CRM deal with a readable message, once.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Protocol

from pydantic import BaseModel, ConfigDict

from schemas import (
    AuditKind,
    AuditRecord,
    CommandResult,
    CreateSalesOrder,
    Outcome,
    ReportSyncStatus,
    SyncStatus,
)
from schemas.changes import EntityChange, SystemRole
from schemas.decisions import DealApproval
from schemas.entities import Customer, DocumentLine, EntityKind, ExternalIds, Item, Quote
from schemas.envelope import Operation
from schemas.keys import deal_key
from streams.config import SyncConfig
from streams.handlers.common import Emit, Step, command_fields
from streams.rules.deletes import ItemDeletion
from streams.rules.validation import Decision, Verdict, validate_order


class Refs(Protocol):
    """The join views: what the ERP knows of customers and items."""

    def customer(self, ids: ExternalIds) -> Customer | None: ...

    def item(self, key: str) -> Item | None: ...

    def deleted_item(self, key: str) -> ItemDeletion | None: ...


class OrderStatus(StrEnum):
    NONE = "none"
    WAITING = "waiting"
    APPROVAL = "approval"
    REJECTED = "rejected"
    ORDERING = "ordering"
    ORDERED = "ordered"


class OrderState(BaseModel):
    model_config = ConfigDict(frozen=True)

    deal: str
    status: OrderStatus = OrderStatus.NONE
    quote: Quote | None = None
    fingerprint: str | None = None
    since: datetime | None = None
    approved_by: str | None = None
    reported: str = ""
    order: ExternalIds | None = None


_REPORT = {
    OrderStatus.WAITING: SyncStatus.WAITING,
    OrderStatus.APPROVAL: SyncStatus.PENDING_APPROVAL,
    OrderStatus.REJECTED: SyncStatus.REJECTED,
    OrderStatus.ORDERED: SyncStatus.SYNCED,
}


def _report(
    state: OrderState, message: str, cfg: SyncConfig, now: datetime, step: Step
) -> OrderState:
    """Tell the CRM deal its status, unless it was told exactly this already."""
    status = _REPORT.get(state.status)
    text = f"{state.status}: {message}"
    if status is None or state.reported == text:
        return state
    command = ReportSyncStatus.model_validate(
        {
            **command_fields(cfg, SystemRole.CRM, now, "report_sync_status", state.deal, text),
            "entity": EntityKind.QUOTE,
            "record": ExternalIds(crm_id=state.deal),
            "status": status,
            "message": message,
        }
    )
    step.commands.append(Emit(SystemRole.CRM, deal_key(state.deal), command))
    return state.model_copy(update={"reported": text})


def _audit(
    kind: AuditKind, state: OrderState, reason: str, now: datetime, actor: str | None = None
) -> AuditRecord:
    return AuditRecord(
        kind=kind,
        entity=EntityKind.QUOTE,
        record=ExternalIds(crm_id=state.deal),
        rule="order validation",
        reason=reason,
        actor=actor,
        at=now,
    )


def _item_key(line: DocumentLine) -> str | None:
    return line.item.crm_id if line.item is not None and line.item.crm_id else line.sku


def _order_command(
    state: OrderState,
    quote: Quote,
    customer: Customer,
    items: dict[str, Item],
    cfg: SyncConfig,
    now: datetime,
) -> CreateSalesOrder:
    lines = []
    for line in quote.lines:
        key = _item_key(line)
        item = items[key] if key is not None else None
        ids = (
            line.item
            if item is None
            else ExternalIds(
                crm_id=line.item.crm_id if line.item else item.ids.crm_id, erp_id=item.ids.erp_id
            )
        )
        lines.append(line.model_copy(update={"item": ids, "sku": item.sku if item else line.sku}))
    linked = quote.model_copy(update={"customer": customer.ids, "lines": tuple(lines)})
    return CreateSalesOrder.model_validate(
        {
            # One order per deal, whatever re-triggers it: the key depends on the deal only.
            **command_fields(cfg, SystemRole.ERP, now, "create_sales_order", state.deal),
            "caused_by": state.fingerprint,
            "reference": state.deal,
            "quote": linked,
        }
    )


def evaluate(
    state: OrderState, refs: Refs, cfg: SyncConfig, now: datetime
) -> tuple[OrderState, Step]:
    step = Step()
    quote = state.quote
    if quote is None:
        return state, step
    customer = refs.customer(quote.customer)
    decided = cfg.trigger.decide(quote, customer)
    if decided is False:
        # A trigger rule on the customer's fields, decided now that the customer is known.
        return state.model_copy(update={"status": OrderStatus.NONE, "since": None}), step
    items: dict[str, Item] = {}
    deleted: list[str] = []
    for line in quote.lines:
        key = _item_key(line)
        found = refs.item(key) if key is not None else None
        # Only an item the ERP has (an ERP id) can be ordered; a CRM-only product waits.
        if key is not None and found is not None and found.ids.erp_id is not None:
            items[key] = found
        elif key is not None and (gone := refs.deleted_item(key)) is not None:
            deleted.append(f"line {line.line_no}: {gone.reason()}")
    if deleted:
        # Deleted where items are made: it will not come back by waiting for it. The deal
        # is told why, and the message that asked for the order is dead-lettered.
        reason = "; ".join(deleted)
        rejected = state.model_copy(update={"status": OrderStatus.REJECTED, "since": None})
        reported = _report(rejected, reason, cfg, now, step)
        step.audits.append(_audit(AuditKind.REJECTED, state, reason, now))
        step.dead_letters.append(f"deal {state.deal} cannot be ordered: {reason}")
        return reported, step
    verdict: Verdict = validate_order(
        quote,
        customer,
        items,
        cfg.policy,
        approved=state.approved_by is not None,
        waiting_since=state.since,
        now=now,
    )
    if verdict.decision is Decision.READY and customer is not None:
        step.commands.append(
            Emit(
                SystemRole.ERP,
                deal_key(state.deal),
                _order_command(state, quote, customer, items, cfg, now),
            )
        )
        return state.model_copy(update={"status": OrderStatus.ORDERING, "since": None}), step
    if verdict.decision is Decision.WAITING:
        waiting = state.model_copy(
            update={"status": OrderStatus.WAITING, "since": state.since or now}
        )
        if decided is None:
            # Whether it becomes an order at all depends on its customer's fields: the
            # deal is told nothing until that is decided.
            return waiting, step
        return _report(waiting, verdict.message(), cfg, now, step), step
    if verdict.decision is Decision.NEEDS_APPROVAL:
        held = state.model_copy(update={"status": OrderStatus.APPROVAL, "since": None})
        if state.status is not OrderStatus.APPROVAL:
            step.audits.append(_audit(AuditKind.APPROVAL_REQUESTED, state, verdict.message(), now))
        return _report(held, "approval needed: " + verdict.message(), cfg, now, step), step
    rejected = state.model_copy(update={"status": OrderStatus.REJECTED, "since": None})
    reported = _report(rejected, verdict.message(), cfg, now, step)
    if reported.reported != state.reported:
        step.audits.append(_audit(AuditKind.REJECTED, state, verdict.message(), now))
    return reported, step


def on_quote_change(
    state: OrderState, change: EntityChange, refs: Refs, cfg: SyncConfig, now: datetime
) -> tuple[OrderState, Step]:
    if change.fingerprint == state.fingerprint:
        return state, Step()
    if state.status in (OrderStatus.ORDERING, OrderStatus.ORDERED):
        # The order exists (or is being created): later edits of the deal do not reorder.
        return state.model_copy(update={"fingerprint": change.fingerprint}), Step()
    if change.operation is Operation.DELETE or not isinstance(change.data, Quote):
        return OrderState(deal=state.deal, fingerprint=change.fingerprint), Step()
    state = state.model_copy(update={"quote": change.data, "fingerprint": change.fingerprint})
    if cfg.trigger.decide(change.data, refs.customer(change.data.customer)) is False:
        if state.status is OrderStatus.NONE:
            return state, Step()
        # The deal left the winning stage: nothing waits for it any more.
        return state.model_copy(
            update={"status": OrderStatus.NONE, "since": None, "reported": ""}
        ), Step()
    return evaluate(state, refs, cfg, now)


def on_recheck(
    state: OrderState, refs: Refs, cfg: SyncConfig, now: datetime
) -> tuple[OrderState, Step]:
    if state.status is not OrderStatus.WAITING:
        return state, Step()
    return evaluate(state, refs, cfg, now)


def on_approval(
    state: OrderState, approval: DealApproval, refs: Refs, cfg: SyncConfig, now: datetime
) -> tuple[OrderState, Step]:
    if state.status is not OrderStatus.APPROVAL:
        step = Step()
        step.audits.append(
            _audit(
                AuditKind.DECLINED if not approval.approved else AuditKind.APPROVED,
                state,
                f"ignored: the deal was {state.status}, not waiting for approval",
                now,
                approval.actor,
            )
        )
        return state, step
    if approval.approved:
        approved = state.model_copy(update={"approved_by": approval.actor})
        result, step = evaluate(approved, refs, cfg, now)
        step.audits.insert(
            0, _audit(AuditKind.APPROVED, state, approval.reason or "approved", now, approval.actor)
        )
        return result, step
    step = Step()
    step.audits.append(
        _audit(AuditKind.DECLINED, state, approval.reason or "declined", now, approval.actor)
    )
    declined = state.model_copy(update={"status": OrderStatus.REJECTED})
    reason = f"declined by {approval.actor}" + (f": {approval.reason}" if approval.reason else "")
    return _report(declined, reason, cfg, now, step), step


def on_order_result(
    state: OrderState, result: CommandResult, cfg: SyncConfig, now: datetime
) -> tuple[OrderState, Step]:
    step = Step()
    if result.outcome is Outcome.FAILED:
        failed = state.model_copy(update={"status": OrderStatus.REJECTED})
        step.audits.append(_audit(AuditKind.REJECTED, state, result.message, now))
        return _report(failed, f"the ERP refused the order: {result.message}", cfg, now, step), step
    ordered = state.model_copy(update={"status": OrderStatus.ORDERED, "order": result.ids})
    erp_id = result.ids.erp_id if result.ids else None
    return _report(ordered, f"sales order {erp_id} in {result.target_system}", cfg, now, step), step
