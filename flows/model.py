"""Pydantic models of the content: the flow, its questions and options, sections and candidacy rules."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Id = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
TextKey = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")]


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
    """A button answer. `next` overrides the state's; `exclusive` clears the other ticks (e.g. 'none')."""

    id: Id
    label: TextKey
    next: Next | None = None
    action: Id | None = None
    exclusive: bool = False


class _StateBase(Strict):
    id: Id
    text: TextKey
    stage: Literal["screened", "red_flag", "completed"] | None = None
    action: Id | None = None


class MessageState(_StateBase):
    """Shows a text with a single 'continue' button."""

    type: Literal["message"]
    next: Next
    button: TextKey = "common.continue"


class SingleState(_StateBase):
    """One answer from a list of buttons; without `short` the answer is not kept (e.g. the consent)."""

    type: Literal["single"]
    short: TextKey | None = None
    options: list[Option] = Field(min_length=2)
    next: Next | None = None


class MultiState(_StateBase):
    """Any number of ticked options, then 'Done'."""

    type: Literal["multi"]
    short: TextKey
    options: list[Option] = Field(min_length=2)
    next: Next


class ScaleState(_StateBase):
    """A number from `low` to `high` (0-10 by default)."""

    type: Literal["scale"]
    short: TextKey
    low: int = 0
    high: int = 10
    next: Next

    @model_validator(mode="after")
    def _range(self) -> ScaleState:
        if not 0 <= self.low < self.high <= 10:
            raise ValueError("a scale runs from 'low' to 'high' within 0-10, with low < high")
        return self


class TextState(_StateBase):
    """A short free-text answer, with a 'skip' button."""

    type: Literal["text"]
    short: TextKey
    max_length: int = Field(default=300, ge=1, le=1000)
    next: Next


class ResultState(_StateBase):
    """Evaluates the candidacy rules and shows the result with the answers behind it."""

    type: Literal["result"]
    next: Next
    button: TextKey = "common.continue"
    reflect: Id | None = None  # a multi question (values) whose ticked options are reflected back


class SummaryState(_StateBase):
    """The personal summary (answers, result, topics, questions to ask), with a button for a PDF copy."""

    type: Literal["summary"]
    next: Next
    button: TextKey = "common.continue"


class ClinicChoiceState(_StateBase):
    """Offers a hand-off to the referring clinic (or to clinics that fit the patient); skipped if none fits."""

    type: Literal["clinic_choice"]
    decline: TextKey = "handoff.no_thanks"
    chosen: Id
    next: Next


class HandoffConsentState(_StateBase):
    """Separate consent that says exactly what is sent to which clinic; then how the clinic may reach them."""

    type: Literal["handoff_consent"]
    sent: Id
    next: Next


class MenuState(_StateBase):
    """A terminal menu of sections, those matching the patient's answers first."""

    type: Literal["menu"]


class StopState(_StateBase):
    """A terminal message (e.g. urgent care); the intake ends here."""

    type: Literal["stop"]


State = Annotated[
    MessageState
    | SingleState
    | MultiState
    | ScaleState
    | TextState
    | ResultState
    | SummaryState
    | ClinicChoiceState
    | HandoffConsentState
    | MenuState
    | StopState,
    Field(discriminator="type"),
]
QuestionState = SingleState | MultiState | ScaleState | TextState
QUESTION_TYPES = (SingleState, MultiState, ScaleState, TextState)
TERMINAL_TYPES = (MenuState, StopState)


class Flow(Strict):
    """The conversation: where it starts and its states, in order."""

    start: Id
    states: list[State] = Field(min_length=1)


class Section(Strict):
    """An explanatory text shown from the menu; `match` says when it is relevant to this patient."""

    id: Id
    title: TextKey
    body: TextKey
    keywords: TextKey | None = None  # comma-separated phrases a typed question may use, per language
    sources: list[str] = Field(default_factory=list)
    match: Condition | None = None


class Sections(Strict):
    """The file of sections."""

    sections: list[Section] = Field(min_length=1)


class Outcome(Strict):
    """A possible candidacy result, e.g. 'may be worth discussing' or 'surgery may serve better'."""

    id: Id
    title: TextKey
    body: TextKey


class Rule(Strict):
    """A candidacy rule: when `when` holds, it points to `outcome` and gives `reason`."""

    id: Id
    when: Condition
    outcome: Id
    reason: TextKey


class Candidacy(Strict):
    """Outcomes in priority order (first wins), the default outcome, and the rules."""

    outcomes: list[Outcome] = Field(min_length=1)
    default_outcome: Id
    rules: list[Rule] = Field(default_factory=list)


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
