"""The offline base image names, read from scripts/images.env (their single source of truth).

The file holds plain KEY=VALUE lines (blank lines and # comments allowed); values are taken
literally: no quotes, no shell expansion.
"""

from __future__ import annotations

from pathlib import Path

IMAGES_ENV = Path(__file__).resolve().parent.parent / "scripts" / "images.env"


def load(path: Path = IMAGES_ENV) -> dict[str, str]:
    """Parse a KEY=VALUE file into a dict; raise ValueError on a line that is neither."""
    values: dict[str, str] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"{path}:{number}: expected KEY=VALUE, got {raw!r}")
        values[key.strip()] = value.strip()
    return values


_VALUES = load()
BUSYBOX_IMAGE: str = _VALUES["DEVENV_BUSYBOX_IMAGE"]
PYTHON_IMAGE: str = _VALUES["DEVENV_PYTHON_IMAGE"]
REGISTRY: str = _VALUES["DEVENV_REGISTRY"]
