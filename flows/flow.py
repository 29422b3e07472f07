"""The flow file: where the conversation starts and its states, in order."""

from __future__ import annotations

from pydantic import Field

from flows.model import Id, Strict
from flows.states import State


class Flow(Strict):
    """The conversation: where it starts and its states, in order."""

    start: Id
    states: list[State] = Field(min_length=1)
    follow_ups: list[Id] = Field(default_factory=list)  # where each follow-up check-in starts, in order
