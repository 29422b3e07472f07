"""`nudge`: when where the patient leans conflicts with what they said matters a lot, say which value it
conflicts with and why, kindly. Skipped when nothing conflicts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from flows.model import Id, Strict, TextKey
from flows.replies import Reply
from flows.states.base import Skip, StateProblem, TextUse, back_row
from flows.states.message import ContinueKind, ContinueState
from flows.states.weighted import TOP

if TYPE_CHECKING:
    from flows.content import Content
    from flows.session import Session
    from flows.states.base import CheckView
    from flows.views import Views


class Conflict(Strict):
    """Leaning towards `leaning` while `value` matters a lot: `text` explains the tension."""

    leaning: Id
    value: Id
    text: TextKey


class NudgeState(ContinueState):
    """`values` is the weighted values question, `leaning` the question of where the patient leans."""

    type: Literal["nudge"]
    values: Id
    leaning: Id
    conflicts: list[Conflict]


def conflicts_for(state: NudgeState, session: Session) -> list[Conflict]:
    """The conflicts that apply to this patient's leaning and values, in content order."""
    leaning = session.answers.get(state.leaning)
    weights = session.answers.get(state.values)
    if not isinstance(weights, dict):
        return []
    return [c for c in state.conflicts if c.leaning == leaning and weights.get(c.value) == TOP]


class NudgeKind(ContinueKind[NudgeState]):
    """The applicable conflicts, then Continue."""

    type = "nudge"

    def skip(self, content: Content, session: Session, state: NudgeState) -> Skip | None:
        return None if conflicts_for(state, session) else Skip()

    def render(self, views: Views, session: Session, state: NudgeState, edit: bool) -> Reply:
        found = [c.text for c in conflicts_for(state, session)]
        parts = [views.text(session, state.text), *(views.text(session, key) for key in found)]
        rows = self.answer_rows(views, session, state) + back_row(views, session)
        return Reply(key=state.text, text="\n\n".join(parts), buttons=rows, kind="question", extra_keys=tuple(found))

    def text_uses(self, state: NudgeState) -> list[TextUse]:
        conflicts = [TextUse(c.text, ("conflicts", i, "text")) for i, c in enumerate(state.conflicts)]
        return [*super().text_uses(state), *conflicts]

    def check(self, state: NudgeState, content: CheckView) -> list[StateProblem]:
        problems = []
        if content.shape_of(state.values) != "weights":
            problems.append(
                StateProblem(
                    ("values",),
                    f"'{state.values}' is not a weighted values question",
                    "name one of: " + ", ".join(content.ids_with_shape("weights")),
                )
            )
            return problems
        if content.shape_of(state.leaning) != "choice":
            problems.append(
                StateProblem(
                    ("leaning",),
                    f"'{state.leaning}' is not a single-choice question whose answer is kept",
                    "name one of: " + ", ".join(content.ids_with_shape("choice")),
                )
            )
            return problems
        leanings = content.answer_ids(state.leaning)
        values = content.answer_ids(state.values)
        for i, conflict in enumerate(state.conflicts):
            if conflict.leaning not in leanings:
                problems.append(
                    StateProblem(
                        ("conflicts", i, "leaning"),
                        f"'{state.leaning}' has no option '{conflict.leaning}'",
                        "options: " + ", ".join(leanings),
                    )
                )
            if conflict.value not in values:
                problems.append(
                    StateProblem(
                        ("conflicts", i, "value"),
                        f"'{state.values}' has no item '{conflict.value}'",
                        "items: " + ", ".join(values),
                    )
                )
        options = content.decision_option_ids()
        offered = [leaning for leaning in leanings if leaning in options]
        if offered != options:
            problems.append(
                StateProblem(
                    ("leaning",),
                    f"'{state.leaning}' must offer every option of decision.yaml, in its order",
                    "options, in order: " + ", ".join(options),
                )
            )
        return problems


KIND = NudgeKind()
