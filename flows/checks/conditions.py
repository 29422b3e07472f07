"""Rule: every condition names a question whose answer is kept, with a test that fits its answer, and
options or items that the question has."""

from __future__ import annotations

from flows.actions import ACTIONS
from flows.checks.report import Report
from flows.checks.walker import ConditionRef, Files, References
from flows.model import Condition
from flows.problems import UnknownReference
from flows.states import kind_of
from flows.states.base import AnswerShape

TESTS: dict[AnswerShape, tuple[str, ...]] = {
    "choice": ("is", "in"),
    "ticks": ("includes",),
    "weights": ("includes",),
    "number": ("at_least", "at_most"),
    "text": (),
}


def answerable(files: Files) -> dict[str, tuple[AnswerShape, list[str]]]:
    """Every answer a condition may test: kept question answers, and answers that actions keep."""
    found: dict[str, tuple[AnswerShape, list[str]]] = {}
    for state in files.flow.states:
        kind = kind_of(state)
        shape = kind.answer_shape(state)
        if shape is not None:
            found[state.id] = (shape, kind.answer_ids(state))
    for action in ACTIONS.values():
        for answer, values in action.keeps.items():
            found[answer] = ("choice", list(values))
    return found


def check_conditions(files: Files, refs: References, report: Report) -> None:
    """Each condition, and every condition nested in it."""
    answers = answerable(files)
    for ref in refs.conditions:
        _check(files, ref, ref.condition, (), answers, report)


def _check(
    files: Files,
    ref: ConditionRef,
    condition: Condition,
    below: tuple[str | int, ...],
    answers: dict[str, tuple[AnswerShape, list[str]]],
    report: Report,
) -> None:
    for key, children in (("all", condition.all_), ("any", condition.any_)):
        for index, part in enumerate(children or []):
            _check(files, ref, part, (*below, key, index), answers, report)
    if condition.not_ is not None:
        _check(files, ref, condition.not_, (*below, "not"), answers, report)
    if condition.answer is None:
        return
    place = ref.place(files, *below, "answer")
    if condition.answer not in answers:
        hint = "questions: " + ", ".join(answers)
        report.add(UnknownReference, place, f"'{condition.answer}' is not a question whose answer is kept", hint)
        return
    shape, ids = answers[condition.answer]
    test = condition.test_name()
    if test not in TESTS[shape]:
        hint = "use: " + (", ".join(TESTS[shape]) or "none (free text is not tested)")
        report.add(UnknownReference, place, f"'{test}' does not apply to this question ({shape})", hint)
    for value in condition.option_values():
        if value not in ids:
            hint = "options: " + ", ".join(sorted(ids))
            report.add(UnknownReference, place, f"'{condition.answer}' has no option '{value}'", hint)
