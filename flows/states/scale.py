"""`scale`: a number from `low` to `high` (0-10 by default), one button per number."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import model_validator

from flows.conditions import AnswerValue
from flows.events import Choose, encode
from flows.model import Next, TextKey
from flows.replies import Button
from flows.states.base import AnswerShape, Kind, Rows, StateBase, Tap, TextUse

if TYPE_CHECKING:
    from flows.session import Session
    from flows.turn import Turn
    from flows.views import Views


class ScaleState(StateBase):
    """A number from `low` to `high` (0-10 by default)."""

    type: Literal["scale"]
    short: TextKey
    low: int = 0
    high: int = 10
    next: Next

    @model_validator(mode="after")
    def _range(self) -> ScaleState:
        if not 0 <= self.low < self.high <= 10:
            raise ValueError("a scale runs from 'low' to 'high' within 0-10, with low < high")
        return self


class ScaleKind(Kind[ScaleState]):
    """The numbers in two rows."""

    type = "scale"

    def answer_rows(self, views: Views, session: Session, state: ScaleState) -> Rows:
        numbers = [Button(str(n), encode(Choose(session.step, str(n)))) for n in range(state.low, state.high + 1)]
        middle = (len(numbers) + 1) // 2
        return (tuple(numbers[:middle]), tuple(numbers[middle:]))

    def tap(self, turn: Turn, state: ScaleState, event: Tap) -> None:
        if isinstance(event, Choose) and event.option.isdigit() and state.low <= int(event.option) <= state.high:
            turn.record(state.id, int(event.option))
            turn.advance()
        else:
            turn.reject_unknown()

    def text_uses(self, state: ScaleState) -> list[TextUse]:
        return [*super().text_uses(state), TextUse(state.short, ("short",))]

    def answer_shape(self, state: ScaleState) -> AnswerShape:
        return "number"

    def describe(self, views: Views, session: Session, state: ScaleState, value: AnswerValue, clinical: bool) -> str:
        return f"{value}/{state.high}"


KIND = ScaleKind()
