"""`single`: one answer from a list of buttons. Without `short` the answer is not kept (e.g. consent)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from flows.conditions import AnswerValue
from flows.events import Choose
from flows.model import Next, Option, TextKey
from flows.replies import Reply
from flows.states.base import (
    AnswerShape,
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


class SingleState(StateBase):
    """One answer from a list of buttons; without `short` the answer is not kept (e.g. the consent)."""

    type: Literal["single"]
    before: TextKey | None = None  # a text shown above the question, in the same message
    short: TextKey | None = None
    options: list[Option] = Field(min_length=2)
    next: Next | None = None


class SingleKind(Kind[SingleState]):
    """Each option is a button; an option may run an action and have its own `next`."""

    type = "single"

    def render(self, views: Views, session: Session, state: SingleState, edit: bool) -> Reply:
        reply = super().render(views, session, state, edit)
        if state.before is None:
            return reply
        text = f"{views.text(session, state.before)}\n\n{reply.text}"
        return replace(reply, text=text, extra_keys=(*reply.extra_keys, state.before))

    def answer_rows(self, views: Views, session: Session, state: SingleState) -> Rows:
        return option_rows(views, session, state.options)

    def tap(self, turn: Turn, state: SingleState, event: Tap) -> None:
        chosen = next((o for o in state.options if o.id == event.option), None) if isinstance(event, Choose) else None
        if chosen is None:
            turn.reject_unknown()
            return
        turn.act(chosen.action)
        turn.mark(chosen.stage)
        if state.short is not None:
            turn.record(state.id, chosen.id)
        turn.advance(chosen.id)

    def exits(self, state: SingleState) -> list[Exit]:
        return option_exits(state.options, state.next)

    def text_uses(self, state: SingleState) -> list[TextUse]:
        uses = [*super().text_uses(state), *option_uses(state.options)]
        for name in ("before", "short"):
            key = getattr(state, name)
            if key is not None:
                uses.append(TextUse(key, (name,)))
        return uses

    def answer_shape(self, state: SingleState) -> AnswerShape | None:
        return "choice" if state.short is not None else None

    def answer_ids(self, state: SingleState) -> list[str]:
        return [o.id for o in state.options]

    def describe(self, views: Views, session: Session, state: SingleState, value: AnswerValue, clinical: bool) -> str:
        return views.option_label(session, state.id, state.options, str(value), clinical)

    def check(self, state: SingleState, content: CheckView) -> list[StateProblem]:
        if state.next is not None:
            return []
        return [
            StateProblem(
                ("options", i),
                f"option '{o.id}' of '{state.id}' leads nowhere",
                "give the option a 'next', or the question a 'next'",
                "dead_end",
            )
            for i, o in enumerate(state.options)
            if o.next is None
        ]


KIND = SingleKind()
