"""`summary`: the personal summary to take to a doctor, with a button for the same as a PDF."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from flows.events import Choose
from flows.keys import KeyKind
from flows.model import Id
from flows.replies import Reply
from flows.states.base import Rows, StateProblem, Tap, TextUse, back_row
from flows.states.message import OK, ContinueKind, ContinueState

if TYPE_CHECKING:
    from flows.content import Content
    from flows.session import Session
    from flows.states.base import CheckView
    from flows.turn import Turn
    from flows.views import Views

PDF, LARGE_PDF = "pdf", "pdf_large"


class SummaryState(ContinueState):
    """The personal summary (answers, result, leaning, topics, questions to ask). With `leaning` (the question
    of where the patient leans) it shows the figures of that option and of the first of `compare_with` that is
    not it; the PDF holds all their figures, and the options table."""

    type: Literal["summary"]
    leaning: Id | None = None
    compare_with: list[Id] = Field(default_factory=list)


class SummaryKind(ContinueKind[SummaryState]):
    """The summary as a message; 'PDF' sends it as a file (and changes nothing); Continue moves on."""

    type = "summary"

    def render(self, views: Views, session: Session, state: SummaryState, edit: bool) -> Reply:
        parts = [views.text(session, state.text)]
        for heading, lines in views.summary_blocks(session, for_pdf=False):
            if heading:
                bullets = "\n".join(f"• {html.escape(line)}" for line in lines)
                parts.append(f"<b>{html.escape(heading)}</b>\n{bullets}")
            else:  # the closing disclaimer
                parts.append("<i>" + "\n".join(html.escape(line) for line in lines) + "</i>")
        rows = self.answer_rows(views, session, state) + back_row(views, session)
        return Reply(key=state.text, text="\n\n".join(parts), buttons=rows, kind="question")

    def answer_rows(self, views: Views, session: Session, state: SummaryState) -> Rows:
        step = session.step
        return (
            (views.button(session, "summary.pdf_button", Choose(step, PDF)),),
            (views.button(session, "summary.large_pdf_button", Choose(step, LARGE_PDF)),),
            (views.button(session, state.button, Choose(step, OK)),),
        )

    def pictures(self, content: Content, session: Session, state: SummaryState) -> list[str]:
        """Besides its own: the first figure of the option the patient leans towards, and of its comparator."""
        return [*state.figures, *(figures[0] for figures in leaning_figures(content, session, state) if figures)]

    def check(self, state: SummaryState, content: CheckView) -> list[StateProblem]:
        problems = []
        if state.leaning is not None and content.shape_of(state.leaning) != "choice":
            hint = "name one of: " + ", ".join(content.ids_with_shape("choice"))
            problems.append(StateProblem(("leaning",), f"'{state.leaning}' is not a kept single-choice question", hint))
        for i, option in enumerate(state.compare_with):
            if option not in content.decision_option_ids():
                hint = "options: " + ", ".join(content.decision_option_ids())
                problems.append(
                    StateProblem(("compare_with", i), f"'{option}' is not an option of decision.yaml", hint)
                )
        return problems

    def tap(self, turn: Turn, state: SummaryState, event: Tap) -> None:
        if isinstance(event, Choose) and event.option in (PDF, LARGE_PDF):
            turn.reply(turn.views.summary_document(turn.session, large_print=event.option == LARGE_PDF))
        else:
            super().tap(turn, state, event)

    def text_uses(self, state: SummaryState) -> list[TextUse]:
        labels = ("summary.pdf_button", "summary.large_pdf_button")
        return [*super().text_uses(state), *(TextUse(key, ("type",), KeyKind.LABEL) for key in labels)]


KIND = SummaryKind()


def leaning_figures(content: Content, session: Session, state: SummaryState) -> list[list[str]]:
    """The figures of the option the patient leans towards, then of the first of `compare_with` that is not it."""
    leaning = session.answers.get(state.leaning or "")
    comparator = next((o for o in state.compare_with if o != leaning), None)
    by_id = {option.id: option for option in content.options}
    chosen = [by_id[o] for o in (leaning, comparator) if isinstance(o, str) and o in by_id]
    return [list(option.figures) for option in chosen]
