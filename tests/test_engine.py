"""flows.engine: the conversation as a patient lives it, driven by the buttons the engine renders."""

from __future__ import annotations

import html
from pathlib import Path

import pytest

from flows.conditions import holds
from flows.content import Content
from flows.engine import Engine
from flows.events import (
    Back,
    Choose,
    Event,
    Restart,
    Resume,
    ShowInfo,
    ShowMenu,
    ShowSection,
    Start,
    Typed,
    Unreadable,
    decode,
    encode,
)
from flows.limits import plain_text
from flows.loader import load_content
from flows.model import MenuState, ResultState, ScaleState, StopState, TextState
from flows.replies import Button, Reply
from flows.session import Session
from tests.conversation_script import button_name, find_button, flatten

ROOT = Path(__file__).resolve().parent.parent

# The low-back answers of a patient whose profile matches what clinics describe.
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
    "+proven",
    "done",
    Typed("walk to the shops"),
)
# From the result to the summary: lean towards exercise, and answer "yes" to all four SURE questions.
SURE_YES = ("yes", "yes", "yes", "yes")
TO_SUMMARY: tuple[str | Event, ...] = ("ok", "exercise", *SURE_YES, "ok")
SURE_QUESTIONS = ("sure_sure", "sure_understand", "sure_values", "sure_support")
VALUES = ("avoid_surgery", "low_cost", "quick_return", "proven", "stay_near_home")


@pytest.fixture(scope="module")
def content() -> Content:
    result = load_content(ROOT / "content")
    assert result.content is not None, "\n".join(map(str, result.problems))
    return result.content


@pytest.fixture(scope="module")
def engine(content: Content) -> Engine:
    return Engine(content)


class Chat:
    """One patient talking to the engine: taps only what is shown, and checks the engine's promises each step."""

    def __init__(self, engine: Engine, language: str = "en") -> None:
        self.engine = engine
        self.session = engine.new_session(language)
        self.replies: list[Reply] = []
        self.buttons: list[Button] = []
        self.stages: list[str] = []
        self.all_stages: list[str] = []
        self.seen: list[str] = []  # main key of every reply so far

    def send(self, event: Event) -> list[Reply]:
        before = self.session.model_copy(deep=True)
        result = self.engine.step(self.session, event)
        assert self.session == before, "the engine never changes the session it is given"
        assert result.replies, f"{event} got no reply"
        assert result.session.step >= before.step
        self.session = result.session
        self.replies = result.replies
        self.stages = result.stages
        self.all_stages += result.stages
        self.seen += [reply.key for reply in result.replies]
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
    def keys(self) -> list[str]:
        return [reply.key for reply in self.replies]

    @property
    def all_keys(self) -> set[str]:
        """Every text key the last replies were built from."""
        found: set[str] = set()
        for reply in self.replies:
            keys = reply.keys()
            found.update(keys)
        return found

    @property
    def names(self) -> list[str]:
        return [button_name(button.data) for button in self.buttons]

    @property
    def text(self) -> str:
        return "\n".join(reply.text for reply in self.replies)


def started(engine: Engine) -> Chat:
    chat = Chat(engine)
    chat.send(Start())
    return chat


def screened(engine: Engine) -> Chat:
    """A patient who agreed to store answers and has no red flag: at the region question."""
    chat = started(engine).play("ok", "agree", "flag_no", "flag_no", "flag_no")
    assert chat.keys == ["region.ask"]
    return chat


def ticked(chat: Chat) -> list[str]:
    """Options shown ticked on the current multi-choice question."""
    tick = chat.engine.content.texts.get(chat.session.language, "common.tick_on")
    return [button_name(b.data).split(":")[1] for b in chat.buttons if b.label.startswith(tick + " ")]


# --- paths through the flow -------------------------------------------------------------------------


def asked(chat: Chat) -> list[str]:
    """The main key of every reply so far, a question re-shown by a tick counted once."""
    return [key for i, key in enumerate(chat.seen) if i == 0 or chat.seen[i - 1] != key]


def at_result(engine: Engine, *values: str) -> Chat:
    """A low-back patient at the result, having ticked `values` as what matters to them."""
    chat = screened(engine).play("low_back", "+walking_pain", "done", "over_1_year", "5", "no_mri")
    chat.play("+physio", "done", "good", *(f"+{value}" for value in values), "done", "skip")
    assert chat.keys == ["result.intro"]
    return chat


def text_of(content: Content, key: str) -> str:
    return plain_text(content.texts.get("en", key))


def test_low_back_path_goes_from_result_through_leaning_sure_and_summary_to_the_menu(
    engine: Engine, content: Content
) -> None:
    chat = screened(engine).play(*LOW_BACK)
    assert isinstance(content.states[chat.session.state], ResultState)
    assert asked(chat)[-11:] == [
        "leg_symptoms.ask",
        "duration.ask",
        "pain.ask",
        "mri.ask",
        "mri_findings.ask",
        "mri_severity.ask",
        "treatments.ask",
        "health.ask",
        "values.ask",
        "goal.ask",
        "result.intro",
    ]
    assert "outcome.may_be_discussed.title" in chat.all_keys
    assert plain_text(content.texts.get("en", "outcome.may_be_discussed.title")) in plain_text(chat.text)
    assert chat.all_stages == ["consented", "screened", "completed"]
    assert chat.session.answers["goal"] == "walk to the shops"
    assert chat.session.answers["values"] == ["proven"]
    assert chat.names == ["ok", "back"]
    assert chat.buttons[0].label == content.texts.get("en", "common.continue")

    chat.play(*TO_SUMMARY)
    assert asked(chat)[-8:] == [
        "result.intro",
        "leaning.ask",
        "sure.sure",
        "sure.understand",
        "sure.values",
        "sure.support",
        "sure.high",
        "summary.intro",
    ]
    assert chat.names == ["pdf", "ok", "back"]
    assert chat.session.answers["leaning"] == "exercise"
    assert [chat.session.answers[q] for q in SURE_QUESTIONS] == ["yes"] * 4

    chat.tap("ok")
    assert chat.keys == ["menu.intro"]
    assert isinstance(content.states[chat.session.state], MenuState)
    assert chat.all_stages == ["consented", "screened", "completed"], "no stage after the result"
    assert chat.names[-1] == "restart"


# --- leaning and the SURE check -----------------------------------------------------------------------


def test_leaning_offers_every_option_and_is_kept(engine: Engine, content: Content) -> None:
    chat = at_result(engine, "proven").play("ok")
    assert chat.keys == ["leaning.ask"]
    leaning = content.states["leaning"]
    assert chat.names == [option.id for option in leaning.options] + ["back"]  # type: ignore[attr-defined]
    assert {"stem_cells", "steroid_injection", "surgery", "exercise", "wait", "unsure"} <= set(chat.names)
    chat.tap("surgery")
    assert chat.keys == ["sure.sure"]
    assert chat.names == ["yes", "no", "back"]
    assert chat.session.answers["leaning"] == "surgery"


def test_sure_with_four_yes_says_the_patient_seems_ready(engine: Engine, content: Content) -> None:
    chat = at_result(engine, "proven").play("ok", "wait")
    keys = ("sure.sure", "sure.understand", "sure.values", "sure.support")
    for question, key in zip(SURE_QUESTIONS, keys, strict=True):
        assert chat.keys == [key]
        assert chat.session.state == question
        chat.tap("yes")
    assert chat.keys == ["sure.high"]
    assert chat.session.state == "sure_high"
    assert "sure.low" not in chat.seen
    assert text_of(content, "sure.high").split(".")[0] in plain_text(chat.text)
    chat.tap("ok")
    assert chat.keys == ["summary.intro"]


@pytest.mark.parametrize(
    "answers",
    [
        ("no", "yes", "yes", "yes"),
        ("yes", "no", "yes", "yes"),
        ("yes", "yes", "no", "yes"),
        ("yes", "yes", "yes", "no"),
        ("no", "no", "no", "no"),
    ],
    ids=["not_sure", "not_understood", "values_unclear", "no_support", "all_no"],
)
def test_any_no_on_sure_suggests_talking_it_through_with_a_clinician(
    engine: Engine, content: Content, answers: tuple[str, ...]
) -> None:
    chat = at_result(engine, "proven").play("ok", "stem_cells", *answers)
    assert chat.keys == ["sure.low"]
    assert chat.session.state == "sure_low"
    assert "sure.high" not in chat.seen
    shown = plain_text(chat.text).lower()
    assert "talk it through" in shown
    assert any(clinician in shown for clinician in ("doctor", "nurse", "physio"))
    assert tuple(chat.session.answers[q] for q in SURE_QUESTIONS) == answers
    chat.tap("ok")
    assert chat.keys == ["summary.intro"], "the summary comes next either way"


def test_changing_a_sure_answer_to_yes_changes_the_advice(engine: Engine) -> None:
    chat = at_result(engine, "proven").play("ok", "exercise", "yes", "yes", "yes", "no")
    assert chat.keys == ["sure.low"]
    chat.tap("back")
    assert chat.keys == ["sure.support"]
    chat.tap("yes")
    assert chat.keys == ["sure.high"]
    assert chat.session.answers["sure_support"] == "yes"


# --- values, reflected in the result ------------------------------------------------------------------


@pytest.mark.parametrize("value", VALUES)
def test_the_result_reflects_a_ticked_value(engine: Engine, content: Content, value: str) -> None:
    chat = at_result(engine, value)
    shown = plain_text(chat.text)
    assert text_of(content, "result.values_heading") in shown
    assert text_of(content, f"values.reflect.{value}") in shown
    for other in (*VALUES, "none"):
        if other != value:
            assert text_of(content, f"values.reflect.{other}") not in shown, other


def test_the_result_reflects_every_ticked_value_in_the_order_shown(engine: Engine, content: Content) -> None:
    chat = at_result(engine, "stay_near_home", "avoid_surgery", "low_cost")
    assert chat.session.answers["values"] == ["avoid_surgery", "low_cost", "stay_near_home"]
    shown = plain_text(chat.text)
    places = [shown.index(text_of(content, f"values.reflect.{v}")) for v in chat.session.answers["values"]]
    assert places == sorted(places)
    assert shown.index(text_of(content, "result.values_heading")) < places[0]
    for absent in ("quick_return", "proven", "none"):
        assert text_of(content, f"values.reflect.{absent}") not in shown


def test_the_result_reply_names_the_reflected_value_keys(engine: Engine) -> None:
    chat = at_result(engine, "proven", "low_cost")
    keys = chat.replies[0].keys()
    assert {"result.values_heading", "values.reflect.low_cost", "values.reflect.proven"} <= set(keys)


def test_none_of_these_values_says_so_and_reflects_no_value(engine: Engine, content: Content) -> None:
    chat = at_result(engine, "none")
    assert chat.session.answers["values"] == ["none"]
    shown = plain_text(chat.text)
    assert text_of(content, "values.reflect.none") in shown  # "you did not pick anything; topics compare all"
    for value in VALUES:
        assert text_of(content, f"values.reflect.{value}") not in shown, value


def test_none_of_these_clears_the_ticked_values(engine: Engine) -> None:
    chat = at_result(engine, "proven")
    chat.tap("back")  # to the goal
    chat.tap("back")  # to the values, "proven" still ticked
    assert chat.keys == ["values.ask"]
    assert ticked(chat) == ["proven"]
    chat.play("+none")
    assert ticked(chat) == ["none"]
    chat.play("done", "skip")
    assert chat.session.answers["values"] == ["none"]


def test_done_on_values_with_nothing_ticked_asks_for_an_answer(engine: Engine) -> None:
    chat = screened(engine).play("low_back", "+walking_pain", "done", "over_1_year", "5", "no_mri")
    chat.play("+physio", "done", "good")
    assert chat.keys == ["values.ask"]
    chat.tap("done")
    assert chat.keys == ["notice.pick_one", "values.ask"]
    assert "values" not in chat.session.answers


# --- the personal summary -----------------------------------------------------------------------------


def test_the_summary_lists_answers_result_and_matching_topics(engine: Engine, content: Content) -> None:
    chat = at_result(engine, "low_cost", "proven")
    chat.tap("back")
    chat.send(Typed("walk to the shops & back"))  # the goal again, with a character that needs escaping
    assert chat.keys == ["result.intro"]
    outcome = engine.views.result(chat.session).outcome
    chat.play(*TO_SUMMARY)
    assert chat.keys == ["summary.intro"]
    shown = plain_text(chat.replies[0].text)

    answered = [state for state in content.flow.states if state.id in chat.session.answers]
    assert {s.id for s in answered} >= {"region", "values", "goal", "leaning", *SURE_QUESTIONS}
    for state in answered:
        short = text_of(content, state.short)  # type: ignore[attr-defined]
        label = plain_text(engine.views.answer_label(chat.session, state, chat.session.answers[state.id]))
        assert f"{short}: {label}" in shown, state.id
    assert "Your goal: walk to the shops & back" in shown
    assert f"{text_of(content, 'values.short')}: {text_of(content, 'values.low_cost')}" in shown
    assert f"{text_of(content, 'leaning.short')}: {text_of(content, 'leaning.exercise')}" in shown

    assert text_of(content, "summary.result") in shown
    assert text_of(content, outcome.title) in shown
    matched = [s for s in content.sections if s.match is not None and holds(s.match, chat.session.answers)]
    assert {"costs", "evidence"} <= {s.id for s in matched}  # cost and proof were ticked
    assert text_of(content, "summary.topics") in shown
    for section in content.sections:
        title = text_of(content, section.title)
        assert (title in shown) is (section in matched), section.id
    assert text_of(content, "summary.questions_heading") in shown


def test_the_pdf_button_sends_a_document_and_stays_on_the_summary(engine: Engine, content: Content) -> None:
    chat = at_result(engine, "avoid_surgery").play(*TO_SUMMARY)
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
    assert f"{text_of(content, 'values.short')}: {text_of(content, 'values.avoid_surgery')}" in answers

    chat.tap("pdf", summary_buttons)  # the summary's keyboard still works: the PDF can be sent again
    assert chat.replies[0].document is not None
    chat.tap("ok", summary_buttons)
    assert chat.keys == ["menu.intro"]
    assert chat.session.answers == before.answers


def test_the_pdf_button_of_an_old_summary_is_out_of_date(engine: Engine) -> None:
    chat = at_result(engine, "proven").play(*TO_SUMMARY)
    old = chat.buttons
    chat.tap("back")
    assert chat.keys == ["sure.high"]
    before = chat.session
    chat.tap("pdf", old)
    assert chat.keys == ["notice.stale", "sure.high"]
    assert all(reply.document is None for reply in chat.replies)
    assert chat.session == before


def test_neck_path_asks_about_neck_not_legs(engine: Engine) -> None:
    chat = screened(engine).play("neck")
    assert chat.keys == ["neck_symptoms.ask"]
    chat.play("+hand_clumsy", "done", "over_1_year", "4", "no_mri", "+none", "done", "good", "+proven", "done", "skip")
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


# --- red flags --------------------------------------------------------------------------------------


@pytest.mark.parametrize("answer", ["flag_yes", "flag_unsure"])
@pytest.mark.parametrize(("screen", "urgent"), [(0, "urgent.cauda"), (1, "urgent.cord"), (2, "urgent.other")])
def test_a_red_flag_stops_the_intake(engine: Engine, content: Content, screen: int, urgent: str, answer: str) -> None:
    chat = started(engine).play("ok", "agree", *["flag_no"] * screen)
    screen_buttons = chat.buttons
    chat.tap(answer)
    assert chat.keys == [urgent]
    assert isinstance(content.states[chat.session.state], StopState)
    assert chat.names == ["restart"], "no question and no way on from an urgent-care stop, only starting again"
    assert chat.stages == ["red_flag"]
    assert chat.session.answers == {}
    stop = chat.session

    chat.tap("flag_no", screen_buttons)  # the safety question's old keyboard
    assert chat.keys == ["notice.stale", urgent]
    for text in ("zzzz qqqq xxxx", "how much does it cost?", "is it safe"):  # topic words too: only the advice
        chat.send(Typed(text))
        assert chat.keys == [urgent], text
        assert chat.names == ["restart"]
    chat.send(Back())  # /back does not lead back into the questions
    assert chat.keys == [urgent]
    assert chat.session == stop

    chat.tap("restart")
    assert chat.keys == ["welcome"]
    assert chat.session.state == content.flow.start
    assert "red_flag" not in chat.stages


# --- consent ----------------------------------------------------------------------------------------


def test_declined_consent_shows_information_only_and_stores_nothing(engine: Engine, content: Content) -> None:
    chat = started(engine).play("ok")
    chat.tap("decline")
    assert chat.keys == ["info_only"]
    assert chat.session.consent is False
    assert chat.stages == []
    chat.tap("ok")
    assert chat.keys == ["menu.intro"]
    assert isinstance(content.states[chat.session.state], MenuState)
    assert "menu.for_you" not in chat.all_keys
    sections = [f"section:{section.id}" for section in content.sections]
    assert chat.names == [*sections, "restart"]
    chat.play(ShowSection(content.sections[0].id), Typed("walk to the shops"), ShowMenu(), Back(), "ok")
    assert chat.session.answers == {}
    assert "consented" not in chat.all_stages


def test_declining_after_answering_erases_the_answers(engine: Engine) -> None:
    chat = screened(engine).play("low_back", "+walking_pain", "done")
    assert chat.session.answers
    for _ in range(6):  # duration -> leg_symptoms -> region -> rf_other -> rf_cord -> rf_cauda -> consent
        chat.tap("back")
    assert chat.keys == ["consent.ask"]
    chat.tap("decline")
    assert chat.session.answers == {}
    assert chat.session.consent is False


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


def test_back_at_the_first_question_says_so(engine: Engine, content: Content) -> None:
    chat = started(engine)
    assert "back" not in chat.names
    chat.send(Back())
    assert chat.keys == ["notice.first_question", "welcome"]
    assert chat.replies[0].kind == "notice"
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
    chat.play("+physio", "done", "good", "+proven", "done", "skip")
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
    assert chat.session.answers == {}


def test_out_of_date_button_shows_the_current_question_and_changes_nothing(engine: Engine) -> None:
    chat = screened(engine)
    region_buttons = chat.buttons
    chat.play("low_back", "+walking_pain", "done")
    before = chat.session
    chat.tap("neck", region_buttons)
    assert chat.keys == ["notice.stale", "duration.ask"]
    assert chat.replies[0].kind == "notice"
    assert chat.session == before


@pytest.mark.parametrize(
    "data",
    ["", "garbage", "c1:" + "a" * 70, "x9:low_back", "s:no_such_topic"],
)
def test_forged_or_unreadable_button_data_changes_nothing(engine: Engine, data: str) -> None:
    chat = screened(engine)
    before = chat.session
    chat.send(decode(data))
    assert chat.keys == ["notice.stale", "region.ask"]
    assert chat.session == before


def test_forged_answer_with_the_current_step_changes_nothing(engine: Engine) -> None:
    chat = screened(engine)
    before = chat.session
    for forged in ("no_such_option", "ok", "skip", "pdf", "5", "agree"):
        chat.send(decode(encode(Choose(before.step, forged))))
        assert chat.keys == ["notice.stale", "region.ask"], forged
        assert chat.session == before


def test_double_tap_counts_once(engine: Engine) -> None:
    chat = screened(engine)
    tap = decode(find_button(chat.buttons, "low_back").data)
    chat.send(tap)
    assert chat.keys == ["leg_symptoms.ask"]
    after_first = chat.session
    chat.send(tap)
    assert chat.keys == ["notice.stale", "leg_symptoms.ask"]
    assert chat.session == after_first


# --- kinds of questions -----------------------------------------------------------------------------


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
    chat = screened(engine).play("low_back", "+walking_pain", "done", "over_1_year", "5", "no_mri")
    chat.play("+physio", "done", "good", "+proven", "done")
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
    chat = screened(engine).play("low_back", "+walking_pain", "done", "over_1_year", "5", "no_mri")
    chat.play("+physio", "done", "good", "+proven", "done", "skip")
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
    chat.send(Typed(plain_text(content.texts.get("en", costs.title))))
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


# --- menu and sections ------------------------------------------------------------------------------


def test_menu_lists_the_sections_that_fit_first(engine: Engine, content: Content) -> None:
    chat = screened(engine).play("low_back", "+walking_pain", "done", "over_1_year", "5", "no_mri")
    chat.play("+injections", "done", "one", "some_problems", "+low_cost", "done", "skip", *TO_SUMMARY, "ok")
    assert chat.keys == ["menu.intro"]
    assert "menu.for_you" in chat.all_keys
    answers = chat.session.answers
    fitting = [s.id for s in content.sections if s.match is not None and holds(s.match, answers)]
    # injections tried, some health problems, cost matters; nothing about the neck, surgery or weak legs
    assert {"epidural", "risks", "costs"} <= set(fitting)
    assert not {"lumbar_vs_cervical", "surgery", "urgent_help", "about"} & set(fitting)
    others = [section.id for section in content.sections if section.id not in fitting]
    assert chat.names == [f"section:{s}" for s in fitting + others] + ["restart"]


def test_without_consent_no_topic_is_put_first(engine: Engine, content: Content) -> None:
    chat = started(engine).play("ok", "decline", "ok")
    assert chat.keys == ["menu.intro"]
    assert chat.names == [f"section:{s.id}" for s in content.sections] + ["restart"]


def test_menu_from_a_question_leads_back_to_it(engine: Engine) -> None:
    chat = screened(engine).play("low_back")
    chat.send(ShowMenu())
    assert chat.keys == ["menu.intro"]
    assert chat.names[-1] == "resume"
    chat.tap("resume")
    assert chat.keys == ["leg_symptoms.ask"]


def test_every_section_shows_its_title_body_and_sources(engine: Engine, content: Content) -> None:
    chat = started(engine)
    chat.send(ShowMenu())
    menu = chat.buttons
    for section in content.sections:
        chat.tap(f"section:{section.id}", menu)
        reply = chat.replies[0]
        assert reply.keys() == (section.body, section.title)
        assert section.sources, f"section {section.id} cites no source"
        for source in section.sources:
            assert html.escape(source) in reply.text
        assert plain_text(content.texts.get("en", "section.sources")) in plain_text(reply.text)
        assert chat.names == ["menu", "resume"]


def test_unknown_section_is_out_of_date(engine: Engine) -> None:
    chat = started(engine)
    chat.send(ShowSection("no_such_topic"))
    assert chat.keys == ["notice.stale", "welcome"]


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
    old = Session(
        state="result",
        step=30,
        consent=True,
        answers={"region": "shoulder", "mri_findings": ["bone_spurs", "gone"], "removed_question": "x"},
        history=["welcome"],
    )
    result = engine.step(old, Resume())
    assert [reply.key for reply in result.replies] == ["result.intro"]


def test_the_given_session_is_never_changed(engine: Engine) -> None:
    chat = screened(engine).play("low_back", "+walking_pain")
    session = chat.session
    snapshot = session.model_copy(deep=True)
    for event in (Choose(session.step, "numbness"), decode(chat.buttons[0].data), Back(), Restart(), Typed("x")):
        engine.step(session, event)
        assert session == snapshot


def test_same_session_and_event_give_the_same_result(engine: Engine) -> None:
    chat = screened(engine).play("low_back", "+walking_pain", "done", "over_1_year", "5", "had_mri")
    session = chat.session
    events: list[Event] = [
        decode(chat.buttons[0].data),
        Back(),
        Restart(),
        Typed("hello"),
        ShowMenu(),
        Start(),
        Unreadable(),
    ]
    for event in events:
        first, second = engine.step(session, event), engine.step(session, event)
        assert first == second
        assert first.session.model_dump() == second.session.model_dump()


def test_stages_are_reached_once_each_on_a_straight_path(engine: Engine) -> None:
    chat = started(engine).play("ok", "agree")
    assert chat.stages == ["consented"]
    chat.play("flag_no", "flag_no")
    assert chat.stages == []
    chat.play("flag_no")
    assert chat.stages == ["screened"]
    chat.play(*LOW_BACK)
    assert chat.stages == ["completed"]
    chat.play(*TO_SUMMARY, "pdf", "ok")
    assert chat.keys == ["menu.intro"]
    assert chat.all_stages == ["consented", "screened", "completed"]
