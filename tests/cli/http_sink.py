#!/usr/bin/env python3
"""tests/cli/http_sink.py PORTFILE LOG FAIL_FIRST — a real HTTP server for the bridge tests.

Listens on a free loopback port (written to PORTFILE once listening), answers the first
FAIL_FIRST POST requests with 503 and the rest with 200 (FAIL_FIRST -1: always 503), and
appends one JSON line per request to LOG: {"status": <answer>, "headers": {lowercased name:
value}, "body": <the body as text>}. Not a test itself (no test_ prefix). Ends on SIGTERM.
"""
import http.server
import json
import sys

portfile, log, fail_first = sys.argv[1], sys.argv[2], int(sys.argv[3])
seen = 0


class Sink(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        global seen
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        status = 503 if fail_first < 0 or seen < fail_first else 200
        seen += 1
        with open(log, "a") as f:
            f.write(json.dumps({"status": status,
                                "headers": {k.lower(): v for k, v in self.headers.items()},
                                "body": body.decode("utf-8")}) + "\n")
        self.send_response(status)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", 0), Sink)
with open(portfile + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
import os
os.rename(portfile + ".tmp", portfile)
server.serve_forever()
