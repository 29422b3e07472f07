"""flows.conditions: content conditions on answers, and which answers made them true (`evidence`)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from flows.conditions import Answers, evidence, holds, referenced_questions
from flows.model import Condition


def cond(data: dict[str, Any]) -> Condition:
    """A condition written as in the YAML files."""
    return Condition.model_validate(data)


ANSWERS: Answers = {
    "region": "low_back",
    "leg_symptoms": ["walking_pain", "numbness"],
    "pain": 6,
    "goal": "walk to the shops",
    "values": {"proven": "a_lot", "low_cost": "a_little", "few_visits": "not_at_all"},  # weighted
    "sure": 3,  # the SURE score: how many of its 4 questions were answered yes
    "safety": "urgent",  # kept by the consent given after urgent advice
}


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"answer": "region", "is": "low_back"}, True),
        ({"answer": "region", "is": "neck"}, False),
        ({"answer": "region", "in": ["neck", "low_back"]}, True),
        ({"answer": "region", "in": ["neck", "both"]}, False),
        ({"answer": "leg_symptoms", "includes": ["weakness", "numbness"]}, True),
        ({"answer": "leg_symptoms", "includes": ["weakness"]}, False),
        ({"answer": "pain", "at_least": 6}, True),
        ({"answer": "pain", "at_least": 7}, False),
        ({"answer": "pain", "at_most": 6}, True),
        ({"answer": "pain", "at_most": 5}, False),
        ({"answer": "values", "includes": ["proven"]}, True),  # on a weighted answer: matters a lot
        ({"answer": "values", "includes": ["low_cost", "proven"]}, True),
        ({"answer": "values", "includes": ["low_cost"]}, False),  # matters only a little
        ({"answer": "values", "includes": ["few_visits", "stay_near_home"]}, False),  # not at all; not weighted
        ({"answer": "sure", "at_least": 4}, False),
        ({"answer": "sure", "at_most": 3}, True),
        ({"answer": "safety", "is": "urgent"}, True),
    ],
)
def test_answer_tests(data: dict[str, Any], expected: bool) -> None:
    condition = cond(data)
    assert holds(condition, ANSWERS) is expected
    assert evidence(condition, ANSWERS) == ([data["answer"]] if expected else None)


@pytest.mark.parametrize(
    "data",
    [
        {"answer": "mri", "is": "had_mri"},
        {"answer": "mri", "in": ["had_mri"]},
        {"answer": "treatments", "includes": ["none"]},
        {"answer": "pain_unasked", "at_least": 0},
        {"answer": "pain_unasked", "at_most": 10},
    ],
)
def test_a_missing_answer_meets_no_test(data: dict[str, Any]) -> None:
    assert not holds(cond(data), ANSWERS)
    assert evidence(cond(data), ANSWERS) is None


@pytest.mark.parametrize(
    "data",
    [
        {"answer": "region", "includes": ["low_back"]},  # a single answer is not a list
        {"answer": "leg_symptoms", "is": "numbness"},  # a list is not one option
        {"answer": "leg_symptoms", "in": ["numbness"]},
        {"answer": "region", "at_least": 0},  # an option is not a number
        {"answer": "goal", "at_most": 10},
        {"answer": "values", "is": "proven"},  # weights are not one option
        {"answer": "values", "at_least": 0},
        {"answer": "sure", "includes": ["yes"]},  # a score is not ticks
    ],
)
def test_a_test_on_the_wrong_kind_of_answer_is_false(data: dict[str, Any]) -> None:
    assert not holds(cond(data), ANSWERS)


def test_the_levels_under_matters_a_lot_are_not_a_lot() -> None:
    for level, expected in (("a_lot", True), ("a_little", False), ("not_at_all", False)):
        answers: Answers = {"values": {"proven": level}}
        assert holds(cond({"answer": "values", "includes": ["proven"]}), answers) is expected, level
        assert holds(cond({"not": {"answer": "values", "includes": ["proven"]}}), answers) is not expected


def test_all_needs_every_part_and_gathers_their_questions_in_order() -> None:
    both = cond({"all": [{"answer": "pain", "at_least": 5}, {"answer": "region", "is": "low_back"}]})
    assert evidence(both, ANSWERS) == ["pain", "region"]
    one_fails = cond({"all": [{"answer": "pain", "at_least": 5}, {"answer": "region", "is": "neck"}]})
    assert evidence(one_fails, ANSWERS) is None
    assert not holds(one_fails, ANSWERS)


def test_all_names_a_question_once() -> None:
    twice = cond({"all": [{"answer": "pain", "at_least": 5}, {"answer": "pain", "at_most": 8}]})
    assert evidence(twice, ANSWERS) == ["pain"]


def test_any_needs_one_part_and_names_only_the_parts_that_hold() -> None:
    condition = cond(
        {
            "any": [
                {"answer": "region", "is": "neck"},
                {"answer": "leg_symptoms", "includes": ["numbness"]},
                {"answer": "mri", "is": "had_mri"},
                {"answer": "pain", "at_least": 3},
            ]
        }
    )
    assert evidence(condition, ANSWERS) == ["leg_symptoms", "pain"]
    none_hold = cond({"any": [{"answer": "region", "is": "neck"}, {"answer": "mri", "is": "had_mri"}]})
    assert evidence(none_hold, ANSWERS) is None


def test_not_holds_when_its_part_does_not_and_names_the_answered_questions() -> None:
    condition = cond({"not": {"answer": "region", "is": "neck"}})
    assert evidence(condition, ANSWERS) == ["region"]
    assert evidence(cond({"not": {"answer": "region", "is": "low_back"}}), ANSWERS) is None


def test_not_of_an_unanswered_question_holds_with_no_answer_behind_it() -> None:
    condition = cond({"not": {"answer": "mri", "is": "had_mri"}})
    assert holds(condition, ANSWERS)
    assert evidence(condition, ANSWERS) == []


def test_nested_combinators() -> None:
    condition = cond(
        {
            "all": [
                {"any": [{"answer": "region", "is": "neck"}, {"answer": "pain", "at_least": 5}]},
                {"not": {"answer": "leg_symptoms", "includes": ["weakness"]}},
            ]
        }
    )
    assert evidence(condition, ANSWERS) == ["pain", "leg_symptoms"]
    weak = {**ANSWERS, "leg_symptoms": ["weakness"]}
    assert evidence(condition, weak) is None


def test_referenced_questions_lists_every_question_once_in_order() -> None:
    condition = cond(
        {
            "any": [
                {"answer": "mri", "is": "had_mri"},
                {"all": [{"answer": "pain", "at_least": 5}, {"not": {"answer": "mri", "is": "no_mri"}}]},
            ]
        }
    )
    assert referenced_questions(condition) == ["mri", "pain"]


@pytest.mark.parametrize(
    "data",
    [
        {"answer": "region"},  # no test
        {"answer": "region", "is": "neck", "in": ["both"]},  # two tests
        {"is": "neck"},  # a test without an answer
        {},
        {"all": [], "any": []},
        {"answer": "region", "is": "neck", "not": {"answer": "pain", "at_least": 1}},
        {"answer": "region", "is": "Neck"},  # ids are lowercase
        {"answer": "region", "equals": "neck"},  # unknown field
    ],
)
def test_malformed_conditions_are_rejected(data: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Condition.model_validate(data)
