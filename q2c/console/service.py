"""What the console does, on the same functions as the command line: reading both systems
as `q2c reconcile` does, deciding held deals as `q2c approve` does, resending deals as
`q2c resync` does, and reading, retrying and resolving dead letters as `q2c dead-letters`
does. Pages call these; nothing here renders."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson

from q2c.approvals import decision, send_decision
from q2c.console.deals import DealRow, deal_rows
from q2c.console.overview import (
    CursorMark,
    Freshness,
    LetterCounts,
    SyncWindow,
    freshness,
    letter_counts,
    sync_windows,
)
from q2c.console.results import read_results
from q2c.core.kafka_admin import group_lags
from q2c.core.settings import Settings
from q2c.core.topics import Topics
from q2c.deadletter_views import Letter
from q2c.deadletters import LetterDesk, read_letter, read_letters, read_resolutions, read_topic
from q2c.reconcile import SystemRead, read_system
from q2c.resync import resend
from schemas import MessageOrigin
from schemas.changes import SystemRole
from schemas.decisions import DeadLetterResolution
from schemas.entities import EntityKind
from streams.config import SyncConfig
from streams.rules.reconcile import Reconciliation, Resync, Snapshot, reconcile


class ConsoleError(ValueError):
    """An operator's request that cannot be done, with the reason to show."""


@dataclass(frozen=True)
class Overview:
    at: datetime
    freshness: list[Freshness]
    lags: dict[str, dict[str, int]]
    letters: LetterCounts
    sync: list[SyncWindow]


@dataclass(frozen=True)
class Report:
    """One reconciliation run: when, both systems' snapshots, what differed."""

    at: datetime
    crm: tuple[str, Snapshot]
    erp: tuple[str, Snapshot]
    result: Reconciliation


class Console:
    """The operations behind the console's pages, for one worker's settings."""

    def __init__(
        self,
        settings: Settings,
        cfg: SyncConfig,
        currency: str = "USD",
        peers: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        self.settings = settings
        # Each system's connector settings beyond Q2C_<SYSTEM>__* (the local stack's, with --dev).
        self.peers = peers or {}
        self.cfg = cfg
        self.currency = currency
        self.topics = Topics(settings.kafka.topic_prefix)
        self.last_report: Report | None = None

    @property
    def _kafka(self) -> dict[str, Any]:
        return self.settings.kafka.client_kwargs()

    async def overview(self) -> Overview:
        now = datetime.now(UTC)
        marks = [m for m in await self._cursor_marks() if m is not None]
        systems = [self.cfg.crm_system, self.cfg.erp_system]
        lags: dict[str, dict[str, int]] = {}
        for prefix in dict.fromkeys([self.settings.worker.app_id, self.topics.prefix]):
            lags.update(await group_lags(self._kafka, prefix))
        letters, handled = await self.letters()
        results = await read_results(
            self._kafka, [self.topics.results(s) for s in systems], now - timedelta(days=1)
        )
        return Overview(
            now,
            freshness(marks, systems),
            lags,
            letter_counts(letters, handled, now),
            sync_windows(results, now),
        )

    async def _cursor_marks(self) -> list[CursorMark | None]:
        latest: dict[str, CursorMark | None] = {}
        for record in await read_topic(self._kafka, self.topics.cursors):
            key = (record.key or b"").decode()
            if record.value is None:  # a tombstone: the stream starts over
                latest[key] = None
                continue
            system, _, stream = key.partition("/")
            try:
                value = orjson.loads(record.value)
                saved = datetime.fromisoformat(value["saved_at"])
                latest[key] = CursorMark(system, stream, str(value["cursor"]), saved)
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                # Written before cursors carried saved_at: the broker's timestamp says when.
                at = datetime.fromtimestamp(record.timestamp / 1000, UTC)
                latest[key] = CursorMark(system, stream, "?", at)
        return list(latest.values())

    async def _read(self, role: SystemRole) -> SystemRead:
        system = self.cfg.system(role)
        return await read_system(self.settings, system, self.peers.get(system, {}))

    async def deals(self) -> list[DealRow]:
        crm = await self._read(SystemRole.CRM)
        erp = await self._read(SystemRole.ERP)
        return deal_rows(crm.snapshot, erp.snapshot, self.cfg.trigger)

    async def decide(self, deal: str, approved: bool, actor: str, reason: str = "") -> None:
        if not actor.strip():
            raise ConsoleError("say who decides: the name is kept in the audit trail")
        made = decision(deal, approved, actor.strip(), reason.strip())
        await send_decision(self._kafka, self.topics, made)

    async def resync_deal(self, deal: str) -> None:
        """Read ``deal`` from the CRM as it is now and send it through the sync again."""
        crm = await self._read(SystemRole.CRM)
        target = Resync(SystemRole.CRM, EntityKind.QUOTE, deal)
        repairs = await resend(self.settings, {SystemRole.CRM: crm}, [target])
        if repairs.not_found:
            raise ConsoleError(f"{self.cfg.crm_system} has no deal {deal}")

    async def letters(self) -> tuple[list[Letter], dict[str, DeadLetterResolution]]:
        letters = await read_letters(self._kafka, self.topics)
        return letters, await read_resolutions(self._kafka, self.topics)

    async def letter(self, ident: str) -> tuple[Letter, DeadLetterResolution | None]:
        letter = await read_letter(self._kafka, self.topics, ident)
        return letter, (await read_resolutions(self._kafka, self.topics)).get(letter.id)

    async def retry_letter(self, ident: str, actor: str) -> MessageOrigin:
        if not actor.strip():
            raise ConsoleError("say who retries: the name is kept with the letter")
        letter = await read_letter(self._kafka, self.topics, ident)
        async with LetterDesk(self._kafka, self.topics) as desk:
            return await desk.retry(letter, actor.strip())

    async def resolve_letter(self, ident: str, actor: str, note: str) -> None:
        if not actor.strip() or not note.strip():
            raise ConsoleError("say who resolves the letter and why (name and note)")
        letter = await read_letter(self._kafka, self.topics, ident)
        async with LetterDesk(self._kafka, self.topics) as desk:
            await desk.resolve(letter, actor.strip(), note.strip())

    async def reconcile(self, today: date | None = None) -> Report:
        """Read both systems, compare them, and keep the report as the last one."""
        crm = await self._read(SystemRole.CRM)
        erp = await self._read(SystemRole.ERP)
        now = datetime.now(UTC)
        result = reconcile(
            crm.snapshot, erp.snapshot, self.cfg.trigger, self.currency, today or now.date()
        )
        report = Report(now, (crm.system, crm.snapshot), (erp.system, erp.snapshot), result)
        self.last_report = report
        return report
