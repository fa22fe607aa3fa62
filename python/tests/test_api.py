"""The extension's own contract: settings, errors, reference counts, the GIL, memory."""
import datetime
import gc
import json
import math
import os
import pathlib
import subprocess
import sys
import threading
import unittest

import edxbus
from bus_cases import poll_all
from edxbus_testing import ENROLLMENT, SANITIZED, TempDirTest, enrollment_data

KEY = "enrollment.course.course_key"


class Settings(TempDirTest):
    def test_bad_setting_is_a_one_line_config_error(self):
        with self.assertRaises(edxbus.ConfigError) as e:
            edxbus.Producer(self.sqlite_settings(EVENT_BUS_CONSUMER_RETRIES="three"))
        self.assertIn("EVENT_BUS_CONSUMER_RETRIES", str(e.exception))
        self.assertNotIn("\n", str(e.exception))
        self.assertEqual(e.exception.code, "CONF")

    def test_unknown_backend_suggests(self):
        with self.assertRaises(edxbus.ConfigError) as e:
            edxbus.Producer(self.sqlite_settings(EVENT_BUS_PRODUCER="redsi"))
        self.assertIn("redis", str(e.exception))

    def test_environment_overrides_the_dict_when_asked(self):
        s = self.sqlite_settings()
        from_env = os.path.join(self.dir, "from-env.db")
        env = dict(os.environ, EVENT_BUS_SQLITE_PATH=from_env)
        data, _ = enrollment_data()
        code = ("import edxbus, json, sys; s, data = json.loads(sys.argv[1]); "
                "p = edxbus.Producer(s, env=True); p.send(%r, 't', None, data); p.close()"
                % ENROLLMENT)
        subprocess.run([sys.executable, "-c", code, json.dumps([s, data])], env=env, check=True)
        self.assertTrue(os.path.exists(from_env))
        self.assertFalse(os.path.exists(s["EVENT_BUS_SQLITE_PATH"]))
        bad_env = dict(os.environ, EVENT_BUS_CONSUMER_RETRIES="x")
        code = "import edxbus; edxbus.Producer(env=True)"
        res = subprocess.run([sys.executable, "-c", code], env=bad_env, capture_output=True,
                             text=True)
        self.assertNotEqual(res.returncode, 0)
        self.assertIn("edxbus.ConfigError", res.stderr)
        self.assertIn("EVENT_BUS_CONSUMER_RETRIES", res.stderr)

    def test_path_like_values_are_their_text(self):
        path = pathlib.Path(self.dir) / "as-path.db"
        data, _ = enrollment_data()
        with edxbus.Producer(self.sqlite_settings(EVENT_BUS_SQLITE_PATH=path)) as p:
            p.send(ENROLLMENT, "t", KEY, data)
        self.assertTrue(path.exists())

    def test_setting_names_come_from_the_library(self):
        names = edxbus.setting_names()
        self.assertIn("EVENT_BUS_PRODUCER_CONFIG", names)
        self.assertIn("EVENT_BUS_REDIS_CONNECTION_URL", names)


class Errors(TempDirTest):
    def setUp(self):
        super().setUp()
        self.p = edxbus.Producer(self.sqlite_settings())
        self.addCleanup(self.p.close)
        self.data, _ = enrollment_data()

    def test_schema_mismatch_names_the_field_and_sends_nothing(self):
        bad = {"enrollment": dict(self.data["enrollment"], mode=3)}
        with self.assertRaises(edxbus.EncodeError) as e:
            self.p.send(ENROLLMENT, "t", KEY, bad)
        self.assertIn("enrollment.mode", str(e.exception))
        self.assertIsInstance(e.exception, ValueError)
        self.assertEqual(self.p.delivered, 0)

    def test_unknown_event_type(self):
        with self.assertRaises(edxbus.EncodeError) as e:
            self.p.send(ENROLLMENT.replace("created", "craeted"), "t", KEY, self.data)
        self.assertIn("did you mean", str(e.exception))

    def test_python_objects_that_are_not_json_name_their_path(self):
        bad = {"enrollment": dict(self.data["enrollment"],
                                  creation_date=datetime.datetime.now())}
        with self.assertRaises(TypeError) as e:
            self.p.send(ENROLLMENT, "t", KEY, bad)
        self.assertIn("data.enrollment.creation_date", str(e.exception))
        with self.assertRaises(edxbus.EncodeError):  # a float where a record is due
            self.p.send(ENROLLMENT, "t", KEY, {"enrollment": float("nan")})

    def test_metadata_of_another_event_type_is_refused(self):
        with self.assertRaises(edxbus.ConfigError) as e:
            self.p.send(ENROLLMENT, "t", KEY, self.data, {"event_type": "org.openedx.x.v1"})
        self.assertIn("event_type", str(e.exception))

    def test_closed_producer(self):
        self.p.close()
        with self.assertRaises(edxbus.Error) as e:
            self.p.send(ENROLLMENT, "t", KEY, self.data)
        self.assertEqual(e.exception.code, "STATE")

    def test_missing_key_field(self):
        with self.assertRaises(edxbus.EncodeError) as e:
            self.p.send(ENROLLMENT, "t", "enrollment.nothere", self.data)
        self.assertIn("nothere", str(e.exception))


class NonFiniteDoubles(TempDirTest):
    """NaN and the infinities are values an Avro double holds: sent and received as floats."""

    def test_nan_and_infinities_round_trip(self):
        grade_type = "org.openedx.learning.course.persistent_grade_summary.changed.v1"
        grade = {"course": {"course_key": "course-v1:a+b+c", "display_name": "", "end": None,
                            "start": None},
                 "course_edited_timestamp": "1970-01-01T00:00:00+00:00", "course_version": "",
                 "grading_policy_hash": "", "letter_grade": "",
                 "passed_timestamp": "1970-01-01T00:00:00+00:00", "percent_grade": 0.0,
                 "user_id": 0}
        sent = [float("nan"), float("inf"), float("-inf"), 0.5]
        settings = self.sqlite_settings()
        with edxbus.Producer(settings) as p:
            for value in sent:
                p.send(grade_type, "grades", "grade.course.course_key",
                       {"grade": dict(grade, percent_grade=value)})
        got = []
        with edxbus.Consumer("grades", "g", settings, extra={"start": "earliest"}) as c:
            c.run(lambda metadata, payload: got.append(payload["grade"]["percent_grade"]),
                  max_events=len(sent))
        self.assertEqual(len(got), 4)
        self.assertTrue(math.isnan(got[0]))
        self.assertEqual(got[1:], [float("inf"), float("-inf"), 0.5])


class RefcountsAndThreads(TempDirTest):
    def test_reference_counts_do_not_move(self):
        data, _ = enrollment_data()
        settings = self.sqlite_settings()
        md = {"source": "openedx/cms/web"}
        before = (sys.getrefcount(data), sys.getrefcount(md), sys.getrefcount(settings))
        kept = []

        def receiver(metadata, payload):
            kept.append((metadata, payload))

        with edxbus.Producer(settings) as p:
            for _ in range(200):
                p.send(ENROLLMENT, "rc", KEY, data, md)
        with edxbus.Consumer("rc", "g", settings, extra={"start": "earliest"}) as c:
            before_receiver = sys.getrefcount(receiver)
            c.run(receiver, max_events=200)
            self.assertEqual(sys.getrefcount(receiver), before_receiver)
        gc.collect()
        self.assertEqual((sys.getrefcount(data), sys.getrefcount(md), sys.getrefcount(settings)),
                         before)
        self.assertEqual(len(kept), 200)
        for metadata, payload in kept:
            # the tuple in `kept`, the loop variable, getrefcount's argument: nothing else
            self.assertEqual(sys.getrefcount(metadata), 3)
            self.assertEqual(sys.getrefcount(payload), 3)
            self.assertEqual(payload, data)

    def test_a_thread_sends_while_another_consumes(self):
        """run() and send() release the GIL: both threads progress, and nothing is lost."""
        data, _ = enrollment_data()
        settings = self.sqlite_settings()
        n = 500
        consumer = edxbus.Consumer("gil", "g", settings, extra={"start": "earliest"})
        received, sent, errors = [], [], []

        def send():
            try:
                with edxbus.Producer(settings) as p:
                    for _ in range(n):
                        sent.append(p.send(ENROLLMENT, "gil", KEY, data))
            except Exception as e:  # pragma: no cover - reported below
                errors.append(e)

        def receiver(md, payload):
            received.append(md["id"])

        sender = threading.Thread(target=send)
        sender.start()
        # Were the GIL held inside run() (polling) or send(), the other thread could not go on
        # and run() would never see n events.
        stats = consumer.run(receiver, max_events=n, handle_signals=False)
        sender.join(60)
        self.assertFalse(sender.is_alive())
        self.assertEqual(errors, [])
        self.assertEqual(stats["delivered"], n)
        self.assertEqual(sorted(received), sorted(sent))
        consumer.close()

    def test_two_threads_share_one_producer(self):
        data, _ = enrollment_data()
        settings = self.sqlite_settings()
        ids = []
        with edxbus.Producer(settings, asynchronous=True) as p:
            def work():
                for _ in range(300):
                    ids.append(p.send(ENROLLMENT, "shared", KEY, data))
            threads = [threading.Thread(target=work) for _ in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
            p.flush()
            self.assertEqual(p.delivered, 600)
        with edxbus.Consumer("shared", "g", settings, extra={"start": "earliest"}) as c:
            got = []
            c.run(lambda md, d: got.append(md["id"]), max_events=600, handle_signals=False)
        self.assertEqual(sorted(got), sorted(ids))

    def test_async_reports_every_delivery(self):
        data, _ = enrollment_data()
        reports = []
        with edxbus.Producer(self.sqlite_settings(), asynchronous=True,
                             on_delivery=lambda i, err: reports.append((i, err))) as p:
            ids = [p.send(ENROLLMENT, "async", KEY, data) for _ in range(1000)]
            p.flush()
        self.assertEqual(sorted(reports), sorted((i, None) for i in ids))


class Dedup(TempDirTest):
    def test_an_event_id_sent_twice_reaches_the_receiver_once(self):
        data, _ = enrollment_data()
        settings = self.sqlite_settings(EVENT_BUS_CONSUMER_DEDUP=True,
                                        EVENT_BUS_CONSUMER_DEDUP_PATH=self.dir)
        md = {"id": "d36ab1b0-1466-11ef-9f8e-0242ac120003"}
        with edxbus.Producer(settings) as p:
            p.send(ENROLLMENT, "dup", KEY, data, md)
            p.send(ENROLLMENT, "dup", KEY, data, md)
        seen = []
        with edxbus.Consumer("dup", "g", settings, extra={"start": "earliest"}) as c:
            stats = c.run(lambda m, d: seen.append(m["id"]), max_events=2, handle_signals=False)
        self.assertEqual(seen, [md["id"]])
        self.assertEqual((stats["events"], stats["delivered"], stats["duplicates"]), (2, 1, 1))


class Stopping(TempDirTest):
    def test_system_exit_in_a_receiver_stops_and_leaves_the_event_owed(self):
        data, _ = enrollment_data()
        settings = self.sqlite_settings()
        with edxbus.Producer(settings) as p:
            ids = [p.send(ENROLLMENT, "stop", KEY, data) for _ in range(3)]
        seen = []

        def receiver(md, payload):
            seen.append(md["id"])
            if len(seen) == 2:
                raise SystemExit(3)

        with edxbus.Consumer("stop", "g", settings, extra={"start": "earliest"}) as c:
            with self.assertRaises(SystemExit) as e:
                c.run(receiver, handle_signals=False)
        self.assertEqual(e.exception.code, 3)
        self.assertEqual(seen, ids[:2])
        with edxbus.Consumer("stop", "g", settings) as c:  # the interrupted event is still owed
            left = [m.metadata["id"] for m in poll_all(self, c, 2)]
        self.assertEqual(left, ids[1:])

    def test_stop_from_another_thread(self):
        # A 30 s poll: only a stop that wakes the worker ends run() before the bounded join.
        settings = self.sqlite_settings(EVENT_BUS_CONSUMER_POLL_TIMEOUT="30")
        with edxbus.Consumer("idle", "g", settings) as c:
            result = {}
            worker = threading.Thread(
                target=lambda: result.update(c.run(lambda md, d: None, handle_signals=False)))
            worker.start()
            threading.Timer(0.2, c.stop).start()
            worker.join(10)
            woken = not worker.is_alive()
            if not woken:
                worker.join()  # let it end before failing
            self.assertTrue(woken, "stop() did not wake run()")
        self.assertEqual(result["events"], 0)


def rss_kb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


@unittest.skipIf(SANITIZED, "under ASan the allocator quarantines freed memory, so RSS says "
                            "nothing about leaks; the normal build runs this")
class Memory(TempDirTest):
    def test_memory_is_flat_over_100000_events(self):
        data, _ = enrollment_data()
        settings = self.sqlite_settings(EVENT_BUS_SQLITE_SYNCHRONOUS="OFF")
        total, warm = 100_000, 20_000
        with edxbus.Producer(settings, asynchronous=True) as p:
            for i in range(total):
                p.send(ENROLLMENT, "mem", KEY, data)
                if i == warm:
                    p.flush()
                    gc.collect()
                    after_warmup = rss_kb()
            p.flush()
            gc.collect()
            produced_growth = rss_kb() - after_warmup
            self.assertEqual(p.delivered, total)
        seen = [0]

        def receiver(md, payload):
            seen[0] += 1
            if seen[0] == warm:
                gc.collect()
                marks.append(rss_kb())

        marks = []
        with edxbus.Consumer("mem", "g", settings, extra={"start": "earliest"}) as c:
            c.run(receiver, max_events=total, handle_signals=False)
        gc.collect()
        consumed_growth = rss_kb() - marks[0]
        self.assertEqual(seen[0], total)
        # 80,000 more events through each path: a leak of even 64 bytes an event would be 5 MB
        self.assertLess(produced_growth, 4096, f"producer grew {produced_growth} kB")
        self.assertLess(consumed_growth, 4096, f"consumer grew {consumed_growth} kB")


if __name__ == "__main__":
    unittest.main()
