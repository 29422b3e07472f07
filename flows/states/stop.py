"""`stop`: an ending that stops the questions (an emergency): its advice, and a button to start again."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from flows.events import Restart
from flows.states.base import Kind, Rows, StateBase

if TYPE_CHECKING:
    from flows.session import Session
    from flows.turn import Turn
    from flows.views import Views


class StopState(StateBase):
    """A terminal message (e.g. go to an emergency department now); the questions end here."""

    type: Literal["stop"]


class StopKind(Kind[StopState]):
    """No way back into the questions; anything typed gets the advice again."""

    type = "stop"
    takes = ()
    terminal = True
    back_allowed = False

    def answer_rows(self, views: Views, session: Session, state: StopState) -> Rows:
        return ((views.button(session, "common.restart", Restart(session.step)),),)

    def typed(self, turn: Turn, state: StopState, text: str) -> bool:
        turn.show()
        return True


KIND = StopKind()
