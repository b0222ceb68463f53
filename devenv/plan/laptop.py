"""What the `laptop` overrides of an environment change (pure): the lines `up --local` prints
before it starts, from the declared configuration (devenv.plan.declared) of both models."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from devenv.model import Project
from devenv.plan.declared import is_secret_digest, service_facts


@dataclasses.dataclass(frozen=True)
class Difference:
    """One field where the laptop model differs from the environment's declared one."""

    path: str  # SERVICE.FIELD[.KEY]
    before: Any  # the declared value (the environment's), None when absent
    after: Any  # the laptop's
    secret: bool = False  # either value is secret: show neither
    service: bool = False  # a whole service only one side has (before/after: "(none)" or "(service)")

    def __str__(self) -> str:
        if self.service:
            return f"{self.path}: {self.before} -> {self.after}"
        if self.secret:
            return f"{self.path}: (secret) -> (secret)"
        return f"{self.path}: {_shown(self.before)} -> {_shown(self.after)}"


def _shown(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _secret(value: Any) -> bool:
    return is_secret_digest(value)


def differences(declared: Project, laptop: Project) -> list[Difference]:
    """What the laptop changes, per service and field (per key for environment, resources and
    secrets), from devenv.plan.declared.service_facts on both models. Secret values stay hidden."""
    out: list[Difference] = []
    for name in sorted(set(declared.services) | set(laptop.services)):
        if name not in declared.services or name not in laptop.services:
            before, after = ("(none)", "(service)") if name in laptop.services else ("(service)", "(none)")
            out.append(Difference(name, before, after, service=True))
            continue
        a = service_facts(declared, declared.services[name])
        b = service_facts(laptop, laptop.services[name])
        for field in a:
            if a[field] == b.get(field):
                continue
            if isinstance(a[field], dict) and isinstance(b.get(field), dict):
                for key in sorted(set(a[field]) | set(b[field])):
                    x, y = a[field].get(key), b[field].get(key)
                    if x != y:
                        out.append(Difference(f"{name}.{field}.{key}", x, y, _secret(x) or _secret(y) or field == "secrets"))
            else:
                out.append(Difference(f"{name}.{field}", a[field], b.get(field)))
    return out
