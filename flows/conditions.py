"""Evaluate content conditions against a patient's answers, and say which answers made them true."""

from __future__ import annotations

from collections.abc import Mapping

from flows.model import Condition

AnswerValue = str | int | list[str] | dict[str, str]
Answers = Mapping[str, AnswerValue]
MATTERS_A_LOT = "a_lot"  # the top weight of a weighted question: what `includes` tests on it


def holds(condition: Condition, answers: Answers) -> bool:
    """True when `condition` is met by `answers` (a missing answer meets no test)."""
    return evidence(condition, answers) is not None


def evidence(condition: Condition, answers: Answers) -> list[str] | None:
    """The question ids whose answers make `condition` true, in order; None when it is false."""
    if condition.answer is not None:
        return [condition.answer] if _test(condition, answers.get(condition.answer)) else None
    if condition.all_ is not None:
        found: list[str] = []
        for part in condition.all_:
            part_evidence = evidence(part, answers)
            if part_evidence is None:
                return None
            found.extend(part_evidence)
        return _unique(found)
    if condition.any_ is not None:
        found = []
        for part in condition.any_:
            found.extend(evidence(part, answers) or [])
        return _unique(found) if any(holds(part, answers) for part in condition.any_) else None
    assert condition.not_ is not None
    if holds(condition.not_, answers):
        return None
    return [question for question in referenced_questions(condition.not_) if question in answers]


def referenced_questions(condition: Condition) -> list[str]:
    """Every question id the condition reads, in order, without repeats."""
    found = [condition.answer] if condition.answer else []
    for child in condition.children():
        found.extend(referenced_questions(child))
    return _unique(found)


def _test(condition: Condition, value: AnswerValue | None) -> bool:
    if value is None:
        return False
    if condition.is_ is not None:
        return value == condition.is_
    if condition.in_ is not None:
        return isinstance(value, str) and value in condition.in_
    if condition.includes is not None:
        if isinstance(value, dict):
            return any(value.get(item) == MATTERS_A_LOT for item in condition.includes)
        return isinstance(value, list) and any(item in value for item in condition.includes)
    if not isinstance(value, int):
        return False
    if condition.at_least is not None:
        return value >= condition.at_least
    return condition.at_most is not None and value <= condition.at_most


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))
