"""Errors of the planning layer, each printed by the CLI as one clear line."""

from __future__ import annotations

from devenv.errors import DevenvError, ManifestError


class UnsupportedFeature(ManifestError):
    """A Compose setting that devenv cannot honour yet: refused, never silently dropped."""

    def __init__(self, service: str, field: str, detail: str = "is not supported yet", *, kind: str = "service"):
        self.service = service
        self.field = field
        super().__init__(f"{kind} {service}: '{field}' {detail}")


class DependencyError(ManifestError):
    """A dependency between services that cannot be satisfied: missing service or a cycle."""


class PlanError(DevenvError):
    """The engine's state forbids the requested change (drifted network, missing external volume...)."""
