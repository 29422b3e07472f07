"""The engine: `step(session, event)` returns the new session, the replies and the stages reached.

Pure and deterministic: no clock, no randomness, no I/O. The same session and event always give the
same result, and the given session is never changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flows.actions import ACTIONS
from flows.conditions import AnswerValue
from flows.content import Content
from flows.events import (
    Back,
    Choose,
    Done,
    Event,
    Restart,
    Resume,
    SharedContact,
    ShowInfo,
    ShowMenu,
    ShowSection,
    Start,
    Toggle,
    Typed,
    Unreadable,
)
from flows.handoff import HandoffRequest, eligible_clinics
from flows.machine import FlowMachine
from flows.matching import SectionMatcher
from flows.model import (
    ClinicChoiceState,
    HandoffConsentState,
    MessageState,
    MultiState,
    ResultState,
    ScaleState,
    SingleState,
    State,
    StopState,
    SummaryState,
    TextState,
)
from flows.replies import Reply
from flows.session import Session
from flows.views import Views


@dataclass
class Step:
    """The outcome of one event: the session after it, what to send, and stages reached (for analytics)."""

    session: Session
    replies: list[Reply] = field(default_factory=list)
    stages: list[str] = field(default_factory=list)
    changed: bool = False  # the event was accepted and the step counter went up
    handoff: HandoffRequest | None = None  # the patient consented to send their summary to a clinic


class Engine:
    """Runs the flow in `content` for any number of sessions; built once, shared by all chats."""

    def __init__(self, content: Content) -> None:
        self.content = content
        self.machine = FlowMachine(content.flow)
        self.views = Views(content)
        self.matcher = SectionMatcher(content)

    def new_session(self, language: str | None = None, clinic: str | None = None) -> Session:
        """A session at the start of the flow, in the best language for a Telegram language code."""
        return Session(
            state=self.content.flow.start,
            language=self.content.texts.language_for(language),
            clinic=clinic,
            content_version=self.content.version,
        )

    def step(self, session: Session, event: Event) -> Step:
        """Apply `event` to a copy of `session`."""
        result = Step(session.copy_for_step())
        if result.session.state not in self.content.states:
            self._content_changed(result)
        elif isinstance(event, Choose | Toggle | Done) or (
            isinstance(event, Back | Restart) and event.step is not None
        ):
            if event.step != result.session.step:
                self._stale(result)
            else:
                self._tap(result, event)
        else:
            self._command(result, event)
        return result

    # --- events -------------------------------------------------------------------------------------

    def _tap(self, result: Step, event: Choose | Toggle | Done | Back | Restart) -> None:
        session = result.session
        state = self.content.states[session.state]
        if isinstance(event, Back):
            self._back(result)
        elif isinstance(event, Restart):
            self._restart(result)
        elif isinstance(event, Toggle) and isinstance(state, MultiState):
            self._toggle(result, state, event.option)
        elif isinstance(event, Done) and isinstance(state, MultiState):
            self._done(result, state)
        elif isinstance(event, Choose):
            self._choose(result, state, event.option)
        else:
            self._stale(result)

    def _command(self, result: Step, event: Event) -> None:
        session = result.session
        views = self.views
        if isinstance(event, Start):
            fresh = session.state == self.content.flow.start and not session.history
            if fresh and session.clinic is None and event.payload in self.content.clinic_by_code:
                session.clinic = event.payload  # the first referral counts; a later link changes nothing
            if fresh:
                result.replies += [*self._disclosure(session), views.current(session)]
            else:
                result.replies += [views.notice(session, "notice.welcome_back"), views.current(session)]
        elif isinstance(event, Back):
            self._back(result)
        elif isinstance(event, Restart):
            self._restart(result)
        elif isinstance(event, Typed):
            self._typed(result, event.text)
        elif isinstance(event, ShowMenu):
            result.replies.append(views.menu(session))
        elif isinstance(event, ShowSection) and event.section in self.content.section_by_id:
            result.replies.append(views.section(session, event.section))
        elif isinstance(event, ShowInfo):
            result.replies += [views.info(session, f"info.{event.topic}"), views.current(session)]
        elif isinstance(event, Resume):
            result.replies.append(views.current(session))
        elif isinstance(event, SharedContact):
            self._shared_contact(result, event.phone)
        else:
            assert isinstance(event, ShowSection | Unreadable), event
            self._stale(result)

    def _choose(self, result: Step, state: State, option: str) -> None:
        session = result.session
        if isinstance(state, MessageState | ResultState | SummaryState) and option == "ok":
            self._advance(result, None)
        elif isinstance(state, SummaryState) and option == "pdf":
            result.replies.append(self.views.summary_document(session))
        elif isinstance(state, SingleState) and option in {o.id for o in state.options}:
            chosen = next(o for o in state.options if o.id == option)
            if chosen.action:
                self._mark(result, ACTIONS[chosen.action](session))
            if state.short is not None:
                self._record(session, state.id, option)
            self._advance(result, option)
        elif isinstance(state, ScaleState) and option.isdigit() and state.low <= int(option) <= state.high:
            self._record(session, state.id, int(option))
            self._advance(result, None)
        elif isinstance(state, TextState) and option == "skip":
            session.answers.pop(state.id, None)
            self._advance(result, None)
        elif isinstance(state, ClinicChoiceState):
            self._choose_clinic(result, option)
        elif isinstance(state, HandoffConsentState):
            self._handoff_choice(result, option)
        else:
            self._stale(result)

    def _choose_clinic(self, result: Step, option: str) -> None:
        session = result.session
        clinics = eligible_clinics(self.content, session)
        index = int(option[1:]) if option[:1] == "k" and option[1:].isdigit() else -1
        if option == "none":
            session.handoff_clinic = None
            self._advance(result, None)
        elif 0 <= index < len(clinics):
            session.handoff_clinic = clinics[index].code
            self._advance(result, "chosen")
        else:
            self._stale(result)

    def _handoff_choice(self, result: Step, option: str) -> None:
        session = result.session
        if option == "username" and session.has_username:
            self._request_handoff(result, None)
        elif option == "phone":
            session.awaiting_contact = True
            self._bump(result)
            result.replies.append(self.views.current(session))
        elif option == "cancel":
            session.handoff_clinic = None
            self._advance(result, None)
        else:
            self._stale(result)

    def _shared_contact(self, result: Step, phone: str) -> None:
        session = result.session
        state = self.content.states[session.state]
        if isinstance(state, HandoffConsentState) and session.awaiting_contact and phone.strip():
            self._request_handoff(result, phone.strip())
        else:  # a phone number nobody asked for is not kept
            result.replies += [self.views.notice(session, "notice.use_buttons"), self.views.current(session)]

    def _request_handoff(self, result: Step, phone: str | None) -> None:
        session = result.session
        if session.handoff_clinic not in self.content.clinic_by_code:
            self._stale(result)
            return
        result.handoff = HandoffRequest(
            clinic=session.handoff_clinic or "",
            contact="phone" if phone else "username",
            phone=phone,
            summary=self.views.summary_as_document(session),
        )
        session.awaiting_contact = False
        self._advance(result, "sent")

    def _toggle(self, result: Step, state: MultiState, option_id: str) -> None:
        session = result.session
        options = {o.id: o for o in state.options}
        if option_id not in options:
            self._stale(result)
            return
        if option_id in session.draft:
            session.draft.remove(option_id)
        elif options[option_id].exclusive:
            session.draft = [option_id]
        else:
            session.draft = [d for d in session.draft if not options[d].exclusive] + [option_id]
        self._bump(result)
        result.replies.append(self.views.current(session, edit=True))

    def _done(self, result: Step, state: MultiState) -> None:
        session = result.session
        if not session.draft:
            result.replies += [self.views.notice(session, "notice.pick_one"), self.views.current(session)]
            return
        chosen = [o.id for o in state.options if o.id in session.draft]
        self._record(session, state.id, chosen)
        self._advance(result, None)

    def _typed(self, result: Step, text: str) -> None:
        session = result.session
        state = self.content.states[session.state]
        if isinstance(state, StopState):  # e.g. urgent care: the advice is repeated, nothing else offered
            result.replies.append(self.views.current(session))
        elif isinstance(state, HandoffConsentState) and session.awaiting_contact:
            if text.strip() == self.views.text(session, "handoff.cancel"):
                session.awaiting_contact = False
                self._handoff_choice(result, "cancel")
            else:  # typed numbers are not taken: only Telegram's button proves the number is theirs
                result.replies.append(self.views.current(session))
        elif not isinstance(state, TextState):
            found = self.matcher.match(session.language, text)
            if found:  # a question about a topic: offer the topics; the current question stays where it is
                result.replies.append(self.views.topics(session, found))
            else:
                result.replies += [self.views.notice(session, "notice.use_buttons"), self.views.current(session)]
        elif not text.strip() or len(text.strip()) > state.max_length:
            result.replies += [
                self.views.notice(session, "notice.text_too_long"),
                self.views.current(session),
            ]
        else:
            self._record(session, state.id, text.strip())
            self._advance(result, None)

    def _back(self, result: Step) -> None:
        session = result.session
        if isinstance(self.content.states[session.state], StopState):  # the intake stopped: no way back in
            result.replies.append(self.views.current(session))
            return
        if not session.history:
            result.replies += [
                self.views.notice(session, "notice.first_question"),
                self.views.current(session),
            ]
            return
        left = session.state
        session.state = session.history.pop()
        if session.state not in self.content.states:  # the content changed since the patient was there
            self._content_changed(result)
            return
        session.answers.pop(left, None)  # off the path now: a different answer may lead elsewhere
        previous = session.answers.get(session.state)
        session.draft = list(previous) if isinstance(previous, list) else []
        self._bump(result)
        result.replies.append(self.views.current(session))

    def _restart(self, result: Step) -> None:
        old = result.session
        fresh = self.new_session(old.language, old.clinic)
        fresh.step = old.step
        fresh.has_username = old.has_username
        result.session = fresh
        self._bump(result)
        result.replies += [*self._disclosure(fresh), self.views.current(fresh)]

    def _stale(self, result: Step) -> None:
        session = result.session
        result.replies += [self.views.notice(session, "notice.stale"), self.views.current(session)]

    def _content_changed(self, result: Step) -> None:
        self._restart(result)
        result.replies.insert(0, self.views.notice(result.session, "notice.content_changed"))

    # --- helpers ------------------------------------------------------------------------------------

    def _advance(self, result: Step, option: str | None) -> None:
        session = result.session
        target = self.machine.advance(session.state, session.answers, option)
        if target is None:  # the validator rules this out; never leave the patient without a reply
            self._stale(result)
            return
        session.history.append(session.state)
        entered = self.content.states[target]
        while isinstance(entered, ClinicChoiceState) and not eligible_clinics(self.content, session):
            skip_to = self.machine.advance(target, session.answers, None)  # no clinic to offer: skip it
            if skip_to is None:
                break
            target, entered = skip_to, self.content.states[skip_to]
        session.state = target
        session.draft = []
        self._bump(result)
        self._mark(result, entered.stage)
        if entered.action:
            self._mark(result, ACTIONS[entered.action](session))
        result.replies.append(self.views.current(session))

    def _disclosure(self, session: Session) -> list[Reply]:
        disclosure = self.views.disclosure(session)
        return [disclosure] if disclosure is not None else []

    def _record(self, session: Session, question: str, value: AnswerValue) -> None:
        if session.consent is True:
            session.answers[question] = value

    def _bump(self, result: Step) -> None:
        result.session.step += 1
        result.changed = True

    def _mark(self, result: Step, stage: str | None) -> None:
        if stage:
            result.stages.append(stage)
