"""edxbus.openedx — edxbus as a concrete event bus of openedx-events.

A service switches to edxbus with two settings (and picks the broker with a third):

    EVENT_BUS_PRODUCER = "edxbus.openedx.create_producer"
    EVENT_BUS_CONSUMER = "edxbus.openedx.EdxbusEventConsumer"
    EDXBUS_BACKEND = "redis"          # sqlite (default), redis, kafka, or /path/lib.so:symbol
    EDXBUS_PRODUCER_ASYNCHRONOUS = True   # optional; default False (see below)

The other settings are the names edxbus already reads (EVENT_BUS_TOPIC_PREFIX,
EVENT_BUS_REDIS_CONNECTION_URL, EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS, EVENT_BUS_CONSUMER_RETRIES…),
taken from Django's settings, with environment variables of the same names on top.

Producing: openedx-events routes each event by EVENT_BUS_PRODUCER_CONFIG and calls
EdxbusEventProducer.send(); the payload goes through openedx-events' own AvroSignalSerializer
(to_dict) to its plain JSON form, the metadata through EventsMetadata.to_json(), and libedxbus
checks, encodes and writes them — the bytes the Python buses write. By default send() returns once
the broker holds the event (as edx-event-bus-redis does). With EDXBUS_PRODUCER_ASYNCHRONOUS true it
returns once the event is queued (as edx-event-bus-kafka does): the broker's answers arrive in the
background, a failed delivery is logged with the whole event as a failed send is, and the queue is
flushed by prepare_for_shutdown() and at interpreter exit. An event still queued when the process
is killed is lost — set EVENT_BUS_OUTBOX_PATH too, and a send returns once the event is stored in
the local outbox file, which survives a kill.

Consuming: `manage.py consume_events -t TOPIC -g GROUP [--extra JSON]` builds
EdxbusEventConsumer(topic=..., group_id=..., **extra); consume_indefinitely() runs edxbus's worker
(retries, dead letters, acknowledgement after processing, SIGTERM finishes the current event and
returns). Each event is rebuilt as the reference consumers do — AvroSignalDeserializer.from_dict
on the decoded record, EventsMetadata from the seven fields, prepare_for_new_work_cycle() (stale
database connection, request cache) — and re-emitted with send_event_with_custom_metadata();
a receiver that raised makes the event fail, so edxbus retries and then dead-letters it.

openedx-events and Django are imported by this module only, and only when the classes are first
used (module __getattr__), so `import edxbus.openedx` works where they are not installed (a C
service's Python tooling, CI); the rest of edxbus needs neither.
"""
import atexit
import json
import logging
import os
import uuid
from datetime import datetime

import edxbus

logger = logging.getLogger(__name__)

BACKEND_SETTING = "EDXBUS_BACKEND"
DEFAULT_BACKEND = "sqlite"
ASYNCHRONOUS_SETTING = "EDXBUS_PRODUCER_ASYNCHRONOUS"


def edxbus_settings():
    """The settings edxbus reads, from Django's settings and then the environment, as a dict.

    EDXBUS_BACKEND (environment first, then Django; default sqlite) names the broker for both
    directions: EVENT_BUS_PRODUCER/EVENT_BUS_CONSUMER hold this module's dotted paths, which are
    for openedx-events, not for libedxbus.
    """
    from django.conf import settings as django_settings  # pylint: disable=import-outside-toplevel
    out = {}
    for name in edxbus.setting_names():
        value = getattr(django_settings, name, None)
        if value is not None:
            out[name] = value
        if name in os.environ:
            out[name] = os.environ[name]  # text; structured values as JSON, as libedxbus reads
    backend = os.environ.get(BACKEND_SETTING) or getattr(django_settings, BACKEND_SETTING, None)
    out["EVENT_BUS_PRODUCER"] = out["EVENT_BUS_CONSUMER"] = backend or DEFAULT_BACKEND
    return out


def producer_is_asynchronous():
    """EDXBUS_PRODUCER_ASYNCHRONOUS (environment first, then Django; default False)."""
    from django.conf import settings as django_settings  # pylint: disable=import-outside-toplevel
    value = os.environ.get(ASYNCHRONOUS_SETTING)
    if value is None:
        value = getattr(django_settings, ASYNCHRONOUS_SETTING, False)
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("", "0", "false", "no", "off"):
        return False
    raise edxbus.ConfigError(f"{ASYNCHRONOUS_SETTING}: {value!r} is not true or false; "
                             "set it to true (send returns once queued) or false (once stored)")


def metadata_to_dict(event_metadata):
    """The seven EventsMetadata fields, as EventsMetadata.to_json() writes them."""
    return json.loads(event_metadata.to_json())


def metadata_from_dict(md):
    """An EventsMetadata with the seven fields edxbus read from the bus, minorversion included."""
    from openedx_events.data import EventsMetadata  # pylint: disable=import-outside-toplevel
    return EventsMetadata(
        event_type=md["event_type"],
        id=uuid.UUID(md["id"]),
        minorversion=md["minorversion"],
        source=md["source"],
        sourcehost=md["sourcehost"],
        time=datetime.fromisoformat(md["time"]),
        sourcelib=tuple(md["sourcelib"]),
    )


class ReceiverError(Exception):
    """One or more receivers of a signal raised; the event is retried, then dead-lettered."""


def _define_classes():
    """Define the openedx-events subclasses (imports openedx-events). Returns {name: class}."""
    # pylint: disable=import-outside-toplevel
    from openedx_events.event_bus import EventBusConsumer, EventBusProducer
    from openedx_events.event_bus.avro.deserializer import AvroSignalDeserializer
    from openedx_events.event_bus.avro.serializer import AvroSignalSerializer
    from openedx_events.tooling import OpenEdxPublicSignal, prepare_for_new_work_cycle

    class EdxbusEventProducer(EventBusProducer):
        """openedx-events' producer interface over edxbus.Producer (one per process)."""

        def __init__(self, producer, asynchronous=False):
            self.producer = producer
            self.asynchronous = asynchronous
            self._serializers = {}
            self._in_flight = {}  # asynchronous: event id -> what a failure log needs

        def _log_not_sent(self, error, event_type, topic, event_key_field, metadata_json, data):
            logger.error(
                "edxbus: event not sent: %s; event_type=%s topic=%s event_key_field=%s "
                "metadata=%s data=%s", error, event_type, topic, event_key_field, metadata_json,
                data,
            )

        def on_delivery(self, event_id, error):
            """The broker's answer for one queued event (asynchronous mode)."""
            event = self._in_flight.pop(event_id, None)
            if error is not None:
                if event is None:
                    event = ("?", "?", "?", json.dumps({"id": event_id}), "?")
                self._log_not_sent(error, *event)

        def send(self, *, signal, topic, event_key_field, event_data, event_metadata):
            """Send one event to topic (without prefix), as openedx-events' handler asks.

            As the reference producers do, a failure is logged with everything needed to send the
            event again (type, topic, key field, metadata, data) and not raised into the caller's
            signal.
            """
            serializer = self._serializers.get(signal.event_type)
            if serializer is None:
                serializer = self._serializers[signal.event_type] = AvroSignalSerializer(signal)
            data = None
            try:
                data = serializer.to_dict(event_data)
                if self.asynchronous:  # kept before the send: its report may come during it
                    self._in_flight[str(event_metadata.id)] = (
                        signal.event_type, topic, event_key_field, event_metadata.to_json(),
                        json.dumps(data))
                self.producer.send(signal.event_type, topic, event_key_field, data,
                                   metadata_to_dict(event_metadata))
            except Exception as e:  # pylint: disable=broad-except
                self._in_flight.pop(str(event_metadata.id), None)
                self._log_not_sent(e, signal.event_type, topic, event_key_field,
                                   event_metadata.to_json(),
                                   json.dumps(data) if data is not None else repr(event_data))

        def flush(self, timeout=30.0):
            """Wait until every event sent is held by the broker (failures are logged)."""
            try:
                self.producer.flush(timeout)
            except edxbus.Error as e:
                if e.code == "STATE" and not self._in_flight:
                    return  # closed already, nothing owed (an exit after close())
                logger.error("edxbus: flush: %s; %d event(s) without an answer from the broker",
                             e, len(self._in_flight))

        def prepare_for_shutdown(self):
            """Flush what is queued (edx-event-bus-kafka's producer has the same call)."""
            self.flush()

    class EdxbusEventConsumer(EventBusConsumer):
        """openedx-events' consumer interface over edxbus.Consumer's worker loop.

        Keyword arguments are consume_events' --extra keys: consumer_name, and the options edxbus
        knows (start, check_backlog, offset_time, last_read_msg_id, claim_msgs_older_than, …).
        """

        def __init__(self, topic, group_id, **kwargs):
            self.topic = topic
            self.group_id = group_id
            consumer_name = kwargs.pop("consumer_name", None)
            self.consumer = edxbus.Consumer(topic, group_id, edxbus_settings(), extra=kwargs or None,
                                            consumer_name=consumer_name)
            self._deserializers = {}

        def consume_indefinitely(self):
            """Consume until SIGTERM/SIGINT (the current event is finished and acknowledged)."""
            stats = self.consumer.run(self.emit_signals)
            logger.info("edxbus: consumer of %s in group %s stopped: %s", self.topic, self.group_id,
                        stats)
            return stats

        def emit_signals(self, metadata, data):
            """Re-emit one decoded event through its signal, as the reference consumers do."""
            signal = OpenEdxPublicSignal.get_signal_by_type(metadata["event_type"])
            deserializer = self._deserializers.get(signal.event_type)
            if deserializer is None:
                deserializer = self._deserializers[signal.event_type] = AvroSignalDeserializer(signal)
            event_data = deserializer.from_dict(data)
            prepare_for_new_work_cycle()
            results = signal.send_event_with_custom_metadata(metadata_from_dict(metadata), **event_data)
            failures = [f"{getattr(r, '__module__', '?')}.{getattr(r, '__qualname__', r)}={resp!r}"
                        for r, resp in results if isinstance(resp, BaseException)]
            if failures:
                raise ReceiverError(f"{len(failures)} receiver(s) out of {len(results)} failed for "
                                    f"{signal.event_type}: {', '.join(failures)}")

    for cls in (EdxbusEventProducer, EdxbusEventConsumer):
        cls.__qualname__ = cls.__name__  # edxbus.openedx.EdxbusEventConsumer in logs and reprs
    return {"EdxbusEventProducer": EdxbusEventProducer, "EdxbusEventConsumer": EdxbusEventConsumer}


_classes = {}


def __getattr__(name):
    """EdxbusEventProducer and EdxbusEventConsumer, defined on first use."""
    if name in ("EdxbusEventProducer", "EdxbusEventConsumer"):
        if not _classes:
            _classes.update(_define_classes())
        return _classes[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def create_producer():
    """The loader EVENT_BUS_PRODUCER names. openedx-events keeps the one it gets."""
    cls = __getattr__("EdxbusEventProducer")
    if not producer_is_asynchronous():
        return cls(edxbus.Producer(edxbus_settings()))
    holder = []
    producer = edxbus.Producer(edxbus_settings(), asynchronous=True,
                               on_delivery=lambda event_id, error: holder[0].on_delivery(event_id,
                                                                                       error))
    holder.append(cls(producer, asynchronous=True))
    atexit.register(holder[0].prepare_for_shutdown)
    return holder[0]
