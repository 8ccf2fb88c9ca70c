"""Each system is one spec: the CLI, the local stack and the test plugins read the systems
from the registry, the base loads their settings and refuses an incomplete sink."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from typing import ClassVar

import pytest
from click.testing import CliRunner
from pydantic import BaseModel

from connectors import registry
from connectors.base.errors import ConnectorError, ErrorKind
from connectors.base.mapping import Mapper
from connectors.base.runtime import ConnectorParts
from connectors.base.sink import IncompleteSink, Sink
from connectors.base.spec import ConnectorSpec, SetupOptions
from connectors.bottlecrm.provision import provision as provision_bottlecrm
from connectors.bottlecrm.settings import BottleCrmSettings
from connectors.secret_shapes import SECRET_PATTERNS
from q2c.cli import cli
from q2c.core.settings import DevSettings, Settings
from q2c.devstack.errors import DevStackError
from q2c.devstack.stack import COMPONENTS, LOCAL_SYSTEMS, check_systems
from q2c.devstack.supervised import ConnectorComponent
from schemas.changes import SystemRole
from tests.plugins.kafka import SYSTEMS


class MemSettings(BaseModel):
    url: str
    pages: int = 1


class MemMapper(Mapper):
    system: ClassVar[str] = "memcrm"
    role: ClassVar[SystemRole] = SystemRole.CRM


class NothingSink(Sink):
    system: ClassVar[str] = "memcrm"


async def connect(config: MemSettings) -> ConnectorParts:
    return ConnectorParts(system="memcrm", mapper=MemMapper(), extra={"url": config.url})


async def provision(config: MemSettings, options: SetupOptions) -> Sequence[str]:
    return [f"memcrm: {config.url} ready, webhook {options.webhook_url}"]


def mem_spec(**fields: object) -> ConnectorSpec[MemSettings]:
    return ConnectorSpec(
        name="memcrm",
        role=SystemRole.CRM,
        settings_model=MemSettings,
        connect=connect,
        mapper=MemMapper,
        recorded=("url",),
        **fields,  # type: ignore[arg-type]
    )


def test_connector_list_shows_every_system_with_its_role() -> None:
    outcome = CliRunner().invoke(cli, ["connector", "list"])
    assert outcome.exit_code == 0, outcome.output
    rows = [line.split()[:2] for line in outcome.output.splitlines()]
    assert rows == [[spec.name, spec.role.value.upper()] for spec in registry.specs()]
    assert ["bottlecrm", "CRM"] in rows
    assert ["tryton", "ERP"] in rows
    assert ["netsuite", "ERP"] in rows
    assert ["salesforce", "CRM"] in rows


def test_setup_of_an_unknown_system_names_the_known_ones() -> None:
    outcome = CliRunner().invoke(cli, ["connector", "setup", "nosuch"])
    assert outcome.exit_code != 0
    assert (
        "no connector for 'nosuch'; known: bottlecrm, netsuite, salesforce, tryton"
        in outcome.output
    )


def test_rotating_a_secret_needs_a_file_to_keep_it() -> None:
    outcome = CliRunner().invoke(cli, ["connector", "setup", "bottlecrm", "--rotate-secret"])
    assert outcome.exit_code != 0
    assert "--rotate-secret needs --secret-file" in outcome.output


async def test_bottlecrm_provisioning_refuses_a_rotation_with_nowhere_to_keep_the_secret() -> None:
    config = BottleCrmSettings.model_validate({"url": "http://127.0.0.1:9", "token": "bcrm_pat_x"})
    with pytest.raises(ConnectorError) as raised:
        await provision_bottlecrm(config, SetupOptions(rotate_secret=True))
    assert raised.value.kind is ErrorKind.FATAL


async def test_the_spec_loads_recorded_settings_under_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("Q2C_CONFIG", raising=False)
    monkeypatch.setenv("Q2C_MEMCRM__PAGES", "3")
    spec = mem_spec(provision=provision)
    # Only the recorded keys are taken from what the stack recorded.
    config = spec.configured({"url": "http://recorded", "pages": 9, "pid": 1})
    assert (config.url, config.pages) == ("http://recorded", 3)
    parts = await spec.build(None, {"url": "http://recorded"})  # type: ignore[arg-type]
    assert parts.extra == {"url": "http://recorded"}
    lines = await spec.setup({"url": "http://x"}, SetupOptions(webhook_url="http://hook"))
    assert lines == ["memcrm: http://x ready, webhook http://hook"]
    assert await mem_spec().setup({"url": "http://x"}) == ["memcrm: nothing to set up"]


def test_a_spec_whose_sink_misses_a_command_of_its_role_is_refused() -> None:
    missing = (
        r"NothingSink \(memcrm, a CRM sink\) has no handler for create_renewal_deal, "
        r"delete_record, report_sync_status"
    )
    with pytest.raises(IncompleteSink, match=missing):
        mem_spec(sink=NothingSink)


def test_the_local_stack_and_the_test_plugins_take_the_systems_from_the_specs() -> None:
    assert tuple(registry.systems()) == SYSTEMS
    assert set(LOCAL_SYSTEMS) <= set(registry.systems())
    connectors = [c.system for c in COMPONENTS if isinstance(c, ConnectorComponent)]
    assert connectors == LOCAL_SYSTEMS == ["bottlecrm", "netsuite", "salesforce", "tryton"]
    peers = [c.name for c in COMPONENTS]
    # Tryton's PostgreSQL (started only when Tryton runs on it) comes before the peers.
    assert peers[:6] == ["kafka", "postgres", "bottlecrm", "netsuite", "salesforce", "tryton"]


def test_the_local_stack_runs_the_chosen_crm_and_erp_only() -> None:
    settings = Settings(dev=DevSettings(crm="bottlecrm", erp="tryton"))
    check_systems(settings)
    wanted = [c.name for c in COMPONENTS if c.wanted(settings)]
    assert "bottlecrm" in wanted
    assert "connector-tryton" in wanted
    elsewhere = Settings(dev=DevSettings(crm="bottlecrm", erp="nothing"))
    assert "tryton" not in [c.name for c in COMPONENTS if c.wanted(elsewhere)]
    assert "connector-tryton" not in [c.name for c in COMPONENTS if c.wanted(elsewhere)]
    with pytest.raises(
        DevStackError, match="no local erp 'nothing'; the stack runs: netsuite, tryton"
    ):
        check_systems(elsewhere)
    on_salesforce = Settings(dev=DevSettings(crm="salesforce", erp="tryton"))
    check_systems(on_salesforce)
    wanted = [c.name for c in COMPONENTS if c.wanted(on_salesforce)]
    assert "salesforce" in wanted
    assert "connector-salesforce" in wanted
    assert "bottlecrm" not in wanted
    with pytest.raises(DevStackError, match="tryton is not a crm"):
        check_systems(Settings(dev=DevSettings(crm="tryton", erp="tryton")))
    on_netsuite = Settings(dev=DevSettings(crm="bottlecrm", erp="netsuite"))
    check_systems(on_netsuite)
    wanted = [c.name for c in COMPONENTS if c.wanted(on_netsuite)]
    assert "netsuite" in wanted
    assert "connector-netsuite" in wanted
    assert "tryton" not in wanted


def test_every_system_masks_the_secret_shapes_its_spec_declares() -> None:
    assert sorted(SECRET_PATTERNS) == registry.systems()
    for system in registry.systems():
        assert tuple(registry.spec(system).secret_patterns) == SECRET_PATTERNS[system]


def test_a_command_loads_only_what_it_runs() -> None:
    """`q2c connector run tryton` loads the Tryton connector and no other, nor the workers
    nor the local stack (every process start pays for what it imports)."""
    probe = (
        "import sys\n"
        "from q2c.cli import cli\n"
        "cli.main(['connector', 'run', '--help'], standalone_mode=False)\n"
        "from connectors.registry import spec\n"
        "spec('tryton')\n"
        "print(' '.join(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    loaded = set(done.stdout.splitlines()[-1].split())
    assert "connectors.tryton.spec" in loaded
    unwanted = {
        "connectors.bottlecrm.spec",
        "connectors.netsuite.spec",
        "connectors.salesforce.spec",
        "q2c.devstack.stack",
        "streams.app",
        "faust",
    }
    assert loaded.isdisjoint(unwanted), sorted(loaded & unwanted)
