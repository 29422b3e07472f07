"""`sure`: the SURE test of decisional conflict (Légaré and colleagues, 2010): four yes/no questions, one at a
time. The answer kept is the number of 'yes' answers, so `at_least` / `at_most` conditions can branch on it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from flows.conditions import AnswerValue
from flows.events import Choose
from flows.keys import KeyKind
from flows.model import Next, TextKey
from flows.replies import Reply
from flows.states import series
from flows.states.base import AnswerShape, Kind, StateBase, Tap, TextUse

if TYPE_CHECKING:
    from flows.session import Session
    from flows.turn import Turn
    from flows.views import Views

ANSWERS = (("yes", "common.yes"), ("no", "common.no"))


class SureState(StateBase):
    """Yes/no items, in turn; the score is how many were answered yes."""

    type: Literal["sure"]
    short: TextKey
    items: list[series.Item] = Field(min_length=1, max_length=10)
    next: Next


class SureKind(Kind[SureState]):
    """One item at a time, edited in place; Back goes to the previous item."""

    type = "sure"

    def render(self, views: Views, session: Session, state: SureState, edit: bool) -> Reply:
        item = state.items[min(series.current_index(session), len(state.items) - 1)]
        text = series.heading(views, session, state.text, item.label, len(state.items))
        rows = series.answer_row(views, session, ANSWERS) + series.back_rows(views, session)
        return Reply(key=state.text, text=text, buttons=rows, kind="question", edit=edit, extra_keys=(item.label,))

    def tap(self, turn: Turn, state: SureState, event: Tap) -> None:
        index = series.current_index(turn.session)
        if not isinstance(event, Choose) or event.option not in dict(ANSWERS) or index >= len(state.items):
            turn.reject_unknown()
        elif series.answer(turn, state.items[index], event.option, len(state.items)):
            score = sum(value == "yes" for value in series.answered(turn.session).values())
            turn.record(state.id, score)
            turn.advance()
        else:
            turn.bump()
            turn.show(edit=True)

    def back(self, turn: Turn, state: SureState) -> bool:
        return series.step_back(turn)

    def text_uses(self, state: SureState) -> list[TextUse]:
        uses = [*super().text_uses(state), TextUse(state.short, ("short",))]
        uses += [TextUse(key, ("type",), KeyKind.LABEL) for _, key in ANSWERS]
        return uses + [TextUse(item.label, ("items", i, "label")) for i, item in enumerate(state.items)]

    def answer_shape(self, state: SureState) -> AnswerShape:
        return "number"

    def describe(self, views: Views, session: Session, state: SureState, value: AnswerValue, clinical: bool) -> str:
        return f"{value}/{len(state.items)}"


KIND = SureKind()
