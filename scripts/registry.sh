#!/usr/bin/env bash
# A local image registry on 127.0.0.1:5000 (DEVENV_REGISTRY in images.env), for tests
# that push and pull. Uses Debian's `docker-registry` package (distribution 2.8), started
# in the background with start-stop-daemon (systemd is not needed, nor assumed running).
#
#   scripts/registry.sh          install if needed, make sure it serves (idempotent)
#   scripts/registry.sh check    ... then push devenv/busybox to it, pull it back, run it
#   scripts/registry.sh stop     stop the registry this script started
#
# Why not the package's /etc/docker/registry/config.yml as is: it listens on ":5000"
# (every interface) and enables htpasswd auth whose `path` is the directory
# /etc/docker/registry, so anonymous pushes are refused. We leave that conffile alone
# and serve our own config (/etc/devenv/registry.yml): loopback only, no auth, same
# storage directory (/var/lib/docker-registry). dockerd treats registries on 127.0.0.0/8
# as insecure-allowed (plain HTTP) by default, so no daemon.json change is needed.
set -euo pipefail
DEVENV_LOG_TAG=registry
. "$(dirname "$0")/lib.sh"

ADDR=$DEVENV_REGISTRY                       # 127.0.0.1:5000
CONF=${DEVENV_REGISTRY_CONFIG:-/etc/devenv/registry.yml}
PIDFILE=/var/run/devenv-registry.pid
LOG=${DEVENV_REGISTRY_LOG:-/var/log/devenv-registry.log}
STORAGE=/var/lib/docker-registry
BIN=/usr/bin/docker-registry

# probe: 0 = a registry (v2 API) answers; 1 = nothing listens; 2 = something else listens.
probe() {
    python3 - "$ADDR" <<'EOF'
import sys, urllib.request, urllib.error
try:
    r = urllib.request.urlopen(f"http://{sys.argv[1]}/v2/", timeout=3)
    hdr, code = r.headers.get("Docker-Distribution-Api-Version"), r.status
except urllib.error.HTTPError as e:   # e.g. 401 from a registry that wants auth
    hdr, code = e.headers.get("Docker-Distribution-Api-Version"), e.code
except OSError:
    sys.exit(1)
if hdr and code == 200:
    sys.exit(0)
print(f"HTTP {code}, Docker-Distribution-Api-Version={hdr!r}", file=sys.stderr)
sys.exit(2)
EOF
}

ensure_running() {
    local rc=0
    probe || rc=$?
    if [ $rc = 0 ]; then
        log "registry answers on $ADDR"
        return 0
    fi
    [ $rc = 1 ] || die "something on $ADDR answers but is not an anonymous v2 registry (stop it or free the port)"

    is_root || die "starting the registry needs root"
    apt_ensure docker-registry
    mkdir -p "$(dirname "$CONF")" "$STORAGE" "$(dirname "$LOG")"
    cat >"$CONF.tmp" <<EOF
# Written by scripts/registry.sh (devenv): a throwaway local registry for tests.
version: 0.1
log:
  level: info
  fields:
    service: registry
storage:
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: $STORAGE
  delete:
    enabled: true
http:
  addr: $ADDR
  headers:
    X-Content-Type-Options: [nosniff]
health:
  storagedriver:
    enabled: true
    interval: 10s
    threshold: 3
EOF
    mv "$CONF.tmp" "$CONF"
    local user=root
    if id docker-registry >/dev/null 2>&1; then
        user=docker-registry
        chown -R docker-registry: "$STORAGE"
    fi
    touch "$LOG"
    log "starting $BIN serve $CONF as $user (log: $LOG)"
    # --background + --make-pidfile: detached daemon; a no-op if our pidfile's process lives.
    start-stop-daemon --start --quiet --background --no-close --oknodo \
        --chuid "$user" --exec "$BIN" --pidfile "$PIDFILE" --make-pidfile \
        -- serve "$CONF" </dev/null >>"$LOG" 2>&1 \
        || die "start-stop-daemon could not start $BIN (see $LOG)"

    local i
    for i in $(seq 1 30); do
        rc=0
        probe 2>/dev/null || rc=$?
        [ $rc = 0 ] && { log "registry answers on $ADDR"; return 0; }
        sleep 0.5
    done
    tail -n 20 "$LOG" >&2 || true
    die "registry did not answer on http://$ADDR/v2/ (see $LOG)"
}

check_push_pull() {
    docker_ok || die "no Docker engine answers; run scripts/engine.sh"
    docker image inspect "$DEVENV_BUSYBOX_IMAGE" >/dev/null 2>&1 || die "$DEVENV_BUSYBOX_IMAGE missing; run scripts/images.sh"
    local ref="$ADDR/devenv/busybox:selftest"
    log "push/pull check with $ref"
    docker tag "$DEVENV_BUSYBOX_IMAGE" "$ref"
    docker push -q "$ref" >/dev/null || die "docker push $ref failed"
    docker image rm "$ref" >/dev/null
    docker pull -q "$ref" >/dev/null || die "docker pull $ref failed"
    [ "$(docker run --rm --network none "$ref" sh -c 'echo ok')" = ok ] || die "pulled image does not run"
    docker image rm "$ref" >/dev/null
    log "push/pull OK"
}

case "${1:-}" in
    "") ensure_running ;;
    check) ensure_running; check_push_pull ;;
    stop)
        start-stop-daemon --stop --quiet --oknodo --pidfile "$PIDFILE" --exec "$BIN" --retry 10
        rm -f "$PIDFILE"
        log "stopped" ;;
    *) die "usage: $0 [check|stop]" ;;
esac
