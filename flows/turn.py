"""One event applied to one session: the `Step` it produces, and the `Turn` that state kinds act through."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from flows.actions import ACTIONS
from flows.conditions import AnswerValue
from flows.handoff import HandoffRequest
from flows.replies import Reply
from flows.session import Session
from flows.stages import Stage

if TYPE_CHECKING:
    from flows.engine import Engine


class Reason(StrEnum):
    """Why an event changed nothing. The patient sees the same friendly notice for each; the adapter logs
    the ones that point to a content bug."""

    STALE = "stale"  # a button of an older step (or a double tap)
    FORGED = "forged"  # button data this bot never made
    UNKNOWN_OPTION = "unknown_option"  # an option the current state does not have
    NOT_HERE = "not_here"  # a kind of tap the current state does not take
    NO_TRANSITION = "no_transition"  # the flow has no way out for these answers: a content bug

    @property
    def content_bug(self) -> bool:
        """True when only a mistake in the content can cause this."""
        return self is Reason.NO_TRANSITION


@dataclass(frozen=True)
class Rejected:
    """An event that was answered but changed nothing, and why."""

    reason: Reason
    state: str


@dataclass
class Step:
    """The outcome of one event: the session after it, what to send, and stages reached (for analytics)."""

    session: Session
    replies: list[Reply] = field(default_factory=list)
    stages: list[Stage] = field(default_factory=list)
    changed: bool = False  # the event was accepted and the step counter went up
    handoff: HandoffRequest | None = None  # the patient consented to send their summary to a clinic
    rejected: Rejected | None = None


class Turn:
    """The engine's tools for a state kind handling one event: advance, record, reject, show."""

    def __init__(self, engine: Engine, session: Session) -> None:
        self.engine = engine
        self.original = session  # the engine's input, never changed: a rejected event leaves it as it was
        self.step = Step(session.copy_for_step())
        self.views = engine.views
        self.content = engine.content

    @property
    def session(self) -> Session:
        """The session being changed (a copy of the one given to the engine)."""
        return self.step.session

    def text(self, key: str) -> str:
        """A text in the session's language."""
        return self.views.text(self.session, key)

    def show(self, edit: bool = False) -> None:
        """Send the current state (in place of the tapped message, with `edit`)."""
        self.step.replies.append(self.views.current(self.session, edit=edit))

    def notice(self, key: str) -> None:
        """A short notice (a pop-up when it answers a tap)."""
        self.step.replies.append(self.views.notice(self.session, key))

    def reply(self, reply: Reply) -> None:
        """Send any reply."""
        self.step.replies.append(reply)

    def reject(self, reason: Reason) -> None:
        """Change nothing (whatever was done so far is undone): say the button is out of date and show the
        current question again."""
        self.step = Step(self.original.copy_for_step(), rejected=Rejected(reason, self.original.state))
        if reason.content_bug:  # counted (without the chat), so maintainers see it in the statistics
            self.mark(Stage.CONTENT_BUG)
        self.notice("notice.stale")
        self.show()

    def reject_unknown(self) -> None:
        """A tap on an option (or a kind of button) the current state does not have."""
        self.reject(Reason.UNKNOWN_OPTION)

    def record(self, question: str, value: AnswerValue) -> None:
        """Keep an answer; only with consent (without it, nothing the patient says about health is kept)."""
        if self.session.consent is True:
            self.session.answers[question] = value

    def bump(self) -> None:
        """The event was accepted: older buttons are now out of date."""
        self.session.step += 1
        self.step.changed = True

    def mark(self, stage: Stage | None) -> None:
        """Note a stage reached, for the funnel."""
        if stage is not None:
            self.step.stages.append(stage)

    def act(self, action: str | None) -> None:
        """Run a named action from the content (e.g. grant consent)."""
        if action is not None:
            self.mark(ACTIONS[action].run(self.session))

    def advance(self, option: str | None = None, one_way: bool = False) -> None:
        """Leave the current state by the exit for `option` (None: the plain `next`) and show the next one;
        `one_way`: Back cannot return to where the patient was (e.g. a hand-off, once requested)."""
        self.engine.advance(self, option, one_way)
