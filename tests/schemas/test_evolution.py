"""`check` and `freeze` over a registry in a temporary directory, and the CLI."""

from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import pytest
from click.testing import CliRunner
from pydantic import Field

import schemas as s
from q2c.cli import cli
from schemas.evolution import check, freeze
from schemas.store import SchemaStore


class OrderV1(s.Contract):
    schema_subject: ClassVar[str] = "order"
    schema_version: ClassVar[int] = 1
    number: str
    total: s.Money


class OrderV1Renamed(s.Contract):
    """Same version number, a field renamed: a change nobody froze."""

    schema_subject: ClassVar[str] = "order"
    schema_version: ClassVar[int] = 1
    reference: str
    total: s.Money


class OrderV1Documented(s.Contract):
    schema_subject: ClassVar[str] = "order"
    schema_version: ClassVar[int] = 1
    number: str = Field(description="The ERP's order number.")
    total: s.Money


class OrderV2(OrderV1):
    schema_version: ClassVar[int] = 2
    note: str | None = None


class OrderV2Breaking(s.Contract):
    schema_subject: ClassVar[str] = "order"
    schema_version: ClassVar[int] = 2
    number: int
    total: s.Money


def messages(problems: Sequence[object]) -> list[str]:
    return [str(p) for p in problems]


@pytest.fixture
def store(tmp_path: Path) -> SchemaStore:
    return SchemaStore(tmp_path / "registry")


def test_freeze_then_check(store: SchemaStore) -> None:
    catalog = s.Catalog([OrderV1])
    assert messages(check(catalog, store)) == [
        "order: v1 is not frozen yet: run `q2c schemas freeze`"
    ]
    result = freeze(catalog, store)
    assert result.problems == []
    assert result.written == [store.root / "order" / "v1.json"]
    assert check(catalog, store) == []
    assert freeze(catalog, store).written == []


def test_a_changed_model_needs_a_new_version(store: SchemaStore) -> None:
    freeze(s.Catalog([OrderV1]), store)
    changed = s.Catalog([OrderV1Renamed])
    found = messages(check(changed, store))
    assert found[0] == (
        "order: the model changed since v1 was frozen: bump schema_version to 2 and run "
        "`q2c schemas freeze`"
    )
    # And what the change would break, had it been frozen as v2:
    assert "order v2: field 'reference' became required without a default (BACKWARD)" in found
    result = freeze(changed, store)
    assert result.written == []
    assert messages(result.problems)[0] == found[0]


def test_a_compatible_new_version(store: SchemaStore) -> None:
    freeze(s.Catalog([OrderV1]), store)
    catalog = s.Catalog([OrderV2])
    assert messages(check(catalog, store)) == [
        "order: v2 is not frozen yet: run `q2c schemas freeze`"
    ]
    assert freeze(catalog, store).written == [store.root / "order" / "v2.json"]
    assert store.versions("order") == [1, 2]
    assert check(catalog, store) == []


def test_an_incompatible_new_version_is_not_frozen(store: SchemaStore) -> None:
    freeze(s.Catalog([OrderV1]), store)
    catalog = s.Catalog([OrderV2Breaking])
    result = freeze(catalog, store)
    assert result.written == []
    assert messages(result.problems) == [
        "order: v2 is not frozen yet: run `q2c schemas freeze`",
        "order v2: field 'number' type changed from string to integer (BACKWARD)",
    ]
    assert store.versions("order") == [1]


def test_an_upcaster_lets_a_breaking_version_through(store: SchemaStore) -> None:
    freeze(s.Catalog([OrderV1]), store)
    upcasters = s.UpcasterRegistry()
    upcasters.register("order", from_version=1)(lambda d: {**d, "number": int(d["number"])})
    catalog = s.Catalog([OrderV2Breaking], upcasters)
    assert freeze(catalog, store).problems == []
    assert check(catalog, store) == []


def test_description_changes_refresh_the_frozen_file(store: SchemaStore) -> None:
    freeze(s.Catalog([OrderV1]), store)
    documented = s.Catalog([OrderV1Documented])
    assert messages(check(documented, store)) == [
        "order: v1 differs in its descriptions only: run `q2c schemas freeze`"
    ]
    assert freeze(documented, store).written == [store.root / "order" / "v1.json"]
    assert check(documented, store) == []
    assert b"The ERP's order number." in store.path("order", 1).read_bytes()


def test_registry_inconsistencies(store: SchemaStore) -> None:
    freeze(s.Catalog([OrderV1]), store)
    catalog = s.Catalog([OrderV1])
    store.write("ghost", 1, {"type": "object"})
    assert messages(check(catalog, store)) == [
        f"ghost: committed under {store.root} but no model declares it"
    ]
    (store.root / "ghost").joinpath("v1.json").unlink()
    (store.root / "ghost").rmdir()
    store.write("order", 3, store.load("order", 1))
    assert messages(check(catalog, store)) == [
        "order: committed versions [1, 3] are not 1..2 without gaps"
    ]
    store.path("order", 3).unlink()
    store.path("order", 1).with_name("notes.txt").write_text("x")
    assert messages(check(catalog, store))[0].endswith("notes.txt: not a v<N>.json schema file")
    store.path("order", 1).with_name("notes.txt").unlink()
    store.path("order", 1).write_text("{")
    assert "v1.json: not valid JSON" in messages(check(catalog, store))[0]


def test_version_numbers_must_follow_the_registry(store: SchemaStore) -> None:
    freeze(s.Catalog([OrderV1]), store)
    store.write("order", 2, store.load("order", 1))
    store.write("order", 3, store.load("order", 1))
    assert messages(check(s.Catalog([OrderV2]), store)) == [
        "order: v3 is committed but the model says v2"
    ]

    class OrderV5(OrderV2):
        schema_version: ClassVar[int] = 5

    assert messages(check(s.Catalog([OrderV5]), store)) == [
        "order: the model is v5 but only v1..v3 are committed"
    ]


def test_the_committed_registry_matches_the_models() -> None:
    assert messages(check(s.CATALOG, SchemaStore())) == []


def test_cli_check_freeze_and_list(tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(cli, ["schemas", "check"])
    assert ok.exit_code == 0, ok.output
    count = len(s.CATALOG.subjects())
    assert f"{count} subjects match their committed versions" in ok.output

    empty = runner.invoke(cli, ["schemas", "check", "--registry", str(tmp_path)])
    assert empty.exit_code == 1
    assert "contact: v1 is not frozen yet: run `q2c schemas freeze`" in empty.output
    assert f"{count} schema problem(s)" in empty.output

    frozen = runner.invoke(cli, ["schemas", "freeze", "--registry", str(tmp_path), "contact"])
    assert frozen.exit_code == 0, frozen.output
    assert frozen.output.strip() == f"wrote {tmp_path / 'contact' / 'v1.json'}"
    assert (tmp_path / "contact" / "v1.json").read_bytes() == (
        SchemaStore().path("contact", 1).read_bytes()
    )
    unknown = runner.invoke(cli, ["schemas", "freeze", "--registry", str(tmp_path), "nope"])
    assert unknown.exit_code == 1
    assert "nope: no such subject" in unknown.output

    listing = runner.invoke(cli, ["schemas", "list", "--registry", str(tmp_path)])
    assert listing.exit_code == 0
    rows = {line.split()[0]: line.split()[1:] for line in listing.output.splitlines()}
    assert rows["contact"] == ["v1", "BACKWARD", "v1"]
    assert rows["invoice"] == ["v1", "BACKWARD", "-"]

    (tmp_path / "contact" / "v1.json").rename(tmp_path / "contact" / "v2.json")
    broken = runner.invoke(cli, ["schemas", "list", "--registry", str(tmp_path)])
    assert broken.exit_code == 0
    assert "unreadable: contact: committed versions [2] are not 1..1 without gaps" in broken.output
