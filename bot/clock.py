"""The time, from one place: the bot asks a `Clock`, and tests give it one they control."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from bot.storage.base import utc_now


class Clock(Protocol):
    """Tells the time (aware, UTC)."""

    def now(self) -> datetime:
        """The current time."""


class SystemClock:
    """The computer's clock."""

    def now(self) -> datetime:
        """The current time, to the second."""
        return utc_now()


class FakeClock:
    """A clock that moves only when told to (for tests)."""

    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or utc_now()

    def now(self) -> datetime:
        """The time it was set to."""
        return self.current

    def advance(self, delta: timedelta) -> None:
        """Move the time forward."""
        self.current += delta
