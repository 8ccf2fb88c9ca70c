"""`q2c schemas check|freeze|list`: the versioned data contracts."""

from __future__ import annotations

from pathlib import Path

import click

from schemas.catalog import CATALOG
from schemas.errors import SchemaRegistryError
from schemas.evolution import check, freeze
from schemas.store import REGISTRY_DIR, SchemaStore

_registry_option = click.option(
    "--registry",
    type=click.Path(file_okay=False, path_type=Path),
    default=REGISTRY_DIR,
    show_default="schemas/registry",
    help="Directory holding <subject>/v<N>.json.",
)


@click.group(name="schemas")
def schemas_group() -> None:
    """Data contracts: JSON Schemas committed per subject and version."""


@schemas_group.command(name="check")
@_registry_option
def check_command(registry: Path) -> None:
    """Fail if a model changed without a new frozen version, or breaks compatibility."""
    store = SchemaStore(registry)
    problems = check(CATALOG, store)
    for problem in problems:
        click.echo(problem.message, err=True)
    if problems:
        raise click.ClickException(f"{len(problems)} schema problem(s)")
    click.echo(f"schemas: {len(CATALOG.subjects())} subjects match their committed versions")


@schemas_group.command(name="freeze")
@_registry_option
@click.argument("subjects", nargs=-1)
def freeze_command(registry: Path, subjects: tuple[str, ...]) -> None:
    """Write the JSON Schema of each model version not committed yet (all, or SUBJECTS)."""
    result = freeze(CATALOG, SchemaStore(registry), subjects or None)
    for path in result.written:
        click.echo(f"wrote {path}")
    for problem in result.problems:
        click.echo(problem.message, err=True)
    if result.problems:
        raise click.ClickException(f"{len(result.problems)} subject(s) not frozen")
    if not result.written:
        click.echo("schemas: nothing to freeze")


@schemas_group.command(name="list")
@_registry_option
def list_command(registry: Path) -> None:
    """Show each subject with its model version, compatibility mode and committed versions."""
    store = SchemaStore(registry)
    for subject in CATALOG.subjects():
        model = CATALOG.models[subject]
        try:
            committed = ",".join(f"v{v}" for v in store.versions(subject)) or "-"
        except SchemaRegistryError as exc:
            committed = f"unreadable: {exc}"
        click.echo(
            f"{subject:32} v{model.schema_version:<3} {model.compatibility.value:20} {committed}"
        )
