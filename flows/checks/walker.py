"""One walk over every reference in the content files, with where each is written. The rule families in this
package check what the walk found; none of them walks the files again."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from flows.flow import Flow
from flows.keys import KeyKind
from flows.model import Candidacy, Clinics, Condition, Decision, Sections, Sources
from flows.states import kind_of
from flows.states.base import Location
from flows.yamlsource import YamlDocument


@dataclass(frozen=True)
class Place:
    """Where something is written: a file and a line."""

    path: Path
    line: int


@dataclass(frozen=True)
class Files:
    """The parsed content files, with their YAML documents (for lines)."""

    flow: Flow
    sections: Sections
    candidacy: Candidacy
    clinics: Clinics
    decision: Decision
    sources: Sources
    documents: dict[str, YamlDocument]

    def place(self, name: str, *location: str | int) -> Place:
        """The file and line of `location` in the file `name`."""
        document = self.documents[name]
        return Place(document.path, document.line_of(location))


@dataclass(frozen=True)
class TextRef:
    """A text key used in content."""

    key: str
    kind: KeyKind
    place: Place


@dataclass(frozen=True)
class ConditionRef:
    """A condition written in content: in which file, and where in it."""

    condition: Condition
    file: str
    location: Location

    def place(self, files: Files, *below: str | int) -> Place:
        """Where a part of the condition (e.g. its `answer`) is written."""
        return files.place(self.file, *self.location, *below)


@dataclass
class References:
    """Everything content refers to, by kind of thing referred to."""

    texts: list[TextRef] = field(default_factory=list)
    states: list[tuple[str, str, Place]] = field(default_factory=list)  # (from state, to state, where)
    conditions: list[ConditionRef] = field(default_factory=list)
    actions: list[tuple[str, Place]] = field(default_factory=list)
    sources: list[tuple[str, Place]] = field(default_factory=list)
    figures: list[tuple[str, Place]] = field(default_factory=list)
    sections: list[tuple[str, Place]] = field(default_factory=list)
    groups: list[tuple[str, Place]] = field(default_factory=list)
    options: list[tuple[str, Place]] = field(default_factory=list)  # decision options
    outcomes: list[tuple[str, Place]] = field(default_factory=list)
    examples: list[tuple[str, Place]] = field(default_factory=list)


def walk(files: Files) -> References:
    """Every reference in the content files."""
    refs = References()
    _flow(files, refs)
    _sections(files, refs)
    _decision(files, refs)
    _candidacy(files, refs)
    for i, clinic in enumerate(files.clinics.clinics):
        refs.texts.append(
            TextRef(clinic.relationship, KeyKind.MESSAGE, files.place("clinics.yaml", "clinics", i, "relationship"))
        )
    return refs


def _condition(refs: References, files: Files, name: str, condition: Condition, location: Location) -> None:
    refs.conditions.append(ConditionRef(condition, name, location))


def _flow(files: Files, refs: References) -> None:
    for i, state in enumerate(files.flow.states):
        kind = kind_of(state)
        here: Location = ("states", i)
        for use in kind.text_uses(state):
            refs.texts.append(TextRef(use.key, use.kind, files.place("flow.yaml", *here, *use.location)))
        for exit_ in kind.exits(state):
            next_ = exit_.next
            if isinstance(next_, str):
                refs.states.append((state.id, next_, files.place("flow.yaml", *here, *exit_.location)))
            elif isinstance(next_, list):
                for k, branch in enumerate(next_):
                    refs.states.append((state.id, branch.to, files.place("flow.yaml", *here, *exit_.location, k, "to")))
        for condition, location in kind.conditions(state):
            _condition(refs, files, "flow.yaml", condition, (*here, *location))
        if state.action is not None:
            refs.actions.append((state.action, files.place("flow.yaml", *here, "action")))
        for j, figure_id in enumerate(state.figures):
            refs.figures.append((figure_id, files.place("flow.yaml", *here, "figures", j)))
        for j, option in enumerate(getattr(state, "options", [])):
            if option.action is not None:
                refs.actions.append((option.action, files.place("flow.yaml", *here, "options", j, "action")))


def _sections(files: Files, refs: References) -> None:
    for i, group in enumerate(files.sections.groups):
        refs.texts.append(TextRef(group.title, KeyKind.LABEL, files.place("sections.yaml", "groups", i, "title")))
    for i, section in enumerate(files.sections.sections):
        here: Location = ("sections", i)
        refs.texts.append(TextRef(section.title, KeyKind.LABEL, files.place("sections.yaml", *here, "title")))
        refs.texts.append(TextRef(section.body, KeyKind.MESSAGE, files.place("sections.yaml", *here, "body")))
        if section.keywords is not None:
            refs.texts.append(
                TextRef(section.keywords, KeyKind.MESSAGE, files.place("sections.yaml", *here, "keywords"))
            )
        refs.groups.append((section.group, files.place("sections.yaml", *here, "group")))
        if section.option is not None:
            refs.options.append((section.option, files.place("sections.yaml", *here, "option")))
        for j, source in enumerate(section.sources):
            refs.sources.append((source, files.place("sections.yaml", *here, "sources", j)))
        if section.match is not None:
            _condition(refs, files, "sections.yaml", section.match, (*here, "match"))
        for j, figure_id in enumerate(section.figures):
            refs.figures.append((figure_id, files.place("sections.yaml", *here, "figures", j)))


def _decision(files: Files, refs: References) -> None:
    for i, option in enumerate(files.decision.options):
        here: Location = ("options", i)
        refs.texts.append(TextRef(option.name, KeyKind.MESSAGE, files.place("decision.yaml", *here, "name")))
        for name in ("what", "may", "risks", "time_cost", "figures_line"):
            refs.texts.append(
                TextRef(getattr(option, name), KeyKind.MESSAGE, files.place("decision.yaml", *here, name))
            )
        for j, figure_id in enumerate(option.figures):
            refs.figures.append((figure_id, files.place("decision.yaml", *here, "figures", j)))
        if option.section is not None:
            refs.sections.append((option.section, files.place("decision.yaml", *here, "section")))
    for i, figure in enumerate(files.decision.figures):
        here = ("figures", i)
        if figure.source is not None:
            refs.sources.append((figure.source, files.place("decision.yaml", *here, "source")))
        for name, kind in (
            ("reference", KeyKind.MESSAGE),
            ("time_frame", KeyKind.MESSAGE),
            ("caption", KeyKind.CAPTION),
        ):
            key = getattr(figure, name)
            if key is not None:
                refs.texts.append(TextRef(key, kind, files.place("decision.yaml", *here, name)))
        for j, panel in enumerate(figure.panels):
            if panel.label is not None:
                refs.texts.append(
                    TextRef(panel.label, KeyKind.MESSAGE, files.place("decision.yaml", *here, "panels", j, "label"))
                )
            for k, group in enumerate(panel.groups):
                place = files.place("decision.yaml", *here, "panels", j, "groups", k, "label")
                refs.texts.append(TextRef(group.label, KeyKind.MESSAGE, place))


def _candidacy(files: Files, refs: References) -> None:
    candidacy = files.candidacy
    refs.outcomes.append((candidacy.default_outcome, files.place("candidacy.yaml", "default_outcome")))
    for i, outcome in enumerate(candidacy.outcomes):
        for name in ("title", "body"):
            refs.texts.append(
                TextRef(getattr(outcome, name), KeyKind.MESSAGE, files.place("candidacy.yaml", "outcomes", i, name))
            )
    for i, rule in enumerate(candidacy.rules):
        here: Location = ("rules", i)
        refs.outcomes.append((rule.outcome, files.place("candidacy.yaml", *here, "outcome")))
        refs.examples.append((rule.example, files.place("candidacy.yaml", *here, "example")))
        refs.texts.append(TextRef(rule.reason, KeyKind.MESSAGE, files.place("candidacy.yaml", *here, "reason")))
        _condition(refs, files, "candidacy.yaml", rule.when, (*here, "when"))
    for i, example in enumerate(candidacy.examples):
        refs.outcomes.append((example.outcome, files.place("candidacy.yaml", "examples", i, "outcome")))
