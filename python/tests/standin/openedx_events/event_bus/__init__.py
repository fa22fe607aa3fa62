"""STAND-IN: the two abstract classes an event bus implements."""
from abc import ABC, abstractmethod


class EventBusProducer(ABC):
    @abstractmethod
    def send(self, *, signal, topic, event_key_field, event_data, event_metadata):
        """Send one event."""


class EventBusConsumer(ABC):
    @abstractmethod
    def consume_indefinitely(self):
        """Consume until stopped."""
