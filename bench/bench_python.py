"""bench/bench_python.py — edxbus from Python against the C command doing the same work.

Both sides use the embedded broker (a SQLite file each, same settings: WAL, synchronous=NORMAL
so that fsync does not hide the code's cost, asynchronous produce committed in batches, the
default consumer batch) and the enrollment-created event of
tests/vectors/avro.jsonl (case "realistic"):
  produce  Python: edxbus.Producer(asynchronous=True), 100,000 send() calls of the payload dict
           (each converted to the plain JSON tree, checked, encoded, given fresh metadata), then
           flush(). C: `edxbus produce --count 100000` with the same data (one process).
  consume  Python: edxbus.Consumer.run() with a no-op receiver: each event decoded, turned
           into a dict and a metadata dict, the callable called, then acknowledged.
           C: `edxbus consume --print --max-events 100000 > /dev/null` (each event decoded
           straight to a JSON line and written).
Timing is wall clock around each side, the C command's process start included. One run.
Output: a table, then `ratio python_<case>_vs_cli <python events/s / C events/s>`.
Run by scripts/bench.sh with PYTHONPATH=<build>/python and EDXBUS_CLI=<build>/cli/edxbus.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

import edxbus

N = 100_000
ENROLLMENT = "org.openedx.learning.course.enrollment.created.v1"
KEY = "enrollment.course.course_key"
VECTORS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "vectors")


def enrollment():
    with open(os.path.join(VECTORS, "avro.jsonl"), encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            if r["event_type"] == ENROLLMENT and r["case"] == "realistic":
                return r["data"]
    raise SystemExit("bench_python: no enrollment vector")


def settings(path):
    return {"EVENT_BUS_PRODUCER": "sqlite", "EVENT_BUS_CONSUMER": "sqlite",
            "EVENT_BUS_SQLITE_PATH": path, "EVENTS_SERVICE_NAME": "lms",
            "EVENT_BUS_SQLITE_SYNCHRONOUS": "NORMAL", "EVENT_BUS_AUDIT_LOGGING_ENABLED": False}


def python_produce(s, data):
    start = time.monotonic()
    with edxbus.Producer(s, asynchronous=True) as p:
        for _ in range(N):
            p.send(ENROLLMENT, "bench", KEY, data)
        p.flush(600)
        assert p.delivered == N, p.delivered
    return time.monotonic() - start


def python_consume(s):
    start = time.monotonic()
    with edxbus.Consumer("bench", "g", s, extra={"start": "earliest"}) as c:
        stats = c.run(lambda metadata, data: None, max_events=N, handle_signals=False)
    assert stats["delivered"] == N, stats
    return time.monotonic() - start


def cli(cmd, config, stdin=None):
    exe = os.environ.get("EDXBUS_CLI", "edxbus")
    start = time.monotonic()
    subprocess.run([exe, *cmd, "--config", config], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, input=stdin, text=True)
    return time.monotonic() - start


def main():
    data = enrollment()
    with tempfile.TemporaryDirectory(prefix="edxbus-bench-py-") as d:
        py = settings(os.path.join(d, "py.db"))
        c = settings(os.path.join(d, "cli.db"))
        config = os.path.join(d, "cli.yaml")
        with open(config, "w", encoding="utf-8") as f:
            json.dump(c, f)  # JSON is YAML
        datafile = os.path.join(d, "data.json")
        with open(datafile, "w", encoding="utf-8") as f:
            json.dump(data, f)
        rows = [
            ("produce", python_produce(py, data),
             cli(["produce", "-e", ENROLLMENT, "-t", "bench", "-k", KEY, "-d", "@" + datafile,
                  "--count", str(N)], config)),
            ("consume", python_consume(py),
             cli(["consume", "-t", "bench", "-g", "g", "--extra", '{"start": "earliest"}',
                  "--print", "--max-events", str(N)], config)),
        ]
    print(f"{'case':<10}{'events':>10}{'python ev/s':>15}{'C cli ev/s':>15}")
    for name, tp, tc in rows:
        print(f"{name:<10}{N:>10}{N / tp:>15.0f}{N / tc:>15.0f}")
    for name, tp, tc in rows:
        print(f"ratio python_{name}_vs_cli {tc / tp:.2f}")


if __name__ == "__main__":
    sys.exit(main())
