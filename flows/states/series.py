"""What the types that ask several items one at a time share (weighted values, knowledge check, SURE): the
items answered so far are the session's draft, as `item=answer`, so Back steps through them and a restart
of the process loses nothing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from flows.events import Back, Choose, encode
from flows.model import Id, Strict, TextKey
from flows.replies import Button
from flows.states.base import Rows
from flows.texts import fill

if TYPE_CHECKING:
    from flows.session import Session
    from flows.turn import Turn
    from flows.views import Views


class Item(Strict):
    """One item of a series: its id and its text."""

    id: Id
    label: TextKey


def answered(session: Session) -> dict[str, str]:
    """The items answered so far, in order."""
    return dict(entry.split("=", 1) for entry in session.draft if "=" in entry)


def current_index(session: Session) -> int:
    """The position of the item being asked."""
    return len(session.draft)


def heading(views: Views, session: Session, intro: str, label: str, total: int) -> str:
    """The state's text, then '(2 of 4)' and the item being asked."""
    progress = fill(views.text(session, "series.progress"), {"n": str(current_index(session) + 1), "total": str(total)})
    return f"{views.text(session, intro)}\n\n{progress}\n{views.text(session, label)}"


def answer_row(views: Views, session: Session, answers: Sequence[tuple[str, str]]) -> Rows:
    """The answer buttons in one row: (answer id, label key)."""
    return (tuple(Button(views.text(session, key), _choose(session, answer)) for answer, key in answers),)


def back_rows(views: Views, session: Session) -> Rows:
    """Back: to the previous item, or (on the first) to the previous state."""
    if not session.draft and not session.history:
        return ()
    return ((views.button(session, "common.back", Back(session.step)),),)


def answer(turn: Turn, item: Item, value: str, total: int) -> bool:
    """Note the answer to the current item; True when it was the last one."""
    turn.session.draft.append(f"{item.id}={value}")
    return len(turn.session.draft) >= total


def step_back(turn: Turn) -> bool:
    """Back within the series: forget the last answer and ask that item again."""
    if not turn.session.draft:
        return False
    turn.session.draft.pop()
    turn.bump()
    turn.show(edit=True)
    return True


def _choose(session: Session, option: str) -> str:
    return encode(Choose(session.step, option))
