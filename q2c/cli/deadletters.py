"""`q2c dead-letters`: list, show, retry and resolve the messages q2c gave up on."""

from __future__ import annotations

import asyncio
import getpass
from datetime import UTC, datetime

import click

from q2c.cli.operate import kafka_or_fail
from q2c.cli.resolve import dev_option

_TIME_FORMATS = ["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"]


def _default_actor() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "operator"


def _utc(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


@click.group("dead-letters")
def dead_letters() -> None:
    """Messages q2c could not process, each with the reason: list, show, retry, resolve.

    Each letter's id is its position on the dead-letter topic, PARTITION:OFFSET; it never
    changes. A letter that was retried or resolved no longer counts as open; `list --all`
    still shows it, and `show` says who did what and when.
    """


@dead_letters.command("list")
@click.option(
    "--since",
    type=click.DateTime(formats=_TIME_FORMATS),
    help="Only letters that failed at or after this time (UTC unless given).",
)
@click.option("--stage", help="Only letters from this stage (a prefix: normalize, sink.tryton).")
@click.option("--reason", help="Only letters whose reason contains this text (any case).")
@click.option("--all", "everything", is_flag=True, help="Also letters retried or resolved.")
@dev_option
def list_letters(
    since: datetime | None, stage: str | None, reason: str | None, everything: bool, dev: bool
) -> None:
    """The open dead letters, oldest first: id, when, stage, error class, reason.

    The id is the letter's own position on the dead-letter topic, PARTITION:OFFSET (e.g.
    0:42); it never changes, and `show`, `retry` and `resolve` take it.
    """
    from q2c.deadletter_views import LetterFilter, select, table
    from q2c.deadletters import read_letters, read_resolutions

    kwargs, topics = kafka_or_fail(dev)

    async def read() -> tuple[list[str], int]:
        letters = await read_letters(kwargs, topics)
        handled = await read_resolutions(kwargs, topics)
        rule = LetterFilter(_utc(since), stage, reason, include_handled=everything)
        chosen = select(letters, handled, rule)
        return table(chosen, handled), len(chosen)

    lines, count = asyncio.run(read())
    if count == 0:
        click.echo("no dead letter" + ("" if everything else " open"))
        return
    for line in lines:
        click.echo(line)


@dead_letters.command("show")
@click.argument("letter")
@dev_option
def show(letter: str, dev: bool) -> None:
    """Everything about one dead letter, its payload pretty-printed when it is JSON.

    LETTER is the dead letter's id, PARTITION:OFFSET on the dead-letter topic.
    """
    from q2c.deadletter_views import describe
    from q2c.deadletters import LetterNotFound, read_letter, read_resolutions

    kwargs, topics = kafka_or_fail(dev)

    async def read() -> list[str]:
        found = await read_letter(kwargs, topics, letter)
        handled = await read_resolutions(kwargs, topics)
        return describe(found, handled.get(found.id), topics.dead_letter)

    try:
        lines = asyncio.run(read())
    except (LetterNotFound, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    for line in lines:
        click.echo(line)


@dead_letters.command("retry")
@click.argument("letter", required=False)
@click.option("--matching", is_flag=True, help="Retry every open letter the filters admit.")
@click.option("--stage", help="With --matching: only letters from this stage (a prefix).")
@click.option("--reason", help="With --matching: only letters whose reason contains this.")
@click.option("--by", "actor", default=_default_actor, help="Who retries (default: your login).")
@dev_option
def retry(
    letter: str | None,
    matching: bool,
    stage: str | None,
    reason: str | None,
    actor: str,
    dev: bool,
) -> None:
    """Send a dead letter's message again, with its key, to the topic it came from.

    The message carries a `q2c-retry-of` header naming the letter, and the letter is marked
    retried (by whom, when, to where). A letter whose origin is unknown cannot be retried.
    LETTER is the dead letter's id, PARTITION:OFFSET on the dead-letter topic.
    """
    from q2c.deadletter_views import Letter, LetterFilter, retryable, select
    from q2c.deadletters import (
        LetterDesk,
        LetterNotFound,
        RetryRefused,
        read_letter,
        read_letters,
        read_resolutions,
    )

    if matching == (letter is not None):
        raise click.UsageError("give either a LETTER id or --matching")
    if not matching and (stage or reason):
        raise click.UsageError("--stage and --reason go with --matching")
    kwargs, topics = kafka_or_fail(dev)

    async def run() -> tuple[list[str], list[str]]:
        if letter is not None:
            chosen: list[Letter] = [await read_letter(kwargs, topics, letter)]
        else:
            handled = await read_resolutions(kwargs, topics)
            chosen = select(
                await read_letters(kwargs, topics), handled, LetterFilter(None, stage, reason)
            )
        ok, refused = retryable(chosen)
        if letter is not None and refused:
            raise RetryRefused(refused[0][1])
        done: list[str] = []
        async with LetterDesk(kwargs, topics) as desk:
            for one in ok:
                where = await desk.retry(one, actor)
                done.append(
                    f"{one.id}: sent again to {where.topic}[{where.partition}]@{where.offset}"
                )
        return done, [f"{one.id}: not retried: {why}" for one, why in refused]

    try:
        done, refused = asyncio.run(run())
    except (LetterNotFound, RetryRefused, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    for line in done:
        click.echo(line)
    for line in refused:
        click.echo(line, err=True)
    if not done and not refused:
        click.echo("no open dead letter matches")
    if refused:
        raise click.ClickException(f"{len(refused)} letter(s) could not be retried")


@dead_letters.command("resolve")
@click.argument("letter")
@click.option("--by", "actor", required=True, help="Who resolves it (kept with the letter).")
@click.option("--note", required=True, help="What was done about it.")
@dev_option
def resolve(letter: str, actor: str, note: str, dev: bool) -> None:
    """Mark a dead letter resolved: it no longer counts as open.

    LETTER is the dead letter's id, PARTITION:OFFSET on the dead-letter topic.
    """
    from q2c.deadletters import LetterDesk, LetterNotFound, read_letter

    kwargs, topics = kafka_or_fail(dev)

    async def run() -> None:
        found = await read_letter(kwargs, topics, letter)
        async with LetterDesk(kwargs, topics) as desk:
            await desk.resolve(found, actor, note)

    try:
        asyncio.run(run())
    except (LetterNotFound, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"dead letter {letter}: resolved by {actor}")
