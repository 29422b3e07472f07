"""`clinic_choice`: offers a hand-off to the referring clinic, or to clinics that fit the patient. Skipped when
no clinic may be offered (none fits, or the result says a doctor should see them first): the flow then goes
`instead` (e.g. 'take your summary to your own doctor')."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Literal

from flows.events import Choose
from flows.handoff import eligible_clinics
from flows.keys import KeyKind
from flows.model import Id, Next, TextKey
from flows.replies import Button, Reply
from flows.states.base import Exit, Kind, Skip, StateBase, Tap, TextUse, back_row, choose_data
from flows.texts import fill

if TYPE_CHECKING:
    from flows.content import Content
    from flows.session import Session
    from flows.turn import Turn
    from flows.views import Views

CHOSEN = "chosen"
INSTEAD = "instead"
NONE = "none"


class ClinicChoiceState(StateBase):
    """`chosen`: where a chosen clinic leads; `next`: after 'no, thank you'; `instead`: when none is offered."""

    type: Literal["clinic_choice"]
    decline: TextKey = "handoff.no_thanks"
    chosen: Id
    instead: Id | None = None
    next: Next


class ClinicChoiceKind(Kind[ClinicChoiceState]):
    """One button per eligible clinic (by position: clinic codes are public, positions change nothing)."""

    type = "clinic_choice"

    def skip(self, content: Content, session: Session, state: ClinicChoiceState) -> Skip | None:
        if eligible_clinics(content, session):
            return None
        return Skip(INSTEAD if state.instead is not None else None)

    def render(self, views: Views, session: Session, state: ClinicChoiceState, edit: bool) -> Reply:
        clinics = eligible_clinics(views.content, session)
        rows: list[tuple[Button, ...]] = [
            (Button(clinic.name, choose_data(session, f"k{index}")),) for index, clinic in enumerate(clinics)
        ]
        rows.append((views.button(session, state.decline, Choose(session.step, NONE)),))
        names = ", ".join(html.escape(clinic.name) for clinic in clinics)
        text = fill(views.text(session, state.text), {"clinic": names})
        return Reply(key=state.text, text=text, buttons=(*rows, *back_row(views, session)), kind="question")

    def tap(self, turn: Turn, state: ClinicChoiceState, event: Tap) -> None:
        option = event.option if isinstance(event, Choose) else ""
        clinics = eligible_clinics(turn.content, turn.session)
        index = int(option[1:]) if option[:1] == "k" and option[1:].isdigit() else -1
        if option == NONE:
            turn.session.handoff_clinic = None
            turn.advance()
        elif 0 <= index < len(clinics):
            turn.session.handoff_clinic = clinics[index].code
            turn.advance(CHOSEN)
        else:
            turn.reject_unknown()

    def exits(self, state: ClinicChoiceState) -> list[Exit]:
        exits = [Exit(CHOSEN, state.chosen, ("chosen",))]
        if state.instead is not None:
            exits.append(Exit(INSTEAD, state.instead, ("instead",)))
        return [*exits, Exit(None, state.next, ("next",))]

    def text_uses(self, state: ClinicChoiceState) -> list[TextUse]:
        return [*super().text_uses(state), TextUse(state.decline, ("decline",), KeyKind.LABEL)]


KIND = ClinicChoiceKind()
