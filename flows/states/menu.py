"""`menu`: an ending: the topics, those that fit the patient first."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from flows.replies import Reply
from flows.states.base import Kind, StateBase

if TYPE_CHECKING:
    from flows.session import Session
    from flows.views import Views


class MenuState(StateBase):
    """The menu of topics, as the end of the flow."""

    type: Literal["menu"]


class MenuKind(Kind[MenuState]):
    """Rendered by the views' menu, which also serves /menu from anywhere."""

    type = "menu"
    takes = ()
    terminal = True

    def render(self, views: Views, session: Session, state: MenuState, edit: bool) -> Reply:
        return views.menu(session)


KIND = MenuKind()
