#!/usr/bin/env bash
# Static checks of the package, as CI runs them (configuration in pyproject.toml):
#   ruff check devenv     style, imports, likely bugs, outdated syntax
#   mypy devenv           types
# Both always run; the exit status is non-zero when either reports a problem.
#   scripts/lint.sh              (after scripts/setup.sh, which installs ruff and mypy)
# DEVENV_SKIP_SETUP is not consulted: this script installs nothing.
set -euo pipefail
DEVENV_LOG_TAG=lint
. "$(dirname "$0")/lib.sh"
cd "$DEVENV_ROOT"

PY=$(pick_python)
for tool in ruff mypy; do
    "$PY" -m "$tool" --version >/dev/null 2>&1 || die "$tool is not installed for $PY (run scripts/setup.sh: pip install -e '.[test]')"
done

rc=0
log "ruff check devenv"
"$PY" -m ruff check devenv || rc=1
log "mypy devenv"
"$PY" -m mypy devenv || rc=1
if [ $rc = 0 ]; then log "lint OK"; else log "lint failed"; fi
exit $rc
