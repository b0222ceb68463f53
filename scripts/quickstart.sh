#!/usr/bin/env bash
# Set everything up (scripts/setup.sh), then run the main job on examples/quickstart:
#   scripts/quickstart.sh [devenv command and options...]     default: up (then curl the printed URL)
# The interpreter devenv was installed into is used (see pick_python in lib.sh), so this works
# whether setup.sh installed into the system interpreter, an active venv or ./.venv.
# DEVENV_SKIP_SETUP=1 skips the setup step.
set -euo pipefail
DEVENV_LOG_TAG=quickstart
. "$(dirname "$0")/lib.sh"
cd "$DEVENV_ROOT"

if [ "${DEVENV_SKIP_SETUP:-}" != 1 ]; then
    "$DEVENV_SCRIPTS_DIR/setup.sh"
fi
PY=$(pick_python)
[ $# -gt 0 ] || set -- up
exec "$PY" -m devenv -f examples/quickstart/devenv.yaml "$@"
