#!/bin/sh
# One carbon plaintext connection: keep the well-formed lines ("<path> <value> <timestamp>").
exec awk 'NF == 3 && $1 ~ /^[A-Za-z0-9_.-]+$/ && $2 ~ /^-?[0-9.]+$/ && $3 ~ /^[0-9]+$/ { print; fflush() }' \
    >>/opt/graphite/storage/metrics.txt
