"""`result`: runs the candidacy rules and shows the outcome, the answers behind it, and who is behind this
guide."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from flows.replies import Reply
from flows.states.base import back_row
from flows.states.message import ContinueKind, ContinueState

if TYPE_CHECKING:
    from flows.session import Session
    from flows.views import Views


class ResultState(ContinueState):
    """Evaluates the candidacy rules and shows the result with the answers behind it."""

    type: Literal["result"]


class ResultKind(ContinueKind[ResultState]):
    """The result message; Continue moves on."""

    type = "result"

    def render(self, views: Views, session: Session, state: ResultState, edit: bool) -> Reply:
        result = views.result(session)
        outcome = result.outcome
        parts = [
            views.text(session, state.text),
            f"<b>{views.text(session, outcome.title)}</b>\n{views.text(session, outcome.body)}",
        ]
        if result.findings:
            lines = [views.text(session, "result.why")]
            for finding in result.findings:
                line = f"• {views.text(session, finding.rule.reason)}"
                answers = views.answers_behind(session, finding)
                if answers:
                    line += f"\n  <i>{views.text(session, 'result.based_on')} {answers}</i>"
                lines.append(line)
            parts.append("\n".join(lines))
        else:
            parts.append(views.text(session, "result.no_rules"))
        parts += [views.text(session, "result.disclaimer"), views.who_is_behind(session)]
        rows = self.answer_rows(views, session, state) + back_row(views, session)
        keys = (outcome.title, outcome.body, *(f.rule.reason for f in result.findings))
        return Reply(key=state.text, text="\n\n".join(parts), buttons=rows, kind="question", extra_keys=keys)


KIND = ResultKind()
