"""`q2c resync` refuses what it cannot do, saying why, before reading or sending anything."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from q2c.cli import cli


@pytest.fixture(autouse=True)
def configured(monkeypatch: pytest.MonkeyPatch) -> None:
    # Never reached: every case stops before a connection is opened.
    monkeypatch.setenv("Q2C_KAFKA__BOOTSTRAP", "127.0.0.1:9")
    monkeypatch.setenv("Q2C_BOTTLECRM__URL", "http://127.0.0.1:9")
    monkeypatch.setenv("Q2C_BOTTLECRM__TOKEN", "bcrm_pat_never_used")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give SYSTEM ENTITY ID... or --rejected"),
        (["--rejected", "bottlecrm"], "give SYSTEM ENTITY ID... or --rejected"),
        (["bottlecrm", "deal"], "at least one ID"),
    ],
)
def test_usage_mistakes_are_explained(args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, ["resync", *args])
    assert result.exit_code == 2
    assert message in result.output


def test_an_unknown_object_names_the_ones_the_system_has() -> None:
    result = CliRunner().invoke(cli, ["resync", "bottlecrm", "widget", "7"])
    assert result.exit_code == 1
    assert "bottlecrm has no 'widget' records; it has: account, contact, deal, product" in (
        result.output
    )


def test_an_unknown_system_names_the_known_ones() -> None:
    result = CliRunner().invoke(cli, ["resync", "nosuch", "deal", "7"])
    assert result.exit_code == 1
    assert "no connector for 'nosuch'" in result.output
