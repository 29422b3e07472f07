"""`weighted`: what matters to the patient, weighted rather than ticked: each item in turn, 'matters a lot',
'a little' or 'not at all'. The answer is kept as {item: level}; in conditions, `includes` means
'matters a lot'."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from flows.conditions import MATTERS_A_LOT, AnswerValue
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

TOP = MATTERS_A_LOT
LEVELS = (TOP, "a_little", "not_at_all")


class WeightedItem(series.Item):
    """A value; `reflect` says how the options compare on it, shown back (and in the summary) when it matters a
    lot."""

    reflect: TextKey | None = None


class WeightedState(StateBase):
    """Each item weighted in turn."""

    type: Literal["weighted"]
    short: TextKey
    items: list[WeightedItem] = Field(min_length=1)
    next: Next


REFLECT_HEADING = "weighted.reflect_heading"


def reflections(state: WeightedState, weights: dict[str, str]) -> list[str]:
    """The `reflect` texts of the items weighted 'matters a lot', in the state's order."""
    return [item.reflect for item in state.items if item.reflect and weights.get(item.id) == TOP]


def reflection_text(views: Views, session: Session, keys: list[str]) -> str:
    """The heading, then each reflection as a bullet."""
    return "\n".join([views.text(session, REFLECT_HEADING), *(f"• {views.text(session, key)}" for key in keys)])


def level_key(level: str) -> str:
    """The label of a level, e.g. `weighted.a_lot`."""
    return f"weighted.{level}"


class WeightedKind(Kind[WeightedState]):
    """One item at a time, edited in place; Back goes to the previous item."""

    type = "weighted"

    def render(self, views: Views, session: Session, state: WeightedState, edit: bool) -> Reply:
        item = state.items[min(series.current_index(session), len(state.items) - 1)]
        text = series.heading(views, session, state.text, item.label, len(state.items))
        rows = series.answer_row(views, session, [(level, level_key(level)) for level in LEVELS])
        rows += series.back_rows(views, session)
        return Reply(key=state.text, text=text, buttons=rows, kind="question", edit=edit, extra_keys=(item.label,))

    def tap(self, turn: Turn, state: WeightedState, event: Tap) -> None:
        index = series.current_index(turn.session)
        if not isinstance(event, Choose) or event.option not in LEVELS or index >= len(state.items):
            turn.reject_unknown()
        elif series.answer(turn, state.items[index], event.option, len(state.items)):
            weights = series.answered(turn.session)
            turn.record(state.id, weights)
            reflected = reflections(state, weights)
            if reflected:  # what the patient said matters a lot, and how the options compare on each
                text = reflection_text(turn.views, turn.session, reflected)
                turn.reply(Reply(key=REFLECT_HEADING, text=text, extra_keys=tuple(reflected)))
            turn.advance()
        else:
            turn.bump()
            turn.show(edit=True)

    def back(self, turn: Turn, state: WeightedState) -> bool:
        return series.step_back(turn)

    def text_uses(self, state: WeightedState) -> list[TextUse]:
        uses = [*super().text_uses(state), TextUse(state.short, ("short",))]
        uses += [TextUse(level_key(level), ("type",), KeyKind.LABEL) for level in LEVELS]
        uses.append(TextUse(REFLECT_HEADING, ("type",)))
        for i, item in enumerate(state.items):
            uses.append(TextUse(item.label, ("items", i, "label")))
            if item.reflect is not None:
                uses.append(TextUse(item.reflect, ("items", i, "reflect")))
        return uses

    def answer_shape(self, state: WeightedState) -> AnswerShape:
        return "weights"

    def answer_ids(self, state: WeightedState) -> list[str]:
        return [item.id for item in state.items]

    def describe(self, views: Views, session: Session, state: WeightedState, value: AnswerValue, clinical: bool) -> str:
        weights = value if isinstance(value, dict) else {}
        return "; ".join(
            f"{views.text(session, item.label)}: {views.text(session, level_key(weights[item.id]))}"
            for item in state.items
            if weights.get(item.id) in LEVELS
        )

    def restore(self, state: WeightedState, value: AnswerValue | None) -> list[str]:
        """Coming back into the state: all but the last item stay answered."""
        weights = value if isinstance(value, dict) else {}
        return [f"{k}={v}" for k, v in weights.items()][:-1]


KIND = WeightedKind()
