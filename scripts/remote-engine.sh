#!/usr/bin/env bash
# A remote Docker engine for tests, on this machine: Debian's dockerd (vfs) and sshd in a
# container run by the local engine. Its filesystem is not this machine's, so a bind mount
# that was not shipped shows up empty there.
#
#   scripts/remote-engine.sh start [NAME]      build the image if needed, start (idempotent), load base images
#   scripts/remote-engine.sh env [NAME] [tls|ssh]   print `export` lines to reach it (default tls):
#                                              eval "$(scripts/remote-engine.sh env ssh)"
#   scripts/remote-engine.sh stop [NAME]       remove the container and its state folder
#   scripts/remote-engine.sh build             (re)build the image only
#
# NAME defaults to devenv-remote; the container is NAME, its state (certificates, keys,
# known_hosts, ssh_config) lives in a 0700 folder: $DEVENV_REMOTE_STATE/NAME (default
# ${TMPDIR:-/tmp}/devenv-remote-engine-$UID/NAME). Ports are chosen by the engine and published
# on 127.0.0.1 only: 2376 (dockerd, TLS, client certificate required) and 22 (sshd, key only).
#
# tls: DOCKER_HOST=tcp://127.0.0.1:P DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=STATE/client
# ssh: DOCKER_HOST=ssh://root@127.0.0.1:P DEVENV_SSH_CONFIG=STATE/ssh_config (devenv runs
#      `ssh -F` with it) and PATH=STATE/bin:$PATH, whose `ssh` adds the same -F for the docker
#      CLI and Compose. The user's ~/.ssh is never read nor written: the config sets
#      IdentityFile, UserKnownHostsFile (the host key pinned) and StrictHostKeyChecking=yes.
set -euo pipefail
DEVENV_LOG_TAG=remote-engine
. "$(dirname "$0")/lib.sh"
# The container runs on the local engine, whatever engine the caller's shell points at.
unset DOCKER_HOST DOCKER_CONTEXT DOCKER_TLS_VERIFY DOCKER_CERT_PATH DOCKER_TLS

IMAGE=devenv/remote-engine:2
RECIPE=2
RECIPE_DIR="$DEVENV_SCRIPTS_DIR/remote-engine"
umask 077

cmd=${1:-}
NAME=${2:-devenv-remote}
MODE=${3:-tls}
if [ "$cmd" = env ] && { [ "$NAME" = tls ] || [ "$NAME" = ssh ]; }; then  # env tls|ssh: the default NAME
    MODE=$NAME NAME=devenv-remote
fi
case "$NAME" in
    *[!A-Za-z0-9_.-]*|"") die "bad NAME '$NAME' (letters, digits, _ . -)" ;;
esac
STATE_ROOT=${DEVENV_REMOTE_STATE:-${TMPDIR:-/tmp}/devenv-remote-engine-$(id -u)}
STATE="$STATE_ROOT/$NAME"

build_image() {
    local dir
    docker_ok || die "no Docker engine answers 'docker info'; run scripts/engine.sh first"
    docker image inspect "$DEVENV_PYTHON_IMAGE" >/dev/null 2>&1 || "$DEVENV_SCRIPTS_DIR/images.sh"
    # The build context's root must be 0755: with vfs, a 0700 context folder is the image's too.
    dir=$(mktemp -d "${TMPDIR:-/tmp}/devenv-remote-build.XXXXXX")
    chmod 0755 "$dir"
    install -m 0644 "$RECIPE_DIR/Dockerfile" "$RECIPE_DIR/entrypoint.sh" "$dir/"
    log "building $IMAGE from $DEVENV_PYTHON_IMAGE (docker.io, openssh-server, iptables from ${DEVENV_DEBIAN_MIRROR:-deb.debian.org})"
    local rc=0
    DOCKER_BUILDKIT=0 docker build -q -t "$IMAGE" \
        --build-arg "BASE=$DEVENV_PYTHON_IMAGE" \
        --build-arg "DEBIAN_MIRROR=${DEVENV_DEBIAN_MIRROR:-http://deb.debian.org/debian}" \
        "$dir" >/dev/null 2>"$dir.log" || rc=$?
    rm -rf "$dir"
    if [ $rc != 0 ]; then
        tail -n 20 "$dir.log" >&2; rm -f "$dir.log"
        die "docker build of $IMAGE failed"
    fi
    rm -f "$dir.log"
    log "built $IMAGE"
}

# gen_material: CA, server certificate (SAN 127.0.0.1, localhost), client certificate,
# ssh client key, ssh host key; once per state folder.
gen_material() {
    [ -f "$STATE/.complete" ] && return 0
    command -v openssl >/dev/null || apt_ensure openssl
    command -v ssh-keygen >/dev/null || apt_ensure openssh-client
    rm -rf "$STATE"
    mkdir -p "$STATE_ROOT" && chmod 0700 "$STATE_ROOT"
    [ -O "$STATE_ROOT" ] || die "$STATE_ROOT belongs to someone else; set DEVENV_REMOTE_STATE"
    mkdir -m 0700 "$STATE" "$STATE/setup" "$STATE/client" "$STATE/bin"
    local s=$STATE
    (
        cd "$s"
        openssl req -x509 -newkey rsa:2048 -nodes -days 3 -subj "/CN=devenv remote-engine CA ($NAME)" \
            -keyout ca-key.pem -out ca.pem 2>/dev/null
        openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout setup/server-key.pem -out server.csr 2>/dev/null
        printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >server.ext
        openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 3 \
            -extfile server.ext -out setup/server-cert.pem 2>/dev/null
        openssl req -newkey rsa:2048 -nodes -subj "/CN=client" -keyout client/key.pem -out client.csr 2>/dev/null
        printf 'extendedKeyUsage=clientAuth\n' >client.ext
        openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 3 \
            -extfile client.ext -out client/cert.pem 2>/dev/null
        cp ca.pem setup/ca.pem
        cp ca.pem client/ca.pem
        rm -f server.csr client.csr server.ext client.ext ca.srl
        ssh-keygen -q -t ed25519 -N '' -C "devenv-remote-$NAME" -f id_ed25519
        ssh-keygen -q -t ed25519 -N '' -C "devenv-remote-host-$NAME" -f setup/ssh_host_ed25519_key
        cp id_ed25519.pub setup/authorized_keys
    ) || die "could not generate certificates and keys in $STATE"
    # The container reads /setup as root; the folder stays private on this side.
    chmod 0600 "$STATE"/setup/* "$STATE"/client/key.pem "$STATE"/ca-key.pem "$STATE"/id_ed25519
    touch "$STATE/.complete"
}

port_of() { # port_of CONTAINER_PORT -> the host port published on 127.0.0.1
    docker port "$NAME" "$1/tcp" 2>/dev/null | awk -F: '/^127\.0\.0\.1:/ { print $2; exit }'
}

write_ssh_files() {
    local sport=$1
    printf '[127.0.0.1]:%s %s\n' "$sport" "$(cut -d' ' -f1,2 "$STATE/setup/ssh_host_ed25519_key.pub")" >"$STATE/known_hosts"
    cat >"$STATE/ssh_config" <<EOF
# devenv remote test engine $NAME (scripts/remote-engine.sh); used with ssh -F
Host 127.0.0.1 localhost
    User root
    IdentityFile $STATE/id_ed25519
    IdentitiesOnly yes
    UserKnownHostsFile $STATE/known_hosts
    GlobalKnownHostsFile /dev/null
    StrictHostKeyChecking yes
    PasswordAuthentication no
    BatchMode yes
    ConnectTimeout 5
    LogLevel ERROR
EOF
    cat >"$STATE/bin/ssh" <<EOF
#!/bin/sh
exec /usr/bin/ssh -F '$STATE/ssh_config' "\$@"
EOF
    chmod 0700 "$STATE/bin/ssh"
}

running() {
    [ "$(docker inspect -f '{{.State.Running}}' "$NAME" 2>/dev/null)" = true ]
}

tls_env() {
    printf 'DOCKER_HOST=tcp://127.0.0.1:%s\nDOCKER_TLS_VERIFY=1\nDOCKER_CERT_PATH=%s\n' "$(port_of 2376)" "$STATE/client"
}

remote_docker() { env -u DOCKER_CONTEXT DOCKER_HOST="tcp://127.0.0.1:$(port_of 2376)" DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH="$STATE/client" docker "$@"; }

wait_ready() {
    local i
    for i in $(seq 1 120); do
        if remote_docker version >/dev/null 2>&1; then return 0; fi
        running || break
        sleep 0.5
    done
    docker logs --tail 30 "$NAME" >&2 2>&1 || true
    die "the remote engine $NAME did not answer on TLS (logs above)"
}

load_images() {
    local missing=() img
    for img in "$DEVENV_BUSYBOX_IMAGE" "$DEVENV_PYTHON_IMAGE"; do
        [ "$(remote_docker image inspect -f '{{.Id}}' "$img" 2>/dev/null)" = "$(docker image inspect -f '{{.Id}}' "$img")" ] \
            || missing+=("$img")
    done
    [ ${#missing[@]} = 0 ] && return 0
    log "loading ${missing[*]} into $NAME"
    docker save "${missing[@]}" | remote_docker load -q >/dev/null || die "docker load into $NAME failed"
}

start() {
    docker_ok || die "no Docker engine answers 'docker info'; run scripts/engine.sh first"
    if [ "$(docker image inspect -f '{{ index .Config.Labels "io.devenv.remote-engine.recipe" }}' "$IMAGE" 2>/dev/null)" != "$RECIPE" ]; then
        build_image
    fi
    gen_material
    if ! running; then
        docker rm -f "$NAME" >/dev/null 2>&1 || true
        log "starting $NAME"
        # Capabilities instead of --privileged (refused here): dockerd needs to mount, make
        # devices, set up networks and namespaces; seccomp/apparmor would block mount & co.
        # --init: dockerd is not an init; the shims reparented to PID 1 must be reaped by one.
        docker run -d --init --name "$NAME" --hostname "$NAME" \
            --label io.devenv.remote-engine="$NAME" \
            --cap-add SYS_ADMIN --cap-add NET_ADMIN --cap-add MKNOD --cap-add SYS_PTRACE \
            --cap-add NET_RAW --cap-add SYS_MODULE --cap-add AUDIT_WRITE \
            --cap-add DAC_READ_SEARCH --cap-add SYS_NICE --cap-add IPC_LOCK \
            --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
            --cgroupns host \
            -v /sys/fs/cgroup:/sys/fs/cgroup:rw \
            --tmpfs /run --tmpfs /tmp -v /var/lib/docker \
            -v "$STATE/setup:/setup:ro" \
            -p 127.0.0.1::2376 -p 127.0.0.1::22 \
            "$IMAGE" >/dev/null || die "docker run $IMAGE failed"
    fi
    wait_ready
    write_ssh_files "$(port_of 22)"
    load_images
    log "$NAME answers: $(tls_env | head -n1), ssh://root@127.0.0.1:$(port_of 22)"
}

print_env() {
    local mode=${1:-tls}
    running || die "$NAME is not running (scripts/remote-engine.sh start $NAME)"
    case "$mode" in
        tls) tls_env | sed 's/^/export /' ;;
        ssh)
            printf 'export DOCKER_HOST=ssh://root@127.0.0.1:%s\n' "$(port_of 22)"
            printf 'export DEVENV_SSH_CONFIG=%s\n' "$STATE/ssh_config"
            printf 'export PATH=%s:$PATH\n' "$STATE/bin"
            printf 'unset DOCKER_TLS_VERIFY DOCKER_CERT_PATH\n' ;;
        *) die "env: mode is tls or ssh, not '$mode'" ;;
    esac
}

stop() {
    if docker inspect "$NAME" >/dev/null 2>&1; then
        [ "$(docker inspect -f '{{ index .Config.Labels "io.devenv.remote-engine" }}' "$NAME")" = "$NAME" ] \
            || die "container $NAME was not started by this script; leaving it"
        log "removing $NAME (its volumes go with it)"
        docker rm -f -v "$NAME" >/dev/null
    fi
    rm -rf "$STATE"
}

case "$cmd" in
    start) start ;;
    stop) stop ;;
    env) print_env "$MODE" ;;
    build) build_image ;;
    *) die "usage: $0 start|stop|env|build [NAME] (env: [tls|ssh])" ;;
esac
