#!/usr/bin/env python3
"""tests/cli/http_sink.py PORTFILE LOG FAIL_FIRST [HOLD] — a real HTTP server for the bridge tests.

Listens on a free loopback port (written to PORTFILE once listening) and serves requests on
threads of their own, so several can be in progress at once. Answers the first FAIL_FIRST POST
requests with 503 and the rest with 200 (FAIL_FIRST -1: always 503; -2: never answers, each
request waits until the server is ended). With HOLD > 0 the first HOLD requests are held until
HOLD of them are in progress together (or 60 s went by, as a bound), then answered. Appends one
JSON line per request to LOG when it arrives: {"status": <answer>, "inside": <requests in
progress then, this one included>, "headers": {lowercased name: value}, "body": <the body as
text>}. Not a test itself (no test_ prefix). Ends on SIGTERM.
"""
import http.server
import json
import os
import sys
import threading

portfile, log, fail_first = sys.argv[1], sys.argv[2], int(sys.argv[3])
hold = int(sys.argv[4]) if len(sys.argv) > 4 else 0
seen = 0
inside = 0
released = hold <= 0  # once HOLD requests were in progress together: nothing more is held
lock = threading.Condition()


class Sink(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: a client may reuse its connections

    def do_POST(self):
        global seen, inside, released
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        with lock:
            status = 503 if fail_first < 0 or seen < fail_first else 200
            held = seen < hold
            seen += 1
            inside += 1
            if inside >= hold:
                released = True
            with open(log, "a") as f:
                f.write(json.dumps({"status": status, "inside": inside,
                                    "headers": {k.lower(): v for k, v in self.headers.items()},
                                    "body": body.decode("utf-8")}) + "\n")
            lock.notify_all()
            if held:
                lock.wait_for(lambda: released, timeout=60)
            while fail_first == -2:
                lock.wait()
            inside -= 1
        self.send_response(status)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Sink)
server.daemon_threads = True
with open(portfile + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(portfile + ".tmp", portfile)
server.serve_forever()
