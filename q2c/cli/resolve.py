"""Where a production command's settings come from.

Production commands read the environment and the config file, nothing else: a pod that
happens to find a `.q2c/stack.json` must not talk to someone's laptop stack. ``--dev`` adds
what `q2c dev up` recorded there, under whatever is configured. A setting that is missing is
reported with the variable that sets it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import click
from pydantic import ValidationError

from q2c.core.settings import Settings

F = TypeVar("F", bound=Callable[..., Any])

DEV_HINT = "or pass --dev to use the local stack of `q2c dev up`"


def dev_option(command: F) -> F:
    decorator = click.option(
        "--dev",
        is_flag=True,
        help="Use the local stack of `q2c dev up` (.q2c/stack.json) for what is not configured.",
    )
    return decorator(command)


def _local_stack(settings: Settings) -> dict[str, dict[str, Any]]:
    from q2c.devstack.stack import StackFiles

    files = StackFiles(settings.dev.state_dir)
    stack = files.load()
    if not stack:
        raise click.ClickException(
            f"--dev: no local stack at {files.stack_json} (start it with `q2c dev up`)"
        )
    return stack


def resolved_settings(dev: bool = False) -> Settings:
    """Settings from the environment and the config file; with ``dev``, the local broker
    when no bootstrap is configured. Fails when no Kafka cluster is configured."""
    settings = Settings()
    if dev and not settings.kafka.bootstrap:
        local = _local_stack(settings).get("kafka")
        if local:
            settings.kafka.bootstrap = str(local["bootstrap"])
    if not settings.kafka.bootstrap:
        raise click.ClickException(f"Q2C_KAFKA__BOOTSTRAP is not set ({DEV_HINT})")
    return settings


def peer_defaults(settings: Settings, system: str, dev: bool) -> Mapping[str, Any]:
    """What the local stack recorded for ``system`` (URL, credentials) with ``dev``; nothing
    otherwise."""
    return _local_stack(settings).get(system, {}) if dev else {}


def missing_settings(system: str, exc: ValidationError) -> click.ClickException:
    """A connector's invalid settings, each named by its variable (values never shown: they
    may be credentials)."""
    problems = []
    for error in exc.errors():
        variable = f"Q2C_{system.upper()}__{str(error['loc'][0]).upper()}"
        if error["type"] == "missing":
            problems.append(f"{variable} is not set")
        else:
            problems.append(f"{variable}: {error['msg']}")
    return click.ClickException(f"{'; '.join(problems)} ({DEV_HINT})")
