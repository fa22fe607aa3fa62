"""edxbus for Python: the Open edX event bus in C (libedxbus), as a producer and a consumer.

    import edxbus
    with edxbus.Producer({"EVENT_BUS_PRODUCER": "redis",
                          "EVENT_BUS_REDIS_CONNECTION_URL": "redis://127.0.0.1:6379/0"}) as p:
        p.send("org.openedx.learning.course.enrollment.created.v1", "enrollments",
               "enrollment.course.course_key", data)

    edxbus.Consumer("enrollments", "my-group", settings).run(lambda metadata, data: ...)

Settings are the Django names edxbus reads (a dict, Django's settings copied into one, and/or
the environment with env=True). Errors are edxbus.Error subclasses carrying edxbus's one-line
message. This package needs no Django; edxbus.openedx plugs it into openedx-events.
"""
from edxbus._edxbus import (  # noqa: F401  (the public names)
    OPENEDX_EVENTS_VERSION,
    BrokerError,
    ConfigError,
    Consumer,
    DecodeError,
    EncodeError,
    Error,
    Message,
    Producer,
    check_settings,
    event_key_field,
    setting_names,
    version,
)

__all__ = [
    "BrokerError", "ConfigError", "Consumer", "DecodeError", "EncodeError", "Error", "Message",
    "OPENEDX_EVENTS_VERSION", "Producer", "check_settings", "event_key_field", "setting_names",
    "version",
]
