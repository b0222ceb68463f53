"""devenv as its users install it, for the benchmarks: a virtualenv of its own with `pip install .`
(what `pipx install devenv` does), rebuilt from the working tree at the start of each benchmark.

The development checkout's editable install is not what users run: its import hook
(`__editable___devenv_*_finder`, loaded by a `.pth` file at every interpreter start) and the
site-packages of the development interpreter cost every Python process 20-30 ms before it runs a
line of devenv. A benchmark of `devenv` against a Go binary must not charge those to devenv, so it
measures the installed package, and says so in its report.

    python -m benchmarks.install          # prints the path of the installed `devenv` script
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
VENV = REPO_ROOT / "benchmarks" / "out" / "venv"


def _run(argv: list[str]) -> None:
    result = subprocess.run(argv, capture_output=True, text=True)
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-5:]
        raise SystemExit(f"benchmarks.install: {' '.join(argv[:4])} ... failed:\n" + "\n".join(tail))


def user_install(venv: Path = VENV) -> Path:
    """(Re)install the working tree into `venv` as a regular package; return its `devenv` script."""
    python = venv / "bin" / "python"
    if not python.is_file():
        _run([sys.executable, "-m", "venv", str(venv)])
    # The runtime dependencies first (kept between runs), then devenv itself, rebuilt every time.
    _run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(REPO_ROOT)])
    _run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
          "--force-reinstall", str(REPO_ROOT)])
    script = venv / "bin" / "devenv"
    if not script.is_file():
        raise SystemExit(f"benchmarks.install: no devenv script at {script} after pip install")
    return script


def describe(script: Path) -> str:
    """One line for a report: how devenv was installed."""
    versions = subprocess.run(
        [str(script.parent / "python"), "-c",
         "import importlib.metadata as m; print(', '.join(f'{p} {m.version(p)}' for p in ('PyYAML', 'docker')))"],
        capture_output=True, text=True,
    ).stdout.strip()
    return f"installed as users install it (`pip install .` into its own virtualenv, `{script}`; {versions})"


if __name__ == "__main__":
    print(user_install())
