"""The producer/consumer cases every backend runs (test_sqlite.py, test_redis.py).

A subclass provides settings(**more) for its broker. Each case uses its own topic.
"""
import datetime
import json
import os
import select
import signal
import subprocess
import sys
import textwrap
import time
import uuid

import edxbus
from edxbus_testing import ENROLLMENT, enrollment_data, rows


def vector_metadata(event_type):
    return {"event_type": event_type, "id": str(uuid.uuid1()), "minorversion": 0,
            "source": "openedx/lms/web", "sourcehost": "edx.devstack.lms",
            "time": "2024-05-17T14:03:27.123456+00:00", "sourcelib": [11, 2, 0]}


def poll_all(test, consumer, count, ack=True, timeout=60):
    """Poll until count messages arrived (bounded), acknowledging each."""
    got = []
    deadline = time.monotonic() + timeout
    while len(got) < count:
        test.assertLess(time.monotonic(), deadline, f"only {len(got)} of {count} messages arrived")
        for m in consumer.poll(timeout=0.5, max=100):
            got.append(m)
            if ack:
                consumer.ack(m)
    return got


class BusCases:
    def topic(self):
        return "t-" + uuid.uuid4().hex[:12]

    def test_vectors_identical_bytes_and_equal_payloads(self):
        """All 216 reference payloads: the same Avro bytes on the broker, equal data back."""
        topic = self.topic()
        vectors = rows("avro.jsonl")
        self.assertEqual(len(vectors), 216)
        sent = []
        with edxbus.Consumer(topic, "g", self.settings(), extra={"start": "earliest"}) as c:
            c.poll(timeout=0)  # joins the group before anything is sent
            with edxbus.Producer(self.settings()) as p:
                for r in vectors:
                    md = vector_metadata(r["event_type"])
                    # no key: some rows lack the documented key field (authz events), and
                    # neither the embedded broker nor Redis carries keys
                    self.assertEqual(p.send(r["event_type"], topic, None, r["data"], md), md["id"])
                    sent.append((r, md))
            got = poll_all(self, c, len(sent))
        self.assertEqual(len(got), 216)
        for (r, md), m in zip(sent, got):
            where = f"{r['event_type']} {r['case']}"
            self.assertIsNone(m.error, where)
            self.assertEqual(m.value, bytes.fromhex(r["avro_hex"]), where)
            self.assertEqual(m.data, r["decoded"], where)
            self.assertEqual(m.metadata, md, where)
            self.assertEqual(m.event_type, r["event_type"])

    def test_worker_delivers_payload_and_metadata(self):
        topic = self.topic()
        data, _ = enrollment_data()
        with edxbus.Consumer(topic, "g", self.settings(), extra={"start": "earliest"}) as c:
            with edxbus.Producer(self.settings(), asynchronous=True) as p:
                ids = [p.send(ENROLLMENT, topic, "enrollment.course.course_key", data)
                       for _ in range(20)]
                p.flush()
                self.assertEqual(p.delivered, 20)
            seen = []
            stats = c.run(lambda md, d: seen.append((md, d)), max_events=20)
        self.assertEqual(stats["events"], 20)
        self.assertEqual(stats["delivered"], 20)
        self.assertEqual([md["id"] for md, _ in seen], ids)
        for md, d in seen:
            self.assertEqual(d, data)
            self.assertEqual(md["event_type"], ENROLLMENT)
            self.assertEqual(md["source"], "openedx/lms/web")
            self.assertEqual(md["sourcelib"], [11, 2, 0])

    def test_receiver_raising_is_retried_then_dead_lettered(self):
        topic = self.topic()
        data, value = enrollment_data()
        settings = self.settings(EVENT_BUS_CONSUMER_RETRIES=3)
        with edxbus.Producer(settings) as p:
            event_id = p.send(ENROLLMENT, topic, "enrollment.course.course_key", data)
        calls = []

        def failing(md, d):
            calls.append(md["id"])
            raise ValueError("receiver says no")

        with edxbus.Consumer(topic, "g", settings, extra={"start": "earliest"}) as c:
            stats = c.run(failing, max_events=1)
        self.assertEqual(calls, [event_id] * 3)
        self.assertEqual((stats["retries"], stats["dead_lettered"], stats["delivered"]), (2, 1, 0))
        with edxbus.Consumer(topic + "-dlq", "inspect", settings,
                             extra={"start": "earliest"}) as dlq:
            (m,) = poll_all(self, dlq, 1)
        self.assertEqual(m.value, value)
        self.assertEqual(m.metadata["id"], event_id)
        # the event was acknowledged in its group: nothing is owed any more
        with edxbus.Consumer(topic, "g", settings) as c:
            self.assertEqual(c.poll(timeout=0.2), [])

    def test_poll_without_ack_is_delivered_again(self):
        topic = self.topic()
        data, _ = enrollment_data()
        settings = self.settings()
        with edxbus.Consumer(topic, "g", settings, extra={"start": "earliest"},
                             consumer_name="m1") as c:
            c.poll(timeout=0)
            with edxbus.Producer(settings) as p:
                first = p.send(ENROLLMENT, topic, "enrollment.course.course_key", data)
                second = p.send(ENROLLMENT, topic, "enrollment.course.course_key", data)
            got = []
            deadline = time.monotonic() + 60
            while len(got) < 2:  # the first acknowledged from its own poll, the second never
                self.assertLess(time.monotonic(), deadline, f"only {len(got)} of 2 arrived")
                for m in c.poll(timeout=0.5, max=100):
                    got.append(m)
                    if len(got) == 1:
                        c.ack(m)
            with self.assertRaises(edxbus.Error) as e:
                c.ack("0-0")
            self.assertEqual(e.exception.code, "STATE")
        with edxbus.Consumer(topic, "g", settings, consumer_name="m1") as c:
            again = poll_all(self, c, 1)
        self.assertEqual([m.metadata["id"] for m in got], [first, second])
        self.assertEqual(again[0].metadata["id"], second)

    def test_sigterm_finishes_current_event_and_exits_0(self):
        topic = self.topic()
        data, _ = enrollment_data()
        settings = self.settings()
        script = textwrap.dedent("""
            import json, sys, edxbus
            settings, topic = json.loads(sys.argv[1]), sys.argv[2]
            c = edxbus.Consumer(topic, "g", settings, extra={"start": "earliest"})
            def receiver(md, data):
                print("event", md["id"], flush=True)
            stats = c.run(receiver)
            print("stopped", json.dumps(stats), flush=True)
        """)
        proc = subprocess.Popen([sys.executable, "-c", script, json.dumps(settings),
                                 topic], stdout=subprocess.PIPE, text=True)
        try:
            with edxbus.Producer(settings) as p:
                event_id = p.send(ENROLLMENT, topic, "enrollment.course.course_key", data)
            ready, _, _ = select.select([proc.stdout], [], [], 60)
            self.assertTrue(ready, "the consumer did not receive the event within 60 s")
            line = proc.stdout.readline()
            self.assertEqual(line.split(), ["event", event_id])
            os.kill(proc.pid, signal.SIGTERM)
            out, _ = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        self.assertEqual(proc.returncode, 0)
        self.assertTrue(out.startswith("stopped "), out)
        stats = json.loads(out.split(" ", 1)[1])
        self.assertEqual((stats["events"], stats["delivered"]), (1, 1))
        # acknowledged before exiting: the group owes nothing
        with edxbus.Consumer(topic, "g", settings) as c:
            self.assertEqual(c.poll(timeout=0.2), [])

    def test_the_command_and_python_read_each_other(self):
        """Same wire as the C side: `edxbus consume` reads what Python sent, and Python reads
        what `edxbus produce` sent."""
        exe = os.environ.get("EDXBUS_CLI")
        if not exe:
            self.skipTest("EDXBUS_CLI not set (ctest sets it to the built edxbus)")
        topic = self.topic()
        data, value = enrollment_data()
        config = os.path.join(self.dir, "settings.yaml")
        with open(config, "w", encoding="utf-8") as f:
            json.dump(self.settings(), f)  # JSON is YAML
        with edxbus.Producer(self.settings()) as p:
            md = vector_metadata(ENROLLMENT)
            p.send(ENROLLMENT, topic, "enrollment.course.course_key", data, md)
        out = subprocess.run([exe, "consume", "-c", config, "-t", topic, "-g", "cli", "--extra",
                              '{"start": "earliest"}', "--max-events", "1"], check=True,
                             capture_output=True, text=True, timeout=60).stdout
        line = json.loads(out)
        self.assertEqual(line, {"metadata": md, "data": data})

        back = self.topic()
        with edxbus.Consumer(back, "py", self.settings(), extra={"start": "earliest"}) as c:
            c.poll(timeout=0)
            ids = subprocess.run([exe, "produce", "-c", config, "-e", ENROLLMENT, "-t", back,
                                  "-d", json.dumps(data), "--count", "2", "--print-ids"],
                                 check=True, capture_output=True, text=True,
                                 timeout=60).stdout.split()
            got = poll_all(self, c, 2)
        self.assertEqual([m.metadata["id"] for m in got], ids)
        for m in got:
            self.assertEqual((m.value, m.data), (value, data))

    def test_poll_replays_from_offset_time(self):
        topic = self.topic()
        data, _ = enrollment_data()
        settings = self.settings()

        def later_than(t):  # brokers store ms: let the clock move on (no assertion on time)
            while time.time() <= t + 0.005:
                time.sleep(0.002)

        with edxbus.Producer(settings) as p:
            p.send(ENROLLMENT, topic, None, data)
            later_than(time.time())
            since = datetime.datetime.now(datetime.timezone.utc)
            later_than(since.timestamp())
            wanted = p.send(ENROLLMENT, topic, None, data)
        with edxbus.Consumer(topic, "replay", settings,
                             extra={"offset_time": since.isoformat()}) as c:
            (m,) = poll_all(self, c, 1)
            self.assertEqual(c.poll(timeout=0.2), [])
        self.assertEqual(m.metadata["id"], wanted)
        with edxbus.Consumer(topic, "bad", settings, extra={"offset_time": "yesterday"}) as c:
            with self.assertRaises(edxbus.ConfigError) as e:
                c.poll()
        self.assertIn('extra "offset_time": time: "yesterday" is not an ISO-8601 time',
                      str(e.exception))
