"""Hand-off to a clinic: which clinics may be offered, and the request the adapter delivers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from flows.candidacy import evaluate
from flows.model import Clinic
from flows.replies import Document
from flows.session import Session

if TYPE_CHECKING:
    from flows.content import Content

REGIONS_BY_ANSWER = {"low_back": {"low_back"}, "neck": {"neck"}, "both": {"low_back", "neck"}}


@dataclass(frozen=True)
class HandoffRequest:
    """The patient consented to send their summary to `clinic`, reachable by username or `phone`."""

    clinic: str
    contact: Literal["username", "phone"]
    phone: str | None
    summary: Document


def eligible_clinics(content: Content, session: Session) -> list[Clinic]:
    """Clinics that may be offered to this patient: none when their result says a hand-off may not follow it
    (e.g. see a doctor first); else the referring clinic, or those treating their region in their language;
    only clinics with a chat for hand-offs."""
    if not evaluate(content.candidacy, session.answers).outcome.handoff:
        return []
    reachable = [c for c in content.clinics if c.handoff_chat_id is not None]
    referrer = content.clinic_by_code.get(session.clinic or "")
    if referrer is not None:
        return [referrer] if referrer in reachable else []
    region = session.answers.get("region")
    wanted = REGIONS_BY_ANSWER.get(region if isinstance(region, str) else "", {"low_back", "neck"})
    return [c for c in reachable if session.language in c.languages and wanted & set(c.regions)]
