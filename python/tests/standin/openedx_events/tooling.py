"""STAND-IN: OpenEdxPublicSignal (one registry, robust sends) and prepare_for_new_work_cycle."""
from openedx_events.data import CourseEnrollmentData

work_cycles = []  # one entry per prepare_for_new_work_cycle() call, for the tests


def prepare_for_new_work_cycle():
    work_cycles.append(1)


class OpenEdxPublicSignal:
    _by_type = {}

    def __init__(self, event_type, data, minor_version=0):
        self.event_type = event_type
        self.init_data = data
        self.minor_version = minor_version
        self.receivers = []
        self._by_type[event_type] = self

    @classmethod
    def get_signal_by_type(cls, event_type):
        return cls._by_type[event_type]

    def connect(self, receiver):
        self.receivers.append(receiver)

    def send_event_with_custom_metadata(self, metadata, **kwargs):
        """Call every receiver; a raised exception is the receiver's response (send_robust)."""
        results = []
        for r in self.receivers:
            try:
                results.append((r, r(signal=self, metadata=metadata, from_event_bus=True,
                                     **kwargs)))
            except Exception as e:  # pylint: disable=broad-except
                results.append((r, e))
        return results


COURSE_ENROLLMENT_CREATED = OpenEdxPublicSignal(
    "org.openedx.learning.course.enrollment.created.v1", {"enrollment": CourseEnrollmentData})
