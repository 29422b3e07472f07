"""`knowledge`: a short knowledge check. True-or-false statements from the comparison, one at a time; each
answer is followed by the right answer and why. Nothing is scored or kept."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from flows.events import Choose
from flows.keys import KeyKind
from flows.model import Next, TextKey
from flows.replies import Reply
from flows.states import series
from flows.states.base import Kind, StateBase, Tap, TextUse

if TYPE_CHECKING:
    from flows.session import Session
    from flows.turn import Turn
    from flows.views import Views

ANSWERS = (("true", "common.true"), ("false", "common.false"), ("not_sure", "common.not_sure"))


class Statement(series.Item):
    """A statement (`label`), whether it is `true`, and `explain`: why, in a sentence or two."""

    true: bool
    explain: TextKey


class KnowledgeState(StateBase):
    """True-or-false statements, then the state's `next`."""

    type: Literal["knowledge"]
    items: list[Statement] = Field(min_length=1, max_length=5)
    next: Next


class KnowledgeKind(Kind[KnowledgeState]):
    """Each answer gets the right answer and its explanation as a new message, then the next statement."""

    type = "knowledge"

    def render(self, views: Views, session: Session, state: KnowledgeState, edit: bool) -> Reply:
        item = state.items[min(series.current_index(session), len(state.items) - 1)]
        text = series.heading(views, session, state.text, item.label, len(state.items))
        rows = series.answer_row(views, session, ANSWERS) + series.back_rows(views, session)
        return Reply(key=state.text, text=text, buttons=rows, kind="question", edit=edit, extra_keys=(item.label,))

    def tap(self, turn: Turn, state: KnowledgeState, event: Tap) -> None:
        index = series.current_index(turn.session)
        if not isinstance(event, Choose) or event.option not in dict(ANSWERS) or index >= len(state.items):
            turn.reject_unknown()
            return
        item = state.items[index]
        verdict = turn.text("knowledge.answer_true" if item.true else "knowledge.answer_false")
        turn.reply(Reply(key=item.explain, text=f"{verdict}\n{turn.text(item.explain)}"))
        if series.answer(turn, item, event.option, len(state.items)):
            turn.advance()
        else:
            turn.bump()
            turn.show()

    def back(self, turn: Turn, state: KnowledgeState) -> bool:
        return series.step_back(turn)

    def text_uses(self, state: KnowledgeState) -> list[TextUse]:
        uses = [*super().text_uses(state), *(TextUse(key, ("type",), KeyKind.LABEL) for _, key in ANSWERS)]
        for i, item in enumerate(state.items):
            uses += [TextUse(item.label, ("items", i, "label")), TextUse(item.explain, ("items", i, "explain"))]
        return uses


KIND = KnowledgeKind()
