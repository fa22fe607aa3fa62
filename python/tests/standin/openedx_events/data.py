"""STAND-IN: EventsMetadata and the enrollment payload classes (dataclasses, not attrs)."""
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Optional
from uuid import UUID, uuid1


@dataclass(frozen=True)
class EventsMetadata:
    event_type: str
    id: UUID = field(default_factory=uuid1)
    minorversion: int = 0
    source: str = "openedx/lms/web"
    sourcehost: str = "standin.host"
    time: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    sourcelib: tuple = (11, 2, 0)

    def to_json(self):
        return json.dumps({"event_type": self.event_type, "id": str(self.id),
                           "minorversion": self.minorversion, "source": self.source,
                           "sourcehost": self.sourcehost, "time": self.time.isoformat(),
                           "sourcelib": list(self.sourcelib)})


@dataclass(frozen=True)
class UserPersonalData:
    username: str
    email: str
    name: str = ""


@dataclass(frozen=True)
class UserData:
    id: int
    is_active: bool
    pii: UserPersonalData


@dataclass(frozen=True)
class CourseData:
    course_key: str
    display_name: str = ""
    start: Optional[datetime] = None
    end: Optional[datetime] = None


@dataclass(frozen=True)
class CourseEnrollmentData:
    user: UserData
    course: CourseData
    mode: str
    is_active: bool
    creation_date: datetime
    created_by: Optional[UserData] = None
