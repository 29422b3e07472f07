"""flows.engine: the conversation as a patient lives it, driven by the buttons the engine renders."""

from __future__ import annotations

import dataclasses
import html
from pathlib import Path

import pytest

from flows.conditions import holds
from flows.content import Content
from flows.engine import Engine
from flows.events import (
    Back,
    Choose,
    Done,
    Event,
    Restart,
    Resume,
    SharedContact,
    ShowComparison,
    ShowInfo,
    ShowMenu,
    ShowSection,
    Start,
    Toggle,
    Typed,
    Unreadable,
    decode,
    encode,
)
from flows.limits import plain_text
from flows.loader import load_content
from flows.replies import Button, Picture, Reply
from flows.session import Session
from flows.stages import Stage
from flows.states.knowledge import KnowledgeState
from flows.states.menu import MenuState
from flows.states.nudge import NudgeState
from flows.states.result import ResultState
from flows.states.safety import SafetyState
from flows.states.scale import ScaleState
from flows.states.stop import StopState
from flows.states.sure import SureState
from flows.states.text import TextState
from flows.texts import fill
from flows.turn import Reason, Step
from tests.conversation_script import button_name, find_button, flatten

ROOT = Path(__file__).resolve().parent.parent
HANDOFF_CHAT = -1001234567890

# From the welcome through the four safety questions, answering "no" to each: at the consent question.
SCREEN_CLEAR = ("ok", "flag_no", "flag_no", "flag_no", "flag_no")
# The low-back answers of a patient whose profile matches what clinics describe (may be discussed).
LOW_BACK: tuple[str | Event, ...] = (
    "low_back",
    "+walking_pain",
    "+numbness",
    "done",
    "over_1_year",
    "6",
    "had_mri",
    "+bulging_disc",
    "+thick_ligament",
    "done",
    "moderate",
    "+physio",
    "done",
    "good",
    Typed("walk to the shops"),
)
# A low-back patient with no scan yet: "not yet" (no hand-off may follow).
NO_SCAN: tuple[str | Event, ...] = ("low_back", "+walking_pain", "done", "over_1_year", "5", "no_mri")
NO_SCAN += ("+physio", "done", "good", "skip")
VALUES = ("avoid_surgery", "proven", "low_cost", "quick_return", "few_visits", "stay_near_home")
LEANINGS = ("wait", "exercise", "medicines", "epidural", "surgery", "stem_cells")
KNOWLEDGE = ("waiting", "cells_proven", "surgery_sure")
RIGHT_ANSWERS = ("true", "false", "false")
SURE_ITEMS = ("sure.sure", "sure.understand", "sure.values", "sure.support")
# The reflection after the last value: this heading, then how the options compare on each value weighted "a lot".
REFLECT_HEADING = "weighted.reflect_heading"
# From the leaning question to the summary: exercise (no value weighted "a lot" conflicts), sure of it.
TO_SUMMARY: tuple[str | Event, ...] = ("exercise", "yes", "yes", "yes", "yes", "ok")
# The comparison, then the options table as a picture (which carries the comparison's buttons).
COMPARISON = ["comparison.intro", "figure.options_table.caption"]


def summary_keys(*figures: str) -> list[str]:
    """The summary, then these figures as pictures (the summary's buttons on the last one)."""
    return ["summary.intro", *(f"figure.{figure}.caption" for figure in figures)]


# After the summary: the first figure of the option the patient leans towards, then that of its comparator
# (stem cells; for a patient leaning towards stem cells, surgery). Epidurals have no figure.
SUMMARY_FIGURES = {
    "wait": ("natural_history", "cells_vs_dummy_6_months"),
    "exercise": ("physio_then_surgery", "cells_vs_dummy_6_months"),
    "medicines": ("pregabalin_side_effects", "cells_vs_dummy_6_months"),
    "epidural": ("cells_vs_dummy_6_months",),
    "surgery": ("surgery_improves", "cells_vs_dummy_6_months"),
    "stem_cells": ("cells_vs_dummy_6_months", "surgery_improves"),
    "unsure": ("cells_vs_dummy_6_months",),
}
SUMMARY = summary_keys(*SUMMARY_FIGURES["exercise"])  # where TO_SUMMARY leads
SUMMARY_BUTTONS = ["pdf", "pdf_large", "ok", "back"]

# Every answer of the safety screen that is an emergency: (questions answered "no" before, answer, stop state).
EMERGENCIES = [
    (0, "flag_yes", "emergency_cauda"),
    (1, "sudden", "emergency_legs"),
    (2, "sudden", "emergency_neck"),
]
# Every answer that calls for a doctor today: (questions answered "no" before, answer).
URGENT = [
    (0, "flag_unsure"),
    (1, "gradual"),
    (1, "flag_unsure"),
    (2, "gradual"),
    (2, "flag_unsure"),
    (3, "flag_yes"),
    (3, "flag_unsure"),
]
SAFETY_QUESTIONS = ("safety_cauda", "safety_legs", "safety_neck", "safety_other")


@pytest.fixture(scope="module")
def content() -> Content:
    result = load_content(ROOT / "content")
    assert result.content is not None, "\n".join(map(str, result.problems))
    return result.content


@pytest.fixture(scope="module")
def engine(content: Content) -> Engine:
    return Engine(content)


@pytest.fixture(scope="module")
def handoff_engine(content: Content) -> Engine:
    """The real content, with the demo clinic able to receive hand-offs in a Telegram chat."""
    clinics = [clinic.model_copy(update={"handoff_chat_id": HANDOFF_CHAT}) for clinic in content.clinics]
    return Engine(dataclasses.replace(content, clinics=clinics))


def keys_of(reply: Reply) -> tuple[str, ...]:
    """Every text key a reply was built from, its main key first."""
    return reply.keys()


class Chat:
    """One patient talking to the engine: taps only what is shown, and checks the engine's promises each step."""

    def __init__(self, engine: Engine, language: str = "en", has_username: bool = False) -> None:
        self.engine = engine
        self.session = engine.new_session(language).model_copy(update={"has_username": has_username})
        self.result: Step | None = None
        self.replies: list[Reply] = []
        self.buttons: list[Button] = []
        self.stages: list[Stage] = []
        self.all_stages: list[Stage] = []
        self.seen: list[str] = []  # main key of every question shown so far
        self.every_key: list[str] = []  # every key of every reply so far
        self.transcript: list[str] = []  # the plain text of every reply so far

    def send(self, event: Event) -> list[Reply]:
        before = self.session.model_copy(deep=True)
        result = self.engine.step(self.session, event)
        assert self.session == before, "the engine never changes the session it is given"
        assert result.replies, f"{event} got no reply"
        assert result.session.step >= before.step
        if result.rejected is not None:
            assert result.session == before, f"a rejected {event} changed the session"
            assert not result.changed and not result.stages and result.handoff is None
            assert result.rejected.state == before.state
            assert result.replies[0].key == "notice.stale"
        self.result = result
        self.session = result.session
        self.replies = result.replies
        self.stages = result.stages
        self.all_stages += result.stages
        self.seen += questions(result.replies)
        self.every_key += [key for reply in result.replies for key in keys_of(reply)]
        self.transcript += [plain_text(reply.text) for reply in result.replies]
        keyboards = [reply for reply in result.replies if reply.buttons]
        if keyboards:
            self.buttons = flatten(keyboards[-1].buttons)
        return result.replies

    def tap(self, name: str, buttons: list[Button] | None = None) -> list[Reply]:
        """Tap the shown button called `name` (see conversation_script.button_name)."""
        return self.send(decode(find_button(self.buttons if buttons is None else buttons, name).data))

    def play(self, *moves: str | Event) -> Chat:
        """'x' taps button x, '+x' ticks option x, an Event is sent as it is."""
        for move in moves:
            if isinstance(move, str):
                self.tap(f"toggle:{move[1:]}" if move.startswith("+") else move)
            else:
                self.send(move)
        return self

    @property
    def rejected(self) -> Reason | None:
        assert self.result is not None
        return None if self.result.rejected is None else self.result.rejected.reason

    @property
    def keys(self) -> list[str]:
        return [reply.key for reply in self.replies]

    @property
    def all_keys(self) -> set[str]:
        """Every text key the last replies were built from."""
        return {key for reply in self.replies for key in keys_of(reply)}

    @property
    def names(self) -> list[str]:
        return [button_name(button.data) for button in self.buttons]

    @property
    def text(self) -> str:
        return "\n".join(reply.text for reply in self.replies)


def questions(replies: list[Reply]) -> list[str]:
    """The main key of each question among `replies`. A question followed by pictures has its buttons on the
    last picture: it is named by its message, not by that picture."""
    found = []
    for index, reply in enumerate(replies):
        if reply.kind == "question":
            while index > 0 and replies[index].picture is not None:
                index -= 1
            found.append(replies[index].key)
    return found


def started(engine: Engine, language: str = "en", has_username: bool = False) -> Chat:
    chat = Chat(engine, language, has_username)
    chat.send(Start())
    return chat


def at_consent(engine: Engine) -> Chat:
    """A patient who answered "no" to every safety question: at the consent question."""
    chat = started(engine).play(*SCREEN_CLEAR)
    assert chat.keys == ["consent.ask"]
    return chat


def screened(engine: Engine, has_username: bool = False) -> Chat:
    """A patient with no safety sign who agreed to store answers: at the region question."""
    chat = started(engine, has_username=has_username).play(*SCREEN_CLEAR, "agree")
    assert chat.keys == ["region.ask"]
    return chat


def urgent(engine: Engine, before: int = 3, answer: str = "flag_yes") -> Chat:
    """A patient sent to a doctor today by the safety questions: at the urgent advice."""
    chat = started(engine).play("ok", *["flag_no"] * before, answer)
    assert chat.session.state == "urgent_advice"
    return chat


def at_result(engine: Engine) -> Chat:
    """A low-back patient with no scan yet, at the result."""
    chat = screened(engine).play(*NO_SCAN)
    assert chat.keys == ["result.intro"]
    return chat


def weigh(**levels: str) -> tuple[str, ...]:
    """The taps that weigh each value in order: as given, else 'not at all'."""
    assert set(levels) <= set(VALUES), levels
    return tuple(levels.get(value, "not_at_all") for value in VALUES)


def at_values(engine: Engine) -> Chat:
    chat = at_result(engine).play("ok", "ok")
    assert chat.keys == ["values.ask"]
    return chat


def at_leaning(engine: Engine, **levels: str) -> Chat:
    """At the leaning question, having weighed the values as given and answered the knowledge check."""
    chat = at_values(engine).play(*weigh(**levels), *RIGHT_ANSWERS)
    assert chat.keys[-1] == "leaning.ask"
    return chat


def at_sure(engine: Engine) -> Chat:
    chat = at_leaning(engine).play("wait")
    assert chat.keys == ["sure.intro"]
    return chat


def ticked(chat: Chat) -> list[str]:
    """Options shown ticked on the current multi-choice question."""
    tick = chat.engine.content.texts.get(chat.session.language, "common.tick_on")
    return [button_name(b.data).split(":")[1] for b in chat.buttons if b.label.startswith(tick + " ")]


def asked(chat: Chat) -> list[str]:
    """The main key of every question shown so far, a question re-shown in place counted once."""
    return [key for i, key in enumerate(chat.seen) if i == 0 or chat.seen[i - 1] != key]


def text_of(content: Content, key: str, language: str = "en") -> str:
    return plain_text(content.texts.get(language, key))


# --- the whole path ---------------------------------------------------------------------------------


def test_low_back_path_goes_from_the_safety_questions_to_the_menu(engine: Engine, content: Content) -> None:
    chat = started(engine).play(*SCREEN_CLEAR, "agree", *LOW_BACK)
    assert isinstance(content.states[chat.session.state], ResultState)
    assert "outcome.may_be_discussed.title" in chat.all_keys
    assert text_of(content, "outcome.may_be_discussed.title") in plain_text(chat.text)
    assert chat.session.answers["goal"] == "walk to the shops"
    assert chat.names == ["ok", "back"]
    assert chat.buttons[0].label == content.texts.get("en", "common.continue")

    chat.play("ok", "ok", *weigh(proven="a_lot", low_cost="a_little"), *RIGHT_ANSWERS, *TO_SUMMARY)
    assert chat.keys == SUMMARY
    assert chat.names == SUMMARY_BUTTONS
    chat.tap("ok")
    assert chat.keys == ["follow_up.offer"], "check-ins are offered at the end of the summary"
    assert chat.names == ["no", "yes", "back"], "no comes first"
    chat.tap("no")
    assert chat.keys == ["own_doctor"], "no clinic can receive a hand-off: take the summary to your own doctor"
    chat.tap("ok")
    assert chat.keys == ["menu.intro"]
    assert isinstance(content.states[chat.session.state], MenuState)
    assert chat.names[-1] == "restart"

    assert asked(chat) == [
        "welcome",
        "safety.cauda",
        "safety.legs",
        "safety.neck",
        "safety.other",
        "consent.ask",
        "region.ask",
        "leg_symptoms.ask",
        "duration.ask",
        "pain.ask",
        "mri.ask",
        "mri_findings.ask",
        "mri_severity.ask",
        "treatments.ask",
        "health.ask",
        "goal.ask",
        "result.intro",
        "comparison.intro",
        "values.ask",
        "knowledge.intro",
        "leaning.ask",
        "sure.intro",
        "sure.high",
        "summary.intro",
        "follow_up.offer",
        "own_doctor",
        "menu.intro",
    ]
    assert chat.all_stages == [Stage.SCREENED, Stage.CONSENTED, Stage.COMPLETED]
    answers = chat.session.answers
    assert answers["values"] == {
        "avoid_surgery": "not_at_all",
        "proven": "a_lot",
        "low_cost": "a_little",
        "quick_return": "not_at_all",
        "few_visits": "not_at_all",
        "stay_near_home": "not_at_all",
    }
    assert (answers["leaning"], answers["sure"]) == ("exercise", 4)
    assert not {"safety", "knowledge", "nudge", *SAFETY_QUESTIONS} & set(answers), "nothing kept of those"


# --- the safety questions, for everyone before consent ------------------------------------------------


def test_everyone_answers_the_safety_questions_before_consent(engine: Engine, content: Content) -> None:
    chat = started(engine)
    assert chat.names == ["ok"], "the welcome has nothing to go back to"
    for number, question in enumerate(SAFETY_QUESTIONS):
        chat.tap("ok" if number == 0 else "flag_no")
        assert chat.session.state == question
        assert isinstance(content.states[question], SafetyState)
        assert chat.session.consent is None, "nobody has been asked for consent yet"
        assert chat.session.answers == {}
        assert chat.names[-1] == "back"
        assert chat.stages == []
    assert [button_name(b.data) for b in chat.buttons] == ["flag_yes", "flag_unsure", "flag_no", "back"]
    chat.tap("flag_no")
    assert chat.keys == ["consent.ask"]
    assert chat.stages == [Stage.SCREENED]
    assert chat.names == ["agree", "decline"]
    assert chat.session.answers == {}
    assert chat.session.history == [], "nothing kept shows how the safety questions were answered"


def test_the_safety_answer_lists_cover_every_option_of_the_screen(content: Content) -> None:
    screen = [state for state in content.flow.states if state.id.startswith("safety_")]
    assert all(isinstance(state, SafetyState) for state in screen)
    assert [state.id for state in screen] == list(SAFETY_QUESTIONS)
    listed = {(before, answer) for before, answer, _ in EMERGENCIES} | set(URGENT)
    listed |= {(number, "flag_no") for number in range(len(screen))}
    assert {(number, option.id) for number, state in enumerate(screen) for option in state.options} == listed


@pytest.mark.parametrize(("before", "answer", "stop"), EMERGENCIES)
def test_an_emergency_answer_stops_at_its_emergency_state(
    engine: Engine, content: Content, before: int, answer: str, stop: str
) -> None:
    chat = started(engine).play("ok", *["flag_no"] * before)
    screen_buttons = chat.buttons
    chat.tap(answer)
    advice = content.states[stop].text
    assert chat.session.state == stop
    assert isinstance(content.states[stop], StopState)
    assert chat.keys == [advice]
    assert chat.names == ["restart"], "no question and no way on from an emergency stop, only starting again"
    assert chat.stages == [Stage.RED_FLAG]
    assert (chat.session.answers, chat.session.consent) == ({}, None)
    stopped = chat.session

    chat.tap("flag_no", screen_buttons)  # the safety question's old keyboard
    assert chat.keys == ["notice.stale", advice]
    assert chat.rejected is Reason.STALE
    for text in ("zzzz qqqq xxxx", "how much does it cost?", "is it safe"):  # topic words too: only the advice
        chat.send(Typed(text))
        assert chat.keys == [advice], text
        assert chat.names == ["restart"]
    chat.send(Back())  # /back does not lead back into the questions
    assert chat.keys == [advice]
    assert chat.session == stopped

    chat.tap("restart")
    assert chat.keys == ["welcome"]
    assert chat.session.state == content.flow.start
    assert Stage.RED_FLAG not in chat.stages


@pytest.mark.parametrize("stop", ["emergency_cauda", "emergency_legs", "emergency_neck"])
@pytest.mark.parametrize(("language", "numbers"), [("en", ("999", "911", "112")), ("es", ("112", "911"))])
def test_an_emergency_stop_names_the_emergency_numbers(
    content: Content, stop: str, language: str, numbers: tuple[str, ...]
) -> None:
    advice = text_of(content, content.states[stop].text, language)
    for number in numbers:
        assert number in advice, (stop, language, number)


@pytest.mark.parametrize(("before", "answer"), URGENT)
def test_an_urgent_answer_gives_the_advice_with_the_consent_question(
    engine: Engine, content: Content, before: int, answer: str
) -> None:
    chat = urgent(engine, before, answer)
    assert chat.keys == ["consent.ask"]
    assert chat.replies[0].keys() == ("consent.ask", "urgent.advice")
    shown = plain_text(chat.text)
    assert shown.index(text_of(content, "urgent.advice")) < shown.index(text_of(content, "consent.ask"))
    assert chat.stages == [Stage.URGENT]
    assert chat.names == ["agree", "decline"], "no way back into the safety questions"
    assert (chat.session.answers, chat.session.consent, chat.session.history) == ({}, None, [])


def test_agreeing_after_urgent_advice_keeps_it_and_the_result_says_see_a_doctor_first(handoff_engine: Engine) -> None:
    chat = urgent(handoff_engine).play("agree")
    assert chat.keys == ["region.ask"]
    assert chat.stages == [Stage.CONSENTED]
    assert chat.session.consent is True
    assert chat.session.answers == {"safety": "urgent"}

    chat.play(*LOW_BACK)  # answers that would otherwise match what clinics describe
    assert chat.keys == ["result.intro"]
    assert handoff_engine.views.result(chat.session).outcome.id == "see_doctor_first"
    assert {"outcome.see_doctor_first.title", "reason.urgent_screen"} <= chat.all_keys
    assert chat.session.answers["safety"] == "urgent"

    chat.play("ok", "ok", *weigh(), *RIGHT_ANSWERS, *TO_SUMMARY)
    assert chat.keys == SUMMARY
    document = handoff_engine.views.summary_as_document(chat.session)
    screen = dict(document.clinician)[text_of(handoff_engine.content, "summary.screen")]
    assert screen == (text_of(handoff_engine.content, "summary.screen_urgent"),)
    chat.play("ok", "no")  # check-ins are offered: each starts with the safety questions again
    assert chat.keys == ["own_doctor"], "a clinic could receive it, but no hand-off follows 'see a doctor first'"
    assert "handoff.choose" not in chat.seen


def test_declining_after_urgent_advice_keeps_nothing(engine: Engine) -> None:
    chat = urgent(engine, 1, "gradual").play("decline")
    assert chat.keys == ["info_only"]
    assert chat.stages == []
    assert (chat.session.answers, chat.session.consent, chat.session.history) == ({}, False, [])
    chat.play("ok")
    assert chat.keys == ["menu.intro"]
    assert chat.session.answers == {}


def test_back_inside_the_safety_questions_goes_to_the_one_before(engine: Engine, content: Content) -> None:
    chat = started(engine).play("ok", "flag_no", "flag_no")
    assert chat.session.state == "safety_neck"
    for previous in ("safety_legs", "safety_cauda", content.flow.start):
        chat.tap("back")
        assert chat.session.state == previous
        assert chat.rejected is None
    chat.send(Back())
    assert chat.keys == ["notice.first_question", "welcome"]
    assert chat.replies[0].kind == "notice"


@pytest.mark.parametrize("where", ["consent", "urgent_advice"])
def test_leaving_the_safety_questions_is_one_way(engine: Engine, where: str) -> None:
    chat = at_consent(engine) if where == "consent" else urgent(engine, 2, "gradual")
    question = chat.keys[0]
    assert "back" not in chat.names
    before = chat.session
    for event in (Back(), Back(before.step)):
        chat.send(event)
        assert chat.keys == ["notice.no_way_back", question]
        assert chat.replies[0].kind == "notice"
        assert chat.session == before
        assert not chat.stages


def test_an_old_safety_keyboard_cannot_change_the_way_out(engine: Engine) -> None:
    chat = started(engine).play("ok")
    cauda = chat.buttons
    chat.play("flag_no", "flag_no", "flag_no", "flag_no")
    before = chat.session
    chat.tap("flag_yes", cauda)
    assert chat.keys == ["notice.stale", "consent.ask"]
    assert chat.rejected is Reason.STALE
    assert chat.session == before


# --- consent ----------------------------------------------------------------------------------------


def test_without_consent_no_history_and_no_answer_is_kept(engine: Engine, content: Content) -> None:
    chat = at_consent(engine)
    chat.tap("decline")
    assert chat.keys == ["info_only"]
    assert (chat.session.consent, chat.session.history) == (False, [])
    assert chat.stages == []
    chat.send(Back())
    assert chat.keys == ["notice.no_way_back", "info_only"]
    chat.tap("ok")
    assert chat.keys == ["menu.intro"]
    assert isinstance(content.states[chat.session.state], MenuState)
    assert chat.session.history == []
    assert "menu.for_you" not in chat.all_keys
    chat.play(ShowSection(content.sections[0].id), Typed("walk to the shops"), ShowMenu(), Back(), ShowComparison())
    assert chat.session.answers == {}
    assert chat.session.history == []
    assert Stage.CONSENTED not in chat.all_stages


def test_declining_after_answering_erases_the_answers(engine: Engine) -> None:
    chat = screened(engine).play("low_back", "+walking_pain", "done")
    assert chat.session.answers
    for _ in range(3):  # duration -> leg_symptoms -> region -> consent
        chat.tap("back")
    assert chat.keys == ["consent.ask"]
    assert chat.names == ["agree", "decline"]
    chat.tap("decline")
    assert chat.session.answers == {}
    assert chat.session.consent is False
    assert chat.session.history == []


# --- back, restart, out-of-date and forged buttons --------------------------------------------------


def test_back_returns_to_the_previous_question_with_its_answer_ticked(engine: Engine) -> None:
    chat = screened(engine).play("low_back", "+walking_pain", "+numbness", "done")
    assert chat.keys == ["duration.ask"]
    chat.tap("back")
    assert chat.keys == ["leg_symptoms.ask"]
    assert ticked(chat) == ["walking_pain", "numbness"]
    assert chat.session.answers == {"region": "low_back", "leg_symptoms": ["walking_pain", "numbness"]}
    chat.tap("done")
    assert chat.keys == ["duration.ask"]
    assert chat.session.answers["leg_symptoms"] == ["walking_pain", "numbness"]


def test_back_command_works_like_the_button(engine: Engine) -> None:
    chat = screened(engine).play("low_back")
    chat.send(Back())
    assert chat.keys == ["region.ask"]
    assert chat.session.answers == {"region": "low_back"}


def test_back_at_the_first_message_says_so(engine: Engine, content: Content) -> None:
    chat = started(engine)
    assert "back" not in chat.names
    before = chat.session
    chat.send(Back())
    assert chat.keys == ["notice.first_question", "welcome"]
    assert chat.replies[0].kind == "notice"
    assert chat.session == before
    assert chat.session.state == content.flow.start


def test_changing_an_earlier_answer_forgets_answers_off_the_new_path(engine: Engine, content: Content) -> None:
    chat = screened(engine).play("low_back", "+walking_pain", "done", "over_1_year", "7", "had_mri")
    chat.play("+bone_spurs", "done", "severe")
    assert chat.keys == ["treatments.ask"]
    for _ in range(3):
        chat.tap("back")
    assert chat.keys == ["mri.ask"]
    chat.play("no_mri")
    assert "mri_findings" not in chat.session.answers
    assert "mri_severity" not in chat.session.answers
    chat.play("+physio", "done", "good", "skip")
    assert chat.keys == ["result.intro"]
    keys = chat.replies[0].keys()
    assert "reason.bone_spur_severe" not in keys
    assert "reason.no_scan" in keys
    bone_spurs = content.texts.get("en", "mri_findings.bone_spurs")
    assert bone_spurs not in plain_text(chat.text)


def test_restart_starts_fresh_and_old_buttons_go_stale(engine: Engine, content: Content) -> None:
    chat = screened(engine).play("low_back", "+weakness")
    old = chat.buttons
    chat.send(Restart())
    assert chat.keys == ["welcome"]
    fresh = chat.session
    assert fresh.state == content.flow.start
    assert (fresh.answers, fresh.history, fresh.draft, fresh.consent) == ({}, [], [], None)
    chat.tap("done", old)
    assert chat.keys == ["notice.stale", "welcome"]
    assert chat.rejected is Reason.STALE
    assert chat.session.answers == {}


def test_out_of_date_button_shows_the_current_question_and_changes_nothing(engine: Engine) -> None:
    chat = screened(engine)
    region_buttons = chat.buttons
    chat.play("low_back", "+walking_pain", "done")
    before = chat.session
    chat.tap("neck", region_buttons)
    assert chat.keys == ["notice.stale", "duration.ask"]
    assert chat.replies[0].kind == "notice"
    assert chat.rejected is Reason.STALE
    assert chat.result is not None and chat.result.rejected is not None
    assert chat.result.rejected.state == "duration"
    assert chat.session == before


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ("", Reason.FORGED),
        ("garbage", Reason.FORGED),
        ("c1:" + "a" * 70, Reason.FORGED),
        ("x9:low_back", Reason.FORGED),
        ("c5", Reason.FORGED),
        ("d5:walking_pain", Reason.FORGED),
        ("s:no_such_topic", Reason.UNKNOWN_OPTION),
    ],
)
def test_forged_or_unreadable_button_data_changes_nothing(engine: Engine, data: str, reason: Reason) -> None:
    chat = screened(engine)
    before = chat.session
    chat.send(decode(data))
    assert chat.keys == ["notice.stale", "region.ask"]
    assert chat.rejected is reason
    assert chat.session == before


# Where a forged answer is tried: the moves to get there from the region question, and its main key.
FORGE_AT = {
    "region": ((), "region.ask"),
    "leg_symptoms": (("low_back",), "leg_symptoms.ask"),
    "pain": (("low_back", "+walking_pain", "done", "over_1_year"), "pain.ask"),
    "result": (NO_SCAN, "result.intro"),
    "values": ((*NO_SCAN, "ok", "ok"), "values.ask"),
    "knowledge": ((*NO_SCAN, "ok", "ok", *weigh()), "knowledge.intro"),
    "leaning": ((*NO_SCAN, "ok", "ok", *weigh(), *RIGHT_ANSWERS), "leaning.ask"),
    "sure": ((*NO_SCAN, "ok", "ok", *weigh(), *RIGHT_ANSWERS, "wait"), "sure.intro"),
}


def test_an_option_the_question_does_not_have_is_rejected_as_unknown(engine: Engine) -> None:
    for state, (moves, key) in FORGE_AT.items():
        chat = screened(engine).play(*moves)
        assert chat.session.state == state
        before = chat.session
        options = ["no_such_option", "a_lot" if state != "values" else "lots", "11", "agree", "maybe", "pdf"]
        for option in options:
            maker = Toggle if state == "leg_symptoms" else Choose
            chat.send(maker(before.step, option))
            assert chat.keys == ["notice.stale", key], (state, option)
            assert chat.session == before, (state, option)
            assert chat.rejected is Reason.UNKNOWN_OPTION, (state, option, chat.rejected)


@pytest.mark.parametrize(
    ("moves", "event"),
    [
        ((), Toggle(0, "low_back")),  # a tick on a one-answer question
        ((), Done(0)),
        (("low_back",), Choose(0, "walking_pain")),  # a plain answer on a tick question
        (NO_SCAN, Toggle(0, "ok")),  # a tick on the result
        ((*NO_SCAN, "ok", "ok"), Done(0)),  # Done on the values question
        ((*NO_SCAN, "ok", "ok"), Toggle(0, "a_lot")),  # a tick on the values question
    ],
)
def test_a_kind_of_tap_the_question_does_not_take_is_rejected(
    engine: Engine, moves: tuple[str, ...], event: Choose | Toggle | Done
) -> None:
    chat = screened(engine).play(*moves)
    before = chat.session
    chat.send(dataclasses.replace(event, step=before.step))
    assert chat.keys[0] == "notice.stale"
    assert chat.rejected is Reason.NOT_HERE
    assert chat.session == before


def test_forged_answer_with_the_current_step_changes_nothing(engine: Engine) -> None:
    chat = screened(engine)
    before = chat.session
    for forged in ("no_such_option", "ok", "skip", "pdf", "5", "agree", "flag_yes", "a_lot", "yes"):
        chat.send(decode(encode(Choose(before.step, forged))))
        assert chat.keys == ["notice.stale", "region.ask"], forged
        assert chat.rejected is not None, forged
        assert chat.session == before


def test_double_tap_counts_once(engine: Engine) -> None:
    chat = screened(engine)
    tap = decode(find_button(chat.buttons, "low_back").data)
    chat.send(tap)
    assert chat.keys == ["leg_symptoms.ask"]
    after_first = chat.session
    chat.send(tap)
    assert chat.keys == ["notice.stale", "leg_symptoms.ask"]
    assert chat.rejected is Reason.STALE
    assert chat.session == after_first


# --- kinds of intake questions ----------------------------------------------------------------------


def test_ticks_toggle_and_none_of_these_clears_the_others(engine: Engine) -> None:
    chat = screened(engine).play("low_back", "+walking_pain", "+numbness")
    assert chat.replies[0].edit, "a tick edits the question in place"
    assert ticked(chat) == ["walking_pain", "numbness"]
    chat.play("+none")
    assert ticked(chat) == ["none"]
    chat.play("+weakness")
    assert ticked(chat) == ["weakness"]
    chat.play("+weakness")
    assert ticked(chat) == []
    chat.play("+back_pain", "done")
    assert chat.session.answers["leg_symptoms"] == ["back_pain"]


def test_an_old_tick_keyboard_is_out_of_date(engine: Engine) -> None:
    chat = screened(engine).play("low_back")
    first = chat.buttons
    chat.play("+walking_pain")
    chat.tap("toggle:numbness", first)
    assert chat.keys == ["notice.stale", "leg_symptoms.ask"]
    assert ticked(chat) == ["walking_pain"]


def test_done_with_nothing_ticked_asks_for_an_answer(engine: Engine) -> None:
    chat = screened(engine).play("low_back")
    before = chat.session
    chat.tap("done")
    assert chat.keys == ["notice.pick_one", "leg_symptoms.ask"]
    assert chat.session.state == "leg_symptoms"
    assert chat.session.answers == before.answers


def test_scale_shows_each_number_and_refuses_others(engine: Engine, content: Content) -> None:
    chat = screened(engine).play("low_back", "+walking_pain", "done", "over_1_year")
    state = content.states[chat.session.state]
    assert isinstance(state, ScaleState)
    assert chat.names == [str(n) for n in range(state.low, state.high + 1)] + ["back"]
    before = chat.session
    for number in (state.high + 1, 99, 100000):
        chat.send(decode(encode(Choose(before.step, str(number)))))
        assert chat.keys == ["notice.stale", "pain.ask"]
        assert chat.session == before
    chat.tap(str(state.high))
    assert chat.session.answers["pain"] == state.high
    chat.tap("back")
    chat.tap(str(state.low))
    assert chat.session.answers["pain"] == state.low


def test_free_text_length_is_limited(engine: Engine, content: Content) -> None:
    chat = screened(engine).play(*NO_SCAN[:-1])
    state = content.states[chat.session.state]
    assert isinstance(state, TextState)
    before = chat.session
    for text in ("x" * (state.max_length + 1), "   ", ""):
        chat.send(Typed(text))
        assert chat.keys == ["notice.text_too_long", "goal.ask"]
        assert chat.session == before
    chat.send(Typed("y" * state.max_length))
    assert chat.session.answers["goal"] == "y" * state.max_length
    assert chat.keys == ["result.intro"]
    chat.tap("back")
    chat.send(Typed("  walk to the shops \n"))
    assert chat.session.answers["goal"] == "walk to the shops"


def test_skipping_free_text_stores_nothing(engine: Engine) -> None:
    chat = screened(engine).play(*NO_SCAN)
    assert chat.keys == ["result.intro"]
    assert "goal" not in chat.session.answers


def test_typing_when_a_button_is_expected_points_to_the_buttons(engine: Engine) -> None:
    chat = screened(engine)
    before = chat.session
    chat.send(Typed("zzzz qqqq xxxx"))
    assert chat.keys == ["notice.use_buttons", "region.ask"]
    assert chat.session == before
    chat.tap("low_back")
    assert chat.keys == ["leg_symptoms.ask"]


def test_typing_a_topic_offers_it_and_keeps_the_place(engine: Engine, content: Content) -> None:
    chat = screened(engine)
    before = chat.session
    costs = content.section_by_id["costs"]
    chat.send(Typed(text_of(content, costs.title)))
    assert chat.session == before
    assert chat.keys == ["typed.matches"]
    assert "section:costs" in chat.names
    assert chat.names[-2:] == ["menu", "resume"]  # the whole menu, or back to the question
    chat.send(Typed("how much does it cost?"))
    assert chat.keys == ["typed.matches"]
    assert chat.names[0] == "section:costs"
    chat.tap("section:costs")
    assert chat.keys == [costs.body]
    chat.tap("resume")
    assert chat.keys == ["region.ask"]


@pytest.mark.parametrize("topic", ["help", "privacy"])
def test_help_and_privacy_show_the_current_question_again(engine: Engine, topic: str) -> None:
    chat = screened(engine)
    before = chat.session
    chat.send(ShowInfo(topic))  # type: ignore[arg-type]
    assert chat.keys == [f"info.{topic}", "region.ask"]
    assert chat.session == before
    chat.tap("low_back")  # the question shown again works
    assert chat.keys == ["leg_symptoms.ask"]


def test_start_again_mid_conversation_welcomes_back(engine: Engine) -> None:
    chat = screened(engine)
    before = chat.session
    chat.send(Start())
    assert chat.keys == ["notice.welcome_back", "region.ask"]
    assert chat.session == before


def test_neck_path_asks_about_neck_not_legs(engine: Engine) -> None:
    chat = screened(engine).play("neck")
    assert chat.keys == ["neck_symptoms.ask"]
    chat.play("+hand_clumsy", "done", "over_1_year", "4", "no_mri", "+none", "done", "good", "skip")
    assert chat.keys == ["result.intro"]
    assert "leg_symptoms.ask" not in chat.seen
    assert "leg_symptoms" not in chat.session.answers
    assert chat.session.answers["neck_symptoms"] == ["hand_clumsy"]


def test_both_asks_about_legs_then_neck(engine: Engine) -> None:
    chat = screened(engine).play("both")
    assert chat.keys == ["leg_symptoms.ask"]
    chat.play("+walking_pain", "done")
    assert chat.keys == ["neck_symptoms.ask"]
    chat.play("+balance", "done")
    assert chat.keys == ["duration.ask"]
    assert chat.session.answers["leg_symptoms"] == ["walking_pain"]
    assert chat.session.answers["neck_symptoms"] == ["balance"]


def test_not_sure_where_asks_about_legs(engine: Engine) -> None:
    chat = screened(engine).play("not_sure")
    assert chat.keys == ["leg_symptoms.ask"]
    chat.play("+numbness", "done")
    assert chat.keys == ["duration.ask"]


def test_injections_tried_asks_how_many(engine: Engine) -> None:
    chat = screened(engine).play("low_back", "+walking_pain", "done", "over_1_year", "5", "no_mri")
    chat.play("+medicines", "+injections", "done")
    assert chat.keys == ["injection_count.ask"]
    chat.play("two_or_three")
    assert chat.keys == ["health.ask"]
    assert chat.session.answers["treatments"] == ["medicines", "injections"]
    assert chat.session.answers["injection_count"] == "two_or_three"


# --- the options compared ---------------------------------------------------------------------------


def option_places(content: Content, shown: str) -> list[int]:
    """Where each option's name appears in `shown`, in the order of content/decision.yaml."""
    return [shown.index(text_of(content, option.name)) for option in content.options]


def test_compare_lists_the_six_options_in_the_order_of_decision_yaml(engine: Engine, content: Content) -> None:
    assert [option.id for option in content.options] == list(LEANINGS)
    chat = at_result(engine).play("ok")
    assert chat.keys == COMPARISON
    assert chat.names == ["ok", "back"]
    assert not chat.replies[0].buttons, "the buttons are under the table, at the bottom of the chat"
    assert chat.replies[1].picture == Picture("options_table", "en")
    shown = plain_text(chat.text)
    places = option_places(content, shown)
    assert places == sorted(places)
    for option in content.options:  # each in the same terms
        for key in (option.what, option.may, option.risks, option.time_cost):
            assert text_of(content, key) in shown, key
    for label in ("comparison.may", "comparison.risks", "comparison.time_cost", "comparison.figures"):
        assert shown.count(text_of(content, label)) == len(content.options), label
    chat.tap("back")
    assert chat.keys == ["result.intro"]
    chat.tap("ok")
    chat.tap("ok")
    assert chat.keys == ["values.ask"]


@pytest.mark.parametrize(("region", "note"), [("low_back", False), ("not_sure", False), ("neck", True), ("both", True)])
def test_the_neck_note_is_shown_to_neck_patients_only(
    engine: Engine, content: Content, region: str, note: bool
) -> None:
    symptoms = {
        "low_back": ("+walking_pain", "done"),
        "not_sure": ("+walking_pain", "done"),
        "neck": ("+neck_pain", "done"),
        "both": ("+walking_pain", "done", "+neck_pain", "done"),
    }[region]
    chat = screened(engine).play(region, *symptoms, "over_1_year", "5", "no_mri", "+physio", "done", "good", "skip")
    chat.tap("ok")
    assert chat.keys == COMPARISON
    assert ("comparison.neck_note" in keys_of(chat.replies[0])) is note
    assert (text_of(content, "comparison.neck_note") in plain_text(chat.text)) is note


def test_the_comparison_from_the_menu_keeps_the_place(engine: Engine, content: Content) -> None:
    chat = screened(engine).play("low_back")
    before = chat.session
    chat.send(ShowMenu())
    assert chat.names[0] == "comparison"
    chat.tap("comparison")
    assert chat.keys == ["comparison.heading", "figure.options_table.caption"], "the table, then its picture"
    assert chat.session == before
    places = option_places(content, plain_text(chat.text))
    assert places == sorted(places)
    assert chat.names == ["menu", "resume"]
    chat.tap("resume")
    assert chat.keys == ["leg_symptoms.ask"]


# --- what matters: weighted values, one at a time ------------------------------------------------------


def test_values_are_weighted_one_at_a_time_in_place(engine: Engine, content: Content) -> None:
    chat = at_values(engine)
    levels = ("a_lot", "a_little", "not_at_all", "a_lot", "a_little", "not_at_all")
    for number, (value, level) in enumerate(zip(VALUES, levels, strict=True)):
        assert chat.keys == ["values.ask"]
        assert chat.replies[0].keys() == ("values.ask", f"values.{value}")
        assert chat.replies[0].edit is (number > 0), "the first item is a new message, the others edit it"
        assert chat.names == ["a_lot", "a_little", "not_at_all", "back"]
        progress = fill(content.texts.get("en", "series.progress"), {"n": str(number + 1), "total": "6"})
        assert progress in chat.text
        assert "values" not in chat.session.answers, "kept only when every value is weighed"
        chat.tap(level)
    assert chat.keys == [REFLECT_HEADING, "knowledge.intro"], "what matters a lot is reflected, then the next step"
    assert chat.session.answers["values"] == dict(zip(VALUES, levels, strict=True))
    assert list(chat.session.answers["values"]) == list(VALUES)
    assert chat.session.draft == []


def test_back_in_values_steps_to_the_previous_item(engine: Engine) -> None:
    chat = at_values(engine).play("a_lot", "a_little")
    assert chat.replies[0].keys() == ("values.ask", "values.low_cost")
    chat.tap("back")
    assert chat.replies[0].keys() == ("values.ask", "values.proven")
    assert chat.replies[0].edit
    assert chat.session.state == "values"
    chat.play("a_lot", "not_at_all", "not_at_all", "not_at_all", "a_lot")
    assert chat.session.answers["values"]["proven"] == "a_lot"
    assert chat.session.answers["values"]["stay_near_home"] == "a_lot"

    chat = at_values(engine).play("a_lot")
    chat.tap("back")
    chat.tap("back")  # on the first item: to the comparison
    assert chat.keys == ["comparison.intro"]
    assert "values" not in chat.session.answers


def test_back_from_the_knowledge_check_asks_the_last_value_again(engine: Engine) -> None:
    chat = at_values(engine).play(*weigh(avoid_surgery="a_lot", proven="a_little"))
    assert chat.keys == [REFLECT_HEADING, "knowledge.intro"]
    assert reflected_in(chat) == ["avoid_surgery"]
    chat.tap("back")
    assert chat.replies[0].keys() == ("values.ask", "values.stay_near_home")
    chat.tap("a_lot")
    assert chat.keys == [REFLECT_HEADING, "knowledge.intro"]
    assert reflected_in(chat) == ["avoid_surgery", "stay_near_home"], "the changed weight counts"
    assert chat.session.answers["values"] == dict(
        zip(VALUES, ("a_lot", "a_little", "not_at_all", "not_at_all", "not_at_all", "a_lot"), strict=True)
    )


def reflected_in(chat: Chat) -> list[str]:
    """The values the first of the last replies reflects, in the order shown: a reflection is the heading, then
    one bullet per value, each that value's `values.reflect.<value>` text."""
    content = chat.engine.content
    lines = plain_text(chat.replies[0].text).split("\n")
    assert lines[0] == text_of(content, REFLECT_HEADING), lines[0]
    by_text = {f"• {text_of(content, f'values.reflect.{value}')}": value for value in VALUES}
    assert all(line in by_text for line in lines[1:]), lines[1:]
    return [by_text[line] for line in lines[1:]]


@pytest.mark.parametrize("value", VALUES)
def test_the_reflection_after_the_last_value_shows_exactly_the_values_weighted_a_lot(
    engine: Engine, content: Content, value: str
) -> None:
    chat = at_values(engine).play(*(("a_lot" if v == value else "a_little") for v in VALUES[:-1]))
    assert chat.keys == ["values.ask"], "nothing is reflected before every value is weighed"
    chat.tap("a_lot" if value == VALUES[-1] else "a_little")
    assert chat.keys == [REFLECT_HEADING, "knowledge.intro"], "the reflection comes first, then the next step"
    reflection = chat.replies[0]
    assert reflection.kind == "message" and not reflection.buttons
    assert reflected_in(chat) == [value]
    assert engine.views.reflected_keys(chat.session) == [f"values.reflect.{value}"]
    for other in VALUES:
        if other != value:
            assert text_of(content, f"values.reflect.{other}") not in plain_text(chat.text), other


def test_several_values_weighted_a_lot_are_reflected_in_the_order_they_were_asked(engine: Engine) -> None:
    chat = at_values(engine).play(*weigh(stay_near_home="a_lot", proven="a_lot", low_cost="a_little"))
    assert chat.keys == [REFLECT_HEADING, "knowledge.intro"]
    assert reflected_in(chat) == ["proven", "stay_near_home"]
    assert engine.views.reflected_keys(chat.session) == ["values.reflect.proven", "values.reflect.stay_near_home"]


def test_nothing_is_reflected_when_no_value_matters_a_lot(engine: Engine, content: Content) -> None:
    chat = at_values(engine).play(*weigh(proven="a_little", low_cost="a_little"))
    assert chat.keys == ["knowledge.intro"], "no reflection message when nothing was weighted 'a lot'"
    assert text_of(content, REFLECT_HEADING) not in plain_text(chat.text)
    assert engine.views.reflected_keys(chat.session) == []


def test_values_weighted_a_lot_are_reflected_back_to_the_patient(engine: Engine, content: Content) -> None:
    chat = at_values(engine)
    chat.play(*weigh(proven="a_lot", low_cost="a_lot"))
    assert chat.keys == [REFLECT_HEADING, "knowledge.intro"]
    assert reflected_in(chat) == ["proven", "low_cost"]
    chat.play(*RIGHT_ANSWERS, *TO_SUMMARY, "pdf", "ok", "no", "ok")
    assert chat.keys == ["menu.intro"]
    reflections = [text_of(content, f"values.reflect.{value}") for value in ("proven", "low_cost")]
    for text in reflections:
        assert sum(text in shown for shown in chat.transcript) == 2, "shown after the values and in the summary"


def summary_reflections(shown: str, heading: str) -> list[str]:
    """The bullets of the summary block under `heading` (a summary message as plain text); [] if no such block."""
    blocks = [block.split("\n") for block in shown.split("\n\n")]
    found = [lines[1:] for lines in blocks if lines[0] == heading]
    assert len(found) <= 1, found
    return [line.removeprefix("• ") for line in found[0]] if found else []


@pytest.mark.parametrize(
    ("levels", "reflected"),
    [
        (dict(stay_near_home="a_lot", avoid_surgery="a_lot", proven="a_little"), ["avoid_surgery", "stay_near_home"]),
        ({"low_cost": "a_lot"}, ["low_cost"]),
        ({"proven": "a_little"}, []),
    ],
)
def test_the_summary_and_its_pdf_carry_the_values_that_matter_a_lot(
    engine: Engine, content: Content, levels: dict[str, str], reflected: list[str]
) -> None:
    chat = at_summary(engine, **levels)
    heading = text_of(content, REFLECT_HEADING)
    expected = [text_of(content, f"values.reflect.{value}") for value in reflected]
    assert engine.views.reflected_keys(chat.session) == [f"values.reflect.{value}" for value in reflected]

    assert summary_reflections(plain_text(chat.replies[0].text), heading) == expected
    assert (heading in plain_text(chat.text)) is bool(reflected), "no heading without anything under it"

    chat.tap("pdf")
    document = chat.replies[0].document
    assert document is not None
    blocks = dict(document.blocks)
    assert blocks.get(heading, ()) == tuple(expected)
    assert (heading in blocks) is bool(reflected)
    if reflected:  # after the result, before the topics, as in the message
        headings = [title for title, _ in document.blocks]
        result_at = headings.index(text_of(content, "summary.result"))
        assert result_at < headings.index(heading) < headings.index(text_of(content, "summary.topics"))


# --- the knowledge check --------------------------------------------------------------------------------


@pytest.mark.parametrize("answer", ["true", "false", "not_sure"])
def test_each_knowledge_answer_is_followed_by_its_explanation(engine: Engine, content: Content, answer: str) -> None:
    chat = at_values(engine).play(*weigh())
    state = content.states["knowledge"]
    assert isinstance(state, KnowledgeState)
    assert [item.id for item in state.items] == list(KNOWLEDGE)
    for number, item in enumerate(state.items):
        assert chat.replies[-1].keys() == ("knowledge.intro", item.label)
        assert chat.names == ["true", "false", "not_sure", "back"]
        chat.tap(answer)
        explanation = chat.replies[0]
        assert explanation.key == item.explain
        assert explanation.kind == "message" and not explanation.buttons
        verdict = "knowledge.answer_true" if item.true else "knowledge.answer_false"
        assert text_of(content, verdict) in plain_text(explanation.text), "the right answer, whatever was tapped"
        assert text_of(content, item.explain) in plain_text(explanation.text)
        assert len(chat.replies) == 2 and not chat.replies[1].edit, "then the next question, below the explanation"
        if number < len(state.items) - 1:
            assert chat.session.state == "knowledge"
    assert chat.keys == [state.items[-1].explain, "leaning.ask"]
    assert "knowledge" not in chat.session.answers
    assert not set(KNOWLEDGE) & set(chat.session.answers), "nothing of the knowledge check is kept"


def test_back_in_the_knowledge_check_asks_the_previous_statement(engine: Engine) -> None:
    chat = at_values(engine).play(*weigh(), "true", "false")
    assert chat.replies[-1].keys() == ("knowledge.intro", "knowledge.surgery_sure")
    chat.tap("back")
    assert chat.keys == ["knowledge.intro"]
    assert chat.replies[0].keys() == ("knowledge.intro", "knowledge.cells_proven")
    chat.tap("back")
    assert chat.replies[0].keys() == ("knowledge.intro", "knowledge.waiting")
    chat.tap("back")  # on the first statement: to the values question's last item
    assert chat.replies[0].keys() == ("values.ask", "values.stay_near_home")


# --- leaning, the nudge and SURE -----------------------------------------------------------------------


def test_leaning_offers_the_options_in_the_order_of_decision_yaml_and_is_kept(engine: Engine, content: Content) -> None:
    chat = at_leaning(engine)
    assert chat.names == [option.id for option in content.options] + ["unsure", "back"]
    assert chat.names[:-2] == list(LEANINGS)
    chat.tap("surgery")
    assert chat.keys == ["sure.intro"], "no value weighted 'a lot': no nudge"
    assert chat.session.answers["leaning"] == "surgery"


def nudge_conflicts(content: Content) -> list[tuple[str, str, str]]:
    state = content.states["nudge"]
    assert isinstance(state, NudgeState)
    return [(c.leaning, c.value, c.text) for c in state.conflicts]


@pytest.mark.parametrize(("leaning", "value"), [("stem_cells", "proven"), ("surgery", "avoid_surgery")])
def test_a_leaning_that_conflicts_with_a_value_weighted_a_lot_gets_a_nudge(
    engine: Engine, content: Content, leaning: str, value: str
) -> None:
    text = next(t for lean, v, t in nudge_conflicts(content) if (lean, v) == (leaning, value))
    chat = at_leaning(engine, **{value: "a_lot"}).play(leaning)
    assert chat.keys == ["nudge.intro"]
    assert chat.replies[0].keys() == ("nudge.intro", text)
    assert text_of(content, text) in plain_text(chat.text)
    assert chat.names == ["ok", "back"]
    assert "nudge" not in chat.session.answers
    chat.tap("back")
    assert chat.keys == ["leaning.ask"]
    chat.play(leaning, "ok")
    assert chat.keys == ["sure.intro"]


def test_every_conflict_of_the_content_nudges_only_when_weighted_a_lot(engine: Engine, content: Content) -> None:
    for leaning, value, text in nudge_conflicts(content):
        for level, shown in (("a_lot", True), ("a_little", False), ("not_at_all", False)):
            chat = at_leaning(engine, **{value: level}).play(leaning)
            assert (chat.keys == ["nudge.intro"]) is shown, (leaning, value, level, chat.keys)
            assert (text in chat.all_keys) is shown, (leaning, value, level)


def test_the_nudge_names_every_conflict_in_content_order(engine: Engine, content: Content) -> None:
    chat = at_leaning(engine, avoid_surgery="a_lot", quick_return="a_lot", few_visits="a_lot", proven="a_lot")
    chat.tap("surgery")
    expected = [t for lean, _, t in nudge_conflicts(content) if lean == "surgery"]
    assert len(expected) == 3
    assert chat.replies[0].keys() == ("nudge.intro", *expected)
    shown = plain_text(chat.text)
    places = [shown.index(text_of(content, key)) for key in expected]
    assert places == sorted(places)


@pytest.mark.parametrize("leaning", ["wait", "unsure"])
def test_no_nudge_when_nothing_conflicts(engine: Engine, leaning: str) -> None:
    everything = dict.fromkeys(VALUES, "a_lot")
    chat = at_leaning(engine, **everything).play(leaning)
    assert chat.keys == ["sure.intro"]
    assert "nudge.intro" not in chat.seen
    chat.tap("back")
    assert chat.keys == ["leaning.ask"], "Back skips the nudge that was never shown"


def test_sure_asks_four_items_one_at_a_time_in_place(engine: Engine, content: Content) -> None:
    chat = at_sure(engine)
    state = content.states["sure"]
    assert isinstance(state, SureState)
    for number, item in enumerate(SURE_ITEMS):
        assert chat.replies[0].keys() == ("sure.intro", item)
        assert chat.replies[0].edit is (number > 0)
        assert chat.names == ["yes", "no", "back"]
        assert chat.session.state == "sure"
        chat.tap("yes")
    assert chat.keys == ["sure.high"]
    assert chat.session.state == "sure_high"
    assert chat.session.answers["sure"] == 4
    assert "sure.low" not in chat.seen
    chat.tap("ok")
    assert chat.keys == summary_keys(*SUMMARY_FIGURES["wait"])


@pytest.mark.parametrize(
    ("answers", "score"),
    [
        (("no", "yes", "yes", "yes"), 3),
        (("yes", "no", "yes", "yes"), 3),
        (("yes", "yes", "no", "yes"), 3),
        (("yes", "yes", "yes", "no"), 3),
        (("no", "yes", "no", "yes"), 2),
        (("no", "no", "no", "no"), 0),
    ],
    ids=["not_sure", "not_understood", "values_unclear", "no_support", "two", "all_no"],
)
def test_any_no_on_sure_suggests_talking_it_through(
    engine: Engine, content: Content, answers: tuple[str, ...], score: int
) -> None:
    chat = at_sure(engine).play(*answers)
    assert chat.keys == ["sure.low"]
    assert chat.session.state == "sure_low"
    assert chat.session.answers["sure"] == score, "kept as the number of 'yes' answers"
    assert "sure.high" not in chat.seen
    assert not {"sure_sure", "sure_understand", "understand", "support"} & set(chat.session.answers)
    chat.tap("ok")
    assert chat.keys == summary_keys(*SUMMARY_FIGURES["wait"]), "the summary comes next either way"


def test_back_in_sure_steps_to_the_previous_item_and_a_changed_answer_changes_the_advice(engine: Engine) -> None:
    chat = at_sure(engine).play("yes", "no")
    assert chat.replies[0].keys() == ("sure.intro", "sure.values")
    chat.tap("back")
    assert chat.replies[0].keys() == ("sure.intro", "sure.understand")
    assert chat.replies[0].edit
    chat.play("yes", "yes", "no")
    assert chat.keys == ["sure.low"]
    assert chat.session.answers["sure"] == 3
    chat.tap("back")
    assert chat.session.state == "sure"
    assert chat.replies[0].keys() == ("sure.intro", "sure.sure"), "the score keeps no items: asked again"
    chat.play("yes", "yes", "yes", "yes")
    assert chat.keys == ["sure.high"]
    assert chat.session.answers["sure"] == 4


# --- the personal summary -----------------------------------------------------------------------------


def at_summary(engine: Engine, **levels: str) -> Chat:
    chat = at_leaning(engine, **levels).play(*TO_SUMMARY)
    assert chat.keys == SUMMARY
    return chat


def test_the_summary_lists_answers_result_and_matching_topics(engine: Engine, content: Content) -> None:
    chat = at_result(engine)
    chat.tap("back")
    chat.send(Typed("walk to the shops & back"))  # the goal, with a character that needs escaping
    assert chat.keys == ["result.intro"]
    outcome = engine.views.result(chat.session).outcome
    chat.play("ok", "ok", *weigh(low_cost="a_lot", proven="a_little"), *RIGHT_ANSWERS, *TO_SUMMARY)
    assert chat.keys == SUMMARY
    shown = plain_text(chat.replies[0].text)

    answered = [state for state in content.flow.states if state.id in chat.session.answers]
    assert {s.id for s in answered} >= {"region", "values", "goal", "leaning", "sure"}
    for state in answered:
        assert plain_text(engine.views.describe_answer(chat.session, state.id)) in shown, state.id
    assert "walk to the shops & back" in shown
    values = f"{text_of(content, 'values.low_cost')}: {text_of(content, 'weighted.a_lot')}"
    assert f"{text_of(content, 'values.short')}: " in shown and values in shown
    assert f"{text_of(content, 'leaning.short')}: {text_of(content, 'leaning.exercise')}" in shown
    assert f"{text_of(content, 'sure.short')}: 4/4" in shown

    assert text_of(content, "summary.result") in shown
    assert text_of(content, outcome.title) in shown
    matched = [s for s in content.sections if s.match is not None and holds(s.match, chat.session.answers)]
    assert {"costs", "exercise"} <= {s.id for s in matched}  # cost matters a lot; leaning towards exercise
    assert "evidence" not in {s.id for s in matched}, "'proven' matters only a little"
    assert text_of(content, "summary.topics") in shown
    for section in content.sections:
        title = text_of(content, section.title)
        assert (title in shown) is (section in matched), section.id
    assert text_of(content, "summary.questions_heading") in shown


def test_the_pdf_button_sends_a_document_and_stays_on_the_summary(engine: Engine, content: Content) -> None:
    chat = at_summary(engine, avoid_surgery="a_lot")
    before = chat.session
    summary_buttons = chat.buttons
    chat.tap("pdf")
    assert len(chat.replies) == 1
    reply = chat.replies[0]
    assert reply.document is not None
    assert reply.key == "summary.pdf_caption"
    assert reply.document.filename.endswith(".pdf")
    assert chat.session == before, "the PDF moves nowhere and changes no answer"
    headings = [heading for heading, _ in reply.document.blocks]
    assert text_of(content, "summary.answers") in headings
    assert text_of(content, "summary.sources") in headings
    answers = dict(reply.document.blocks)[text_of(content, "summary.answers")]
    assert plain_text(engine.views.describe_answer(before, "values")) in answers
    assert reply.document.clinician_title == text_of(content, "summary.clinician_heading")
    clinician = dict(reply.document.clinician)
    assert clinician[text_of(content, "summary.screen")] == (text_of(content, "summary.screen_clear"),)

    chat.tap("pdf", summary_buttons)  # the summary's keyboard still works: the PDF can be sent again
    assert chat.replies[0].document is not None
    chat.tap("ok", summary_buttons)
    assert chat.keys == ["follow_up.offer"]
    assert chat.session.answers == before.answers


def test_the_pdf_button_of_an_old_summary_is_out_of_date(engine: Engine) -> None:
    chat = at_summary(engine)
    old = chat.buttons
    chat.tap("back")
    assert chat.keys == ["sure.high"]
    before = chat.session
    chat.tap("pdf", old)
    assert chat.keys == ["notice.stale", "sure.high"]
    assert chat.rejected is Reason.STALE
    assert all(reply.document is None for reply in chat.replies)
    assert chat.session == before


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("leaning", [*LEANINGS, "unsure"])
def test_the_summary_is_followed_by_the_figures_of_the_leaning_and_of_its_comparator(
    engine: Engine, content: Content, leaning: str, language: str
) -> None:
    chat = Chat(engine, language)
    chat.send(Start())
    chat.play(*SCREEN_CLEAR, "agree", *NO_SCAN, "ok", "ok", *weigh(), *RIGHT_ANSWERS)
    chat.play(leaning, "yes", "yes", "yes", "yes", "ok")  # nothing matters a lot: no nudge
    assert chat.keys == summary_keys(*SUMMARY_FIGURES[leaning])
    summary, *pictures = chat.replies
    assert not summary.buttons and summary.picture is None
    for picture, figure in zip(pictures, SUMMARY_FIGURES[leaning], strict=True):
        assert picture.picture == Picture(figure, language)
        assert picture.text == content.texts.get(language, content.figure_by_id[figure].caption)  # its caption
    assert [bool(p.buttons) for p in pictures] == [False] * (len(pictures) - 1) + [True]
    assert pictures[-1].kind == "question"
    assert chat.names == SUMMARY_BUTTONS


@pytest.mark.parametrize(
    ("leaning", "figures"),
    [
        ("exercise", ("physio_then_surgery", "cells_vs_dummy_6_months", "cells_vs_dummy_12_months")),
        ("epidural", ("cells_vs_dummy_6_months", "cells_vs_dummy_12_months")),
        (
            "stem_cells",
            (
                "cells_vs_dummy_6_months",
                "cells_vs_dummy_12_months",
                "surgery_improves",
                "surgery_side_effects",
                "surgery_repeat",
            ),
        ),
    ],
)
def test_the_summary_pdf_holds_all_figures_of_the_leaning_and_its_comparator_and_the_table(
    engine: Engine, leaning: str, figures: tuple[str, ...]
) -> None:
    chat = at_leaning(engine).play(leaning, "yes", "yes", "yes", "yes", "ok")
    for button in ("pdf", "pdf_large"):
        chat.tap(button)
        document = chat.replies[0].document
        assert document is not None
        assert document.figures == (*figures, "options_table")
        assert document.language == "en"


def test_the_large_print_button_sends_the_same_summary_in_large_print(engine: Engine) -> None:
    chat = at_summary(engine, low_cost="a_lot")
    before = chat.session
    summary_buttons = chat.buttons
    chat.tap("pdf")
    normal = chat.replies[0].document
    chat.tap("pdf_large", summary_buttons)
    assert chat.keys == ["summary.pdf_caption"]
    large = chat.replies[0].document
    assert normal is not None and large is not None
    assert (normal.large_print, large.large_print) == (False, True)
    assert (normal.filename, large.filename) == ("summary.pdf", "summary-large-print.pdf")
    assert dataclasses.replace(large, filename=normal.filename, large_print=False) == normal, "the same content"
    assert chat.session == before, "it moves nowhere and changes no answer"
    chat.tap("ok", summary_buttons)
    assert chat.keys == ["follow_up.offer"]


def test_the_pictures_come_once_as_a_state_is_entered(engine: Engine) -> None:
    chat = at_result(engine).play("ok", "ok")
    assert chat.keys == ["values.ask"]
    chat.tap("back")  # back at the comparison: the message again, with its own buttons, and no second table
    assert chat.keys == ["comparison.intro"]
    assert chat.names == ["ok", "back"]
    chat.send(Start())  # welcome back: the question again, without the table
    assert chat.keys == ["notice.welcome_back", "comparison.intro"]
    chat.tap("ok")
    chat.play(*weigh(), *RIGHT_ANSWERS, *TO_SUMMARY, "ok", "no")
    assert chat.keys == ["own_doctor"]
    chat.play("back", "back")  # back at the summary: its buttons are on it, the figures are not sent again
    assert chat.keys == ["summary.intro"]
    assert chat.names == SUMMARY_BUTTONS


# --- the hand-off, only when the result allows one ----------------------------------------------------


def test_without_a_clinic_chat_the_summary_leads_to_your_own_doctor(engine: Engine) -> None:
    chat = screened(engine).play(*LOW_BACK)
    assert engine.views.result(chat.session).outcome.handoff
    chat.play("ok", "ok", *weigh(), *RIGHT_ANSWERS, *TO_SUMMARY, "ok", "no")
    assert chat.keys == ["own_doctor"]
    assert chat.names == ["ok", "back"]
    chat.tap("back")
    assert chat.keys == ["follow_up.offer"], "Back skips the clinic choice that was never shown"


@pytest.mark.parametrize(
    ("intake", "outcome"),
    [(NO_SCAN, "not_yet"), (("neck", "+hand_clumsy", "done", *NO_SCAN[3:]), "see_specialist_first")],
)
def test_handoff_choice_is_skipped_when_the_outcome_does_not_allow_one(
    handoff_engine: Engine, intake: tuple[str, ...], outcome: str
) -> None:
    chat = screened(handoff_engine).play(*intake)
    result = handoff_engine.views.result(chat.session).outcome
    assert (result.id, result.handoff) == (outcome, False)
    chat.play("ok", "ok", *weigh(), *RIGHT_ANSWERS, *TO_SUMMARY, "ok", "no")
    assert chat.keys == ["own_doctor"]
    assert chat.session.state == "own_doctor"
    assert "handoff.choose" not in chat.seen


def at_handoff(engine: Engine, has_username: bool = True) -> Chat:
    chat = screened(engine, has_username).play(*LOW_BACK, "ok", "ok", *weigh(), *RIGHT_ANSWERS, *TO_SUMMARY, "ok", "no")
    assert chat.keys == ["handoff.choose"]
    return chat


def test_a_result_that_allows_a_handoff_offers_the_clinic(handoff_engine: Engine) -> None:
    chat = at_handoff(handoff_engine)
    clinic = handoff_engine.content.clinics[0]
    assert chat.names == ["k0", "none", "back"]
    assert chat.buttons[0].label == clinic.name
    chat.tap("none")
    assert chat.keys == ["own_doctor"]
    assert chat.session.handoff_clinic is None
    assert chat.result is not None and chat.result.handoff is None


def test_a_consented_handoff_by_username_is_requested_once_chosen(handoff_engine: Engine) -> None:
    chat = at_handoff(handoff_engine).play("k0")
    clinic = handoff_engine.content.clinics[0]
    assert chat.keys == ["handoff.consent"]
    assert chat.names == ["username", "phone", "cancel", "back"]
    assert chat.session.handoff_clinic == clinic.code
    chat.tap("username")
    assert chat.keys == ["handoff.queued"]
    assert chat.result is not None and chat.result.handoff is not None
    request = chat.result.handoff
    assert (request.clinic, request.contact, request.phone) == (clinic.code, "username", None)
    assert request.summary.blocks and request.summary.clinician


def test_a_handoff_by_phone_takes_only_the_shared_contact(handoff_engine: Engine) -> None:
    chat = at_handoff(handoff_engine, has_username=False).play("k0")
    assert chat.names == ["phone", "cancel", "back"], "no username, no username button"
    chat.tap("phone")
    assert chat.keys == ["handoff.phone_ask"]
    assert chat.replies[0].contact_keyboard is not None
    chat.send(Typed("+1 555 0100"))  # a typed number is not taken
    assert chat.keys == ["handoff.phone_ask"]
    assert chat.result is not None and chat.result.handoff is None
    chat.send(SharedContact("+1 555 0101"))
    assert chat.keys == ["handoff.queued"]
    assert chat.result is not None and chat.result.handoff is not None
    assert (chat.result.handoff.contact, chat.result.handoff.phone) == ("phone", "+1 555 0101")


def test_back_from_the_phone_request_and_choosing_again_shows_the_consent_again(handoff_engine: Engine) -> None:
    chat = at_handoff(handoff_engine).play("k0", "phone")
    assert chat.keys == ["handoff.phone_ask"]
    chat.send(Back())
    assert chat.keys == ["handoff.choose"]
    assert not chat.session.awaiting_contact, "the phone request is left behind"
    chat.tap("k0")
    assert chat.keys == ["handoff.consent"], "the consent that lists what is sent is asked again"
    assert chat.names == ["username", "phone", "cancel", "back"]
    assert chat.result is not None and chat.result.handoff is None


@pytest.mark.parametrize("contact", ["username", "phone"])
def test_after_a_handoff_is_sent_back_cannot_lead_to_a_second_one(handoff_engine: Engine, contact: str) -> None:
    chat = at_handoff(handoff_engine).play("k0")
    consent_buttons = chat.buttons
    if contact == "username":
        chat.tap("username")
    else:
        chat.play("phone", SharedContact("+1 555 0101"))
    assert chat.keys == ["handoff.queued"]
    assert chat.result is not None and chat.result.handoff is not None
    assert chat.session.history == [], "the path to the consent is forgotten once the hand-off is sent"
    sent = chat.session
    for event in (Back(), Back(sent.step)):
        chat.send(event)
        assert chat.keys == ["notice.no_way_back", "handoff.queued"]
        assert chat.session == sent
        assert chat.result is not None and chat.result.handoff is None

    chat.tap("username", consent_buttons)  # the consent's old keyboard is out of date
    assert chat.keys[0] == "notice.stale"
    assert chat.rejected is Reason.STALE
    assert chat.result is not None and chat.result.handoff is None

    chat.tap("ok")
    assert chat.keys == ["menu.intro"]
    chat.send(Back())
    assert chat.keys == ["handoff.queued"]
    chat.send(Back())
    assert chat.keys == ["notice.no_way_back", "handoff.queued"]
    assert chat.result is not None and chat.result.handoff is None
    assert chat.session.answers == sent.answers, "the answers stay for the summary"


def test_the_handoff_sent_message_shows_no_back_button(handoff_engine: Engine) -> None:
    chat = at_handoff(handoff_engine).play("k0", "username")
    assert chat.keys == ["handoff.queued"]
    assert chat.session.history == []
    assert chat.names == ["ok"], (
        "PRODUCT BUG (flows/states/handoff_consent.py _request): the hand-off sent message is rendered by "
        "turn.advance(SENT) before session.history.clear(), so it shows a Back button that only answers "
        "notice.no_way_back (elsewhere, e.g. at the consent, no Back button is shown when there is no way back)"
    )


def test_cancelling_the_handoff_sends_nothing(handoff_engine: Engine) -> None:
    chat = at_handoff(handoff_engine).play("k0", "cancel")
    assert chat.keys == ["own_doctor"]
    assert chat.session.handoff_clinic is None
    assert chat.result is not None and chat.result.handoff is None


def test_a_contact_nobody_asked_for_is_not_kept(engine: Engine) -> None:
    chat = screened(engine)
    before = chat.session
    chat.send(SharedContact("+1 555 0100"))
    assert chat.keys == ["notice.use_buttons", "region.ask"]
    assert chat.session == before


# --- menu and sections ------------------------------------------------------------------------------


def test_menu_lists_the_comparison_then_the_options_that_fit_first(engine: Engine, content: Content) -> None:
    chat = screened(engine).play("low_back", "+walking_pain", "done", "over_1_year", "5", "no_mri")
    chat.play("+injections", "done", "one", "some_problems", "skip", "ok", "ok", *weigh(low_cost="a_lot"))
    chat.play(*RIGHT_ANSWERS, "epidural", "yes", "yes", "yes", "yes", "ok", "ok", "no", "ok")
    assert chat.keys == ["menu.intro"]
    assert "menu.for_you" in chat.all_keys
    answers = chat.session.answers
    first, *others = content.groups
    in_group = [s for s in content.sections if s.group == first.id]
    fitting = [s.id for s in in_group if s.match is not None and holds(s.match, answers)]
    # injections tried, leaning towards an epidural; nothing about surgery or stem cells
    assert {"epidural", "epidural_day"} <= set(fitting)
    assert not {"surgery", "stem_cells", "waiting"} & set(fitting)
    rest = [s.id for s in in_group if s.id not in fitting]
    assert chat.names == [
        "comparison",
        *(f"section:{s}" for s in fitting + rest),
        *(f"menu:{group.id}" for group in others),
        "restart",
    ]


def test_a_group_menu_lists_its_topics_and_leads_back_to_the_main_menu(engine: Engine, content: Content) -> None:
    chat = screened(engine).play("low_back")
    for group in content.groups[1:]:
        chat.send(ShowMenu(group.id))
        assert chat.keys == [group.title]
        assert chat.names == [
            *(f"section:{s.id}" for s in content.sections if s.group == group.id),
            "menu",
            "resume",
        ]
        assert "comparison" not in chat.names
    chat.tap("menu")
    assert chat.keys == ["menu.intro"]
    chat.send(ShowMenu("no_such_group"))  # an unknown group shows the main menu
    assert chat.keys == ["menu.intro"]


def test_without_consent_no_topic_is_put_first(engine: Engine, content: Content) -> None:
    chat = at_consent(engine).play("decline", "ok")
    assert chat.keys == ["menu.intro"]
    first = content.groups[0].id
    sections = [f"section:{s.id}" for s in content.sections if s.group == first]
    assert chat.names == ["comparison", *sections, *(f"menu:{g.id}" for g in content.groups[1:]), "restart"]


def test_menu_from_a_question_leads_back_to_it(engine: Engine) -> None:
    chat = screened(engine).play("low_back")
    chat.send(ShowMenu())
    assert chat.keys == ["menu.intro"]
    assert chat.names[-1] == "resume"
    chat.tap("resume")
    assert chat.keys == ["leg_symptoms.ask"]


def test_every_section_shows_its_title_body_and_sources_as_links(engine: Engine, content: Content) -> None:
    chat = started(engine)
    first = content.groups[0].id
    for section in content.sections:
        chat.send(ShowSection(section.id))
        reply = chat.replies[0]
        assert reply.keys() == (section.body, section.title)
        captions = [content.figure_by_id[figure].caption for figure in section.figures]
        assert chat.keys == [section.body, *captions], "the topic, then its figures as pictures"
        assert section.sources, f"section {section.id} cites no source"
        for source_id in section.sources:
            source = content.source_by_id[source_id]
            assert html.escape(source.title) in reply.text, (section.id, source_id)
            if source.url:
                assert f'<a href="{html.escape(source.url, quote=True)}">' in reply.text, (section.id, source_id)
        assert text_of(content, "section.sources") in plain_text(reply.text)
        assert chat.names == ["menu" if section.group == first else f"menu:{section.group}", "resume"]


def test_unknown_section_is_out_of_date(engine: Engine) -> None:
    chat = started(engine)
    chat.send(ShowSection("no_such_topic"))
    assert chat.keys == ["notice.stale", "welcome"]
    assert chat.rejected is Reason.UNKNOWN_OPTION


# --- robustness -------------------------------------------------------------------------------------


def test_a_session_in_a_state_that_no_longer_exists_starts_again(engine: Engine, content: Content) -> None:
    old = Session(state="removed_question", step=9, answers={"region": "neck"}, consent=True, history=["welcome"])
    for event in (Start(), Resume(), Choose(9, "ok"), Typed("hello"), Back()):
        result = engine.step(old, event)
        assert [reply.key for reply in result.replies] == ["notice.content_changed", "welcome"]
        assert result.session.state == content.flow.start
        assert result.session.answers == {}
        assert result.session.step > old.step


def test_back_into_a_state_that_no_longer_exists_starts_again(engine: Engine, content: Content) -> None:
    old = Session(state="duration", step=9, answers={"region": "neck"}, consent=True, history=["welcome", "gone"])
    result = engine.step(old, Back(9))
    assert [reply.key for reply in result.replies] == ["notice.content_changed", "welcome"]
    assert result.session.state == content.flow.start


def test_answers_from_an_older_content_version_still_show_a_result(engine: Engine) -> None:
    old_answers = {
        "region": "shoulder",
        "mri_findings": ["bone_spurs", "gone"],
        "removed_question": "x",
        "values": ["proven"],  # ticked, as the first version kept it
        "sure_sure": "yes",
    }
    old = Session(state="result", step=30, consent=True, answers=old_answers, history=["welcome"])
    result = engine.step(old, Resume())
    assert [reply.key for reply in result.replies] == ["result.intro"]
    leaning = engine.step(old.model_copy(update={"state": "leaning"}), Choose(30, "stem_cells"))
    assert [reply.key for reply in leaning.replies] == ["sure.intro"], "old ticked values conflict with nothing"


def test_the_given_session_is_never_changed(engine: Engine) -> None:
    chat = screened(engine).play("low_back", "+walking_pain")
    session = chat.session
    snapshot = session.model_copy(deep=True)
    for event in (Choose(session.step, "numbness"), decode(chat.buttons[0].data), Back(), Restart(), Typed("x")):
        engine.step(session, event)
        assert session == snapshot
    values = at_values(engine).play("a_lot").session
    snapshot = values.model_copy(deep=True)
    for event in (Choose(values.step, "a_lot"), Back(values.step), Back(), Restart(), Choose(values.step, "zz")):
        engine.step(values, event)
        assert values == snapshot


def test_same_session_and_event_give_the_same_result(engine: Engine) -> None:
    chat = screened(engine).play("low_back", "+walking_pain", "done", "over_1_year", "5", "had_mri")
    session = chat.session
    events: list[Event] = [
        decode(chat.buttons[0].data),
        Back(),
        Restart(),
        Typed("hello"),
        ShowMenu(),
        ShowComparison(),
        Start(),
        Unreadable(),
    ]
    for event in events:
        first, second = engine.step(session, event), engine.step(session, event)
        assert first == second
        assert first.session.model_dump() == second.session.model_dump()


def test_stages_are_reached_once_each_on_a_straight_path(engine: Engine) -> None:
    chat = started(engine).play("ok", "flag_no", "flag_no", "flag_no")
    assert chat.all_stages == []
    chat.play("flag_no")
    assert chat.stages == [Stage.SCREENED]
    chat.play("agree")
    assert chat.stages == [Stage.CONSENTED]
    chat.play(*LOW_BACK)
    assert chat.stages == [Stage.COMPLETED]
    chat.play("ok", "ok", *weigh(), *RIGHT_ANSWERS, *TO_SUMMARY, "pdf", "ok", "no", "ok")
    assert chat.keys == ["menu.intro"]
    assert chat.all_stages == [Stage.SCREENED, Stage.CONSENTED, Stage.COMPLETED]
