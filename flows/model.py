"""Pydantic models of the content files other than the flow's states: conditions, options, topics, the
decision's options and figures, candidacy rules, sources and clinics. (State types: flows/states/.)"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from flows.stages import Stage

Id = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
TextKey = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")]
SourceId = Annotated[str, Field(pattern=r"^[A-Za-z0-9]+$")]


class Strict(BaseModel):
    """Base for content models: unknown fields are mistakes, values never change after loading."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Condition(Strict):
    """A test on the patient's answers, written in content.

    Exactly one form per condition: `answer` with one of `is`, `in`, `includes`, `at_least`, `at_most`;
    or `all` / `any` (lists of conditions); or `not` (one condition).
    """

    answer: Id | None = None
    is_: Id | None = Field(default=None, alias="is")
    in_: list[Id] | None = Field(default=None, alias="in")
    includes: list[Id] | None = None
    at_least: int | None = None
    at_most: int | None = None
    all_: list[Condition] | None = Field(default=None, alias="all")
    any_: list[Condition] | None = Field(default=None, alias="any")
    not_: Condition | None = Field(default=None, alias="not")

    @model_validator(mode="after")
    def _one_form(self) -> Condition:
        tests = [self.is_, self.in_, self.includes, self.at_least, self.at_most]
        combinators = [self.all_, self.any_, self.not_]
        used_tests = sum(value is not None for value in tests)
        used_combinators = sum(value is not None for value in combinators)
        if self.answer is not None and (used_tests != 1 or used_combinators):
            raise ValueError("'answer' needs exactly one of: is, in, includes, at_least, at_most")
        if self.answer is None and (used_tests or used_combinators != 1):
            raise ValueError("write either 'answer' with a test, or exactly one of: all, any, not")
        return self

    def test_name(self) -> str | None:
        """Which test an `answer` condition uses: is, in, includes, at_least or at_most (None for combinators)."""
        for name, value in (
            ("is", self.is_),
            ("in", self.in_),
            ("includes", self.includes),
            ("at_least", self.at_least),
            ("at_most", self.at_most),
        ):
            if value is not None:
                return name
        return None

    def option_values(self) -> list[str]:
        """Option ids this condition compares an answer against (empty for combinators and scales)."""
        if self.is_ is not None:
            return [self.is_]
        return list(self.in_ or self.includes or [])

    def children(self) -> list[Condition]:
        """Nested conditions of `all`, `any` or `not`."""
        if self.not_ is not None:
            return [self.not_]
        return list(self.all_ or self.any_ or [])


class Branch(Strict):
    """One way out of a state: go `to` a state, if `when` holds (or always, when `when` is absent)."""

    when: Condition | None = None
    to: Id


Next = Id | list[Branch]


class Option(Strict):
    """A button answer. `next` overrides the state's; `exclusive` clears the other ticks (e.g. 'none');
    `stage` is counted when it is chosen."""

    id: Id
    label: TextKey
    next: Next | None = None
    action: Id | None = None
    exclusive: bool = False
    stage: Stage | None = None


class Group(Strict):
    """A group of topics in the menu, e.g. 'Your options' or 'Stem cells in detail'."""

    id: Id
    title: TextKey


class Section(Strict):
    """A topic shown from the menu; `match` says when it is relevant to this patient."""

    id: Id
    title: TextKey
    body: TextKey
    group: Id
    option: Id | None = None  # the decision option the topic is about (None: general)
    keywords: TextKey | None = None  # comma-separated phrases a typed question may use, per language
    sources: list[SourceId] = Field(default_factory=list)
    match: Condition | None = None
    appendix: Literal["clinics"] | None = None  # the clinic relationships, from clinics.yaml, after the body
    figures: list[Id] = Field(default_factory=list)  # sent as pictures after the topic


class Sections(Strict):
    """The file of topics: the menu's groups, in order, then the topics."""

    groups: list[Group] = Field(min_length=1)
    sections: list[Section] = Field(min_length=1)


class Source(Strict):
    """A cited source: what it is and where to read it."""

    id: SourceId
    title: str = Field(min_length=1, max_length=120)
    url: str | None = Field(default=None, pattern=r"^https?://\S+$")


class Sources(Strict):
    """The file of sources."""

    sources: list[Source] = Field(min_length=1)


class DecisionOption(Strict):
    """One of the options compared in the same terms: what it is, what it may do, risks, time and cost, figures."""

    id: Id
    name: TextKey
    what: TextKey
    may: TextKey
    risks: TextKey
    time_cost: TextKey
    figures_line: TextKey  # outcome figures in words ("N in 100 ..."), or that our sources have none
    figures: list[Id] = Field(default_factory=list)  # the figures whose numbers `figures_line` states
    section: Id | None = None  # the topic that tells more


class Outcome_(Strict):
    """An outcome group within one icon array: its count of `denominator` people, or a range up to `high`.
    `rest` marks the group of everyone else: texts need not state its number."""

    id: Id
    label: TextKey
    count: int = Field(ge=0)
    high: int | None = None
    rest: bool = False


class Panel(Strict):
    """One icon array of a figure (e.g. 'with cells' beside 'with a dummy injection')."""

    label: TextKey | None = None
    groups: list[Outcome_] = Field(min_length=1, max_length=3)


class Figure(Strict):
    """Numbers as a picture. An icon array: what happens to `denominator` people of `reference` over
    `time_frame`, in one or two panels. The table: the decision's options side by side. `caption` is the text
    alternative, sent with the picture."""

    id: Id
    kind: Literal["icon_array", "table"] = "icon_array"
    caption: TextKey
    denominator: int = Field(default=100, ge=1, le=100)
    reference: TextKey | None = None
    time_frame: TextKey | None = None
    source: SourceId | None = None
    panels: list[Panel] = Field(default_factory=list, max_length=2)

    @model_validator(mode="after")
    def _complete(self) -> Figure:
        if self.kind == "icon_array" and not (self.panels and self.reference and self.time_frame and self.source):
            raise ValueError("an icon array needs panels, reference, time_frame and source")
        if self.kind == "table" and self.panels:
            raise ValueError("the options table takes its rows from the options: it has no panels")
        return self


class Decision(Strict):
    """The file of the decision's options, in the one order every comparison uses, and their figures."""

    options: list[DecisionOption] = Field(min_length=2)
    figures: list[Figure] = Field(default_factory=list)


class Outcome(Strict):
    """A possible candidacy result; `handoff` says whether a clinic hand-off may follow it."""

    id: Id
    title: TextKey
    body: TextKey
    handoff: bool = False


class Rule(Strict):
    """A candidacy rule: when `when` holds, it points to `outcome` and gives `reason`; `example` is the
    example patient it is for (the validator and the tests check that it fires for them)."""

    id: Id
    when: Condition
    outcome: Id
    reason: TextKey
    example: Id


AnswerData = str | int | list[str] | dict[str, str]


class Example(Strict):
    """An example patient: their answers and the outcome the rules must give them."""

    id: Id
    patient: str = Field(min_length=1)  # who they are, in a few words (for maintainers and reviewers)
    answers: dict[Id, AnswerData]
    outcome: Id


class Candidacy(Strict):
    """Outcomes in priority order (first wins), the default outcome, the rules and the example patients."""

    outcomes: list[Outcome] = Field(min_length=1)
    default_outcome: Id
    rules: list[Rule] = Field(default_factory=list)
    examples: list[Example] = Field(default_factory=list)


ClinicCode = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


class ClinicContact(Strict):
    """How patients can reach a clinic themselves."""

    phone: str | None = None
    email: str | None = None
    website: str | None = None


class Clinic(Strict):
    """A clinic that shares referral links; `relationship` (a text key) is disclosed before any question."""

    code: ClinicCode
    name: str = Field(min_length=1, max_length=80)
    country: str = Field(pattern=r"^[A-Z]{2}$")
    languages: list[Id] = Field(min_length=1)
    regions: list[Literal["low_back", "neck"]] = Field(min_length=1)
    contact: ClinicContact
    relationship: TextKey
    handoff_chat_id: int | None = None
    staff_ids: list[int] = Field(default_factory=list)


class Clinics(Strict):
    """The clinic registry file."""

    clinics: list[Clinic] = Field(default_factory=list)
