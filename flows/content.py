"""Loaded, validated content: the flow, sections, candidacy rules and texts, with lookups by id."""

from __future__ import annotations

from dataclasses import dataclass, field

from flows.model import Candidacy, Clinic, Flow, Outcome, Section, State
from flows.texts import Texts


@dataclass(frozen=True)
class Content:
    """Everything the engine needs from `content/`, plus the version it was loaded at."""

    flow: Flow
    sections: list[Section]
    candidacy: Candidacy
    texts: Texts
    version: str
    clinics: list[Clinic] = field(default_factory=list)
    states: dict[str, State] = field(init=False)
    section_by_id: dict[str, Section] = field(init=False)
    outcome_by_id: dict[str, Outcome] = field(init=False)
    clinic_by_code: dict[str, Clinic] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "states", {state.id: state for state in self.flow.states})
        object.__setattr__(self, "section_by_id", {section.id: section for section in self.sections})
        object.__setattr__(self, "outcome_by_id", {outcome.id: outcome for outcome in self.candidacy.outcomes})
        object.__setattr__(self, "clinic_by_code", {clinic.code: clinic for clinic in self.clinics})
