#!/usr/bin/env bash
# Set everything up (scripts/setup.sh), then run the test suite:
#   scripts/test.sh [pytest args...]        e.g. scripts/test.sh -k harness -x
# DEVENV_SKIP_SETUP=1 skips the setup step (fast reruns on a prepared machine).
# Exit status is pytest's. "No tests collected" (pytest exit 5) is reported and kept as
# a failure: this repository always has tests, so it means a wrong path or -k/-m filter.
set -euo pipefail
DEVENV_LOG_TAG=test
. "$(dirname "$0")/lib.sh"
cd "$DEVENV_ROOT"

if [ "${DEVENV_SKIP_SETUP:-}" != 1 ]; then
    "$DEVENV_SCRIPTS_DIR/setup.sh"
fi
PY=$(pick_python)

rc=0
"$PY" -m pytest -q "$@" </dev/null || rc=$?
case $rc in
    0) ;;
    5) log "pytest collected no tests (exit 5): check the paths and -k/-m filters given ($*); failing" ;;
    *) log "pytest failed (exit $rc)" ;;
esac
exit $rc
