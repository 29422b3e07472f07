"""`summary`: the personal summary to take to a doctor, with a button for the same as a PDF."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Literal

from flows.events import Choose
from flows.keys import KeyKind
from flows.replies import Reply
from flows.states.base import Rows, Tap, TextUse, back_row
from flows.states.message import OK, ContinueKind, ContinueState

if TYPE_CHECKING:
    from flows.session import Session
    from flows.turn import Turn
    from flows.views import Views

PDF = "pdf"


class SummaryState(ContinueState):
    """The personal summary (answers, result, leaning, topics, questions to ask)."""

    type: Literal["summary"]


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
            (views.button(session, state.button, Choose(step, OK)),),
        )

    def tap(self, turn: Turn, state: SummaryState, event: Tap) -> None:
        if isinstance(event, Choose) and event.option == PDF:
            turn.reply(turn.views.summary_document(turn.session))
        else:
            super().tap(turn, state, event)

    def text_uses(self, state: SummaryState) -> list[TextUse]:
        return [*super().text_uses(state), TextUse("summary.pdf_button", ("type",), KeyKind.LABEL)]


KIND = SummaryKind()
