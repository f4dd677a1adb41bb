"""Where each part of the system lives in the repository: the one list the quality scripts share."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Component:
    """A service or the shared package: its code (measured and analysed) and its tests."""

    name: str
    folder: str
    package: str

    @property
    def code(self) -> str:
        return f"{self.folder}/{self.package}"

    @property
    def tests(self) -> str:
        return f"{self.folder}/tests"


COMPONENTS = (
    Component("servicekit", "libs/servicekit", "servicekit"),
    Component("user-service", "user-service", "user_service"),
    Component("room-service", "room-service", "room_service"),
    Component("reservation-service", "reservation-service", "reservation_service"),
)


def component_of(path: str) -> Component | None:
    """The component a repository-relative path belongs to (its code or its tests), if any."""
    for component in COMPONENTS:
        if path.startswith(f"{component.folder}/"):
            return component
    return None
