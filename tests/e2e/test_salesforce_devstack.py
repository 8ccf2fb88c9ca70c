"""Salesforce as `q2c dev up --crm salesforce` starts it: the local server as a process, the
stack.json entry holding what the connector's settings take, the org set up for q2c, and
the worker told that Salesforce is the CRM."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from connectors.salesforce.client import SalesforceClient
from connectors.salesforce.provision import existing_fields, field_specs
from connectors.salesforce.settings import WriteBackFields
from connectors.salesforce.spec import SPEC
from q2c.core.settings import DevSettings, Settings
from q2c.devstack import procs
from q2c.devstack import salesforce as devstack
from q2c.devstack.component import StackFiles
from q2c.devstack.stack import PEERS, WorkerComponent

pytestmark = pytest.mark.integration


def test_the_stack_runs_a_local_org_ready_for_q2c(tmp_path: Path) -> None:
    settings = Settings(dev=DevSettings(crm="salesforce", erp="tryton", state_dir=tmp_path))
    files = StackFiles(tmp_path)
    component = PEERS["salesforce"]
    assert component.wanted(settings)
    entry = component.start(settings, files, {})
    try:
        assert set(SPEC.recorded) <= set(entry)
        assert entry["login_url"] != entry["instance_url"]
        assert component.healthy(entry)
        assert entry["org_id"] in next(iter(component.describe(entry)))
        assert (tmp_path / "salesforce" / "credentials.json").stat().st_mode & 0o077 == 0

        async def org_is_ready() -> None:
            recorded = {key: entry[key] for key in SPEC.recorded if entry.get(key)}
            client = SalesforceClient(SPEC.configured(recorded))
            try:
                wanted = field_specs(WriteBackFields())
                for obj in {f.obj for f in wanted}:
                    have = await existing_fields(client, obj)
                    assert {f.name for f in wanted if f.obj == obj} <= have
            finally:
                await client.close()

        # `q2c dev up` is synchronous and runs its own event loop, so this test is too.
        asyncio.run(org_is_ready())
        worker = WorkerComponent()
        stack = {"kafka": {"bootstrap": "127.0.0.1:9"}}
        program = worker.program(files, stack, worker.prepare(settings, files, stack))
        assert program.env["Q2C_SYNC__CRM_SYSTEM"] == "salesforce"
    finally:
        procs.stop_pid(int(entry["pid"]))
    assert not devstack.healthy(entry)
