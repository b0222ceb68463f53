#!/bin/sh
# metrics: a carbon-like sink. Lines sent to TCP :2003 (plaintext protocol,
# "<path> <value> <timestamp>\n") are appended to /data/metrics.txt, which
# busybox httpd serves on :8081 (GET /metrics.txt).
set -eu
touch /data/metrics.txt
httpd -f -p 8081 -h /data &
httpd_pid=$!
# -ll -e: keep listening; each connection runs store.sh with the socket as stdin.
nc -ll -p 2003 -e /usr/local/bin/store.sh &
nc_pid=$!
# As PID 1 the shell must stop its children itself on `docker stop`.
trap 'kill "$httpd_pid" "$nc_pid" 2>/dev/null; exit 0' TERM INT
echo "metrics: carbon plaintext on :2003, stored lines on http://:8081/metrics.txt"
wait
