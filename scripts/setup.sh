#!/usr/bin/env bash
# One-command setup for development and CI (idempotent; quick when all is in place):
#   1. pip install -e '.[test]'  (into $PYTHON / the active venv / python3, or a new
#      .venv when python3 is a distro-managed interpreter; see pick_python in lib.sh)
#   2. scripts/engine.sh         a Docker engine that answers (installs/starts dockerd)
#   3. scripts/images.sh         the offline base images (scripts/images.env)
#   4. scripts/registry.sh       local registry on 127.0.0.1:5000 (skip: DEVENV_SKIP_REGISTRY=1)
#   5. Debian's chromium (the dashboard's browser test), when missing
set -euo pipefail
DEVENV_LOG_TAG=setup
. "$(dirname "$0")/lib.sh"
cd "$DEVENV_ROOT"

export PIP_NO_INPUT=1 PIP_DISABLE_PIP_VERSION_CHECK=1 DEBIAN_FRONTEND=noninteractive

PY=$(pick_python)
if [ ! -x "$PY" ] && [ "$PY" = "$DEVENV_ROOT/.venv/bin/python" ]; then
    log "python3 is externally managed (PEP 668); creating .venv"
    python3 -m venv "$DEVENV_ROOT/.venv" 2>/dev/null || {
        apt_ensure python3-venv
        python3 -m venv "$DEVENV_ROOT/.venv"
    }
fi
"$PY" -m pip --version >/dev/null 2>&1 || "$PY" -m ensurepip --upgrade >/dev/null 2>&1 \
    || die "$PY has no pip (install python3-pip or set PYTHON=/path/to/python)"
log "pip install -e '.[test]' with $PY"
"$PY" -m pip install -q -e '.[test]' || die "pip install -e '.[test]' failed"

"$DEVENV_SCRIPTS_DIR/engine.sh"
"$DEVENV_SCRIPTS_DIR/images.sh"
if [ "${DEVENV_SKIP_REGISTRY:-}" = 1 ]; then
    log "DEVENV_SKIP_REGISTRY=1: not starting the local registry"
else
    "$DEVENV_SCRIPTS_DIR/registry.sh"
fi
# Debian's chromium drives the dashboard's browser test (tests/integration/test_dashboard.py)
if ! command -v chromium >/dev/null 2>&1; then
    ( apt_ensure chromium ) || log "warning: chromium not installed: the dashboard's browser test will skip"
fi
log "ready (python: $PY, compose: $(compose_bin))"
