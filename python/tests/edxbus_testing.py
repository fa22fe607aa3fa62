"""Helpers shared by the Python tests: vectors, temporary settings, a real redis-server.

The tests import the extension from the build directory (PYTHONPATH, set by ctest). Every wait is
bounded; a server started here is stopped by its pid.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

VECTORS = os.environ.get("EDXBUS_TEST_DATA_DIR") or os.path.join(
    os.path.dirname(__file__), "..", "..", "tests", "vectors")
SANITIZED = os.environ.get("EDXBUS_TEST_SANITIZED") == "1"
ENROLLMENT = "org.openedx.learning.course.enrollment.created.v1"


def rows(name):
    with open(os.path.join(VECTORS, name), encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def enrollment_data():
    for r in rows("avro.jsonl"):
        if r["event_type"] == ENROLLMENT and r["case"] == "realistic":
            return r["data"], bytes.fromhex(r["avro_hex"])
    raise AssertionError("no enrollment vector")


class TempDirTest(unittest.TestCase):
    """A test with its own directory and embedded-broker settings in it."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="edxbus-py-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def sqlite_settings(self, **more):
        s = {"EVENT_BUS_PRODUCER": "sqlite", "EVENT_BUS_CONSUMER": "sqlite",
             "EVENT_BUS_SQLITE_PATH": os.path.join(self.dir, "bus.db"),
             "EVENT_BUS_CONSUMER_RETRY_BACKOFF_MS": 1, "EVENTS_SERVICE_NAME": "lms"}
        s.update(more)
        return s


def metadata_from_wire(event_type, event_id, source, event_time, minorversion, sourcehost,
                       sourcelib):
    """The seven metadata fields from their wire text (Redis fields, Kafka headers)."""
    return {"event_type": event_type, "id": event_id, "source": source, "time": event_time,
            "minorversion": int(minorversion), "sourcehost": sourcehost,
            "sourcelib": [int(x) for x in sourcelib.split(".")]}


def stop_process(proc, grace=20):
    """End a server this test started, by its pid: SIGTERM, then SIGKILL after grace seconds."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """A redis-server of our own on a free loopback port, without persistence."""

    def __init__(self, workdir):
        exe = shutil.which("redis-server")
        if exe is None:
            raise unittest.SkipTest("redis-server not installed (scripts/deps.sh installs it)")
        self.port = free_port()
        self.proc = subprocess.Popen(
            [exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
             "no", "--dir", workdir], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError("redis-server did not start")
            time.sleep(0.05)
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def stop(self):
        stop_process(self.proc)
