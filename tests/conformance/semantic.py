"""Semantic comparison of two `config --format json` documents, as the corpus README defines it.

The top-level `name` is ignored; absent, null, [] and {} are the same for schema fields, but a key
with a null value in a name-keyed mapping still counts; key order never matters; list order
matters except for set-like fields; scalars must match in type and value; absolute paths inside the
case directory compare as ${CASE}/...
"""

from __future__ import annotations

from typing import Any, Iterator

SET_LIKE = frozenset({"cap_add", "cap_drop", "profiles", "expose", "security_opt", "secrets", "configs"})
NAME_KEYED = frozenset(
    {
        "services", "networks", "volumes", "secrets", "configs", "environment", "labels", "depends_on", "args",
        "annotations", "sysctls", "driver_opts", "options", "extra_hosts", "ulimits", "additional_contexts", "models",
    }
)


def _empty(value: Any) -> bool:
    return value is None or value == [] or value == {}


def _relocate(value: Any, case_dir: str | None) -> Any:
    if case_dir and isinstance(value, str) and value.startswith(case_dir):
        return "${CASE}" + value[len(case_dir):]
    return value


def differences(ref: Any, ours: Any, case_dir: str | None = None, path: str = "") -> Iterator[str]:
    """Yield one line per difference (empty when the documents agree)."""
    if isinstance(ref, dict) and isinstance(ours, dict):
        parent = path.rsplit(".", 1)[-1] if path else ""
        name_keyed = parent in NAME_KEYED
        for key in sorted(set(ref) | set(ours)):
            if not path and key == "name":
                continue
            sub = f"{path}.{key}" if path else key
            in_ref, in_ours = key in ref, key in ours
            if name_keyed and in_ref != in_ours:
                yield f"{sub}: only in {'reference' if in_ref else 'devenv'}"
                continue
            a, b = ref.get(key), ours.get(key)
            if _empty(a) and _empty(b):
                continue
            yield from differences(a, b, case_dir, sub)
        return
    if isinstance(ref, list) and isinstance(ours, list):
        field = path.rsplit(".", 1)[-1]
        if field in SET_LIKE:
            key = lambda v: repr(_relocate(v, case_dir))  # noqa: E731
            ref, ours = sorted(ref, key=key), sorted(ours, key=key)
        if len(ref) != len(ours):
            yield f"{path}: {len(ref)} items in reference, {len(ours)} in devenv: {ref!r} != {ours!r}"
            return
        for i, (a, b) in enumerate(zip(ref, ours)):
            yield from differences(a, b, case_dir, f"{path}[{i}]")
        return
    if _empty(ref) and _empty(ours):
        return
    a, b = _relocate(ref, case_dir), _relocate(ours, case_dir)
    if type(a) is not type(b) or a != b:
        yield f"{path}: reference {ref!r} != devenv {ours!r}"
