"""One chat's conversation state: a small model restored from its stored row."""

from __future__ import annotations

from pydantic import BaseModel, Field

from flows.conditions import AnswerValue


class Session(BaseModel):
    """Where a chat is in the flow and what the patient answered (answers only after consent)."""

    state: str
    step: int = 0
    answers: dict[str, AnswerValue] = Field(default_factory=dict)
    consent: bool | None = None
    language: str = "en"
    clinic: str | None = None
    content_version: str = ""
    history: list[str] = Field(default_factory=list)
    draft: list[str] = Field(default_factory=list)
    handoff_clinic: str | None = None  # the clinic the patient chose to be contacted by
    awaiting_contact: bool = False  # asked to share a phone number with Telegram's contact button
    has_username: bool = False  # the user has a Telegram username (set by the adapter on every update)
    follow_ups: bool = False  # agreed to be written to later, for the check-ins

    def copy_for_step(self) -> Session:
        """An independent copy to change, so the caller's session is never mutated."""
        return self.model_copy(
            update={"answers": dict(self.answers), "history": list(self.history), "draft": list(self.draft)}
        )
