"""Candidacy: the rules in content/candidacy.yaml, outcome priority, and the answers a result names."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from flows.candidacy import evaluate
from flows.conditions import AnswerValue, referenced_questions
from flows.content import Content
from flows.engine import Engine
from flows.events import Resume
from flows.limits import plain_text
from flows.loader import load_content
from flows.model import Candidacy, Condition, MultiState, ScaleState, SingleState, TextState
from flows.session import Session

ROOT = Path(__file__).resolve().parent.parent
RULE_IDS = [rule["id"] for rule in yaml.safe_load((ROOT / "content" / "candidacy.yaml").read_text())["rules"]]

Answers = dict[str, AnswerValue]


@pytest.fixture(scope="module")
def content() -> Content:
    result = load_content(ROOT / "content")
    assert result.content is not None, "\n".join(map(str, result.problems))
    return result.content


def rule_of(content: Content, rule_id: str) -> Any:
    return next(rule for rule in content.candidacy.rules if rule.id == rule_id)


def options(content: Content, question: str) -> list[str]:
    state = content.states[question]
    return [option.id for option in getattr(state, "options", [])]


def satisfy(content: Content, condition: Condition) -> Answers:
    """Answers that make `condition` true, and name only the questions it reads."""
    if condition.answer is not None:
        question = condition.answer
        if condition.is_ is not None:
            return {question: condition.is_}
        if condition.in_ is not None:
            return {question: condition.in_[0]}
        if condition.includes is not None:
            return {question: [condition.includes[0]]}
        value = condition.at_least if condition.at_least is not None else condition.at_most
        assert value is not None
        return {question: value}
    if condition.all_ is not None:
        merged: Answers = {}
        for part in condition.all_:
            merged.update(satisfy(content, part))
        return merged
    if condition.any_ is not None:
        return satisfy(content, condition.any_[0])
    assert condition.not_ is not None
    return violate(content, condition.not_)


def violate(content: Content, condition: Condition) -> Answers:
    """Answers to the same questions that make `condition` false."""
    if condition.answer is not None:
        question = condition.answer
        allowed = set(condition.option_values())
        others = [option for option in options(content, question) if option not in allowed]
        if condition.includes is not None:
            return {question: others[:1]}
        if condition.is_ is not None or condition.in_ is not None:
            return {question: others[0]}
        if condition.at_least is not None:
            return {question: condition.at_least - 1}
        assert condition.at_most is not None
        return {question: condition.at_most + 1}
    if condition.all_ is not None:
        return violate(content, condition.all_[0])
    if condition.any_ is not None:
        merged: Answers = {}
        for part in condition.any_:
            merged.update(violate(content, part))
        return merged
    assert condition.not_ is not None
    return satisfy(content, condition.not_)


def leaves(condition: Condition) -> list[Condition]:
    if condition.answer is not None:
        return [condition]
    return [leaf for child in condition.children() for leaf in leaves(child)]


def fired(candidacy: Candidacy, answers: Answers) -> list[str]:
    return [finding.rule.id for finding in evaluate(candidacy, answers).findings]


# --- each rule --------------------------------------------------------------------------------------


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_rule_fires_on_the_answers_it_names(content: Content, rule_id: str) -> None:
    rule = rule_of(content, rule_id)
    answers = satisfy(content, rule.when)
    result = evaluate(content.candidacy, answers)
    finding = next((f for f in result.findings if f.rule.id == rule_id), None)
    assert finding is not None, f"{rule_id} did not fire on {answers}"
    assert finding.questions == referenced_questions(rule.when)
    assert set(finding.questions) == set(answers)


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_rule_does_not_fire_when_one_named_answer_differs(content: Content, rule_id: str) -> None:
    rule = rule_of(content, rule_id)
    for leaf in leaves(rule.when):
        answers = {**satisfy(content, rule.when), **violate(content, leaf)}
        assert rule_id not in fired(content.candidacy, answers), f"{rule_id} fired on {answers}"


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_rule_does_not_fire_on_answers_to_other_questions(content: Content, rule_id: str) -> None:
    rule = rule_of(content, rule_id)
    named = set(referenced_questions(rule.when))
    answers: Answers = {}
    for state in content.flow.states:
        if state.id in named:
            continue
        if isinstance(state, MultiState):
            answers[state.id] = [option.id for option in state.options if not option.exclusive]
        elif isinstance(state, SingleState) and state.short is not None:
            answers[state.id] = state.options[0].id
        elif isinstance(state, ScaleState):
            answers[state.id] = state.high
        elif isinstance(state, TextState):
            answers[state.id] = "anything at all"
    assert rule_id not in fired(content.candidacy, answers)


def test_no_answers_fire_no_rule_and_give_the_default_outcome(content: Content) -> None:
    result = evaluate(content.candidacy, {})
    assert result.findings == []
    assert result.outcome.id == content.candidacy.default_outcome


# --- outcomes and their priority --------------------------------------------------------------------


def test_a_large_bone_spur_with_severe_narrowing_points_to_surgery(content: Content) -> None:
    answers: Answers = {
        "region": "low_back",
        "leg_symptoms": ["walking_pain"],
        "duration": "over_1_year",
        "mri": "had_mri",
        "mri_findings": ["bone_spurs", "facet_arthritis"],
        "mri_severity": "severe",
        "treatments": ["physio", "injections"],
        "health": "good",
    }
    result = evaluate(content.candidacy, answers)
    assert result.outcome.id == "surgery_may_serve"
    assert [f.rule.id for f in result.findings] == ["bone_spur_severe", "mri_caveat"]


def test_mild_soft_tissue_narrowing_with_care_tried_matches_the_clinic_profile(content: Content) -> None:
    answers: Answers = {
        "region": "low_back",
        "leg_symptoms": ["walking_pain"],
        "duration": "over_1_year",
        "mri": "had_mri",
        "mri_findings": ["thick_ligament"],
        "mri_severity": "mild",
        "treatments": ["chiro"],
        "health": "good",
    }
    result = evaluate(content.candidacy, answers)
    assert result.outcome.id == "may_be_discussed"
    assert result.findings[0].rule.id == "clinic_profile"


def test_cord_signs_come_before_everything_else(content: Content) -> None:
    answers: Answers = {
        "region": "both",
        "neck_symptoms": ["balance"],
        "mri": "had_mri",
        "mri_findings": ["bone_spurs"],
        "mri_severity": "severe",
        "duration": "under_6_weeks",
        "treatments": ["none"],
    }
    result = evaluate(content.candidacy, answers)
    assert result.outcome.id == "see_specialist_first"
    order = [f.rule.outcome for f in result.findings]
    priority = [outcome.id for outcome in content.candidacy.outcomes]
    assert order == sorted(order, key=priority.index), "findings for the chosen outcome come first"
    assert {"cord_signs", "bone_spur_severe", "recent_symptoms", "no_conservative_care"} <= {
        f.rule.id for f in result.findings
    }


@pytest.mark.parametrize("first", RULE_IDS)
@pytest.mark.parametrize("second", RULE_IDS)
def test_the_first_listed_outcome_wins(content: Content, first: str, second: str) -> None:
    one, two = rule_of(content, first), rule_of(content, second)
    answers_one, answers_two = satisfy(content, one.when), satisfy(content, two.when)
    if any(answers_one[q] != answers_two[q] for q in answers_one.keys() & answers_two.keys()):
        return  # no patient can give both sets of answers
    result = evaluate(content.candidacy, {**answers_one, **answers_two})
    priority = [outcome.id for outcome in content.candidacy.outcomes]
    best = min((f.rule.outcome for f in result.findings), key=priority.index)
    assert {first, second} <= {f.rule.id for f in result.findings}
    assert result.outcome.id == best
    assert priority.index(best) <= min(priority.index(one.outcome), priority.index(two.outcome))


def test_priority_follows_the_order_of_outcomes_not_of_rules() -> None:
    candidacy = Candidacy.model_validate(
        {
            "outcomes": [
                {"id": "urgent", "title": "t.urgent", "body": "b.urgent"},
                {"id": "later", "title": "t.later", "body": "b.later"},
            ],
            "default_outcome": "later",
            "rules": [
                {"id": "mild", "when": {"answer": "pain", "at_most": 3}, "outcome": "later", "reason": "r.mild"},
                {"id": "weak", "when": {"answer": "legs", "includes": ["weak"]}, "outcome": "urgent", "reason": "r.w"},
            ],
        }
    )
    result = evaluate(candidacy, {"pain": 2, "legs": ["weak"]})
    assert result.outcome.id == "urgent"
    assert [f.rule.id for f in result.findings] == ["weak", "mild"]
    assert evaluate(candidacy, {"pain": 2}).outcome.id == "later"
    assert evaluate(candidacy, {"pain": 9}).findings == []


# --- the result names the answers behind it ---------------------------------------------------------


def answer_labels(content: Content, question: str, value: AnswerValue) -> list[str]:
    """How the patient saw their answer: option labels, or the number."""
    state = content.states[question]
    labels = {option.id: content.texts.get("en", option.label) for option in getattr(state, "options", [])}
    if isinstance(value, list):
        return [labels[v] for v in value]
    if isinstance(value, int):
        return [str(value)]
    return [labels.get(value, value)]


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_result_names_the_answers_behind_each_reason(content: Content, rule_id: str) -> None:
    rule = rule_of(content, rule_id)
    answers = satisfy(content, rule.when)
    session = Session(state="result", step=40, consent=True, answers=answers, history=["welcome"])
    reply = Engine(content).step(session, Resume()).replies[0]
    assert reply.key == "result.intro"
    keys = reply.keys()
    assert rule.reason in keys
    text = plain_text(reply.text)
    reason = plain_text(content.texts.get("en", rule.reason))
    assert reason in text
    # the reason's bullet: from its text to the next bullet (or the end)
    bullet = text[text.index(reason) :].split("\n•")[0]
    for question, value in answers.items():
        state = content.states[question]
        assert state.short is not None  # type: ignore[union-attr]
        assert plain_text(content.texts.get("en", state.short)) in bullet, (question, bullet)  # type: ignore[union-attr]
        for label in answer_labels(content, question, value):
            assert plain_text(label) in bullet, (question, label, bullet)


def test_result_shows_the_outcome_and_a_disclaimer(content: Content) -> None:
    session = Session(state="result", step=40, consent=True, answers={"mri": "no_mri"}, history=["welcome"])
    reply = Engine(content).step(session, Resume()).replies[0]
    outcome = evaluate(content.candidacy, session.answers).outcome
    assert (outcome.title, outcome.body) == reply.keys()[1:3]
    text = plain_text(reply.text)
    assert plain_text(content.texts.get("en", outcome.title)) in text
    assert plain_text(content.texts.get("en", "result.disclaimer")) in text


def test_result_without_any_rule_says_so(content: Content) -> None:
    session = Session(state="result", step=40, consent=True, answers={}, history=["welcome"])
    reply = Engine(content).step(session, Resume()).replies[0]
    assert content.candidacy.default_outcome in {o.id for o in content.candidacy.outcomes}
    assert plain_text(content.texts.get("en", "result.no_rules")) in plain_text(reply.text)
    assert plain_text(content.texts.get("en", "result.why")) not in plain_text(reply.text)
