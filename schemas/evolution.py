"""Schema evolution: compare the models with their committed versions, and freeze new ones.

``check`` fails when a model changed but no new version was frozen, when the committed
versions are inconsistent, and when the newest version of a subject breaks the subject's
compatibility mode against the versions before it. ``freeze`` writes the version a model
declares, after the same compatibility check; a frozen version is never rewritten except
to refresh its descriptions.

A version step covered by an upcaster is exempt from the BACKWARD direction: readers never
see the old shape, they see what the upcaster makes of it (and the upcaster has its own
tests). FORWARD checks still apply, because old readers have no way to downcast.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from schemas.base import Compatibility, Contract
from schemas.catalog import Catalog
from schemas.compat import reader_accepts
from schemas.errors import SchemaRegistryError
from schemas.store import JsonSchema, SchemaStore, model_schema, structure
from schemas.upcasting import UpcasterRegistry


@dataclass(frozen=True)
class Problem:
    """One reason ``q2c schemas check`` fails, ready to print."""

    subject: str
    message: str
    rule: str

    def __str__(self) -> str:
        return self.message


def compatibility_problems(
    subject: str,
    mode: Compatibility,
    candidate: tuple[int, JsonSchema],
    history: dict[int, JsonSchema],
    upcasters: UpcasterRegistry,
) -> list[Problem]:
    """Why version ``candidate`` may not follow ``history`` under ``mode`` (empty: it may)."""
    version, schema = candidate
    earlier = sorted(v for v in history if v < version)
    if mode is Compatibility.NONE or not earlier:
        return []
    targets = earlier if mode.transitive else earlier[-1:]
    problems: list[Problem] = []
    read_shapes: set[int] = set()
    for target in targets:
        if mode.backward:
            # Data of ``target`` reaches the reader in the shape of the last version an
            # upcaster produced on its way up; that is the shape to check.
            effective = target
            for step in range(target, version):
                if upcasters.bridges(subject, step):
                    effective = step + 1
            if effective != version and effective not in read_shapes:
                read_shapes.add(effective)
                label = _label(mode, effective, version)
                for issue in reader_accepts(schema, history[effective], reader_is_new=True):
                    text = f"{subject} v{version}: {issue.where()} {issue.detail} ({label})"
                    problems.append(Problem(subject, text, issue.rule))
        if mode.forward:
            label = _label(mode, target, version)
            for issue in reader_accepts(history[target], schema, reader_is_new=False):
                text = f"{subject} v{version}: {issue.where()} {issue.detail} ({label})"
                problems.append(Problem(subject, text, issue.rule))
    return _unique(problems)


def _label(mode: Compatibility, against: int, version: int) -> str:
    return mode.value if against == version - 1 else f"{mode.value}, against v{against}"


def _unique(problems: Iterable[Problem]) -> list[Problem]:
    return list(dict.fromkeys(problems))


def _history(store: SchemaStore, subject: str) -> dict[int, JsonSchema]:
    return {v: store.load(subject, v) for v in store.versions(subject)}


def check_model(model: type[Contract], store: SchemaStore, catalog: Catalog) -> list[Problem]:
    """Everything wrong between ``model`` and its committed versions."""
    subject, declared = model.schema_subject, model.schema_version
    try:
        history = _history(store, subject)
    except SchemaRegistryError as exc:
        return [Problem(subject, str(exc), "registry")]
    current = model_schema(model)
    latest = max(history, default=0)
    freeze_hint = "run `q2c schemas freeze`"

    def problem(text: str, rule: str) -> Problem:
        return Problem(subject, f"{subject}: {text}", rule)

    if latest > declared:
        return [problem(f"v{latest} is committed but the model says v{declared}", "version")]
    if latest < declared - 1:
        return [
            problem(f"the model is v{declared} but only v1..v{latest} are committed", "version")
        ]
    candidate = (declared, current)
    compat = compatibility_problems(
        subject, model.compatibility, candidate, history, catalog.upcasters
    )
    if latest == declared - 1:
        return [problem(f"v{declared} is not frozen yet: {freeze_hint}", "unfrozen"), *compat]
    if structure(history[latest]) != structure(current):
        hint = f"bump schema_version to {declared + 1} and {freeze_hint}"
        changed = problem(f"the model changed since v{declared} was frozen: {hint}", "unfrozen")
        trial = compatibility_problems(
            subject,
            model.compatibility,
            (declared + 1, model_schema_as(model, declared + 1)),
            history,
            catalog.upcasters,
        )
        return [changed, *trial]
    problems = list(compat)
    if not store.is_current(subject, declared, current):
        problems.append(
            problem(f"v{declared} differs in its descriptions only: {freeze_hint}", "annotations")
        )
    return problems


def model_schema_as(model: type[Contract], version: int) -> JsonSchema:
    """The schema ``model`` would be committed with as ``version``."""
    schema = model_schema(model)
    schema["$id"] = f"q2c:{model.schema_subject}:v{version}"
    schema["x-q2c-version"] = version
    return schema


def check(catalog: Catalog, store: SchemaStore) -> list[Problem]:
    """Every problem of every subject in ``catalog``, plus committed subjects it lacks."""
    problems: list[Problem] = []
    for subject in catalog.subjects():
        model = catalog.models[subject]
        problems.extend(check_model(model, store, catalog))
    for subject in store.subjects():
        if catalog.model(subject) is None:
            text = f"{subject}: committed under {store.root} but no model declares it"
            problems.append(Problem(subject, text, "orphan"))
    return problems


@dataclass(frozen=True)
class FreezeResult:
    written: list[Path]
    problems: list[Problem]


def freeze(
    catalog: Catalog, store: SchemaStore, subjects: Iterable[str] | None = None
) -> FreezeResult:
    """Write the declared version of each model that is not committed yet.

    Nothing is written for a subject whose new version would break its compatibility mode,
    or whose frozen version no longer matches the model (bump the version first).
    """
    wanted = list(subjects) if subjects is not None else catalog.subjects()
    written: list[Path] = []
    problems: list[Problem] = []
    for subject in wanted:
        model = catalog.model(subject)
        if model is None:
            problems.append(Problem(subject, f"{subject}: no such subject", "unknown"))
            continue
        found = [p for p in check_model(model, store, catalog) if p.rule != "annotations"]
        blocking = [p for p in found if p.rule != "unfrozen"]
        if blocking:
            problems.extend(found)
            continue
        if any(p.rule == "unfrozen" for p in found) and (
            model.schema_version in store.versions(subject)
        ):
            # The model changed but still claims the frozen version.
            problems.extend(found)
            continue
        schema = model_schema(model)
        if not store.is_current(subject, model.schema_version, schema):
            written.append(store.write(subject, model.schema_version, schema))
    return FreezeResult(written, problems)
