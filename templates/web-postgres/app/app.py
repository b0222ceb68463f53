"""A tiny web app on PostgreSQL: GET / lists the notes (JSON), POST / stores the request body as one."""

import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg2


def query(sql, args=()):
    """Run one statement in its own transaction (committed) and connection; its rows, if any."""
    conn = psycopg2.connect(
        host=os.environ["DATABASE_HOST"], dbname=os.environ["DATABASE_NAME"],
        user=os.environ["DATABASE_USER"], password=os.environ["DATABASE_PASSWORD"], connect_timeout=5,
    )
    try:
        with conn, conn.cursor() as cur:
            cur.execute(sql, args)
            return cur.fetchall() if cur.description else []
    finally:
        conn.close()


class Handler(BaseHTTPRequestHandler):
    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        notes = [text for (text,) in query("SELECT text FROM notes ORDER BY id")]
        version = query("SELECT version()")[0][0]
        self.answer(200, {"database": version, "notes": notes})

    def do_POST(self):
        text = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        query("INSERT INTO notes (text) VALUES (%s)", (text,))
        self.answer(201, {"added": text})


def main():
    query("CREATE TABLE IF NOT EXISTS notes (id serial PRIMARY KEY, text text NOT NULL)")
    print("app: listening on 8000", flush=True)
    ThreadingHTTPServer(("0.0.0.0", 8000), Handler).serve_forever()


if __name__ == "__main__":
    main()
