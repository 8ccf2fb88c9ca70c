"""`q2c dev up` / `q2c dev down`: start and stop the local stack, record it in stack.json.

The broker and the peers are started directly; q2c's own processes (the worker and the
connectors) run under a supervisor daemon (q2c.devstack.supervisor) that restarts whichever
exits. Each component is started at most once: ``up`` reuses a component whose process is
alive and healthy, and a running supervisor whose programs are unchanged, so running it twice
is safe. ``stack.json`` is rewritten after every component, so a failed ``up`` can still be
taken down.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

from connectors import registry
from connectors.base.errors import ConnectorError
from q2c.core.settings import Settings
from q2c.devstack import bottlecrm, kafka, netsuite, procs, salesforce, tryton, tryton_postgres
from q2c.devstack.component import Component, Entry, Report, StackFiles
from q2c.devstack.errors import DevStackError
from q2c.devstack.supervised import (
    SUPERVISOR,
    ConnectorComponent,
    SupervisedComponent,
    WorkerComponent,
    stop_supervisor,
    supervise,
    supervised_programs,
)
from q2c.devstack.tryton_postgres import PostgresComponent

__all__ = [
    "COMPONENTS",
    "BottleCrmComponent",
    "Component",
    "ConnectorComponent",
    "Entry",
    "KafkaComponent",
    "PeerComponent",
    "PostgresComponent",
    "SalesforceComponent",
    "StackFiles",
    "TrytonComponent",
    "WorkerComponent",
    "describe",
    "down",
    "up",
]


class KafkaComponent(Component):
    name = "kafka"

    def start(self, settings: Settings, files: StackFiles, stack: dict[str, Entry]) -> Entry:
        libs = kafka.ensure_jars(settings.dev.cache_dir, settings.dev.kafka_version)
        port = settings.dev.kafka_port
        previous = stack.get(self.name, {}).get("bootstrap")
        if not port and previous:  # started again: keep the address running clients know
            old = int(str(previous).rsplit(":", 1)[1])
            port = old if procs.port_is_free(old) else 0
        broker = kafka.KafkaBroker(libs=libs, data_dir=files.state_dir / "kafka", port=port)
        broker.start()
        return {
            "bootstrap": broker.bootstrap,
            "pid": broker.pid,
            "version": settings.dev.kafka_version,
            "data_dir": str(broker.data_dir),
            "log": str(broker.log_file),
        }

    def healthy(self, entry: Entry) -> bool:
        return bool(
            entry.get("pid")
            and procs.pid_alive(int(entry["pid"]))
            and asyncio.run(kafka.broker_answers(str(entry["bootstrap"])))
        )

    def describe(self, entry: Entry) -> Iterator[str]:
        yield f"Kafka {entry['version']}  bootstrap {entry['bootstrap']}  (log: {entry['log']})"


class PeerComponent(Component):
    """The local server of one system; `q2c dev up` starts it when the stack runs that
    system (``dev.crm`` / ``dev.erp``)."""

    set_up_on_start: bool = True
    """Whether its connector's own set-up runs on the server once it started."""

    def wanted(self, settings: Settings) -> bool:
        return self.name in settings.dev.systems()

    def launch(self, settings: Settings, files: StackFiles, stack: dict[str, Entry]) -> Entry:
        """Start the server; its stack.json entry."""
        raise NotImplementedError

    def start(self, settings: Settings, files: StackFiles, stack: dict[str, Entry]) -> Entry:
        entry = self.launch(settings, files, stack)
        if self.set_up_on_start:
            try:
                set_up(self.name, entry)
            except Exception:
                procs.stop_pid(int(entry["pid"]))
                raise
        return entry


class BottleCrmComponent(PeerComponent):
    """The BottleCRM CRM server, with an org and a token for q2c (q2c.devstack.bottlecrm)."""

    name = "bottlecrm"
    set_up_on_start = False  # set up where it starts (q2c.devstack.bottlecrm)

    def launch(self, settings: Settings, files: StackFiles, stack: dict[str, Entry]) -> Entry:
        return bottlecrm.start_stack_entry(
            settings.dev.cache_dir, files.state_dir, files.logs / "bottlecrm.log"
        )

    def healthy(self, entry: Entry) -> bool:
        return bottlecrm.healthy(entry)

    def describe(self, entry: Entry) -> Iterator[str]:
        return bottlecrm.describe(entry)


class TrytonComponent(PeerComponent):
    """The Tryton ERP server with the company set up (q2c.devstack.tryton), checked by the
    connector's own set-up (`q2c connector setup tryton`)."""

    name = "tryton"

    def launch(self, settings: Settings, files: StackFiles, stack: dict[str, Entry]) -> Entry:
        if settings.dev.tryton_db == tryton_postgres.KIND:
            entry = tryton_postgres.start_stack_entry(
                settings.dev.cache_dir, files.state_dir, stack.get("postgres")
            )
        else:
            entry = tryton.start_stack_entry(settings.dev.cache_dir, files.state_dir)
        return entry

    def healthy(self, entry: Entry) -> bool:
        return tryton.healthy(entry)

    def describe(self, entry: Entry) -> Iterator[str]:
        return tryton.describe(entry)


class NetSuiteComponent(PeerComponent):
    """The local NetSuite server (q2c.devstack.netsuite), checked by the connector's own
    set-up (`q2c connector setup netsuite`)."""

    name = "netsuite"

    def launch(self, settings: Settings, files: StackFiles, stack: dict[str, Entry]) -> Entry:
        return netsuite.start_stack_entry(files.state_dir, files.logs / "netsuite.log")

    def healthy(self, entry: Entry) -> bool:
        return netsuite.healthy(entry)

    def describe(self, entry: Entry) -> Iterator[str]:
        return netsuite.describe(entry)


class SalesforceComponent(PeerComponent):
    """The local Salesforce server (q2c.localserver.salesforce) with the custom fields q2c
    writes, made by the connector's own set-up (`q2c connector setup salesforce`)."""

    name = "salesforce"

    def launch(self, settings: Settings, files: StackFiles, stack: dict[str, Entry]) -> Entry:
        return salesforce.start(files.state_dir / "salesforce", files.logs / "salesforce.log")

    def healthy(self, entry: Entry) -> bool:
        return salesforce.healthy(entry)

    def describe(self, entry: Entry) -> Iterator[str]:
        return salesforce.describe(entry)


def set_up(system: str, entry: Entry) -> list[str]:
    """The system's own set-up (its spec's ``provision``) on what the stack recorded for
    its local server, and on nothing else: never on Q2C_<SYSTEM>__* of the shell."""
    spec = registry.spec(system)
    recorded = {key: entry[key] for key in spec.recorded if entry.get(key)}
    config = spec.settings_model.model_validate(recorded)
    try:
        return list(asyncio.run(spec.set_up(config)))
    except ConnectorError as exc:
        raise DevStackError(f"setting up {system} failed: {exc.describe()}") from None


PEERS: dict[str, PeerComponent] = {
    "bottlecrm": BottleCrmComponent(),
    "tryton": TrytonComponent(),
    "netsuite": NetSuiteComponent(),
    "salesforce": SalesforceComponent(),
}
"""The local server of each system that has one, by system name."""

LOCAL_SYSTEMS = [system for system in registry.systems() if system in PEERS]
"""The systems `q2c dev up` runs: those with a connector and a local server."""

COMPONENTS: list[Component] = [
    KafkaComponent(),
    PostgresComponent(),  # Tryton's database server, when Tryton runs on PostgreSQL
    *(PEERS[system] for system in LOCAL_SYSTEMS),
    WorkerComponent(),
    *(ConnectorComponent(system) for system in LOCAL_SYSTEMS),
]


def check_systems(settings: Settings) -> None:
    """The stack's CRM and ERP must be systems with a connector in that role and a local
    server."""
    for role, system in zip(("crm", "erp"), settings.dev.systems(), strict=True):
        if system not in LOCAL_SYSTEMS:
            known = ", ".join(s for s in LOCAL_SYSTEMS if registry.spec(s).role == role)
            raise DevStackError(f"no local {role} {system!r}; the stack runs: {known}")
        if registry.spec(system).role != role:
            raise DevStackError(f"{system} is not a {role} (it is a {registry.spec(system).role})")


def up(settings: Settings, report: Report, components: list[Component] | None = None) -> None:
    check_systems(settings)
    files = StackFiles(settings.dev.state_dir)
    stack = files.load()
    chosen = components or COMPONENTS
    for component in chosen:
        if isinstance(component, SupervisedComponent) or not component.wanted(settings):
            continue
        entry = stack.get(component.name)
        if entry is not None and component.healthy(entry):
            report(f"{component.name}: already running")
            continue
        if entry is not None:
            component.stop(entry)
        report(f"{component.name}: starting")
        stack[component.name] = component.start(settings, files, stack)
        files.save(stack)
    supervised = [c for c in chosen if isinstance(c, SupervisedComponent) and c.wanted(settings)]
    if supervised:
        supervise(settings, files, stack, supervised, report)
    report(f"stack written to {files.stack_json}")
    for line in describe(settings):
        report(line)


def describe(settings: Settings) -> list[str]:
    files = StackFiles(settings.dev.state_dir)
    stack = files.load()
    programs = supervised_programs(files)
    sup = stack.get(SUPERVISOR)
    lines: list[str] = []
    for component in COMPONENTS:
        entry = stack.get(component.name)
        if entry is None:
            continue
        if isinstance(component, SupervisedComponent) and sup is not None:
            state = "up" if procs.pid_alive(int(sup["pid"])) else "DOWN"
            lines.append(f"[{state:>4}] supervisor  pid {sup['pid']}  (log: {sup['log']})")
            sup = None  # one line, above the programs it runs
        up, facts = component.status(entry, programs)
        state = "up" if up else "DOWN"
        first, *rest = component.describe(entry)
        lines.append(f"[{state:>4}] {first}")
        lines.extend(f"       {line}" for line in [*facts, *rest])
    return lines


def down(settings: Settings, report: Report) -> None:
    files = StackFiles(settings.dev.state_dir)
    stack = files.load()
    stop_supervisor(files, stack, report)
    for component in reversed(COMPONENTS):
        entry = stack.get(component.name)
        if entry is None:
            continue
        if entry.get("pid"):
            report(f"{component.name}: stopping (pid {entry['pid']})")
            component.stop(entry)
        del stack[component.name]
        files.save(stack)
    stack.pop("console_url", None)
    files.stack_json.unlink(missing_ok=True)
    report("local stack stopped")
