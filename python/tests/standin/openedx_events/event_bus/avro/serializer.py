"""STAND-IN: to_dict gives the plain JSON form (datetimes as isoformat, records as dicts)."""
import dataclasses
import json
from datetime import datetime


class AvroSignalSerializer:
    def __init__(self, signal):
        self.signal = signal

    def to_dict(self, event_data):
        def plain(o):
            if isinstance(o, datetime):
                return o.isoformat()
            return str(o)
        as_dicts = {k: dataclasses.asdict(v) for k, v in event_data.items()}
        return json.loads(json.dumps(as_dicts, sort_keys=True, default=plain))
