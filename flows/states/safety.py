"""`safety`: a safety-screen question, asked of everyone before consent. Each option leads somewhere: on to the
next question, to urgent advice, or to an emergency stop. No answer is kept, and leaving the screen is one way:
Back cannot lead into it again, and nothing stored afterwards shows how it was answered."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from flows.events import Choose
from flows.model import Option
from flows.states.base import (
    Exit,
    Kind,
    Rows,
    StateBase,
    StateProblem,
    Tap,
    TextUse,
    option_exits,
    option_rows,
    option_uses,
)

if TYPE_CHECKING:
    from flows.session import Session
    from flows.states.base import CheckView
    from flows.turn import Turn
    from flows.views import Views


class SafetyState(StateBase):
    """A safety question: every option names where it leads."""

    type: Literal["safety"]
    options: list[Option] = Field(min_length=2)


class SafetyKind(Kind[SafetyState]):
    """One button per option; a tap only chooses the way on."""

    type = "safety"
    screen = True

    def answer_rows(self, views: Views, session: Session, state: SafetyState) -> Rows:
        return option_rows(views, session, state.options)

    def tap(self, turn: Turn, state: SafetyState, event: Tap) -> None:
        if isinstance(event, Choose) and event.option in {o.id for o in state.options}:
            turn.advance(event.option)
        else:
            turn.reject_unknown()

    def exits(self, state: SafetyState) -> list[Exit]:
        return option_exits(state.options, None)

    def text_uses(self, state: SafetyState) -> list[TextUse]:
        return [*super().text_uses(state), *option_uses(state.options)]

    def check(self, state: SafetyState, content: CheckView) -> list[StateProblem]:
        problems = [
            StateProblem(
                ("options", i), f"option '{o.id}' of '{state.id}' leads nowhere", "give it a 'next'", "dead_end"
            )
            for i, o in enumerate(state.options)
            if o.next is None
        ]
        problems += [
            StateProblem(
                ("options", i, "action"),
                f"a safety question cannot run an action ('{o.id}')",
                "consent comes after the safety questions: put the action on the consent question",
                "shape",
            )
            for i, o in enumerate(state.options)
            if o.action is not None
        ]
        return problems


KIND = SafetyKind()
