"""`message`: a text with one button (Continue) that moves on. Other read-then-continue types build on it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, TypeVar

from flows.events import Choose
from flows.keys import KeyKind
from flows.model import Next, TextKey
from flows.states.base import Kind, Rows, StateBase, Tap, TextUse

if TYPE_CHECKING:
    from flows.session import Session
    from flows.turn import Turn
    from flows.views import Views

OK = "ok"


class ContinueState(StateBase):
    """A state that is read, then left with one button."""

    next: Next
    button: TextKey = "common.continue"


class MessageState(ContinueState):
    """Shows a text with a single button that moves on."""

    type: Literal["message"]


C = TypeVar("C", bound=ContinueState)


class ContinueKind(Kind[C]):
    """Its `button` sends 'ok', which moves on."""

    def answer_rows(self, views: Views, session: Session, state: C) -> Rows:
        return ((views.button(session, state.button, Choose(session.step, OK)),),)

    def tap(self, turn: Turn, state: C, event: Tap) -> None:
        if isinstance(event, Choose) and event.option == OK:
            turn.advance()
        else:
            turn.reject_unknown()

    def text_uses(self, state: C) -> list[TextUse]:
        return [*super().text_uses(state), TextUse(state.button, ("button",), KeyKind.LABEL)]


class MessageKind(ContinueKind[MessageState]):
    """A plain message."""

    type = "message"


KIND = MessageKind()
