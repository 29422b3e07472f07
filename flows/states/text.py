"""`text`: a short free-text answer, typed, with a Skip button."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from flows.conditions import AnswerValue
from flows.events import Choose
from flows.model import Next, TextKey
from flows.states.base import AnswerShape, Kind, Rows, StateBase, Tap, TextUse

if TYPE_CHECKING:
    from flows.session import Session
    from flows.turn import Turn
    from flows.views import Views

SKIP = "skip"


class TextState(StateBase):
    """A short free-text answer, with a 'skip' button."""

    type: Literal["text"]
    short: TextKey
    max_length: int = Field(default=300, ge=1, le=1000)
    next: Next


class TextKind(Kind[TextState]):
    """Typed text is the answer (trimmed, within `max_length`); Skip moves on without one."""

    type = "text"

    def answer_rows(self, views: Views, session: Session, state: TextState) -> Rows:
        return ((views.button(session, "common.skip", Choose(session.step, SKIP)),),)

    def tap(self, turn: Turn, state: TextState, event: Tap) -> None:
        if isinstance(event, Choose) and event.option == SKIP:
            turn.session.answers.pop(state.id, None)
            turn.advance()
        else:
            turn.reject_unknown()

    def typed(self, turn: Turn, state: TextState, text: str) -> bool:
        answer = text.strip()
        if not answer or len(answer) > state.max_length:
            turn.notice("notice.text_too_long")
            turn.show()
        else:
            turn.record(state.id, answer)
            turn.advance()
        return True

    def text_uses(self, state: TextState) -> list[TextUse]:
        return [*super().text_uses(state), TextUse(state.short, ("short",))]

    def answer_shape(self, state: TextState) -> AnswerShape:
        return "text"

    def describe(self, views: Views, session: Session, state: TextState, value: AnswerValue, clinical: bool) -> str:
        return views.escape(str(value))


KIND = TextKind()
