"""Compatibility of two JSON Schemas: can a reader of one read all data written with the
other?

This is the core of the Schema Registry modes (see :class:`schemas.base.Compatibility`):
BACKWARD asks whether the new schema reads data of the old, FORWARD the reverse, FULL both.
The rules cover what pydantic models produce: required fields, types (an integer is a
number), nullability, enums and constants, nested objects and ``$defs``, arrays, maps, and
the usual string and number constraints.

Fields follow the record semantics of Avro rather than the open-content-model reading of
JSON Schema: a field the writer's schema does not declare is taken to be absent from its
data. So adding an optional field is BACKWARD compatible, and a reader that forbids unknown
fields (``additionalProperties: false``, pydantic's ``extra="forbid"``) cannot read data that
carries a field it does not know.

Every problem names the field path (``lines[].discount``; ``[]`` is any array element and
``{}`` any map value) and the rule, worded as a change from the old schema to the new one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from schemas.store import ANNOTATIONS, JsonSchema

_MAX_DEPTH = 64
_NUMBER_BOUNDS = ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum")
_LOWER = frozenset({"minimum", "exclusiveMinimum", "minLength", "minItems"})
_UPPER = frozenset({"maximum", "exclusiveMaximum", "maxLength", "maxItems"})


@dataclass(frozen=True)
class Incompatibility:
    """One way data of the writer's schema would be refused by the reader's."""

    path: str
    rule: str
    detail: str

    def where(self) -> str:
        return f"field '{self.path}'" if self.path else "the record"


def _child(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _show(values: Any) -> str:
    if isinstance(values, set | frozenset | list | tuple):
        return "|".join(sorted(map(str, values)))
    return str(values)


class _Comparison:
    """One reader/writer comparison; ``reader_is_new`` chooses how problems are worded."""

    def __init__(self, reader_root: JsonSchema, writer_root: JsonSchema, reader_is_new: bool):
        self.reader_root = reader_root
        self.writer_root = writer_root
        self.reader_is_new = reader_is_new
        self.issues: list[Incompatibility] = []

    # -- wording: "old" and "new" whichever side reads -------------------------------------

    def _old_new(self, reader_value: Any, writer_value: Any) -> tuple[Any, Any]:
        if self.reader_is_new:
            return writer_value, reader_value
        return reader_value, writer_value

    def add(self, path: str, rule: str, detail: str) -> None:
        self.issues.append(Incompatibility(path, rule, detail))

    # -- schema plumbing ---------------------------------------------------------------------

    @staticmethod
    def _resolve(node: Any, root: JsonSchema) -> dict[str, Any]:
        if node is True or node is None:
            return {}
        if node is False:
            return {"not": {}}
        seen: set[str] = set()
        resolved: dict[str, Any] = dict(node)
        while True:
            ref = resolved.pop("$ref", None)
            if ref is None and "allOf" in resolved and len(resolved["allOf"]) == 1:
                ref_node = resolved.pop("allOf")[0]
                resolved = {**ref_node, **resolved}
                continue
            if ref is None:
                return resolved
            if ref in seen or not isinstance(ref, str) or not ref.startswith("#/$defs/"):
                raise ValueError(f"cannot resolve $ref {ref!r}")
            seen.add(ref)
            target = root.get("$defs", {}).get(ref.removeprefix("#/$defs/"))
            if not isinstance(target, dict):
                raise ValueError(f"dangling $ref {ref!r}")
            resolved = {**target, **resolved}

    @staticmethod
    def _branches(node: dict[str, Any]) -> list[Any] | None:
        for key in ("anyOf", "oneOf"):
            if key in node:
                branches = node[key]
                return list(branches) if isinstance(branches, list) else None
        return None

    @staticmethod
    def _types(node: dict[str, Any]) -> frozenset[str] | None:
        declared = node.get("type")
        if isinstance(declared, str):
            return frozenset({declared})
        if isinstance(declared, list):
            return frozenset(declared)
        values = node.get("enum", [node["const"]] if "const" in node else None)
        if values is not None:
            return frozenset(_json_type(v) for v in values)
        if "properties" in node or "additionalProperties" in node:
            return frozenset({"object"})
        if "items" in node or "prefixItems" in node:
            return frozenset({"array"})
        return None

    @staticmethod
    def _is_any(node: dict[str, Any]) -> bool:
        return not any(key not in ANNOTATIONS for key in node)

    # -- the rules ---------------------------------------------------------------------------

    def compare(self, reader: Any, writer: Any, path: str, depth: int = 0) -> None:
        if depth > _MAX_DEPTH:
            return
        r = self._resolve(reader, self.reader_root)
        w = self._resolve(writer, self.writer_root)
        if self._is_any(r):
            return
        w_branches = self._branches(w)
        if w_branches is not None:
            for branch in w_branches:
                self.compare(r, self._resolve(branch, self.writer_root), path, depth + 1)
            return
        r_branches = self._branches(r)
        if r_branches is not None:
            self._against_union(r_branches, w, path, depth)
            return
        self._compare_single(r, w, path, depth)

    def _against_union(self, branches: list[Any], w: dict[str, Any], path: str, depth: int) -> None:
        resolved = [self._resolve(b, self.reader_root) for b in branches]
        w_types = self._types(w)
        candidates: list[dict[str, Any]] = []
        for branch in resolved:
            trial = _Comparison(self.reader_root, self.writer_root, self.reader_is_new)
            trial.compare(branch, w, path, depth + 1)
            if not trial.issues:
                return
            b_types = self._types(branch)
            if w_types is None or b_types is None or _widen(w_types) & _widen(b_types):
                candidates.append(branch)
        if candidates:
            # Report against the member of the same kind: the most telling explanation.
            self._compare_single(candidates[0], w, path, depth + 1)
            return
        r_types: set[str] = set()
        for branch in resolved:
            r_types |= self._types(branch) or set()
        if w_types == frozenset({"null"}):
            detail = "no longer accepts null" if self.reader_is_new else "may now be null"
            self.add(path, "nullability", detail)
            return
        old, new = self._old_new(_show(r_types), _show(w_types or {"any"}))
        self.add(path, "type", f"type changed from {old} to {new}")

    def _compare_single(self, r: dict[str, Any], w: dict[str, Any], path: str, depth: int) -> None:
        r_types, w_types = self._types(r), self._types(w)
        if r_types is not None:
            if w_types is None:
                old, new = self._old_new(_show(r_types), "any")
                self.add(path, "type", f"type changed from {old} to {new}")
                return
            if not _subtypes(w_types, r_types):
                if w_types == frozenset({"null"}):
                    self.add(
                        path,
                        "nullability",
                        "no longer accepts null" if self.reader_is_new else "may now be null",
                    )
                    return
                old, new = self._old_new(_show(r_types), _show(w_types))
                self.add(path, "type", f"type changed from {old} to {new}")
                return
        self._compare_values(r, w, path)
        self._compare_bounds(r, w, path)
        if "object" in (r_types or ()) or "properties" in r:
            self._compare_objects(r, w, path, depth)
        if "array" in (r_types or ()) or "items" in r:
            self._compare_arrays(r, w, path, depth)

    def _compare_values(self, r: dict[str, Any], w: dict[str, Any], path: str) -> None:
        r_values = _allowed(r)
        if r_values is None:
            return
        w_values = _allowed(w)
        if w_values is None:
            if self.reader_is_new:
                detail = f"is now restricted to {_show(r_values)}"
            else:
                detail = f"is no longer restricted to {_show(r_values)}"
            self.add(path, "enum", detail)
            return
        for value in sorted(w_values - r_values, key=str):
            detail = f"value {value!r} was {'removed' if self.reader_is_new else 'added'}"
            self.add(path, "enum", detail)

    def _compare_bounds(self, r: dict[str, Any], w: dict[str, Any], path: str) -> None:
        for key in (*_NUMBER_BOUNDS, "minLength", "maxLength", "minItems", "maxItems"):
            if key not in r:
                continue
            rv, wv = r[key], w.get(key)
            looser = wv is None or (wv < rv if key in _LOWER else wv > rv)
            if looser:
                old, new = self._old_new(rv, wv if wv is not None else "none")
                self.add(path, key, f"{key} changed from {old} to {new}")
        for key in ("pattern", "format", "multipleOf"):
            if key in r and r[key] != w.get(key):
                old, new = self._old_new(r[key], w.get(key, "none"))
                self.add(path, key, f"{key} changed from {old!r} to {new!r}")

    def _compare_objects(self, r: dict[str, Any], w: dict[str, Any], path: str, depth: int) -> None:
        r_props: dict[str, Any] = r.get("properties", {})
        w_props: dict[str, Any] = w.get("properties", {})
        r_required = set(r.get("required", ()))
        w_required = set(w.get("required", ()))
        for name, r_sub in r_props.items():
            child = _child(path, name)
            if name not in w_props:
                if name in r_required:
                    if self.reader_is_new:
                        detail = "became required without a default"
                    else:
                        detail = "was removed but the older version requires it"
                    self.add(child, "required", detail)
                continue
            if name in r_required and name not in w_required:
                if self.reader_is_new:
                    detail = "became required (it was optional)"
                else:
                    detail = "became optional but the older version requires it"
                self.add(child, "required", detail)
            self.compare(r_sub, w_props[name], child, depth + 1)
        r_extra = r.get("additionalProperties", True)
        for name, w_sub in w_props.items():
            if name in r_props:
                continue
            if r_extra is False:
                if self.reader_is_new:
                    detail = "was removed, and unknown fields are refused"
                else:
                    detail = "was added, and the older version refuses unknown fields"
                self.add(_child(path, name), "closed", detail)
            elif isinstance(r_extra, dict):
                self.compare(r_extra, w_sub, _child(path, name), depth + 1)
        w_extra = w.get("additionalProperties", True)
        if isinstance(w_extra, dict):
            map_path = f"{path}{{}}"
            if r_extra is False:
                old, new = self._old_new("closed object", "map")
                self.add(map_path, "type", f"type changed from {old} to {new}")
            elif isinstance(r_extra, dict):
                self.compare(r_extra, w_extra, map_path, depth + 1)

    def _compare_arrays(self, r: dict[str, Any], w: dict[str, Any], path: str, depth: int) -> None:
        r_prefix: list[Any] = r.get("prefixItems", [])
        w_prefix: list[Any] = w.get("prefixItems", [])
        for index, r_sub in enumerate(r_prefix):
            w_sub = w_prefix[index] if index < len(w_prefix) else w.get("items", True)
            self.compare(r_sub, w_sub, f"{path}[{index}]", depth + 1)
        if "items" in r and r["items"] is not True:
            w_items = w.get("items", True)
            self.compare(r["items"], w_items, f"{path}[]", depth + 1)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _widen(types: frozenset[str]) -> frozenset[str]:
    """``types`` where an integer counts as a number (every integer is one)."""
    return frozenset("number" if t == "integer" else t for t in types)


def _subtypes(writer: frozenset[str], reader: frozenset[str]) -> bool:
    """Whether every value of the writer's types is of one of the reader's types."""
    return all(t in reader or (t == "integer" and "number" in reader) for t in writer)


def _allowed(node: dict[str, Any]) -> set[Any] | None:
    if "const" in node:
        return {_hashable(node["const"])}
    if "enum" in node and isinstance(node["enum"], list):
        return {_hashable(v) for v in node["enum"]}
    return None


def _hashable(value: Any) -> Any:
    if isinstance(value, list | dict):
        return repr(value)
    return value


def reader_accepts(
    reader: JsonSchema, writer: JsonSchema, *, reader_is_new: bool
) -> list[Incompatibility]:
    """Why data valid under ``writer`` may be refused by ``reader`` (empty: it never is).

    ``reader_is_new`` says which of the two is the newer version, for the wording only.
    """
    comparison = _Comparison(reader, writer, reader_is_new)
    comparison.compare(reader, writer, "")
    return comparison.issues
