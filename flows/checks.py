"""Content checks beyond shapes: ids, references, reachability, dead ends, texts and Telegram limits."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from flows.actions import ACTIONS
from flows.events import worst_case_callback
from flows.limits import MAX_LABEL_BYTES, MAX_MESSAGE_CHARS, callback_fits, html_problems, visible_length
from flows.machine import OUTCOME_EXITS, branches
from flows.model import (
    TERMINAL_TYPES,
    Candidacy,
    ClinicChoiceState,
    Clinics,
    Condition,
    Flow,
    MessageState,
    MultiState,
    ResultState,
    ScaleState,
    Sections,
    SingleState,
    State,
    SummaryState,
    TextState,
)
from flows.problems import (
    CallbackTooLong,
    DeadEnd,
    DuplicateId,
    InvalidHtml,
    LabelTooLong,
    MissingText,
    MissingTranslation,
    Problem,
    ReadabilityAboveTarget,
    TextTooLong,
    UnknownAction,
    UnknownReference,
    UnreachableState,
)
from flows.readability import TARGET_GRADE, english_grade
from flows.views import NOTICE_KEYS, SYSTEM_KEYS, reflect_key
from flows.yamlsource import YamlDocument

MAX_NOTICE_CHARS = 200  # a pop-up answer to a tapped button shows at most 200 characters
MAX_CAPTION_CHARS = 1024  # a file's caption
CAPTION_KEYS = ("summary.pdf_caption",)
LABEL_KEYS = (
    "common.back",
    "common.continue",
    "common.done",
    "common.skip",
    "common.restart",
    "common.menu",
    "common.resume",
)


@dataclass(frozen=True)
class TextEntry:
    """One text as written: its value and where."""

    text: str
    path: Path
    line: int


@dataclass(frozen=True)
class _Use:
    """A place in content that uses a text key."""

    key: str
    path: Path
    line: int
    is_label: bool


def check_content(
    flow: Flow,
    sections: Sections,
    candidacy: Candidacy,
    clinics: Clinics,
    texts: dict[str, dict[str, TextEntry]],
    documents: dict[str, YamlDocument],
    default_language: str,
    readability: bool = False,
) -> list[Problem]:
    """Every problem found across the content files."""
    checker = _Checker(flow, sections, candidacy, clinics, documents)
    checker.check_ids()
    checker.check_flow()
    checker.check_conditions()
    checker.check_candidacy()
    checker.check_clinics(set(texts))
    checker.check_texts(texts, default_language, readability)
    return checker.problems


class _Checker:
    def __init__(
        self,
        flow: Flow,
        sections: Sections,
        candidacy: Candidacy,
        clinics: Clinics,
        documents: dict[str, YamlDocument],
    ):
        self.flow = flow
        self.sections = sections
        self.candidacy = candidacy
        self.clinics = clinics
        self.clinics_doc = documents["clinics.yaml"]
        self.flow_doc = documents["flow.yaml"]
        self.sections_doc = documents["sections.yaml"]
        self.candidacy_doc = documents["candidacy.yaml"]
        self.states = {state.id: state for state in flow.states}
        self.problems: list[Problem] = []

    def _at(self, document: YamlDocument, *location: str | int) -> tuple[Path, int]:
        return document.path, document.line_of(location)

    # --- ids ----------------------------------------------------------------------------------------

    def check_ids(self) -> None:
        self._unique([s.id for s in self.flow.states], self.flow_doc, "states", "state")
        for index, state in enumerate(self.flow.states):
            options = [o.id for o in getattr(state, "options", [])]
            self._unique(options, self.flow_doc, "states", "option", index, "options")
        self._unique([s.id for s in self.sections.sections], self.sections_doc, "sections", "section")
        self._unique([o.id for o in self.candidacy.outcomes], self.candidacy_doc, "outcomes", "outcome")
        self._unique([r.id for r in self.candidacy.rules], self.candidacy_doc, "rules", "rule")
        codes = [c.code for c in self.clinics.clinics]
        seen: set[str] = set()
        for index, code in enumerate(codes):
            if code in seen:
                path, line = self._at(self.clinics_doc, "clinics", index, "code")
                self.problems.append(DuplicateId(path, line, f"clinic code '{code}' is used twice", "rename one"))
            seen.add(code)

    def _unique(self, ids: list[str], document: YamlDocument, field: str, what: str, *prefix: str | int) -> None:
        seen: set[str] = set()
        list_location = (field, *prefix)
        for index, item in enumerate(ids):
            if item in seen:
                path, line = self._at(document, *list_location, index, "id")
                self.problems.append(DuplicateId(path, line, f"{what} id '{item}' is used twice", "rename one"))
            seen.add(item)

    # --- flow ---------------------------------------------------------------------------------------

    def check_flow(self) -> None:
        if self.flow.start not in self.states:
            path, line = self._at(self.flow_doc, "start")
            self.problems.append(
                UnknownReference(path, line, f"start state '{self.flow.start}' does not exist", self._ids_hint())
            )
        for index, state in enumerate(self.flow.states):
            self._check_actions(index, state)
            self._check_targets(index, state)
            self._check_reflect(index, state)
            self._check_way_forward(index, state)
        self._check_reachable()

    def _ids_hint(self) -> str:
        return "known states: " + ", ".join(self.states)

    def _check_actions(self, index: int, state: State) -> None:
        places: list[tuple[str | None, tuple[str | int, ...]]] = [(state.action, ("states", index, "action"))]
        for j, option in enumerate(getattr(state, "options", [])):
            places.append((option.action, ("states", index, "options", j, "action")))
        for action, location in places:
            if action is not None and action not in ACTIONS:
                path, line = self._at(self.flow_doc, *location)
                self.problems.append(
                    UnknownAction(path, line, f"unknown action '{action}'", "known: " + ", ".join(ACTIONS))
                )

    def _exits(self, index: int, state: State) -> Iterator[tuple[str, tuple[str | int, ...]]]:
        """Every target state id, with the location of the `to` (or `next`) that names it."""
        places: list[tuple[object, tuple[str | int, ...]]] = []
        for j, option in enumerate(getattr(state, "options", [])):
            places.append((option.next, ("states", index, "options", j, "next")))
        for outcome in OUTCOME_EXITS:
            places.append((getattr(state, outcome, None), ("states", index, outcome)))
        places.append((getattr(state, "next", None), ("states", index, "next")))
        for next_, location in places:
            if isinstance(next_, str):
                yield next_, location
            elif isinstance(next_, list):
                for k, branch in enumerate(next_):
                    yield branch.to, (*location, k, "to")

    def _check_reflect(self, index: int, state: State) -> None:
        if not isinstance(state, ResultState) or state.reflect is None:
            return
        if isinstance(self.states.get(state.reflect), MultiState):
            return
        path, line = self._at(self.flow_doc, "states", index, "reflect")
        multis = [s.id for s in self.flow.states if isinstance(s, MultiState)]
        self.problems.append(
            UnknownReference(
                path, line, f"'{state.reflect}' is not a multi-choice question", "reflect one of: " + ", ".join(multis)
            )
        )

    def _check_targets(self, index: int, state: State) -> None:
        for target, location in self._exits(index, state):
            if target not in self.states:
                path, line = self._at(self.flow_doc, *location)
                self.problems.append(
                    UnknownReference(path, line, f"'{state.id}' leads to unknown state '{target}'", self._ids_hint())
                )

    def _check_way_forward(self, index: int, state: State) -> None:
        if isinstance(state, TERMINAL_TYPES):
            return
        state_next = getattr(state, "next", None)
        if isinstance(state, SingleState) and state_next is None:
            for j, option in enumerate(state.options):
                if option.next is None:
                    path, line = self._at(self.flow_doc, "states", index, "options", j)
                    self.problems.append(
                        DeadEnd(
                            path,
                            line,
                            f"option '{option.id}' of '{state.id}' leads nowhere",
                            "give the option a 'next', or the question a 'next'",
                        )
                    )
        for next_, location in [(state_next, ("states", index, "next"))] + [
            (o.next, ("states", index, "options", j, "next")) for j, o in enumerate(getattr(state, "options", []))
        ]:
            if isinstance(next_, list) and (not next_ or next_[-1].when is not None):
                path, line = self._at(self.flow_doc, *location)
                self.problems.append(
                    DeadEnd(
                        path,
                        line,
                        f"'{state.id}' has no way forward when no 'when' holds",
                        "end the list with a branch that has only 'to'",
                    )
                )

    def _check_reachable(self) -> None:
        if self.flow.start not in self.states:
            return
        index_of = {state.id: index for index, state in enumerate(self.flow.states)}
        seen = {self.flow.start}
        queue = deque([self.flow.start])
        while queue:
            current = queue.popleft()
            state = self.states[current]
            for target, _ in self._exits(index_of[current], state):
                if target in self.states and target not in seen:
                    seen.add(target)
                    queue.append(target)
        for state in self.flow.states:
            if state.id not in seen:
                path, line = self._at(self.flow_doc, "states", index_of[state.id], "id")
                self.problems.append(
                    UnreachableState(
                        path,
                        line,
                        f"no path from '{self.flow.start}' reaches '{state.id}'",
                        "point a 'next' at it, or remove it",
                    )
                )

    # --- conditions ---------------------------------------------------------------------------------

    def check_conditions(self) -> None:
        for index, state in enumerate(self.flow.states):
            for j, option in enumerate(getattr(state, "options", [])):
                for k, branch in enumerate(branches(option.next)):
                    if branch.when is not None:
                        self._condition(branch.when, self.flow_doc, ("states", index, "options", j, "next", k, "when"))
            for k, branch in enumerate(branches(getattr(state, "next", None))):
                if branch.when is not None:
                    self._condition(branch.when, self.flow_doc, ("states", index, "next", k, "when"))
        for index, section in enumerate(self.sections.sections):
            if section.match is not None:
                self._condition(section.match, self.sections_doc, ("sections", index, "match"))
        for index, rule in enumerate(self.candidacy.rules):
            self._condition(rule.when, self.candidacy_doc, ("rules", index, "when"))

    def _condition(self, condition: Condition, document: YamlDocument, location: tuple[str | int, ...]) -> None:
        for key, child in (("all", condition.all_), ("any", condition.any_)):
            for index, part in enumerate(child or []):
                self._condition(part, document, (*location, key, index))
        if condition.not_ is not None:
            self._condition(condition.not_, document, (*location, "not"))
        if condition.answer is None:
            return
        path, line = self._at(document, *location, "answer")
        question = self.states.get(condition.answer)
        answerable = isinstance(question, MultiState | ScaleState | TextState) or (
            isinstance(question, SingleState) and question.short is not None
        )
        if question is None or not answerable:
            questions = [
                s.id
                for s in self.flow.states
                if isinstance(s, MultiState | ScaleState | TextState)
                or (isinstance(s, SingleState) and s.short is not None)
            ]
            self.problems.append(
                UnknownReference(
                    path,
                    line,
                    f"'{condition.answer}' is not a question whose answer is kept",
                    "questions: " + ", ".join(questions),
                )
            )
            return
        expected = {
            SingleState: ("is", "in"),
            MultiState: ("includes",),
            ScaleState: ("at_least", "at_most"),
            TextState: (),
        }[type(question)]
        used = [
            name
            for name, value in (
                ("is", condition.is_),
                ("in", condition.in_),
                ("includes", condition.includes),
                ("at_least", condition.at_least),
                ("at_most", condition.at_most),
            )
            if value is not None
        ]
        if used and used[0] not in expected:
            self.problems.append(
                UnknownReference(
                    path,
                    line,
                    f"'{used[0]}' does not apply to a {question.type} question",
                    "use: " + (", ".join(expected) or "none (free text is not tested)"),
                )
            )
        options = {o.id for o in getattr(question, "options", [])}
        for value in condition.option_values():
            if value not in options:
                self.problems.append(
                    UnknownReference(
                        path,
                        line,
                        f"'{condition.answer}' has no option '{value}'",
                        "options: " + ", ".join(sorted(options)),
                    )
                )

    # --- candidacy ----------------------------------------------------------------------------------

    def check_candidacy(self) -> None:
        outcomes = {o.id for o in self.candidacy.outcomes}
        hint = "outcomes: " + ", ".join(sorted(outcomes))
        if self.candidacy.default_outcome not in outcomes:
            path, line = self._at(self.candidacy_doc, "default_outcome")
            self.problems.append(UnknownReference(path, line, "default_outcome is not an outcome", hint))
        for index, rule in enumerate(self.candidacy.rules):
            if rule.outcome not in outcomes:
                path, line = self._at(self.candidacy_doc, "rules", index, "outcome")
                self.problems.append(
                    UnknownReference(path, line, f"rule '{rule.id}' points to unknown outcome '{rule.outcome}'", hint)
                )

    # --- clinics --------------------------------------------------------------------------------------

    def check_clinics(self, languages: set[str]) -> None:
        for index, clinic in enumerate(self.clinics.clinics):
            for j, language in enumerate(clinic.languages):
                if language not in languages:
                    path, line = self._at(self.clinics_doc, "clinics", index, "languages", j)
                    self.problems.append(
                        UnknownReference(
                            path,
                            line,
                            f"clinic '{clinic.code}' speaks '{language}', which has no texts",
                            "languages with texts: " + ", ".join(sorted(languages)),
                        )
                    )

    # --- texts and Telegram limits ------------------------------------------------------------------

    def _uses(self) -> list[_Use]:
        uses: list[_Use] = []

        def add(key: str | None, document: YamlDocument, location: tuple[str | int, ...], label: bool) -> None:
            if key is not None:
                uses.append(_Use(key, document.path, document.line_of(location), label))

        for i, state in enumerate(self.flow.states):
            add(state.text, self.flow_doc, ("states", i, "text"), False)
            add(getattr(state, "short", None), self.flow_doc, ("states", i, "short"), False)
            if isinstance(state, MessageState | ResultState | SummaryState):
                add(state.button, self.flow_doc, ("states", i, "button"), True)
            if isinstance(state, ClinicChoiceState):
                add(state.decline, self.flow_doc, ("states", i, "decline"), True)
            if isinstance(state, ResultState) and isinstance(self.states.get(state.reflect or ""), MultiState):
                reflected = self.states[state.reflect or ""]
                for option in getattr(reflected, "options", []):
                    add(reflect_key(reflected.id, option.id), self.flow_doc, ("states", i, "reflect"), False)
            for j, option in enumerate(getattr(state, "options", [])):
                add(option.label, self.flow_doc, ("states", i, "options", j, "label"), True)
        for i, section in enumerate(self.sections.sections):
            add(section.title, self.sections_doc, ("sections", i, "title"), True)
            add(section.body, self.sections_doc, ("sections", i, "body"), False)
            add(section.keywords, self.sections_doc, ("sections", i, "keywords"), False)
        for i, outcome in enumerate(self.candidacy.outcomes):
            add(outcome.title, self.candidacy_doc, ("outcomes", i, "title"), False)
            add(outcome.body, self.candidacy_doc, ("outcomes", i, "body"), False)
        for i, rule in enumerate(self.candidacy.rules):
            add(rule.reason, self.candidacy_doc, ("rules", i, "reason"), False)
        for i, clinic in enumerate(self.clinics.clinics):
            add(clinic.relationship, self.clinics_doc, ("clinics", i, "relationship"), False)
        return uses

    def check_texts(self, texts: dict[str, dict[str, TextEntry]], default_language: str, readability: bool) -> None:
        default = texts.get(default_language, {})
        default_path = self.flow_doc.path.parent / "texts" / f"{default_language}.yaml"
        uses = self._uses()
        for key in SYSTEM_KEYS:
            uses.append(_Use(key, default_path, 1, key in LABEL_KEYS))
        labels = {use.key for use in uses if use.is_label}
        reported: set[str] = set()
        for use in uses:
            if use.key not in default and use.key not in reported:
                reported.add(use.key)
                self.problems.append(
                    MissingText(
                        use.path,
                        use.line,
                        f"text '{use.key}' is not written",
                        f"add it to texts/{default_language}.yaml",
                    )
                )
        for language, entries in texts.items():
            if language != default_language:
                for key, entry in default.items():
                    if key not in entries:
                        self.problems.append(
                            MissingTranslation(
                                entry.path,
                                entry.line,
                                f"'{key}' has no {language} text",
                                f"add it to texts/{language}.yaml",
                            )
                        )
            for key, entry in entries.items():
                self._check_text(key, entry, key in labels)
        if readability and default_language == "en":
            self._check_readability(default)
        self._check_callbacks()

    def _check_readability(self, texts: dict[str, TextEntry]) -> None:
        for section in self.sections.sections:
            entry = texts.get(section.body)
            if entry is None:
                continue
            grade = english_grade(entry.text)
            if grade > TARGET_GRADE:
                self.problems.append(
                    ReadabilityAboveTarget(
                        entry.path,
                        entry.line,
                        f"'{section.body}' reads at grade {grade:.1f}, above {TARGET_GRADE:.0f}",
                        "use shorter sentences and everyday words",
                    )
                )

    def _check_text(self, key: str, entry: TextEntry, is_label: bool) -> None:
        for message in html_problems(entry.text):
            self.problems.append(
                InvalidHtml(
                    entry.path,
                    entry.line,
                    f"'{key}': {message}",
                    "Telegram allows b, i, u, s, a, code, pre, blockquote",
                )
            )
        length = visible_length(entry.text)
        if length > MAX_MESSAGE_CHARS:
            self.problems.append(
                TextTooLong(
                    entry.path,
                    entry.line,
                    f"'{key}' has {length} characters, over {MAX_MESSAGE_CHARS}",
                    "split it into two sections",
                )
            )
        if key in NOTICE_KEYS and length > MAX_NOTICE_CHARS:
            self.problems.append(
                TextTooLong(
                    entry.path,
                    entry.line,
                    f"'{key}' has {length} characters, over {MAX_NOTICE_CHARS}",
                    "a notice is shown as a pop-up: keep it short",
                )
            )
        if key in CAPTION_KEYS and length > MAX_CAPTION_CHARS:
            self.problems.append(
                TextTooLong(
                    entry.path,
                    entry.line,
                    f"'{key}' has {length} characters, over {MAX_CAPTION_CHARS}",
                    "a file's caption is short: move the text into a message",
                )
            )
        size = len(entry.text.encode("utf-8"))
        if is_label and size > MAX_LABEL_BYTES:
            self.problems.append(
                LabelTooLong(
                    entry.path,
                    entry.line,
                    f"button label '{key}' is {size} bytes, over {MAX_LABEL_BYTES}",
                    "shorten the label",
                )
            )

    def _check_callbacks(self) -> None:
        for i, state in enumerate(self.flow.states):
            for j, option in enumerate(getattr(state, "options", [])):
                if not callback_fits(worst_case_callback(option.id)):
                    path, line = self._at(self.flow_doc, "states", i, "options", j, "id")
                    self.problems.append(
                        CallbackTooLong(
                            path,
                            line,
                            f"option id '{option.id}' makes button data over 64 bytes",
                            "use an id of at most 53 characters",
                        )
                    )
        for i, section in enumerate(self.sections.sections):
            if not callback_fits(f"s:{section.id}"):
                path, line = self._at(self.sections_doc, "sections", i, "id")
                self.problems.append(
                    CallbackTooLong(
                        path,
                        line,
                        f"section id '{section.id}' makes button data over 64 bytes",
                        "use an id of at most 62 characters",
                    )
                )
