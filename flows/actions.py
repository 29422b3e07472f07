"""Named actions that content may attach to an option; each returns the stage it marks, if any."""

from __future__ import annotations

from collections.abc import Callable

from flows.session import Session


def grant_consent(session: Session) -> str | None:
    """The patient agreed to have their health answers stored."""
    session.consent = True
    return "consented"


def decline_consent(session: Session) -> str | None:
    """The patient declined: information-only mode, and any stored answers are dropped."""
    session.consent = False
    session.answers.clear()
    return None


ACTIONS: dict[str, Callable[[Session], str | None]] = {
    "grant_consent": grant_consent,
    "decline_consent": decline_consent,
}
