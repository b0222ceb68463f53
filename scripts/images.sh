#!/usr/bin/env bash
# Build the offline base images (names in scripts/images.env) when they are missing.
# Nothing is pulled from a registry: both images are `docker import`ed from local trees.
#
#   devenv/busybox:latest    busybox-static + every applet symlink (sh, httpd, nc, wget, ...)
#   devenv/python:bookworm   debootstrap --variant=minbase --include=python3 bookworm (~45 s)
#
# Usage: scripts/images.sh [--force]     (--force rebuilds both)
# Env:   DEVENV_DEBIAN_MIRROR (default http://deb.debian.org/debian)
# An image is also rebuilt when its io.devenv.base.recipe label differs from
# DEVENV_IMAGE_RECIPE in images.env (bump that when changing a recipe below).
set -euo pipefail
DEVENV_LOG_TAG=images
. "$(dirname "$0")/lib.sh"

FORCE=0
case "${1:-}" in
    --force) FORCE=1 ;;
    "") ;;
    *) die "usage: $0 [--force]" ;;
esac

# Modes in the trees must not depend on the caller's umask (077 makes every folder private).
umask 022
MIRROR=${DEVENV_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SYS_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

docker_ok || die "no Docker engine answers 'docker info'; run scripts/engine.sh first"

# up_to_date IMAGE: exists and was built by the current recipe.
up_to_date() {
    local label
    [ "$FORCE" = 0 ] || return 1
    label=$(docker image inspect --format '{{ index .Config.Labels "io.devenv.base.recipe" }}' "$1" 2>/dev/null) || return 1
    [ "$label" = "$DEVENV_IMAGE_RECIPE" ]
}

WORKDIRS=()
# Unmount anything left mounted below a build tree (debootstrap mounts proc/sys in the
# target and may leave them on failure), then delete it without crossing filesystems.
cleanup_mounts_only() {
    local m
    while read -r m; do
        umount -l "$m" 2>/dev/null || true
    done < <(awk -v d="$1/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | sort -r)
}
cleanup_dir() {
    local dir=$1
    [ -n "$dir" ] && [ -d "$dir" ] || return 0
    cleanup_mounts_only "$dir"
    rm -rf --one-file-system -- "$dir"
}
cleanup() {
    local d
    for d in "${WORKDIRS[@]+"${WORKDIRS[@]}"}"; do cleanup_dir "$d"; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

new_workdir() {
    local d
    d=$(mktemp -d "${TMPDIR:-/var/tmp}/devenv-image.XXXXXX")
    WORKDIRS+=("$d")
    printf '%s\n' "$d"
}

import_tree() { # import_tree DIR IMAGE CMD-JSON [extra --change ...]
    local dir=$1 image=$2 cmd=$3
    shift 3
    # The tree's root becomes the image's `/`. mktemp -d makes it 0700, and with the vfs storage
    # driver (nested Docker, many CI runners) an imported layer keeps that mode: every non-root
    # container would fail with "permission denied". overlay2 happens to hide it.
    if is_root; then chown 0:0 "$dir"; fi
    chmod 0755 "$dir"
    # --numeric-owner: ids inside the image must not depend on this host's passwd.
    tar --numeric-owner -C "$dir" -c . | docker import \
        --change "CMD $cmd" \
        --change "ENV PATH=$SYS_PATH" \
        --change "LABEL io.devenv.base.recipe=$DEVENV_IMAGE_RECIPE" \
        --change "LABEL org.opencontainers.image.title=$image" \
        "$@" \
        --message "devenv base image built by scripts/images.sh" \
        - "$image" >/dev/null
}

build_busybox() {
    local image=$DEVENV_BUSYBOX_IMAGE dir bb applet
    apt_ensure busybox-static
    # busybox-static ships /bin/busybox (it conflicts with the dynamic `busybox` package).
    bb=$(dpkg-query -L busybox-static | grep -E '/bin/busybox$' | head -n1)
    [ -x "$bb" ] || die "busybox-static binary not found"
    dir=$(new_workdir)
    log "building $image from $bb"
    mkdir -p "$dir"/{bin,sbin,usr/bin,usr/sbin,etc,root,tmp,var/www,var/tmp,proc,sys,dev,home}
    chmod 1777 "$dir/tmp" "$dir/var/tmp"
    chmod 700 "$dir/root"
    install -m 0755 "$bb" "$dir/bin/busybox"
    # `--list-full` gives each applet with its canonical directory (bin/sh, usr/bin/wget, ...).
    while read -r applet; do
        [ -n "$applet" ] && [ "$applet" != bin/busybox ] || continue
        [ -e "$dir/$applet" ] || ln -s /bin/busybox "$dir/$applet"
    done < <("$bb" --list-full)
    printf '%s\n' \
        'root:x:0:0:root:/root:/bin/sh' \
        'daemon:x:1:1:daemon:/usr/sbin:/bin/false' \
        'www-data:x:33:33:www-data:/var/www:/bin/false' \
        'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >"$dir/etc/passwd"
    printf '%s\n' 'root:x:0:' 'daemon:x:1:' 'www-data:x:33:' 'nogroup:x:65534:' >"$dir/etc/group"
    printf '%s\n' 'hosts: files dns' >"$dir/etc/nsswitch.conf"
    for applet in sh httpd nc wget; do
        [ -L "$dir/bin/$applet" ] || [ -L "$dir/usr/bin/$applet" ] || [ -L "$dir/sbin/$applet" ] \
            || [ -L "$dir/usr/sbin/$applet" ] || die "busybox has no '$applet' applet"
    done
    import_tree "$dir" "$image" '["sh"]'
    cleanup_dir "$dir"
    # As a non-root user: that is what a world-unreadable `/` breaks.
    docker run --rm --network none -u 65534 "$image" sh -c 'command -v httpd nc wget >/dev/null && ls / >/dev/null && echo ok' \
        | grep -qx ok || die "$image does not run (sh/httpd/nc/wget as user 65534)"
    log "built $image"
}

build_python() {
    local image=$DEVENV_PYTHON_IMAGE dir
    apt_ensure debootstrap
    is_root || die "building $image needs root (debootstrap)"
    dir=$(new_workdir)
    log "building $image: debootstrap minbase+python3 from $MIRROR (about a minute)"
    if ! debootstrap --variant=minbase --include=python3 bookworm "$dir/rootfs" "$MIRROR" >"$dir.log" 2>&1; then
        tail -n 30 "$dir.log" >&2 || true
        [ -f "$dir/rootfs/debootstrap/debootstrap.log" ] && tail -n 30 "$dir/rootfs/debootstrap/debootstrap.log" >&2
        rm -f "$dir.log"
        die "debootstrap failed (mirror $MIRROR)"
    fi
    rm -f "$dir.log"
    # Make sure nothing is still mounted inside before tarring it up.
    cleanup_mounts_only "$dir/rootfs"
    # Slim the tree: package caches, indexes and docs are useless in the image.
    rm -rf "$dir"/rootfs/var/cache/apt/archives/*.deb "$dir"/rootfs/var/cache/apt/*.bin \
        "$dir"/rootfs/var/lib/apt/lists/* "$dir"/rootfs/usr/share/doc/* "$dir"/rootfs/usr/share/man/* \
        "$dir"/rootfs/usr/share/info/* "$dir"/rootfs/var/log/*.log "$dir"/rootfs/debootstrap
    # Docker bind-mounts these at run time; make sure they are plain files in the image.
    : >"$dir/rootfs/etc/resolv.conf"
    printf 'devenv\n' >"$dir/rootfs/etc/hostname"
    import_tree "$dir/rootfs" "$image" '["python3"]' \
        --change 'ENV LANG=C.UTF-8' \
        --change 'ENV PYTHONUNBUFFERED=1'
    cleanup_dir "$dir"
    docker run --rm --network none -u 65534 "$image" python3 -c 'import os; os.listdir("/"); print(1)' | grep -qx 1 \
        || die "$image does not run python3 (as user 65534)"
    log "built $image"
}

if up_to_date "$DEVENV_BUSYBOX_IMAGE"; then log "$DEVENV_BUSYBOX_IMAGE present"; else build_busybox; fi
if up_to_date "$DEVENV_PYTHON_IMAGE"; then log "$DEVENV_PYTHON_IMAGE present"; else build_python; fi
