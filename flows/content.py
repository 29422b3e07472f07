"""Loaded, validated content: the flow, topics, the decision's options, candidacy rules, sources, clinics and
texts, with lookups by id."""

from __future__ import annotations

from dataclasses import dataclass, field

from flows.flow import Flow
from flows.model import Candidacy, Clinic, Decision, DecisionOption, Figure, Group, Outcome, Section, Source
from flows.states import State
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
    groups: list[Group] = field(default_factory=list)
    decision: Decision | None = None
    sources: list[Source] = field(default_factory=list)
    states: dict[str, State] = field(init=False)
    section_by_id: dict[str, Section] = field(init=False)
    outcome_by_id: dict[str, Outcome] = field(init=False)
    clinic_by_code: dict[str, Clinic] = field(init=False)
    source_by_id: dict[str, Source] = field(init=False)
    figure_by_id: dict[str, Figure] = field(init=False)

    def __post_init__(self) -> None:
        figures = self.decision.figures if self.decision else []
        object.__setattr__(self, "states", {state.id: state for state in self.flow.states})
        object.__setattr__(self, "section_by_id", {section.id: section for section in self.sections})
        object.__setattr__(self, "outcome_by_id", {outcome.id: outcome for outcome in self.candidacy.outcomes})
        object.__setattr__(self, "clinic_by_code", {clinic.code: clinic for clinic in self.clinics})
        object.__setattr__(self, "source_by_id", {source.id: source for source in self.sources})
        object.__setattr__(self, "figure_by_id", {figure.id: figure for figure in figures})

    @property
    def options(self) -> list[DecisionOption]:
        """The decision's options, in the order every comparison shows them."""
        return self.decision.options if self.decision else []
