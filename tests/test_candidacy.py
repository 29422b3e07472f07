"""Candidacy: the rules in content/candidacy.yaml, their example patients, outcome priority, the rules the issue
asks for, which outcomes allow a clinic hand-off, and the answers a result names."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from itertools import chain, combinations
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows.actions import ACTIONS
from flows.candidacy import evaluate
from flows.conditions import AnswerValue, referenced_questions
from flows.content import Content
from flows.engine import Engine
from flows.events import Choose, Done, Event, Resume, Toggle, Typed
from flows.handoff import eligible_clinics
from flows.limits import plain_text
from flows.loader import load_content
from flows.model import Candidacy, Condition, Example
from flows.replies import Reply
from flows.session import Session
from flows.states import kind_of
from flows.states.multi import MultiState
from flows.states.scale import ScaleState
from flows.states.single import SingleState
from flows.states.text import TextState
from flows.states.weighted import TOP

ROOT = Path(__file__).resolve().parent.parent
CANDIDACY = yaml.safe_load((ROOT / "content" / "candidacy.yaml").read_text(encoding="utf-8"))
RULE_IDS = [rule["id"] for rule in CANDIDACY["rules"]]
EXAMPLE_IDS = [example["id"] for example in CANDIDACY["examples"]]
PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

Answers = dict[str, AnswerValue]
UNANSWERED = None  # in `violate`: leave the question unanswered


@pytest.fixture(scope="module")
def content() -> Content:
    result = load_content(ROOT / "content")
    assert result.content is not None, "\n".join(map(str, result.problems))
    return result.content


@pytest.fixture(scope="module")
def engine(content: Content) -> Engine:
    return Engine(content)


def rule_of(content: Content, rule_id: str) -> Any:
    return next(rule for rule in content.candidacy.rules if rule.id == rule_id)


def example_of(content: Content, example_id: str) -> Example:
    return next(example for example in content.candidacy.examples if example.id == example_id)


def options(content: Content, question: str) -> list[str]:
    """The ids an answer to `question` may take: a question's options, or the values an action keeps."""
    state = content.states.get(question)
    if state is not None:
        return kind_of(state).answer_ids(state)
    return [value for action in ACTIONS.values() for value in action.keeps.get(question, ())]


def merged(*parts: dict[str, AnswerValue | None]) -> Answers:
    """Answers put together, later parts winning; UNANSWERED drops a question."""
    answers: dict[str, AnswerValue | None] = {}
    for part in parts:
        answers.update(part)
    return {question: value for question, value in answers.items() if value is not UNANSWERED}


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
        return merged(*(satisfy(content, part) for part in condition.all_))
    if condition.any_ is not None:
        return satisfy(content, condition.any_[0])
    assert condition.not_ is not None
    return merged(violate(content, condition.not_))


def violate(content: Content, condition: Condition) -> dict[str, AnswerValue | None]:
    """Answers to the same questions that make `condition` false (UNANSWERED when no other answer exists)."""
    if condition.answer is not None:
        question = condition.answer
        allowed = set(condition.option_values())
        others = [option for option in options(content, question) if option not in allowed]
        if condition.includes is not None:
            return {question: others[:1]}
        if condition.is_ is not None or condition.in_ is not None:
            return {question: others[0] if others else UNANSWERED}
        if condition.at_least is not None:
            return {question: condition.at_least - 1}
        assert condition.at_most is not None
        return {question: condition.at_most + 1}
    if condition.all_ is not None:
        return violate(content, condition.all_[0])
    if condition.any_ is not None:
        found: dict[str, AnswerValue | None] = {}
        for part in condition.any_:
            found.update(violate(content, part))
        return found
    assert condition.not_ is not None
    return dict(satisfy(content, condition.not_))


def leaves(condition: Condition, negated: bool = False) -> list[tuple[Condition, bool]]:
    """The answer tests that `satisfy` meets (for `any`, those of its first part), each with whether it sits
    under a `not` (then the rule needs it false)."""
    if condition.answer is not None:
        return [(condition, negated)]
    if condition.not_ is not None:
        return leaves(condition.not_, not negated)
    children = condition.any_[:1] if condition.any_ is not None else condition.children()
    return [leaf for child in children for leaf in leaves(child, negated)]


def fired(candidacy: Candidacy, answers: Answers) -> list[str]:
    return [finding.rule.id for finding in evaluate(candidacy, answers).findings]


def outcome(content: Content, answers: Answers) -> str:
    return evaluate(content.candidacy, answers).outcome.id


# --- walking a patient through the real flow -------------------------------------------------------

# Answers after the result, for patients whose answers stop at the intake (the example patients).
AFTER_RESULT: Answers = {"leaning": "unsure"}


def next_event(engine: Engine, session: Session, answers: Answers) -> Event:
    """What a patient with these answers taps (or types) at their current state."""
    state = engine.content.states[session.state]
    step = session.step
    given_ = answers.get(state.id, AFTER_RESULT.get(state.id))
    if state.type == "safety":  # 'not sure' on the first question is enough for urgent advice
        urgent = answers.get("safety") == "urgent"
        return Choose(step, "flag_unsure" if urgent else "flag_no")
    if isinstance(state, SingleState) and state.short is None:
        return Choose(step, "agree")  # consent (also after urgent advice)
    if isinstance(state, SingleState | ScaleState):
        assert given_ is not None, f"no answer to '{state.id}' in {answers}"
        return Choose(step, str(given_))
    if isinstance(state, MultiState):
        assert isinstance(given_, list), f"no ticks for '{state.id}' in {answers}"
        missing = [option for option in given_ if option not in session.draft]
        return Toggle(step, missing[0]) if missing else Done(step)
    if isinstance(state, TextState):
        return Typed(str(given_)) if given_ is not None else Choose(step, "skip")
    if state.type in ("weighted", "knowledge", "sure"):  # one item at a time; the draft holds the answered ones
        items = state.items  # type: ignore[attr-defined]
        item = items[len(session.draft)].id
        weights = given_ if isinstance(given_, dict) else {}
        return Choose(step, {"weighted": weights.get(item, "a_little"), "knowledge": "true", "sure": "yes"}[state.type])
    if state.type == "clinic_choice":
        return Choose(step, "none")
    return Choose(step, "ok")  # messages, result, comparison, nudge, summary


def walk(engine: Engine, answers: Answers, until: str, language: str = "en") -> Session:
    """A new patient answering as `answers` say, from the welcome until they reach the state `until`."""
    session = engine.new_session(language)
    for _ in range(200):
        if session.state == until:
            return session
        step = engine.step(session, next_event(engine, session, answers))
        assert step.rejected is None, (session.state, step.rejected)
        session = step.session
    raise AssertionError(f"never reached '{until}'; stuck at '{session.state}'")


def unordered(answers: Answers) -> dict[str, Any]:
    """Answers with ticks as sets (the flow keeps them in the question's order)."""
    return {question: set(value) if isinstance(value, list) else value for question, value in answers.items()}


def result_reply(engine: Engine, session: Session) -> Reply:
    assert session.state == "result"
    return engine.step(session, Resume()).replies[0]


def with_a_clinic_that_takes_handoffs(content: Content) -> Content:
    """The content, with its clinics able to receive hand-offs."""
    clinics = [clinic.model_copy(update={"handoff_chat_id": -100123}) for clinic in content.clinics]
    assert clinics, "content/clinics.yaml lists no clinic"
    return dataclasses.replace(content, clinics=clinics)


# --- example patients -------------------------------------------------------------------------------


def test_every_rule_names_an_example_patient_and_every_outcome_has_one(content: Content) -> None:
    examples = {example.id for example in content.candidacy.examples}
    assert {rule.example for rule in content.candidacy.rules} <= examples
    assert {example.outcome for example in content.candidacy.examples} == set(content.outcome_by_id)


@pytest.mark.parametrize("example_id", EXAMPLE_IDS)
def test_example_patient_gets_the_outcome_written_beside_them(content: Content, example_id: str) -> None:
    example = example_of(content, example_id)
    assert outcome(content, example.answers) == example.outcome, example.patient


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_rule_fires_for_the_example_patient_it_names(content: Content, rule_id: str) -> None:
    rule = rule_of(content, rule_id)
    example = example_of(content, rule.example)
    result = evaluate(content.candidacy, example.answers)
    finding = next((f for f in result.findings if f.rule.id == rule_id), None)
    assert finding is not None, f"{rule_id} does not fire for {example.id}: {example.patient}"
    assert set(finding.questions) <= set(example.answers)


@pytest.mark.parametrize("example_id", EXAMPLE_IDS)
def test_example_patient_walked_through_the_flow(content: Content, example_id: str) -> None:
    """The flow asks exactly the questions the example answers, shows its outcome with the reasons of every rule
    that fired, and offers a clinic after the summary only when the outcome allows a hand-off."""
    example = example_of(content, example_id)
    engine = Engine(with_a_clinic_that_takes_handoffs(content))
    session = walk(engine, example.answers, until="result")
    assert unordered(session.answers) == unordered(example.answers), "the flow asks other questions than the example"
    reply = result_reply(engine, session)
    expected = content.outcome_by_id[example.outcome]
    keys = reply.keys()
    assert keys[1:3] == (expected.title, expected.body)
    for rule_id in fired(content.candidacy, example.answers):
        assert rule_of(content, rule_id).reason in keys
    session = walk(engine, example.answers, until="summary")
    offer = engine.step(session, Choose(session.step, "ok")).session
    assert offer.state == "follow_up_offer", example.patient
    after = engine.step(offer, Choose(offer.step, "no")).session
    assert after.state == ("handoff_choice" if expected.handoff else "own_doctor"), example.patient


# --- the rules the issue asks for -------------------------------------------------------------------

LOW_BACK_PROFILE: Answers = {  # a patient the clinic profile fits: the base the tests below change one thing of
    "region": "low_back",
    "leg_symptoms": ["walking_pain", "back_pain"],
    "duration": "over_1_year",
    "pain": 6,
    "mri": "had_mri",
    "mri_findings": ["bulging_disc"],
    "mri_severity": "mild",
    "treatments": ["physio"],
    "health": "good",
}
FINDINGS = ["bulging_disc", "thick_ligament", "bone_spurs", "facet_arthritis", "slipped_vertebra"]


def mri_answers() -> Iterator[Answers]:
    """Every way a patient can answer the MRI questions."""
    yield {"mri": "no_mri"}
    yield {"mri": "not_sure"}
    ticks = chain.from_iterable(combinations(FINDINGS, size) for size in range(1, len(FINDINGS) + 1))
    for findings in [*map(list, ticks), ["unsure"]]:
        for severity in ("mild", "moderate", "severe", "not_told"):
            yield {"mri": "had_mri", "mri_findings": findings, "mri_severity": severity}


def with_mri(base: Answers, mri: Answers) -> Answers:
    return {**{k: v for k, v in base.items() if not k.startswith("mri")}, **mri}


def test_the_low_back_profile_may_be_discussed(content: Content) -> None:
    result = evaluate(content.candidacy, LOW_BACK_PROFILE)
    assert result.outcome.id == "may_be_discussed"
    assert result.findings[0].rule.id == "clinic_profile"


def test_thick_ligament_with_care_tried_matches_the_clinic_profile(content: Content) -> None:
    answers = {**LOW_BACK_PROFILE, "mri_findings": ["thick_ligament"], "treatments": ["medicines", "injections"]}
    assert outcome(content, answers) == "may_be_discussed"


@pytest.mark.parametrize("region", ["neck", "both"])
def test_may_be_discussed_never_fires_for_a_neck_patient(content: Content, region: str) -> None:
    for symptoms in (["neck_pain"], ["arm_symptoms"], ["neck_pain", "arm_symptoms"]):
        answers = {**LOW_BACK_PROFILE, "region": region, "neck_symptoms": symptoms}
        if region == "neck":
            answers.pop("leg_symptoms")
        result = evaluate(content.candidacy, answers)
        assert result.outcome.id == "unclear", answers
        assert "neck_evidence" in fired(content.candidacy, answers)


@pytest.mark.parametrize(
    ("region", "ticked"),
    [
        ("low_back", {"leg_symptoms": ["none"]}),
        ("not_sure", {"leg_symptoms": ["none"]}),
        ("neck", {"neck_symptoms": ["none"]}),
        ("both", {"leg_symptoms": ["none"], "neck_symptoms": ["none"]}),
    ],
)
def test_no_symptoms_ticked_is_not_yet(content: Content, region: str, ticked: Answers) -> None:
    answers = {**{k: v for k, v in LOW_BACK_PROFILE.items() if k != "leg_symptoms"}, "region": region, **ticked}
    result = evaluate(content.candidacy, answers)
    assert result.outcome.id == "not_yet"
    assert "no_symptoms" in fired(content.candidacy, answers)


@pytest.mark.parametrize(
    ("region", "sign"),
    [
        ("low_back", {"leg_symptoms": ["walking_pain", "weakness"]}),
        ("low_back", {"leg_symptoms": ["weakness"]}),
        ("both", {"leg_symptoms": ["weakness"], "neck_symptoms": ["neck_pain"]}),
        ("neck", {"neck_symptoms": ["hand_clumsy"]}),
        ("neck", {"neck_symptoms": ["hand_clumsy", "arm_symptoms", "neck_pain"]}),
        ("neck", {"neck_symptoms": ["balance"]}),
        ("both", {"leg_symptoms": ["walking_pain"], "neck_symptoms": ["hand_clumsy"]}),
    ],
)
def test_weak_legs_or_clumsy_hands_see_a_specialist_first_whatever_the_mri_says(
    content: Content, region: str, sign: Answers
) -> None:
    base = {**{k: v for k, v in LOW_BACK_PROFILE.items() if k != "leg_symptoms"}, "region": region, **sign}
    for mri in mri_answers():
        answers = with_mri(base, mri)
        assert outcome(content, answers) == "see_specialist_first", answers


def test_severe_narrowing_not_from_bone_sees_a_specialist_first(content: Content) -> None:
    for mri in mri_answers():
        if mri.get("mri_severity") != "severe":
            continue
        answers = with_mri(LOW_BACK_PROFILE, mri)
        from_bone = "bone_spurs" in mri["mri_findings"]  # type: ignore[operator]
        assert outcome(content, answers) == ("surgery_may_serve" if from_bone else "see_specialist_first"), mri


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


def test_chiropractic_alone_is_not_conservative_care(content: Content) -> None:
    answers = {**LOW_BACK_PROFILE, "treatments": ["chiro"]}
    result = evaluate(content.candidacy, answers)
    assert result.outcome.id == "not_yet"
    assert result.findings[0].rule.id == "chiropractic_only"
    assert "clinic_profile" not in fired(content.candidacy, answers)
    for care in ("physio", "medicines", "injections"):
        assert outcome(content, {**answers, "treatments": ["chiro", care]}) == "may_be_discussed", care


def test_urgent_advice_comes_before_every_other_outcome(content: Content) -> None:
    for answers in (LOW_BACK_PROFILE, example_of(content, "neck_clumsy_hands").answers):
        result = evaluate(content.candidacy, {**answers, "safety": "urgent"})
        assert result.outcome.id == "see_doctor_first"
        assert result.findings[0].rule.id == "urgent_screen"


# --- the same rules, on any answers the flow can collect --------------------------------------------


def ticks(state: MultiState) -> st.SearchStrategy[list[str]]:
    """What a patient can tick: one exclusive option ('none'), or any of the others, in the question's order."""
    exclusive = [option.id for option in state.options if option.exclusive]
    others = [option.id for option in state.options if not option.exclusive]
    some = st.sets(st.sampled_from(others), min_size=1).map(lambda chosen: [o for o in others if o in chosen])
    return st.one_of(*(st.just([e]) for e in exclusive), some)


def draw_patient(draw: Callable[[st.SearchStrategy[Any]], Any], engine: Engine) -> Answers:
    """Answers to the intake as the flow asks it (each question only where the flow leads), after the safety
    questions: clear, or urgent advice and consent."""
    content = engine.content
    answers: Answers = {"safety": "urgent"} if draw(st.booleans()) else {}
    state_id = engine.machine.advance("consent", answers, "agree")
    while state_id is not None and state_id != "result":
        state = content.states[state_id]
        option = None
        if isinstance(state, SingleState):
            option = draw(st.sampled_from([o.id for o in state.options]))
            answers[state.id] = option
        elif isinstance(state, MultiState):
            answers[state.id] = draw(ticks(state))
        elif isinstance(state, ScaleState):
            answers[state.id] = draw(st.integers(state.low, state.high))
        state_id = engine.machine.advance(state_id, answers, option)
    assert state_id == "result", answers
    return answers


def includes(answers: Answers, question: str, *options: str) -> bool:
    ticked = answers.get(question)
    return isinstance(ticked, list) and any(option in ticked for option in options)


@PROPERTY
@given(data=st.data())
def test_the_issues_rules_hold_for_any_patient(engine: Engine, data: st.DataObject) -> None:
    answers = draw_patient(data.draw, engine)
    got = outcome(engine.content, answers)
    urgent = answers.get("safety") == "urgent"
    if urgent:
        assert got == "see_doctor_first"
        return
    if includes(answers, "leg_symptoms", "weakness") or includes(answers, "neck_symptoms", "hand_clumsy", "balance"):
        assert got == "see_specialist_first", answers
    if answers.get("mri_severity") == "severe" and not includes(answers, "mri_findings", "bone_spurs"):
        assert got == "see_specialist_first", answers
    if got == "may_be_discussed":
        assert answers["region"] == "low_back", "never for a neck patient"
        assert includes(answers, "leg_symptoms", "walking_pain", "numbness", "back_pain"), "never without symptoms"
        assert answers["mri"] == "had_mri" and answers["mri_severity"] in ("mild", "moderate")
        assert includes(answers, "treatments", "physio", "medicines", "injections"), "chiropractic is not enough"
        assert answers["duration"] != "under_6_weeks" and answers["health"] == "good"
        assert not includes(answers, "treatments", "none")


@PROPERTY
@given(data=st.data())
def test_only_results_that_allow_it_offer_a_clinic(engine: Engine, data: st.DataObject) -> None:
    content = with_a_clinic_that_takes_handoffs(engine.content)
    answers = draw_patient(data.draw, engine)
    result = evaluate(content.candidacy, answers)
    session = Session(state="summary", consent=True, answers=answers)
    offered = eligible_clinics(content, session)
    if result.outcome.handoff:
        assert offered, answers  # the demo clinic treats both regions in both languages
    else:
        assert offered == [], (result.outcome.id, answers)


def test_outcomes_that_allow_a_handoff(content: Content) -> None:
    assert {o.id: o.handoff for o in content.candidacy.outcomes} == {
        "see_doctor_first": False,
        "see_specialist_first": False,
        "surgery_may_serve": False,
        "not_yet": False,
        "may_be_discussed": True,
        "unclear": True,
    }
    assert content.outcome_by_id[content.candidacy.default_outcome].handoff


# --- each rule --------------------------------------------------------------------------------------


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_rule_fires_on_the_answers_it_names(content: Content, rule_id: str) -> None:
    rule = rule_of(content, rule_id)
    answers = satisfy(content, rule.when)
    result = evaluate(content.candidacy, answers)
    finding = next((f for f in result.findings if f.rule.id == rule_id), None)
    assert finding is not None, f"{rule_id} did not fire on {answers}"
    assert finding.questions == [q for q in referenced_questions(rule.when) if q in answers]
    assert set(finding.questions) == set(answers)


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_rule_does_not_fire_when_one_named_answer_differs(content: Content, rule_id: str) -> None:
    rule = rule_of(content, rule_id)
    for leaf, negated in leaves(rule.when):
        differs = satisfy(content, leaf) if negated else violate(content, leaf)
        answers = merged(satisfy(content, rule.when), differs)
        assert rule_id not in fired(content.candidacy, answers), f"{rule_id} fired on {answers}"


def every_other_answer(content: Content, named: set[str]) -> Answers:
    """An answer to every question the rules could read, but those in `named`."""
    answers: Answers = {}
    for state in content.flow.states:
        if state.id in named:
            continue
        shape = kind_of(state).answer_shape(state)
        if isinstance(state, MultiState):
            answers[state.id] = [option.id for option in state.options if not option.exclusive]
        elif shape == "choice":
            answers[state.id] = kind_of(state).answer_ids(state)[0]
        elif isinstance(state, ScaleState):
            answers[state.id] = state.high
        elif shape == "number":
            answers[state.id] = len(getattr(state, "items", []))
        elif shape == "weights":
            answers[state.id] = dict.fromkeys(kind_of(state).answer_ids(state), TOP)
        elif shape == "text":
            answers[state.id] = "anything at all"
    for action in ACTIONS.values():
        for question, values in action.keeps.items():
            if question not in named:
                answers[question] = values[0]
    return answers


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_rule_does_not_fire_on_answers_to_other_questions(content: Content, rule_id: str) -> None:
    rule = rule_of(content, rule_id)
    answers = every_other_answer(content, set(referenced_questions(rule.when)))
    assert rule_id not in fired(content.candidacy, answers)


def test_no_answers_fire_no_rule_and_give_the_default_outcome(content: Content) -> None:
    result = evaluate(content.candidacy, {})
    assert result.findings == []
    assert result.outcome.id == content.candidacy.default_outcome


# --- outcomes and their priority --------------------------------------------------------------------


def test_cord_signs_come_before_everything_else_but_urgent_advice(content: Content) -> None:
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
    both = {**answers_one, **answers_two}
    result = evaluate(content.candidacy, both)
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
                {"id": "later", "title": "t.later", "body": "b.later", "handoff": True},
            ],
            "default_outcome": "later",
            "rules": [
                {
                    "id": "mild",
                    "when": {"answer": "pain", "at_most": 3},
                    "outcome": "later",
                    "reason": "r.mild",
                    "example": "mild_and_weak",
                },
                {
                    "id": "weak",
                    "when": {"answer": "legs", "includes": ["weak"]},
                    "outcome": "urgent",
                    "reason": "r.w",
                    "example": "mild_and_weak",
                },
            ],
            "examples": [
                {
                    "id": "mild_and_weak",
                    "patient": "mild pain, weak legs",
                    "answers": {"pain": 2, "legs": ["weak"]},
                    "outcome": "urgent",
                }
            ],
        }
    )
    result = evaluate(candidacy, {"pain": 2, "legs": ["weak"]})
    assert result.outcome.id == "urgent"
    assert not result.outcome.handoff
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
def test_result_names_the_answers_behind_each_reason(engine: Engine, content: Content, rule_id: str) -> None:
    rule = rule_of(content, rule_id)
    answers = satisfy(content, rule.when)
    session = Session(state="result", step=40, consent=True, answers=answers, history=["welcome"])
    reply = result_reply(engine, session)
    keys = reply.keys()
    assert keys[0] == "result.intro"
    assert rule.reason in keys
    text = plain_text(reply.text)
    reason = plain_text(content.texts.get("en", rule.reason))
    assert reason in text
    # the reason's bullet: from its text to the next bullet (or the end)
    bullet = text[text.index(reason) :].split("\n•")[0]
    asked = [question for question in answers if question in content.states]
    based_on = plain_text(content.texts.get("en", "result.based_on"))
    assert (based_on in bullet.split("\n\n")[0]) == bool(asked), bullet
    for question in asked:
        short = getattr(content.states[question], "short", None)
        assert short is not None
        assert plain_text(content.texts.get("en", short)) in bullet, (question, bullet)
        for label in answer_labels(content, question, answers[question]):
            assert plain_text(label) in bullet, (question, label, bullet)


def test_result_shows_the_outcome_a_disclaimer_and_who_is_behind_the_guide(engine: Engine, content: Content) -> None:
    session = Session(state="result", step=40, consent=True, answers={"mri": "no_mri"}, history=["welcome"])
    reply = result_reply(engine, session)
    expected = evaluate(content.candidacy, session.answers).outcome
    assert (expected.title, expected.body) == reply.keys()[1:3]
    text = plain_text(reply.text)
    assert plain_text(content.texts.get("en", expected.title)) in text
    assert plain_text(content.texts.get("en", "result.disclaimer")) in text
    assert plain_text(content.texts.get("en", "result.disclosure")) in text


def test_result_without_any_rule_says_so(engine: Engine, content: Content) -> None:
    session = Session(state="result", step=40, consent=True, answers={}, history=["welcome"])
    reply = result_reply(engine, session)
    assert content.candidacy.default_outcome in content.outcome_by_id
    assert plain_text(content.texts.get("en", "result.no_rules")) in plain_text(reply.text)
    assert plain_text(content.texts.get("en", "result.why")) not in plain_text(reply.text)


def test_the_values_that_matter_a_lot_are_reflected_in_the_order_they_are_asked(
    engine: Engine, content: Content
) -> None:
    # The values are asked after the result: what matters a lot is reflected after them and in the summary.
    values = {"stay_near_home": "a_lot", "low_cost": "a_little", "proven": "a_lot", "few_visits": "not_at_all"}
    answers: dict[str, AnswerValue] = {"region": "low_back", "values": values}
    session = Session(state="summary", step=40, consent=True, answers=answers, history=["welcome"])
    keys = engine.views.reflected_keys(session)
    assert keys == ["values.reflect.proven", "values.reflect.stay_near_home"]
    shown = plain_text(engine.step(session, Resume()).replies[0].text)
    lines = [plain_text(content.texts.get("en", key)) for key in ("weighted.reflect_heading", *keys)]
    assert "\n• ".join(lines) in shown

    nothing_a_lot = {"values": {value: "a_little" for value in values}}
    for others in (nothing_a_lot, {"region": "low_back"}):
        assert engine.views.reflected_keys(session.model_copy(update={"answers": others})) == [], others
