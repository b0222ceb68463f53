#!/usr/bin/env bash
# Check the base images and the quickstart on a dockerd that uses the vfs storage driver
# (nested Docker and many CI runners use it). On vfs an imported image keeps the mode of
# its tree's root folder, so a 0700 root made every non-root container fail.
#
#   scripts/vfs-check.sh          as root; needs dockerd (scripts/engine.sh installs it)
#
# It starts a second, throwaway dockerd next to the usual one, without touching it: its own
# socket, pidfile, data root and exec root, a default bridge of its own, no iptables changes (a dockerd
# with iptables on would rebuild the DOCKER chains the main engine relies on), and address
# pools of its own. Only one FORWARD rule is added (and removed at the end) so that its
# containers can talk to each other across its bridges when br_netfilter is loaded.
# Then: scripts/images.sh, a non-root container, `scripts/quickstart.sh`, `... down -v`.
# Everything it started is stopped and its data root deleted at the end.
#
# Env: DEVENV_VFS_ROOT (default /var/lib/docker-vfs-test), DEVENV_VFS_POOL (10.213.0.0/16),
#      WEB_PORT (default: a free port).
set -euo pipefail
DEVENV_LOG_TAG=vfs-check
. "$(dirname "$0")/lib.sh"
cd "$DEVENV_ROOT"

is_root || die "run as root (it starts a second dockerd)"
command -v dockerd >/dev/null 2>&1 || die "dockerd not found (scripts/engine.sh installs docker.io)"

DATA_ROOT=${DEVENV_VFS_ROOT:-/var/lib/docker-vfs-test}
POOL=${DEVENV_VFS_POOL:-10.213.0.0/16}
SOCK=/run/docker-vfs-test.sock
PIDFILE=/run/docker-vfs-test.pid
EXEC_ROOT=/run/docker-vfs-exec
LOG=/var/log/devenv-vfs-dockerd.log
FORWARD_RULE=(FORWARD -s "$POOL" -d "$POOL" -j ACCEPT)
# Its own default bridge: a dockerd started with `--bridge none` deletes the host's docker0, which
# the main engine's containers and builds need.
BRIDGE=devenv-vfs0
BRIDGE_ADDR=${DEVENV_VFS_BRIDGE_ADDR:-10.214.0.1/24}

[ ! -e "$SOCK" ] || die "$SOCK exists: another vfs check is running (or stale: stop its dockerd, delete the file)"

DOCKERD_PID=
teardown() {
    local rc=$?
    if [ -n "$DOCKERD_PID" ] && kill -0 "$DOCKERD_PID" 2>/dev/null; then
        DOCKER_HOST=unix://$SOCK scripts/quickstart.sh down -v >/dev/null 2>&1 || true
        log "stopping the vfs dockerd (pid $DOCKERD_PID)"
        kill -TERM "$DOCKERD_PID"
        local i
        for i in $(seq 1 60); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 0.5; done
        kill -0 "$DOCKERD_PID" 2>/dev/null && kill -KILL "$DOCKERD_PID"
    fi
    iptables -D "${FORWARD_RULE[@]}" 2>/dev/null || true
    ip link del "$BRIDGE" 2>/dev/null || true
    # Nothing of it may stay mounted (netns bind mounts live in the exec root).
    awk -v a="$DATA_ROOT/" -v b="$EXEC_ROOT/" 'index($2, a) == 1 || index($2, b) == 1 { print $2 }' /proc/self/mounts \
        | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
    rm -rf --one-file-system -- "$DATA_ROOT" "$EXEC_ROOT"
    rm -f "$SOCK" "$PIDFILE"
    [ $rc = 0 ] && log "OK: images, a non-root container and the quickstart work on vfs" || log "FAILED (dockerd log: $LOG)"
    exit $rc
}
trap teardown EXIT
trap 'exit 130' INT TERM

mkdir -p "$DATA_ROOT" "$EXEC_ROOT" "$(dirname "$LOG")"
ip link show "$BRIDGE" >/dev/null 2>&1 || ip link add "$BRIDGE" type bridge
ip addr replace "$BRIDGE_ADDR" dev "$BRIDGE"
ip link set "$BRIDGE" up
# Its own (empty) configuration: /etc/docker/daemon.json belongs to the main engine.
printf '{}\n' >"$EXEC_ROOT/daemon.json"
log "starting dockerd --storage-driver vfs on $SOCK (log: $LOG)"
setsid dockerd --storage-driver vfs --data-root "$DATA_ROOT" --exec-root "$EXEC_ROOT" \
    -H "unix://$SOCK" --pidfile "$PIDFILE" --bridge "$BRIDGE" --iptables=false --ip-masq=false \
    --default-address-pool "base=$POOL,size=24" --config-file "$EXEC_ROOT/daemon.json" </dev/null >"$LOG" 2>&1 &
DOCKERD_PID=$!
export DOCKER_HOST=unix://$SOCK
for i in $(seq 1 60); do
    docker_ok && break
    kill -0 "$DOCKERD_PID" 2>/dev/null || { tail -n 20 "$LOG" >&2; die "the vfs dockerd exited"; }
    sleep 1
done
driver=$(docker info --format '{{.Driver}}')
[ "$driver" = vfs ] || die "the test dockerd uses '$driver', not vfs"
iptables -I "${FORWARD_RULE[@]}" 2>/dev/null || log "no iptables: containers talk over the bridge unfiltered"

scripts/images.sh
log "a non-root container: docker run --rm -u 65534 $DEVENV_BUSYBOX_IMAGE ls /"
docker run --rm -u 65534 --network none "$DEVENV_BUSYBOX_IMAGE" ls / >/dev/null
docker run --rm -u 65534 --network none "$DEVENV_PYTHON_IMAGE" python3 -c 'import os; os.listdir("/")'

port=${WEB_PORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
log "quickstart on port $port"
WEB_PORT=$port DEVENV_SKIP_SETUP=1 scripts/quickstart.sh up
body=$(python3 -c "import urllib.request as u; print(' '.join(u.urlopen('http://127.0.0.1:$port/', timeout=10).read().decode().split()))")
log "GET http://127.0.0.1:$port/ -> ${body:0:80}"
WEB_PORT=$port DEVENV_SKIP_SETUP=1 scripts/quickstart.sh down -v
