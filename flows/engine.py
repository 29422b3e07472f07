"""The engine: `step(session, event)` returns the new session, the replies and the stages reached.

Pure and deterministic: no clock, no randomness, no I/O. The same session and event always give the
same result, and the given session is never changed. What a state does with a tap or typed text is up
to its type's kind (flows/states/); the engine handles what is the same everywhere.
"""

from __future__ import annotations

from typing import Any

from flows.content import Content
from flows.events import (
    Back,
    CheckIn,
    Choose,
    Done,
    Event,
    Restart,
    Resume,
    SharedContact,
    ShowComparison,
    ShowInfo,
    ShowMenu,
    ShowSection,
    Start,
    Toggle,
    Typed,
    Unreadable,
)
from flows.machine import FlowMachine
from flows.matching import SectionMatcher
from flows.replies import Reply
from flows.session import Session
from flows.states import Kind, State, kind_of
from flows.turn import Reason, Step, Turn
from flows.views import Views

__all__ = ["Engine", "Step"]
SCREEN_STEP_ROUNDING = 64  # leaving the screen moves the step counter to a multiple of this (it only ever grows)


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
        turn = Turn(self, session)
        if turn.session.state not in self.content.states:
            self._content_changed(turn)
        elif isinstance(event, Unreadable):
            turn.reject(Reason.FORGED)
        elif isinstance(event, Choose | Toggle | Done) or (
            isinstance(event, Back | Restart) and event.step is not None
        ):
            if event.step != turn.session.step:
                turn.reject(Reason.STALE)
            elif isinstance(event, Back):
                self._back(turn)
            elif isinstance(event, Restart):
                self._restart(turn)
            else:
                state = self._state(turn.session)
                kind = kind_of(state)
                if isinstance(event, kind.takes):
                    kind.tap(turn, state, event)
                else:
                    turn.reject(Reason.NOT_HERE)
        else:
            self._command(turn, event)
        return turn.step

    def advance(self, turn: Turn, option: str | None, one_way: bool = False) -> None:
        """Leave the current state by the exit for `option`, skipping states that have nothing to show."""
        session = turn.session
        source = self._state(session)
        target = self.machine.advance(session.state, session.answers, option)
        while target is not None:
            entered = self.content.states[target]
            skip = kind_of(entered).skip(self.content, session, entered)
            if skip is None:
                break
            target = self.machine.advance(target, session.answers, skip.option)
        if target is None:  # the validator rules this out; never leave the patient without a reply
            turn.reject(Reason.NO_TRANSITION)
            return
        entered = self.content.states[target]
        if one_way:
            session.history = []
        elif kind_of(entered).screen or (session.consent is True and not kind_of(source).screen):
            session.history.append(session.state)
        else:  # leaving the safety screen is one way, and without consent no path is kept: nothing shows how it went
            session.history = []
        if kind_of(source).screen and not kind_of(entered).screen:  # nor does the count of steps taken in it
            session.step = (session.step // SCREEN_STEP_ROUNDING + 1) * SCREEN_STEP_ROUNDING - 1
        session.state = target
        session.draft = []
        turn.bump()
        turn.mark(entered.stage)
        turn.act(entered.action)
        turn.show()
        figures = kind_of(entered).pictures(self.content, session, entered)
        if figures:  # the state's pictures, once, as it is entered
            turn.step.replies[-1:] = self.views.pictures(session, figures, turn.step.replies[-1])

    # --- what every state handles the same way ------------------------------------------------------

    def _command(self, turn: Turn, event: Event) -> None:
        session = turn.session
        views = self.views
        if isinstance(event, Start):
            fresh = session.state == self.content.flow.start and not session.history
            if fresh and session.clinic is None and event.payload in self.content.clinic_by_code:
                session.clinic = event.payload  # the first referral counts; a later link changes nothing
            if fresh:
                turn.step.replies += [*self._disclosure(session), views.current(session)]
            else:
                turn.notice("notice.welcome_back")
                turn.show()
        elif isinstance(event, Back):
            self._back(turn)
        elif isinstance(event, Restart):
            self._restart(turn)
        elif isinstance(event, Typed):
            self._typed(turn, event.text)
        elif isinstance(event, ShowMenu):
            turn.reply(views.menu(session, event.group))
        elif isinstance(event, ShowComparison):
            tables = [f.id for f in self.content.figure_by_id.values() if f.kind == "table"]
            turn.step.replies += views.pictures(session, tables, views.comparison_reply(session))
        elif isinstance(event, ShowSection) and event.section in self.content.section_by_id:
            figures = self.content.section_by_id[event.section].figures
            turn.step.replies += views.pictures(session, figures, views.section(session, event.section))
        elif isinstance(event, ShowInfo):
            turn.reply(views.info(session, f"info.{event.topic}"))
            turn.show()
        elif isinstance(event, Resume):
            turn.show()
        elif isinstance(event, CheckIn):
            self._check_in(turn, event.number)
        elif isinstance(event, SharedContact):
            state = self._state(session)
            if not kind_of(state).contact(turn, state, event.phone):  # a number nobody asked for is not kept
                turn.notice("notice.use_buttons")
                turn.show()
        else:
            assert isinstance(event, ShowSection), event
            turn.reject(Reason.UNKNOWN_OPTION)

    def _check_in(self, turn: Turn, number: int) -> None:
        """A follow-up check-in becomes the current step (older keyboards go stale); only for a patient who
        agreed to them. Otherwise nothing happens and nothing is sent."""
        session = turn.session
        starts = self.content.flow.follow_ups
        if session.consent is not True or not session.follow_ups or not 0 <= number < len(starts):
            return
        session.history = []
        session.state = starts[number]
        session.draft = []
        session.awaiting_contact = False
        turn.bump()
        turn.show()

    def _typed(self, turn: Turn, text: str) -> None:
        state = self._state(turn.session)
        if kind_of(state).typed(turn, state, text):
            return
        found = self.matcher.match(turn.session.language, text)
        if found:  # a question about a topic: offer the topics; the current question stays where it is
            turn.reply(self.views.topics(turn.session, found))
        else:
            turn.notice("notice.use_buttons")
            turn.show()

    def _back(self, turn: Turn) -> None:
        session = turn.session
        state = self._state(session)
        kind = kind_of(state)
        if not kind.back_allowed:  # e.g. an emergency stop: the advice is repeated, there is no way back in
            turn.show()
            return
        if kind.back(turn, state):
            return
        if not session.history:
            first = session.state == self.content.flow.start
            turn.notice("notice.first_question" if first else "notice.no_way_back")
            turn.show()
            return
        left = session.state
        session.awaiting_contact = False  # a question left by Back is asked afresh when met again
        session.state = session.history.pop()
        if session.state not in self.content.states:  # the content changed since the patient was there
            self._content_changed(turn)
            return
        session.answers.pop(left, None)  # off the path now: a different answer may lead elsewhere
        returned = self._state(session)
        session.draft = kind_of(returned).restore(returned, session.answers.get(returned.id))
        turn.bump()
        turn.show()

    def _restart(self, turn: Turn) -> None:
        old = turn.session
        fresh = self.new_session(old.language, old.clinic)
        fresh.step = old.step
        fresh.has_username = old.has_username
        turn.step.session = fresh
        turn.bump()
        turn.step.replies += [*self._disclosure(fresh), self.views.current(fresh)]

    def _content_changed(self, turn: Turn) -> None:
        self._restart(turn)
        turn.step.replies.insert(0, self.views.notice(turn.session, "notice.content_changed"))

    def _disclosure(self, session: Session) -> list[Reply]:
        disclosure = self.views.disclosure(session)
        return [disclosure] if disclosure is not None else []

    def _state(self, session: Session) -> State:
        return self.content.states[session.state]

    def kind(self, state: State) -> Kind[Any]:
        """The kind of a state (for adapters that need to know, e.g. whether it is an ending)."""
        return kind_of(state)
