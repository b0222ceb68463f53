"""A tiny web app on Redis: each GET / adds one to the counter `hits` and answers its value (JSON)."""

import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import redis

store = redis.Redis(host=os.environ.get("REDIS_HOST", "redis"), port=6379, socket_timeout=5)


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        data = json.dumps({"hits": store.incr("hits")}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


if __name__ == "__main__":
    print("app: listening on 8000", flush=True)
    ThreadingHTTPServer(("0.0.0.0", 8000), Handler).serve_forever()
