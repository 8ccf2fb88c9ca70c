"""`q2c connector map SYSTEM STREAM [FILE|-]`: what q2c makes of one document exactly as a
system delivers it, offline (neither the system nor Kafka is reached).

The system's reader (its spec's ``documents``) turns the document into raw changes, which
the system's mapper turns into canonical changes, printed one JSON object a line; a
control event or a notification the connector acts on prints ``{"action": ...}``. A
document that cannot be read or mapped prints the reason on stderr and exits 1.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

import click
import orjson

from connectors.base.mapping import MappingError
from connectors.base.spec import ConnectorSpec, DocumentStream


class Unmappable(Exception):
    """A document the system's reader or mapper refuses; the text is the reason."""


def _stream(spec: ConnectorSpec[Any], name: str) -> DocumentStream:
    try:
        return spec.documents[name]
    except KeyError:
        known = ", ".join(sorted(spec.documents)) or "none"
        raise click.BadParameter(
            f"{spec.name} has no stream {name!r}; its streams: {known}", param_hint="STREAM"
        ) from None


def mapped_lines(spec: ConnectorSpec[Any], stream: DocumentStream, data: bytes) -> Iterator[bytes]:
    """The output lines of `map` for ``data``; :class:`Unmappable` with the reason."""
    try:
        document: Any = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise Unmappable(f"not JSON: {exc}") from None
    try:
        reading = stream.read(document)
    except (MappingError, ValueError) as exc:
        raise Unmappable(f"{spec.name} {stream.name}: {exc}") from None
    except Exception as exc:  # a pure reader: what it trips over is the document's shape
        raise Unmappable(f"{spec.name} {stream.name}: {_unexpected(exc)}") from None
    if reading.action:
        yield orjson.dumps({"action": reading.action})
    mapper = spec.mapper()
    for raw in reading.changes:
        try:
            changes = mapper.canonical(raw)
        except MappingError as exc:
            raise Unmappable(f"{raw.object} {raw.record_id}: {exc}") from None
        for change in changes:
            yield orjson.dumps(change.model_dump(mode="json"))


def _unexpected(exc: Exception) -> str:
    text = str(exc)[:300]
    return f"unexpected document shape ({type(exc).__name__}{': ' + text if text else ''})"


class _MapCommand(click.Command):
    """Lists every system's streams under the help text, read from the specs."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        from connectors.registry import spec, systems

        rows = [
            (f"{system} {name}", stream.description)
            for system in systems()
            for name, stream in sorted(spec(system).documents.items())
        ]
        with formatter.section("Streams (SYSTEM STREAM)"):
            formatter.write_dl(rows)
        super().format_epilog(ctx, formatter)


@click.command("map", cls=_MapCommand)
@click.argument("system")
@click.argument("stream_name", metavar="STREAM")
@click.argument("document", metavar="[FILE|-]", type=click.File("rb"), default="-")
def map_document(system: str, stream_name: str, document: IO[bytes]) -> None:
    """Print the canonical changes q2c makes of one DOCUMENT of SYSTEM's STREAM.

    The document is JSON exactly as the system's API or event channel delivers it (a
    record, a page of records, a change event, a webhook notification, a list of deleted
    ids), from FILE or standard input. Each canonical change prints as one JSON object a
    line; what the connector does with a control event or notification prints as
    {"action": ...}. Nothing is sent to the system or to Kafka. An unmappable document
    prints the reason and exits 1.
    """
    from connectors.registry import spec as spec_of

    try:
        spec = spec_of(system)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="SYSTEM") from None
    stream = _stream(spec, stream_name)
    try:
        lines = list(mapped_lines(spec, stream, document.read()))
    except Unmappable as exc:
        raise click.ClickException(str(exc)) from None
    if not lines:
        click.echo(f"{system} {stream_name}: no canonical change", err=True)
    for line in lines:
        click.echo(line.decode())
