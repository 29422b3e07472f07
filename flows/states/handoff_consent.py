"""`handoff_consent`: a separate consent that says exactly what is sent to which clinic, then how the clinic
may reach the patient: their Telegram username, or the phone number they share with Telegram's button."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Literal

from flows.events import Choose
from flows.handoff import HandoffRequest
from flows.keys import KeyKind
from flows.model import Id, Next
from flows.replies import Button, Reply
from flows.states.base import Exit, Kind, StateBase, Tap, TextUse, back_row
from flows.texts import fill

if TYPE_CHECKING:
    from flows.session import Session
    from flows.turn import Turn
    from flows.views import Views

SENT = "sent"
USERNAME, PHONE, CANCEL = "username", "phone", "cancel"


class HandoffConsentState(StateBase):
    """`sent`: where the flow goes once the hand-off is requested; `next`: after 'no, don't send'."""

    type: Literal["handoff_consent"]
    sent: Id
    next: Next


class HandoffConsentKind(Kind[HandoffConsentState]):
    """Username (when the patient has one), phone, or cancel; asking for the phone shows Telegram's button."""

    type = "handoff_consent"

    def render(self, views: Views, session: Session, state: HandoffConsentState, edit: bool) -> Reply:
        clinic = views.content.clinic_by_code.get(session.handoff_clinic or "")
        name = html.escape(clinic.name if clinic else "")
        if session.awaiting_contact:
            return Reply(
                key="handoff.phone_ask",
                text=fill(views.text(session, "handoff.phone_ask"), {"clinic": name}),
                kind="question",
                contact_keyboard=(
                    views.text(session, "handoff.share_phone_button"),
                    views.text(session, "handoff.cancel"),
                ),
            )
        step = session.step
        rows: list[tuple[Button, ...]] = []
        if session.has_username:
            rows.append((views.button(session, "handoff.send_username", Choose(step, USERNAME)),))
        rows.append((views.button(session, "handoff.send_phone", Choose(step, PHONE)),))
        rows.append((views.button(session, "handoff.cancel", Choose(step, CANCEL)),))
        text = fill(views.text(session, state.text), {"clinic": name})
        return Reply(key=state.text, text=text, buttons=(*rows, *back_row(views, session)), kind="question")

    def tap(self, turn: Turn, state: HandoffConsentState, event: Tap) -> None:
        option = event.option if isinstance(event, Choose) else ""
        if option == USERNAME and turn.session.has_username:
            _request(turn, None)
        elif option == PHONE:
            turn.session.awaiting_contact = True
            turn.bump()
            turn.show()
        elif option == CANCEL:
            _cancel(turn)
        else:
            turn.reject_unknown()

    def contact(self, turn: Turn, state: HandoffConsentState, phone: str) -> bool:
        if not turn.session.awaiting_contact or not phone.strip():
            return False
        _request(turn, phone.strip())
        return True

    def typed(self, turn: Turn, state: HandoffConsentState, text: str) -> bool:
        if not turn.session.awaiting_contact:
            return False
        if text.strip() == turn.text("handoff.cancel"):
            _cancel(turn)
        else:  # typed numbers are not taken: only Telegram's button proves the number is theirs
            turn.show()
        return True

    def exits(self, state: HandoffConsentState) -> list[Exit]:
        return [Exit(SENT, state.sent, ("sent",)), Exit(None, state.next, ("next",))]

    def text_uses(self, state: HandoffConsentState) -> list[TextUse]:
        labels = ("handoff.send_username", "handoff.send_phone", "handoff.cancel", "handoff.share_phone_button")
        return [*super().text_uses(state), *(TextUse(key, ("type",), KeyKind.LABEL) for key in labels)]


def _cancel(turn: Turn) -> None:
    turn.session.awaiting_contact = False
    turn.session.handoff_clinic = None
    turn.advance()


def _request(turn: Turn, phone: str | None) -> None:
    session = turn.session
    if session.handoff_clinic not in turn.content.clinic_by_code:
        turn.reject_unknown()
        return
    turn.step.handoff = HandoffRequest(
        clinic=session.handoff_clinic or "",
        contact="phone" if phone else "username",
        phone=phone,
        summary=turn.views.summary_as_document(session),
    )
    session.awaiting_contact = False
    turn.advance(SENT, one_way=True)  # sent: Back cannot lead to the consent again and send a second time


KIND = HandoffConsentKind()
