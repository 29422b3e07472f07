"""`multi`: any number of ticked options, then Done. The ticks are a draft until Done."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from flows.conditions import AnswerValue
from flows.events import Done, Toggle, encode
from flows.model import Next, Option, TextKey
from flows.replies import Button
from flows.states.base import AnswerShape, Kind, Rows, StateBase, Tap, TextUse, option_uses

if TYPE_CHECKING:
    from flows.session import Session
    from flows.turn import Turn
    from flows.views import Views


class MultiState(StateBase):
    """Any number of ticked options, then 'Done'; an `exclusive` option (e.g. 'none') clears the others."""

    type: Literal["multi"]
    short: TextKey
    options: list[Option] = Field(min_length=2)
    next: Next


class MultiKind(Kind[MultiState]):
    """A tap ticks or unticks an option in place; Done keeps the ticks and moves on."""

    type = "multi"
    takes = (Toggle, Done)

    def answer_rows(self, views: Views, session: Session, state: MultiState) -> Rows:
        rows = []
        for option in state.options:
            tick = "common.tick_on" if option.id in session.draft else "common.tick_off"
            label = f"{views.text(session, tick)} {views.text(session, option.label)}"
            rows.append((Button(label, encode(Toggle(session.step, option.id))),))
        rows.append((views.button(session, "common.done", Done(session.step)),))
        return tuple(rows)

    def tap(self, turn: Turn, state: MultiState, event: Tap) -> None:
        session = turn.session
        options = {o.id: o for o in state.options}
        if isinstance(event, Done):
            if not session.draft:
                turn.notice("notice.pick_one")
                turn.show()
                return
            turn.record(state.id, [o.id for o in state.options if o.id in session.draft])
            turn.advance()
        elif isinstance(event, Toggle) and event.option in options:
            if event.option in session.draft:
                session.draft.remove(event.option)
            elif options[event.option].exclusive:
                session.draft = [event.option]
            else:
                session.draft = [d for d in session.draft if not options[d].exclusive] + [event.option]
            turn.bump()
            turn.show(edit=True)
        else:
            turn.reject_unknown()

    def text_uses(self, state: MultiState) -> list[TextUse]:
        return [*super().text_uses(state), TextUse(state.short, ("short",)), *option_uses(state.options)]

    def answer_shape(self, state: MultiState) -> AnswerShape:
        return "ticks"

    def answer_ids(self, state: MultiState) -> list[str]:
        return [o.id for o in state.options]

    def describe(self, views: Views, session: Session, state: MultiState, value: AnswerValue, clinical: bool) -> str:
        ticked = value if isinstance(value, list) else []
        return ", ".join(views.option_label(session, state.id, state.options, v, clinical) for v in ticked)


KIND = MultiKind()
