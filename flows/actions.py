"""Named actions that content may attach to an option or a state; each may mark a stage and keep answers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from flows.session import Session
from flows.stages import Stage

SAFETY = "safety"  # the answer an urgent-tier patient's consent keeps
URGENT = "urgent"


@dataclass(frozen=True)
class Action:
    """What an action does to the session; `keeps` names the answers it writes and their possible values, so
    conditions in content may test them."""

    run: Callable[[Session], Stage | None]
    keeps: dict[str, tuple[str, ...]] = field(default_factory=dict)


def grant_consent(session: Session) -> Stage | None:
    """The patient agreed to have their health answers stored."""
    session.consent = True
    return Stage.CONSENTED


def grant_consent_after_urgent(session: Session) -> Stage | None:
    """Consent from a patient the safety questions sent to a doctor first: that advice is kept with it, so their
    result says so and no clinic is offered. (Before consent it is kept nowhere but in where they are.)"""
    session.consent = True
    session.answers[SAFETY] = URGENT
    return Stage.CONSENTED


def decline_consent(session: Session) -> Stage | None:
    """The patient declined: information-only mode, and any stored answers are dropped."""
    session.consent = False
    session.answers.clear()
    return None


def opt_in_follow_ups(session: Session) -> Stage | None:
    """The patient agreed, separately, to be written to later for the check-ins."""
    session.follow_ups = True
    return Stage.OPTED_IN


def decline_follow_ups(session: Session) -> Stage | None:
    """No check-ins (the default), or no more of them (after an emergency at a check-in)."""
    session.follow_ups = False
    return None


ACTIONS: dict[str, Action] = {
    "grant_consent": Action(grant_consent),
    "grant_consent_after_urgent": Action(grant_consent_after_urgent, keeps={SAFETY: (URGENT,)}),
    "decline_consent": Action(decline_consent),
    "opt_in_follow_ups": Action(opt_in_follow_ups),
    "decline_follow_ups": Action(decline_follow_ups),
}
