"""Scripted conversations (tests/conversations/*.yaml) played through flows.engine.Engine."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from flows.engine import Engine
from flows.events import Back, Event, Restart, ShowInfo, ShowMenu, Start, Typed, decode
from flows.loader import load_content
from flows.replies import Button, Reply
from flows.session import Session
from tests.conversation_script import (
    Script,
    ScriptError,
    ScriptStep,
    button_data,
    button_name,
    check_replies,
    find_button,
    flatten,
    load_script,
    load_scripts,
)

ROOT = Path(__file__).resolve().parent.parent
COMMAND_EVENTS: dict[str, Event] = {
    "start": Start(),
    "back": Back(),
    "restart": Restart(),
    "menu": ShowMenu(),
    "help": ShowInfo("help"),
    "privacy": ShowInfo("privacy"),
}
SCRIPTS = load_scripts()


@pytest.fixture(scope="module")
def engine() -> Engine:
    result = load_content(ROOT / "content")
    assert result.content is not None, "\n".join(map(str, result.problems))
    return Engine(result.content)


def play(engine: Engine, script: Script) -> Session:
    """Play every step of `script`, checking each; returns the session at the end."""
    session = engine.new_session(script.language)
    latest: list[Button] = []
    keyboards: dict[int, list[Button]] = {}
    for step in script.steps:
        event = event_for(step, keyboards[step.keyboard] if step.keyboard else latest)
        result = engine.step(session, event)
        session = result.session
        shown = [reply for reply in result.replies if reply.buttons]
        if shown:
            latest = flatten(shown[-1].buttons)
        keyboards[step.number] = latest
        check_replies(step, [reply.keys() for reply in result.replies], latest)
        for reply in result.replies:
            check_language(engine, script.language, reply, step)
        if step.state is not None:
            assert session.state == step.state, f"{step.describe()}: in state {session.state!r}"
        if step.stages is not None:
            assert tuple(result.stages) == step.stages, f"{step.describe()}: stages {result.stages}"
    return session


def check_language(engine: Engine, language: str, reply: Reply, step: ScriptStep) -> None:
    """The reply is written in the script's language: it holds the text of its main key in that language (texts
    with places for names, e.g. a clinic's, are not compared)."""
    template = engine.content.texts.get(language, reply.key)
    if "{" not in template:
        assert template in reply.text, f"{step.describe()}: {reply.key} is not in {language!r}: {reply.text[:80]!r}"


def event_for(step: ScriptStep, buttons: list[Button]) -> Event:
    if step.action == "command":
        return COMMAND_EVENTS[step.value]
    if step.action == "type":
        return Typed(step.value)
    return decode(find_button(buttons, step).data)


@pytest.mark.parametrize("script", SCRIPTS, ids=[script.path.stem for script in SCRIPTS])
def test_script(engine: Engine, script: Script) -> None:
    session = play(engine, script)
    final = script.final
    if final.state is not None:
        assert session.state == final.state
    if final.consent is not None:
        assert session.consent is final.consent
    if final.answers is not None:
        assert session.answers == final.answers


def test_the_expected_scripts_exist() -> None:
    names = {script.path.stem for script in SCRIPTS}
    assert {
        "low_back_may_be_discussed",
        "low_back_spanish",
        "neck_cord_signs",
        "neck_pain_nudged",
        "urgent_fever",
        "urgent_declined",
        "red_flag_cauda",
        "declined_consent",
        "back_and_restart",
    } <= names


def test_every_script_ends_somewhere_checked() -> None:
    for script in SCRIPTS:
        assert script.final.state is not None, script.path.name
        assert all(step.expect is not None for step in script.steps), script.path.name


# --- the script format ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TelegramLikeButton:
    """The two fields of telegram.InlineKeyboardButton the scripts use."""

    text: str
    callback_data: str


KEYBOARD = [
    Button("Yes", "c3:flag_yes"),
    Button("No", "c3:flag_no"),
    Button("⬜ Numb", "t3:numbness"),
    Button("Done", "d3"),
    Button("Back", "b3"),
    Button("Again", "r3"),
    Button("Topics", "m"),
    Button("Questions", "q"),
    Button("Costs", "s:costs"),
    Button("About stem cells", "m:stem_cells"),
    Button("All options", "o"),
]


def step(**fields: object) -> ScriptStep:
    values: dict[str, object] = {"number": 1, **fields}
    return ScriptStep(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("script_step", "data"),
    [
        (step(action="tap", value="flag_no"), "c3:flag_no"),
        (step(action="toggle", value="numbness"), "t3:numbness"),
        (step(action="tap", value="done"), "d3"),
        (step(action="tap", value="back"), "b3"),
        (step(action="tap", value="restart"), "r3"),
        (step(action="tap", value="menu"), "m"),
        (step(action="tap", value="resume"), "q"),
        (step(action="open", value="costs"), "s:costs"),
        (step(action="tap", value="menu:stem_cells"), "m:stem_cells"),
        (step(action="tap", value="comparison"), "o"),
    ],
)
def test_find_button_by_what_it_sends(script_step: ScriptStep, data: str) -> None:
    assert find_button(KEYBOARD, script_step).data == data


def test_find_button_works_on_telegram_buttons() -> None:
    buttons = [TelegramLikeButton(button.label, button.data) for button in KEYBOARD]
    assert find_button(buttons, step(action="tap", value="flag_yes")).text == "Yes"
    assert find_button(buttons, "toggle:numbness").callback_data == "t3:numbness"


def test_a_tap_on_a_button_that_is_not_shown_fails_loudly() -> None:
    with pytest.raises(ScriptError, match=r"step 1 \(tap: agree\): no button 'agree' is shown; shown: \['flag_yes'"):
        find_button(KEYBOARD, step(action="tap", value="agree"))
    with pytest.raises(ScriptError, match="no button 'toggle:flag_yes'"):
        find_button(KEYBOARD, step(action="toggle", value="flag_yes"))  # an answer button is not a tick box
    with pytest.raises(ScriptError, match="taps no button"):
        find_button(KEYBOARD, step(action="type", value="hello"))


def test_two_buttons_with_one_name_are_ambiguous() -> None:
    with pytest.raises(ScriptError, match="2 buttons"):
        find_button([*KEYBOARD, Button("Yes again", "c3:flag_yes")], "flag_yes")


def test_button_names() -> None:
    assert [button_name(button_data(button)) for button in KEYBOARD] == [
        "flag_yes",
        "flag_no",
        "toggle:numbness",
        "done",
        "back",
        "restart",
        "menu",
        "resume",
        "section:costs",
        "menu:stem_cells",
        "comparison",
    ]
    assert button_name("forged!") == "?forged!"


def test_check_replies_reports_what_differs() -> None:
    checked = step(action="tap", value="ok", expect=("consent.ask",), includes=("x",), buttons=("agree",))
    with pytest.raises(AssertionError, match=r"expected replies \['consent.ask'\], got \['welcome'\]"):
        check_replies(checked, [("welcome",)], [])
    with pytest.raises(AssertionError, match=r"no reply was built from \['x'\]"):
        check_replies(checked, [("consent.ask", "y")], [])
    with pytest.raises(AssertionError, match=r"expected buttons \['agree'\], shown \['flag_yes'\]"):
        check_replies(checked, [("consent.ask", "x")], KEYBOARD[:1])
    excluded = step(action="tap", value="ok", excludes=("leg_symptoms.ask",))
    with pytest.raises(AssertionError, match="should not use"):
        check_replies(excluded, [("notice.stale",), ("leg_symptoms.ask",)], [])
    check_replies(checked, [("consent.ask", "x")], [Button("Yes", "c1:agree")])


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "script.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_script_parses_into_steps(tmp_path: Path) -> None:
    script = load_script(
        write(
            tmp_path,
            "name: tiny\nsteps:\n  - command: start\n    expect: [welcome]\n"
            "  - tap: 7\n    expect: [mri.ask]\n    stages: []\n"
            "  - toggle: numbness\n    keyboard: 1\n    expect: [x]\n"
            "final: {state: menu, consent: false, answers: {}}\n",
        )
    )
    assert script.name == "tiny" and script.language == "en"
    assert [(s.number, s.action, s.value) for s in script.steps] == [
        (1, "command", "start"),
        (2, "tap", "7"),
        (3, "toggle", "numbness"),
    ]
    assert script.steps[1].stages == ()
    assert script.steps[2].keyboard == 1
    assert (script.final.state, script.final.consent, script.final.answers) == ("menu", False, {})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("steps: [{command: start}]\n", "'name' is required"),
        ("name: x\nsteps: []\n", "non-empty"),
        ("name: x\nsteps: [{tap: ok, command: start}]\n", "step 1: write exactly one of"),
        ("name: x\nsteps: [{expect: [welcome]}]\n", "found none"),
        ("name: x\nsteps: [{command: start}, {tap: ok, expcet: [x]}]\n", "step 2: unknown field"),
        ("name: x\nsteps: [{tap: yes}]\n", "quote yes/no"),
        ("name: x\nsteps: [{command: jump}]\n", "unknown command 'jump'"),
        ("name: x\nsteps: [{command: start, expect: welcome}]\n", "'expect' is a list"),
        ("name: x\nsteps: [{tap: ok, keyboard: 1}]\n", "earlier step"),
        ("name: x\nsteps: [{type: hi, keyboard: 1}]\n", "only goes with tap"),
        ("name: x\nsteps: [{command: start}]\nfinal: {mood: happy}\n", "final: unknown field"),
        ("name: x\nsteps: [{command: start}]\nfinal: {consent: maybe}\n", "true or false"),
        ("- just a list\n", "a script is a mapping"),
    ],
)
def test_malformed_scripts_are_rejected_with_the_place(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ScriptError, match=message) as caught:
        load_script(path)
    assert str(path) in str(caught.value)
