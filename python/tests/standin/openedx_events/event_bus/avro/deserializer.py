"""STAND-IN: from_dict rebuilds the signal's data classes from the decoded record."""
import dataclasses
import typing
from datetime import datetime


def _build(value, cls):
    if value is None:
        return None
    if typing.get_origin(cls) is typing.Union:  # Optional[X]
        cls = next(a for a in typing.get_args(cls) if a is not type(None))
    if cls is datetime:
        return datetime.fromisoformat(value)
    if dataclasses.is_dataclass(cls):
        hints = typing.get_type_hints(cls)
        return cls(**{f.name: _build(value[f.name], hints[f.name]) for f in dataclasses.fields(cls)})
    return value


class AvroSignalDeserializer:
    def __init__(self, signal):
        self.signal = signal

    def from_dict(self, avro_record_dict):
        return {k: _build(avro_record_dict[k], cls) for k, cls in self.signal.init_data.items()}
