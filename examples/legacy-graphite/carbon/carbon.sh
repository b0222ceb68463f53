#!/bin/sh
# carbon: listen on :2003; each connection runs store.sh with the socket as its input.
# busybox nc has no -k: `-ll` keeps listening after a client leaves, `-e` serves each one.
set -eu
mkdir -p /opt/graphite/storage
touch /opt/graphite/storage/metrics.txt
nc -ll -p 2003 -e /usr/local/bin/store.sh &
nc_pid=$!
# As PID 1 the shell must stop its child itself on `docker stop`.
trap 'kill "$nc_pid" 2>/dev/null; exit 0' TERM INT
echo "carbon: plaintext protocol on :2003, storing in /opt/graphite/storage/metrics.txt"
wait
