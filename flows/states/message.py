"""`message`: a text with one button (Continue) that moves on. Other read-then-continue types build on it."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Literal, TypeVar

from pydantic import Field

from flows.events import Choose
from flows.keys import KeyKind
from flows.model import Id, Next, TextKey
from flows.replies import Reply
from flows.states.base import Kind, Rows, StateBase, StateProblem, Tap, TextUse
from flows.texts import fill

if TYPE_CHECKING:
    from flows.session import Session
    from flows.states.base import CheckView
    from flows.turn import Turn
    from flows.views import Views

OK = "ok"
NO_ANSWER = "–"  # in a filled place whose answer is not on record


class ContinueState(StateBase):
    """A state that is read, then left with one button."""

    next: Next
    button: TextKey = "common.continue"


class MessageState(ContinueState):
    """Shows a text with a single button that moves on; `fill` puts answers in its `{name}` places, e.g.
    `{before: pain}` shows the answer to `pain` where the text says `{before}`."""

    type: Literal["message"]
    fill: dict[Id, Id] = Field(default_factory=dict)


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
    """A plain message, with answers filled in where it asks for them."""

    type = "message"

    def render(self, views: Views, session: Session, state: MessageState, edit: bool) -> Reply:
        reply = super().render(views, session, state, edit)
        if not state.fill:
            return reply
        values = {
            name: views.escape(str(session.answers[question])) if question in session.answers else NO_ANSWER
            for name, question in state.fill.items()
        }
        return replace(reply, text=fill(reply.text, values))

    def check(self, state: MessageState, content: CheckView) -> list[StateProblem]:
        return [
            StateProblem(
                ("fill", name),
                f"'{question}' is not a question whose answer is kept",
                "fill from one of: " + ", ".join(content.ids_with_shape("choice", "number", "text")),
            )
            for name, question in state.fill.items()
            if content.shape_of(question) is None
        ]


KIND = MessageKind()
