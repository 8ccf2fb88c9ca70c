"""What `q2c reconcile` prints: as text for people, as one JSON document for programs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from pydantic import JsonValue

from schemas import RawChange
from streams.rules.reconcile import Reconciliation, Resync, Section, Snapshot

_SECTION_TITLES = {
    Section.REJECTED: "rejected by q2c (the reason is on the CRM deal)",
    Section.HELD: "held for approval (`q2c approve` / `q2c decline`)",
    Section.WAITING: "waiting for their customer or items in the ERP",
}


@dataclass(frozen=True)
class Repairs:
    """What `--repair` sent through the sync again, and what it could not find."""

    sent: Sequence[RawChange] = ()
    not_found: Sequence[Resync] = field(default_factory=tuple)


def counts(snapshot: Snapshot) -> dict[str, int]:
    return {
        "customers": len(snapshot.customers),
        "items": len(snapshot.items),
        "deals": len(snapshot.quotes),
        "orders": len(snapshot.orders),
        "invoices": len(snapshot.invoices),
    }


def summary(crm: tuple[str, Snapshot], erp: tuple[str, Snapshot]) -> str:
    (crm_name, crm_snap), (erp_name, erp_snap) = crm, erp
    return (
        f"{crm_name}: {len(crm_snap.customers)} accounts, {len(crm_snap.quotes)} deals, "
        f"{len(crm_snap.items)} products; {erp_name}: {len(erp_snap.customers)} customers, "
        f"{len(erp_snap.orders)} sales, {len(erp_snap.items)} items, "
        f"{len(erp_snap.invoices)} invoices"
    )


def as_text(
    crm: tuple[str, Snapshot],
    erp: tuple[str, Snapshot],
    result: Reconciliation,
    repairs: Repairs | None = None,
) -> list[str]:
    lines = [summary(crm, erp)]
    for section in Section:
        members = [e for e in result.explained if e.section is section]
        if members:
            lines.append(f"{section} ({len(members)}): {_SECTION_TITLES[section]}")
            lines += [f"  {e.record}: {e.reason or '(no reason given)'}" for e in members]
    if result.discrepancies:
        lines.append(f"discrepancies ({len(result.discrepancies)}):")
        lines += [f"  {d}" for d in result.discrepancies]
    if repairs is not None:
        for change in repairs.sent:
            lines.append(f"resynced {change.system} {change.object} {change.record_id}")
        for target in repairs.not_found:
            lines.append(f"not resynced: no {target.role} {target.entity} {target.key} was read")
    if result.clean:
        lines.append(
            "no discrepancy" + (" (every difference is explained)" if result.explained else "")
        )
    return lines


def as_json(
    crm: tuple[str, Snapshot],
    erp: tuple[str, Snapshot],
    result: Reconciliation,
    repairs: Repairs | None = None,
) -> dict[str, JsonValue]:
    document: dict[str, JsonValue] = {
        "clean": result.clean,
        "systems": {
            "crm": {"system": crm[0], **counts(crm[1])},
            "erp": {"system": erp[0], **counts(erp[1])},
        },
        "discrepancies": [
            {"kind": d.kind, "record": d.record, "detail": d.detail} for d in result.discrepancies
        ],
        "explained": {
            str(section): [
                {"record": e.record, "reason": e.reason}
                for e in result.explained
                if e.section is section
            ]
            for section in Section
        },
    }
    if repairs is not None:
        document["resynced"] = [
            {"system": c.system, "object": c.object, "record_id": c.record_id} for c in repairs.sent
        ]
        document["not_resynced"] = [
            {"role": str(t.role), "entity": str(t.entity), "key": t.key} for t in repairs.not_found
        ]
    return document
