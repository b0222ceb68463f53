"""A tiny app that reports a metric to carbon (plaintext protocol) every INTERVAL seconds.

The value is how many reports it has made; a lost connection is retried at the next report."""

import os
import socket
import time

HOST, _, PORT = os.environ.get("CARBON", "carbon:2003").rpartition(":")
METRIC = os.environ.get("METRIC", "app.heartbeat")
INTERVAL = float(os.environ.get("INTERVAL", "5"))


def main() -> None:
    sent = 0
    while True:
        line = f"{METRIC} {sent + 1} {int(time.time())}\n"
        try:
            with socket.create_connection((HOST, int(PORT)), timeout=5) as conn:
                conn.sendall(line.encode())
            sent += 1
            print(f"sent {line.strip()}", flush=True)
        except OSError as exc:
            print(f"carbon {HOST}:{PORT} unreachable ({exc}); retrying", flush=True)
        time.sleep(INTERVAL)


if __name__ == "__main__":
    main()
