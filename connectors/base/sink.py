"""What a sink is, and the loop that runs one.

A :class:`Sink` declares which method applies which command (:func:`handles`); the base
dispatches on that table, and :func:`check_sink` refuses a sink that misses a command its
system's role must apply (:data:`REQUIRED_COMMANDS`, from the commands' own ``addressed_to``).
Each handler applies its command idempotently: it looks the target up by natural key before
creating, so the same command applied twice leaves one record.

The :class:`SinkRunner` consumes the system's command topic and, for each command, retries
retriable failures with backoff (never giving up on them), sends permanent failures to the
dead-letter topic with the reason, publishes a :class:`CommandResult`, and commits the
offset only after that result or dead letter was acknowledged. A command that cannot be
decoded, or whose fields cannot be turned into a request, is dead-lettered too; a failure
of Kafka or of the network stops the runner without committing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar

import aiohttp
from aiokafka import ConsumerRecord
from aiokafka.errors import KafkaError
from tenacity import AsyncRetrying, RetryCallState

from connectors.base.consume import ConsumingRunner
from connectors.base.errors import ConnectorError, ErrorKind, is_retriable
from connectors.base.publish import Publisher
from connectors.base.retry import RetryPolicy
from q2c.core import metrics
from q2c.core.tracing import span_from_headers, with_trace_headers
from schemas import (
    CATALOG,
    CODEC,
    Command,
    CommandResult,
    DecodeError,
    EntityKind,
    ExternalIds,
    MessageOrigin,
    Outcome,
)
from schemas.changes import SystemRole

log = logging.getLogger(__name__)
_MAX_RESULT_MESSAGE = 1000

COMMANDS: tuple[type[Command], ...] = tuple(
    model for model in CATALOG.models.values() if issubclass(model, Command)
)
"""Every command q2c sends to a sink."""

REQUIRED_COMMANDS: Mapping[SystemRole, frozenset[type[Command]]] = {
    role: frozenset(command for command in COMMANDS if role in command.addressed_to)
    for role in SystemRole
}
"""The commands a sink of a system in each role must apply."""

Handler = Callable[[Any], Awaitable[CommandResult]]
"""A sink's bound method applying one type of command."""
_F = TypeVar("_F", bound=Callable[..., Awaitable[CommandResult]])
_HANDLES = "__q2c_handles__"


def handles(*commands: type[Command]) -> Callable[[_F], _F]:
    """Declares the sink method below as the one applying ``commands``."""

    def declare(method: _F) -> _F:
        setattr(method, _HANDLES, commands)
        return method

    return declare


class Sink:
    """Applies the commands addressed to one system; subclasses declare their handlers
    with :func:`handles`."""

    system: ClassVar[str]
    handler_names: ClassVar[Mapping[type[Command], str]] = {}
    """Which method applies which command, collected from the :func:`handles` marks."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        table = dict(cls.handler_names)
        mine: set[type[Command]] = set()
        for name, member in vars(cls).items():
            for command in getattr(member, _HANDLES, ()):
                if command in mine:
                    raise TypeError(f"{cls.__name__} declares two handlers of {command.__name__}")
                mine.add(command)
                table[command] = name
        cls.handler_names = table

    @classmethod
    def commands(cls) -> frozenset[type[Command]]:
        """The commands this sink applies."""
        return frozenset(cls.handler_names)

    @property
    def handlers(self) -> Mapping[type[Command], Handler]:
        """Command type → the bound method applying it."""
        return {command: getattr(self, name) for command, name in self.handler_names.items()}

    async def apply(self, command: Command) -> CommandResult:
        """Apply ``command``; raise :class:`ConnectorError` when it cannot be applied."""
        name = self.handler_names.get(type(command))
        if name is None:
            raise ConnectorError(
                ErrorKind.SKIPPABLE,
                f"{self.system} does not apply {command.schema_subject} commands",
                system=self.system,
            )
        handler: Handler = getattr(self, name)
        return await handler(command)

    def result(
        self, command: Command, entity: EntityKind, outcome: Outcome, ids: ExternalIds
    ) -> CommandResult:
        """What applying ``command`` did, and the entity's ids in both systems now."""
        return CommandResult(
            idempotency_key=command.idempotency_key,
            command=command.schema_subject,
            target_system=self.system,
            entity=entity,
            outcome=outcome,
            ids=ids,
            completed_at=datetime.now(UTC),
            source_ts=command.source_ts,
        )


class IncompleteSink(TypeError):
    """A sink that does not apply every command its system's role is sent."""


def missing_commands(sink: type[Sink], role: SystemRole) -> list[str]:
    """The subjects of the commands a ``role`` sink must apply and ``sink`` does not."""
    return sorted(c.schema_subject for c in REQUIRED_COMMANDS[role] - sink.commands())


def check_sink(sink: type[Sink], role: SystemRole) -> None:
    """Refuses a sink that misses a command its role must apply (it would dead-letter
    every such command at run time)."""
    missing = missing_commands(sink, role)
    if missing:
        raise IncompleteSink(
            f"{sink.__name__} ({sink.system}, a {role.value.upper()} sink) has no handler for "
            f"{', '.join(missing)}: declare one with @handles(...)"
        )


_ENTITY_OF_COMMAND = {
    "upsert_customer": EntityKind.CUSTOMER,
    "upsert_contact": EntityKind.CONTACT,
    "upsert_item": EntityKind.ITEM,
    "create_sales_order": EntityKind.SALES_ORDER,
    "update_deal_financial_status": EntityKind.QUOTE,
    "update_account_balance": EntityKind.CUSTOMER,
    "create_renewal_deal": EntityKind.QUOTE,
    "upsert_crm_invoice": EntityKind.INVOICE,
}


def entity_of(command: Command) -> EntityKind:
    """The kind of entity a command acts on: the one it names (a sync status, a delete), else
    the one its subject writes."""
    named = getattr(command, "entity", None)
    if isinstance(named, EntityKind):
        return named
    return _ENTITY_OF_COMMAND[command.schema_subject]


def decode_command(value: bytes | None) -> Command:
    """The command in a record's value; DecodeError for anything else."""
    message = CODEC.decode(value or b"")
    if not isinstance(message, Command):
        raise DecodeError(f"{message.schema_subject} is not a command")
    return message


def failed_result(command: Command, system: str, reason: str) -> CommandResult:
    entity = entity_of(command)
    return CommandResult(
        idempotency_key=command.idempotency_key,
        command=command.schema_subject,
        target_system=system,
        entity=entity,
        outcome=Outcome.FAILED,
        message=reason,
        completed_at=datetime.now(UTC),
        source_ts=command.source_ts,
    )


INFRASTRUCTURE: tuple[type[BaseException], ...] = (
    aiohttp.ClientError,
    TimeoutError,
    OSError,
    KafkaError,
)
"""Failures of the world, not of the command: they stop the runner with nothing committed.

Whatever else a sink raises while applying a command (a ``ValueError`` from ``int()`` of an
id, an ``InvalidOperation`` from a decimal, a ``KeyError``) comes from turning that command
into a request: the command is at fault, and it is dead-lettered like a SKIPPABLE error.
The peers' own failures reach the runner as classified :class:`ConnectorError`."""


class SinkRunner(ConsumingRunner):
    max_records: ClassVar[int] = 50
    commit_each: ClassVar[bool] = True

    def __init__(
        self,
        sink: Sink,
        publisher: Publisher,
        client_kwargs: dict[str, Any],
        group_id: str | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.sink = sink
        self.publisher = publisher
        self.topics = publisher.topics
        self.retry = retry or RetryPolicy(max_attempts=1_000_000, max_delay=60.0)
        super().__init__(
            self.topics.commands(sink.system),
            client_kwargs,
            group_id or f"{self.topics.prefix}-sink-{sink.system}",
            isolation_level="read_committed",
        )

    @property
    def stage(self) -> str:
        return f"sink.{self.sink.system}"

    async def handle(self, record: ConsumerRecord[bytes, bytes]) -> None:
        origin = MessageOrigin.of(record)
        try:
            command = decode_command(record.value)
        except DecodeError as exc:
            await self.publisher.reject(
                stage=f"{self.stage}.decode",
                error=exc,
                payload=record.value,
                key=record.key,
                origin=origin,
            )
            return
        with span_from_headers(
            f"apply {command.schema_subject}",
            record.headers,
            {"q2c.system": self.sink.system, "q2c.idempotency_key": command.idempotency_key},
        ):
            result = await self._apply_with_retries(command, record)
            await self.publisher.send(
                self.topics.results(self.sink.system), record.key, result, with_trace_headers()
            )
        self._count(result)

    def _count(self, result: CommandResult) -> None:
        """A finished command, once its result was acknowledged."""
        system = self.sink.system
        metrics.COMMAND_RESULTS.labels(system, result.command, result.outcome.value).inc()
        if result.outcome is not Outcome.FAILED:
            latency = metrics.seconds_between(result.source_ts, result.completed_at)
            if latency is not None:
                metrics.CHANGE_TO_APPLIED.labels(system, result.command).observe(latency)

    async def _apply_with_retries(
        self, command: Command, record: ConsumerRecord[bytes, bytes]
    ) -> CommandResult:
        def before_retry(state: RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            metrics.COMMAND_RETRIES.labels(self.sink.system, command.schema_subject).inc()
            log.warning(
                "%s: %s failed (attempt %d), retrying in %.1fs: %s",
                self.stage,
                command.schema_subject,
                state.attempt_number,
                state.upcoming_sleep,
                error.describe() if isinstance(error, ConnectorError) else error,
            )

        retrying = self.retry.retrying(is_retriable, before_retry)
        try:
            return await retrying(self.sink.apply, command)
        except ConnectorError as exc:
            if exc.kind is not ErrorKind.SKIPPABLE:
                raise  # FATAL, or retriable beyond the policy: stop, commit nothing
            reason = exc.describe() + (f": {exc.detail}" if exc.detail else "")
            return await self._give_up(command, record, exc, reason, _attempts(retrying))
        except INFRASTRUCTURE:
            raise
        except Exception as exc:  # building the request: see INFRASTRUCTURE
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            return await self._give_up(
                command,
                record,
                exc,
                f"the command cannot be applied: {reason}",
                _attempts(retrying),
            )

    async def _give_up(
        self,
        command: Command,
        record: ConsumerRecord[bytes, bytes],
        error: Exception,
        reason: str,
        attempts: int,
    ) -> CommandResult:
        """A command that can never succeed as it is: dead letter, and a failed result."""
        await self.publisher.reject(
            stage=self.stage,
            error=error,
            payload=record.value,
            key=record.key,
            origin=MessageOrigin.of(record),
            reason=reason,
            attempts=attempts,
        )
        return failed_result(command, self.sink.system, reason[:_MAX_RESULT_MESSAGE])


def _attempts(retrying: AsyncRetrying) -> int:
    return int(retrying.statistics.get("attempt_number", 1))
