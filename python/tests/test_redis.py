"""edxbus.Producer / edxbus.Consumer on a real redis-server started here, and the Redis entries
they write compared field by field, byte by byte, with the ones edx-event-bus-redis wrote."""
import tempfile
import shutil
import unittest

import edxbus
from bus_cases import BusCases
from edxbus_testing import RedisServer, TempDirTest, free_port, metadata_from_wire, rows

try:
    import redis  # python3-redis: only to read the stream back as another client would
except ImportError:  # pragma: no cover
    redis = None


class RedisBus(BusCases, TempDirTest):
    @classmethod
    def setUpClass(cls):
        cls.server_dir = tempfile.mkdtemp(prefix="edxbus-py-redis-")
        cls.server = RedisServer(cls.server_dir)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.server_dir, True)

    def settings(self, **more):
        s = {"EVENT_BUS_PRODUCER": "redis", "EVENT_BUS_CONSUMER": "redis",
             "EVENT_BUS_REDIS_CONNECTION_URL": self.server.url,
             "EVENT_BUS_CONSUMER_RETRY_BACKOFF_MS": 1, "EVENTS_SERVICE_NAME": "lms"}
        s.update(more)
        return s

    @unittest.skipIf(redis is None, "python3-redis not installed (scripts/deps.sh installs it)")
    def test_stream_entries_are_the_reference_bytes(self):
        """The 216 entries of redis.jsonl, sent with their metadata, read back with XRANGE."""
        vectors = rows("redis.jsonl")
        self.assertEqual(len(vectors), 216)
        stream = vectors[0]["stream"]  # dev-event-bus-vectors: prefix "dev"
        settings = self.settings(EVENT_BUS_TOPIC_PREFIX="dev")
        with edxbus.Producer(settings) as p:
            for r in vectors:
                text = dict(r["fields_text"])
                md = metadata_from_wire(text["type"], text["id"], text["source"], text["time"],
                                        text["minorversion"], text["sourcehost"],
                                        text["sourcelib"])
                avro = next(a for a in rows_cache() if (a["event_type"], a["case"]) ==
                            (r["event_type"], r["case"]))
                p.send(r["event_type"], stream[len("dev-"):], None, avro["data"], md)
        client = redis.Redis.from_url(self.server.url)
        try:
            entries = client.xrange(stream)
        finally:
            client.close()
        self.assertEqual(len(entries), 216)
        for r, (_, fields) in zip(vectors, entries):
            expected = [(k.encode(), bytes.fromhex(v))
                        for k, v in r["fields"]]
            self.assertEqual(list(fields.items()), expected, f"{r['event_type']} {r['case']}")

    def test_unreachable_broker_is_a_broker_error(self):
        settings = self.settings(EVENT_BUS_REDIS_CONNECTION_URL=f"redis://127.0.0.1:{free_port()}/0")
        with self.assertRaises(edxbus.BrokerError) as e:
            edxbus.Producer(settings)
        self.assertIn("cannot connect", str(e.exception))
        self.assertTrue(e.exception.retriable)
        with edxbus.Consumer("t", "g", settings) as c:
            with self.assertRaises(edxbus.BrokerError):
                c.run(lambda md, d: None, handle_signals=False)


_avro_rows = []


def rows_cache():
    if not _avro_rows:
        _avro_rows.extend(rows("avro.jsonl"))
    return _avro_rows


if __name__ == "__main__":
    unittest.main()
