"""`comparison`: every option of the decision in one message, in the same order and the same terms (what it is,
what it may do, its risks, time and cost, outcome figures), with notes for the patients they concern."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from flows.model import Condition, Strict, TextKey
from flows.replies import Reply
from flows.states.base import Location, TextUse, back_row
from flows.states.message import ContinueKind, ContinueState

if TYPE_CHECKING:
    from flows.session import Session
    from flows.views import Views


class Note(Strict):
    """A note shown under the comparison `when` it holds (e.g. 'these numbers are from the low back')."""

    when: Condition
    text: TextKey


class ComparisonState(ContinueState):
    """The options side by side, then Continue."""

    type: Literal["comparison"]
    notes: list[Note] = Field(default_factory=list)


class ComparisonKind(ContinueKind[ComparisonState]):
    """The comparison is built from content/decision.yaml by the views; notes follow it."""

    type = "comparison"

    def render(self, views: Views, session: Session, state: ComparisonState, edit: bool) -> Reply:
        notes = [note.text for note in state.notes if views.holds(note.when, session)]
        parts = [views.text(session, state.text), views.comparison(session), *(views.text(session, k) for k in notes)]
        rows = self.answer_rows(views, session, state) + back_row(views, session)
        return Reply(key=state.text, text="\n\n".join(parts), buttons=rows, kind="question", extra_keys=tuple(notes))

    def text_uses(self, state: ComparisonState) -> list[TextUse]:
        notes = [TextUse(note.text, ("notes", i, "text")) for i, note in enumerate(state.notes)]
        return [*super().text_uses(state), *notes]

    def conditions(self, state: ComparisonState) -> list[tuple[Condition, Location]]:
        return [(note.when, ("notes", i, "when")) for i, note in enumerate(state.notes)]


KIND = ComparisonKind()
