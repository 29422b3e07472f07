"""Where each state is met, found by the engine itself: a walk from the start that taps every button of every
state (as a patient would), keeping for each state the first session that entered it. A page then shows the
state with the engine's own views on that session (its history decides whether Back is there, its consent
whether answers are kept), or on the same session with an example patient's answers."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from flows.conditions import AnswerValue
from flows.content import Content
from flows.engine import Engine
from flows.events import Choose, Done, Toggle, decode
from flows.limits import plain_text
from flows.machine import branches
from flows.model import Next
from flows.session import Session
from flows.states import StateBase, kind_of
from flows.states.base import Exit, Kind
from flows.states.nudge import Conflict, NudgeState
from flows.states.weighted import TOP
from flows.views import Views

WALK_BUDGET = 20_000  # taps at most (the real flow needs a few hundred)
NO_ANSWERS = "no_answers"


@dataclass(frozen=True)
class Variant:
    """Whose answers a page of an answer-dependent state is drawn with: an example patient of candidacy.yaml, or
    nobody's (answers not kept)."""

    id: str
    patient: str
    answers: dict[str, AnswerValue]
    outcome: str | None = None


def place(engine: Engine) -> dict[str, Session]:
    """A session at every state: the first one the walk brings there; states the walk cannot reach (e.g. the
    hand-off, when no clinic can receive one) are placed after a state that leads to them."""
    start = engine.new_session("en")
    start.has_username = True  # the patient has a Telegram username: the hand-off offers it
    found = {start.state: start}
    seen = {(start.state, 0)}
    queue = deque([start])
    budget = WALK_BUDGET
    while queue and budget > 0:
        session = queue.popleft()
        for row in engine.views.current(session).buttons:
            for button in row:
                event = decode(button.data)
                if not isinstance(event, Choose | Toggle | Done) or budget <= 0:
                    continue
                budget -= 1
                step = engine.step(session, event)
                after = step.session
                key = (after.state, len(after.draft))
                if step.rejected is not None or key in seen:
                    continue
                seen.add(key)
                queue.append(after)
                found.setdefault(after.state, after)
    _place_unreached(engine.content, found)
    return found


def _place_unreached(content: Content, found: dict[str, Session]) -> None:
    clinic = next((c.code for c in content.clinics if c.handoff_chat_id is not None), None)
    clinic = clinic or (content.clinics[0].code if content.clinics else None)
    changed = True
    while changed:
        changed = False
        for state in content.flow.states:
            if state.id in found:
                continue
            before = next((s for s in predecessors(content, state.id) if s in found), None)
            if before is None:
                continue
            previous = found[before]
            kept = previous.consent is True
            found[state.id] = previous.model_copy(
                deep=True,
                update={
                    "state": state.id,
                    "step": previous.step + 1,
                    "history": [*previous.history, before] if kept else [],
                    "draft": [],
                    "handoff_clinic": previous.handoff_clinic or clinic,
                },
            )
            changed = True
    for state in content.flow.states:  # not reachable at all (the validator rules this out)
        found.setdefault(state.id, Session(state=state.id, consent=True, handoff_clinic=clinic))


def predecessors(content: Content, state_id: str) -> list[str]:
    """The states with a way out to `state_id`, in flow order."""
    return [
        state.id
        for state in content.flow.states
        if any(state_id in targets(exit_.next) for exit_ in kind_of(state).exits(state))
    ]


def targets(next_: Next | None) -> list[str]:
    """The states a `next` may lead to."""
    return [branch.to for branch in branches(next_)]


def may_skip(state: StateBase) -> bool:
    """Whether the state's type may skip it for some patients (e.g. a nudge with nothing to say)."""
    return type(kind_of(state)).skip is not Kind.skip


def reach(content: Content, next_: Next | None, depth: int = 0) -> set[str]:
    """The states a `next` may end in, following states that may be skipped."""
    found: set[str] = set()
    for target in targets(next_):
        found.add(target)
        state = content.states.get(target)
        if state is not None and may_skip(state) and depth < len(content.states):
            for exit_ in kind_of(state).exits(state):
                found |= reach(content, exit_.next, depth + 1)
    return found


def exit_for(content: Content, state: StateBase, option: str | None, landed: str | None) -> Exit | None:
    """The way out a tap takes: the option's own exit, else the plain `next`; when the engine landed somewhere
    else (a button whose data is not an option id, e.g. a clinic by position), the exit that reaches there."""
    exits = kind_of(state).exits(state)
    ordered = [e for e in exits if e.option == option and option is not None]
    ordered += [e for e in exits if e.option is None]
    ordered += [e for e in exits if e not in ordered]
    if landed is not None:
        for exit_ in ordered:
            if landed in reach(content, exit_.next):
                return exit_
    return ordered[0] if ordered else None


class ReadLog(dict[str, AnswerValue]):
    """Answers that note whether anything read them."""

    read = False

    def __getitem__(self, key: str) -> AnswerValue:
        self.read = True
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self.read = True
        return super().get(key, default)

    def __contains__(self, key: object) -> bool:
        self.read = True
        return super().__contains__(key)

    def __iter__(self) -> Iterator[str]:
        self.read = True
        return super().__iter__()

    def __len__(self) -> int:
        self.read = True
        return super().__len__()

    def keys(self) -> Any:
        self.read = True
        return super().keys()

    def values(self) -> Any:
        self.read = True
        return super().values()

    def items(self) -> Any:
        self.read = True
        return super().items()


def reads_answers(views: Views, content: Content, session: Session, state: StateBase) -> bool:
    """Whether showing the state (its message and its pictures) reads the patient's answers."""
    probe = session.model_copy(deep=True)
    log = ReadLog(probe.answers)
    probe.answers = log
    kind = kind_of(state)
    kind.render(views, probe, state, False)
    kind.pictures(content, probe, state)
    return log.read


def variants(content: Content, placed: Session, state: StateBase) -> list[Variant]:
    """The pages of an answer-dependent state: one per example patient, and one with no answers where the walk
    met the state with none kept (e.g. the topics after declining consent). A nudge also gets one per conflict
    it names (the example patients say nothing of their values or leaning, so none of them sees one)."""
    found = []
    if not placed.answers:
        found.append(Variant(NO_ANSWERS, "No answers kept (the patient did not agree to keep them)", {}))
    outcomes = {outcome.id: outcome for outcome in content.candidacy.outcomes}
    for example in content.candidacy.examples:
        answers: dict[str, AnswerValue] = {
            key: list(value) if isinstance(value, list) else dict(value) if isinstance(value, dict) else value
            for key, value in example.answers.items()
        }
        outcome = outcomes.get(example.outcome)
        found.append(Variant(example.id, example.patient, answers, outcome.id if outcome else None))
    if isinstance(state, NudgeState):
        found += [_conflict(content, state, conflict) for conflict in state.conflicts]
    return found


def _conflict(content: Content, state: NudgeState, conflict: Conflict) -> Variant:
    def label(question: str, answer: str) -> str:
        asked = content.states.get(question)
        labels = {o.id: o.label for o in getattr(asked, "options", [])}
        labels |= {item.id: item.label for item in getattr(asked, "items", [])}
        return f"“{plain_text(content.texts.get('en', labels.get(answer, answer)))}” ({answer})"

    who = (
        f"Leans towards {label(state.leaning, conflict.leaning)}, and {label(state.values, conflict.value)} "
        "matters a lot to them"
    )
    answers: dict[str, AnswerValue] = {state.leaning: conflict.leaning, state.values: {conflict.value: TOP}}
    return Variant(f"conflict_{conflict.leaning}_{conflict.value}", who, answers)
