"""edxbus.openedx, the openedx-events plug-in, against the stand-in in standin/ (openedx-events is
not packaged in Debian) and Debian's real Django."""
import logging
import os
import subprocess
import sys
import unittest
import uuid
from datetime import datetime, timezone

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "standin"))

import django  # noqa: E402
from django.conf import settings  # noqa: E402
from django.utils.module_loading import import_string  # noqa: E402

import edxbus  # noqa: E402
from edxbus_testing import ENROLLMENT, RedisServer, TempDirTest, enrollment_data  # noqa: E402

settings.configure(
    EVENT_BUS_PRODUCER="edxbus.openedx.create_producer",
    EVENT_BUS_CONSUMER="edxbus.openedx.EdxbusEventConsumer",
    EVENT_BUS_CONSUMER_RETRY_BACKOFF_MS=1,
    EVENTS_SERVICE_NAME="lms",
)
django.setup()

import edxbus.openedx  # noqa: E402
from openedx_events import tooling  # noqa: E402  (the stand-in)
from openedx_events.data import EventsMetadata  # noqa: E402
from openedx_events.event_bus import EventBusConsumer, EventBusProducer  # noqa: E402
from openedx_events.event_bus.avro.deserializer import AvroSignalDeserializer  # noqa: E402

SIGNAL = tooling.COURSE_ENROLLMENT_CREATED
KEY = "enrollment.course.course_key"


def make_consumer(topic, **extra):
    """What consume_events does: the class EVENT_BUS_CONSUMER names, topic/group_id/--extra."""
    return import_string(settings.EVENT_BUS_CONSUMER)(topic=topic, group_id="g", **extra)


class Plugin(TempDirTest):
    def setUp(self):
        super().setUp()
        settings.EVENT_BUS_SQLITE_PATH = os.path.join(self.dir, "bus.db")
        settings.EVENT_BUS_TOPIC_PREFIX = "dev"
        self.data, self.value = enrollment_data()
        self.event_data = AvroSignalDeserializer(SIGNAL).from_dict(self.data)
        self.metadata = EventsMetadata(event_type=ENROLLMENT, id=uuid.uuid1(), minorversion=0,
                                       time=datetime(2024, 5, 17, 14, 3, 27, 123456, timezone.utc))
        SIGNAL.receivers.clear()
        tooling.work_cycles.clear()

    def send(self, producer, topic="enrollments", metadata=None):
        producer.send(signal=SIGNAL, topic=topic, event_key_field=KEY,
                      event_data=self.event_data, event_metadata=metadata or self.metadata)

    def test_producer_writes_the_reference_bytes_and_metadata(self):
        producer = import_string(settings.EVENT_BUS_PRODUCER)()
        self.assertIsInstance(producer, EventBusProducer)
        self.send(producer)
        producer.producer.close()
        # the prefix comes from Django's settings; the broker is the default, sqlite
        with edxbus.Consumer("enrollments", "raw", edxbus.openedx.edxbus_settings(),
                             extra={"start": "earliest"}) as c:
            (m,) = c.poll(timeout=5)
        self.assertEqual(m.topic, "dev-enrollments")
        self.assertEqual(m.value, self.value)
        self.assertEqual(m.metadata, edxbus.openedx.metadata_to_dict(self.metadata))

    def test_consumer_re_emits_equal_objects_and_metadata(self):
        producer = edxbus.openedx.create_producer()
        other = EventsMetadata(event_type=ENROLLMENT, minorversion=3, sourcehost="other")
        self.send(producer)
        self.send(producer, metadata=other)
        producer.producer.close()
        consumer = make_consumer("enrollments", start="earliest", consumer_name="w1")
        self.assertIsInstance(consumer, EventBusConsumer)
        got = []

        def receiver(**kwargs):
            got.append(kwargs)
            if len(got) == 2:
                consumer.consumer.stop()

        SIGNAL.connect(receiver)
        stats = consumer.consume_indefinitely()
        self.assertEqual(stats["delivered"], 2)
        self.assertEqual([g["metadata"] for g in got], [self.metadata, other])
        for g in got:
            self.assertEqual(g["enrollment"], self.event_data["enrollment"])
            self.assertTrue(g["from_event_bus"])
        self.assertEqual(len(tooling.work_cycles), 2)  # before each event

    def test_failing_receiver_is_retried_then_dead_lettered(self):
        settings.EVENT_BUS_CONSUMER_RETRIES = 3
        self.addCleanup(delattr, settings, "EVENT_BUS_CONSUMER_RETRIES")
        producer = edxbus.openedx.create_producer()
        self.send(producer)
        producer.producer.close()
        consumer = make_consumer("enrollments", start="earliest")
        calls = []

        def receiver(**kwargs):
            calls.append(1)
            if len(calls) == 3:
                consumer.consumer.stop()
            raise RuntimeError("grading service down")

        SIGNAL.connect(receiver)
        with self.assertLogs("edxbus", logging.WARNING) as logs:
            stats = consumer.consume_indefinitely()
        self.assertEqual(len(calls), 3)
        self.assertEqual((stats["retries"], stats["dead_lettered"]), (2, 1))
        self.assertTrue(any("grading service down" in line for line in logs.output))
        with edxbus.Consumer("enrollments-dlq", "inspect", edxbus.openedx.edxbus_settings(),
                             extra={"start": "earliest"}) as c:
            (m,) = c.poll(timeout=5)
        self.assertEqual(m.value, self.value)

    def test_a_failed_send_is_logged_with_the_event_not_raised(self):
        producer = edxbus.openedx.create_producer()
        bad = {"enrollment": self.event_data["enrollment"].__class__(
            **dict(vars(self.event_data["enrollment"]), mode=3))}
        with self.assertLogs("edxbus.openedx", logging.ERROR) as logs:
            producer.send(signal=SIGNAL, topic="t", event_key_field=KEY, event_data=bad,
                          event_metadata=self.metadata)
        self.assertIn("enrollment.mode", logs.output[0])
        self.assertIn(str(self.metadata.id), logs.output[0])

    def test_edxbus_backend_chooses_the_broker(self):
        settings.EDXBUS_BACKEND = "redsi"
        self.addCleanup(delattr, settings, "EDXBUS_BACKEND")
        self.assertEqual(edxbus.openedx.edxbus_settings()["EVENT_BUS_PRODUCER"], "redsi")
        with self.assertRaises(edxbus.ConfigError) as e:
            edxbus.openedx.create_producer()
        self.assertIn("did you mean redis", str(e.exception))
        os.environ["EDXBUS_BACKEND"] = "sqlite"
        self.addCleanup(os.environ.pop, "EDXBUS_BACKEND")
        self.assertEqual(edxbus.openedx.edxbus_settings()["EVENT_BUS_CONSUMER"], "sqlite")

    def asynchronous(self, value=True):
        settings.EDXBUS_PRODUCER_ASYNCHRONOUS = value
        self.addCleanup(delattr, settings, "EDXBUS_PRODUCER_ASYNCHRONOUS")

    def test_asynchronous_producer_queues_then_flushes_every_event(self):
        self.asynchronous("true")
        producer = edxbus.openedx.create_producer()
        self.assertTrue(producer.asynchronous)
        sent = [EventsMetadata(event_type=ENROLLMENT) for _ in range(100)]
        for md in sent:
            self.send(producer, metadata=md)
        producer.prepare_for_shutdown()
        self.assertEqual((producer.producer.delivered, producer.producer.failed), (100, 0))
        self.assertEqual(producer._in_flight, {})  # pylint: disable=protected-access
        producer.producer.close()
        with edxbus.Consumer("enrollments", "raw", edxbus.openedx.edxbus_settings(),
                             extra={"start": "earliest"}) as c:
            got = c.poll(timeout=5, max=200)
        self.assertEqual([m.metadata["id"] for m in got], [str(md.id) for md in sent])

    def test_asynchronous_delivery_failure_is_logged_with_the_event(self):
        """The broker gone after the producer started: each queued event's failure is logged
        with everything needed to send it again, and nothing is raised into the caller."""
        server = RedisServer(self.dir)
        self.addCleanup(server.stop)
        settings.EDXBUS_BACKEND = "redis"
        settings.EVENT_BUS_REDIS_CONNECTION_URL = server.url
        for name in ("EDXBUS_BACKEND", "EVENT_BUS_REDIS_CONNECTION_URL"):
            self.addCleanup(delattr, settings, name)
        self.asynchronous(True)
        producer = edxbus.openedx.create_producer()
        self.send(producer)
        producer.flush()  # the broker answers
        server.stop()
        lost = EventsMetadata(event_type=ENROLLMENT)
        with self.assertLogs("edxbus.openedx", logging.ERROR) as logs:
            self.send(producer, metadata=lost)
            producer.prepare_for_shutdown()
        self.assertEqual(producer.producer.delivered, 1)
        self.assertGreaterEqual(producer.producer.failed, 1)
        line = next(out for out in logs.output if str(lost.id) in out)
        self.assertIn("event not sent", line)
        self.assertIn("event_type=" + ENROLLMENT, line)
        self.assertIn(self.data["enrollment"]["course"]["course_key"], line)  # the data, to resend
        producer.producer.close()

    def test_asynchronous_setting_must_be_a_truth_value(self):
        self.asynchronous("sometimes")
        with self.assertRaises(edxbus.ConfigError) as e:
            edxbus.openedx.create_producer()
        self.assertIn("EDXBUS_PRODUCER_ASYNCHRONOUS", str(e.exception))

    def test_imports_without_openedx_events_or_django(self):
        """`import edxbus.openedx` works anywhere; the classes need openedx-events."""
        path = [p for p in sys.path if "standin" not in p]
        code = ("import sys; sys.modules['django'] = None; import edxbus.openedx as o\n"
                "try:\n    o.EdxbusEventConsumer\nexcept ImportError as e:\n    print('needs', e.name)")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env=dict(os.environ, PYTHONPATH=os.pathsep.join(path)), check=True)
        self.assertEqual(out.stdout.strip(), "needs openedx_events")


if __name__ == "__main__":
    unittest.main()
