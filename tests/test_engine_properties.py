"""Property-based: random sequences of what a patient (or a forger) can send never break a session."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows.content import Content
from flows.engine import Engine, Step
from flows.events import (
    Back,
    Choose,
    Done,
    Event,
    Restart,
    Resume,
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
from flows.limits import MAX_CALLBACK_BYTES, html_problems
from flows.loader import load_content
from flows.model import MultiState, ScaleState, SingleState, SummaryState, TextState
from flows.replies import Button
from flows.session import Session
from tests.conversation_script import find_button

ROOT = Path(__file__).resolve().parent.parent
PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
COMMANDS: list[Event] = [
    Start(),
    Back(),
    Restart(),
    ShowMenu(),
    Resume(),
    ShowInfo("help"),
    ShowInfo("privacy"),
]
# how often each kind of action is drawn: mostly real taps, so that random walks get deep into the flow
KINDS = ["tap"] * 10 + ["old"] * 2 + ["back"] * 2 + ["forged", "forged_step", "typed", "command", "section"]
AT_GOAL = (
    *("ok", "agree", "flag_no", "flag_no", "flag_no", "low_back", "toggle:walking_pain", "done", "over_1_year"),
    *("7", "had_mri", "toggle:bone_spurs", "done", "severe", "toggle:physio", "done", "good"),
    *("toggle:proven", "toggle:low_cost", "done"),
)
# where a random conversation begins: red flags stop most random walks, so many start past them
PREFIXES = {
    "fresh": (),
    "consent": ("ok",),
    "screened": ("ok", "agree", "flag_no", "flag_no", "flag_no"),
    "at_goal": AT_GOAL,
    # past the result, so that random walks also reach leaning, the SURE questions and the summary
    "at_leaning": (*AT_GOAL, "skip", "ok"),
}
MOVES_ON = (Back, Restart, Resume, ShowMenu)


@cache
def engine() -> Engine:
    result = load_content(ROOT / "content")
    assert result.content is not None, "\n".join(map(str, result.problems))
    return Engine(result.content)


def answer_questions(content: Content) -> set[str]:
    """Questions whose answers are kept."""
    return {
        state.id
        for state in content.flow.states
        if isinstance(state, MultiState | ScaleState | TextState)
        or (isinstance(state, SingleState) and state.short is not None)
    }


def valid_answer(content: Content, question: str, value: object) -> bool:
    state = content.states[question]
    if isinstance(state, SingleState):
        return value in {option.id for option in state.options}
    if isinstance(state, MultiState):
        by_id = {option.id: option for option in state.options}
        if not isinstance(value, list) or not value or len(set(value)) != len(value):
            return False
        if not all(item in by_id for item in value):
            return False
        return not any(by_id[item].exclusive for item in value) or len(value) == 1
    if isinstance(state, ScaleState):
        return isinstance(value, int) and state.low <= value <= state.high
    if isinstance(state, TextState):
        return isinstance(value, str) and value == value.strip() and 0 < len(value) <= state.max_length
    return False


def current_button_data(session: Session) -> set[str]:
    """Button data a patient can send right now (from the question as it would be shown)."""
    reply = engine().views.current(session)
    return {button.data for row in reply.buttons for button in row}


def is_refused_tap(before: Session, event: Event) -> bool:
    """A tap on an out-of-date keyboard, or data no current button sends: it must change nothing."""
    if isinstance(event, Unreadable):
        return True
    if isinstance(event, ShowSection):
        return event.section not in engine().content.section_by_id
    if isinstance(event, Back | Restart):
        return event.step is not None and event.step != before.step  # with the current step it is /back, /restart
    if isinstance(event, Choose | Toggle | Done):
        return encode(event) not in current_button_data(before)
    return False


def check(before: Session, event: Event, result: Step) -> None:
    content = engine().content
    after = result.session
    assert result.replies, f"no reply to {event}"
    assert after.state in content.states
    assert all(state in content.states for state in after.history)
    assert after.step >= before.step
    assert after.content_version == before.content_version
    questions = answer_questions(content)
    assert set(after.answers) <= questions
    for question, value in after.answers.items():
        assert valid_answer(content, question, value), (question, value)
    assert set(after.answers) <= {*after.history, after.state}, "answers belong to questions on the path taken"
    if after.consent is not True:
        assert after.answers == {}, "no health answer is kept without consent"
    state = content.states[after.state]
    allowed_draft = {option.id for option in state.options} if isinstance(state, MultiState) else set()
    assert set(after.draft) <= allowed_draft
    for reply in result.replies:
        assert reply.text.strip()
        assert html_problems(reply.text) == [], (reply.key, html_problems(reply.text))
        for row in reply.buttons:
            for button in row:
                assert button.label.strip()
                assert 0 < len(button.data.encode()) <= MAX_CALLBACK_BYTES
                assert decode(button.data) != Unreadable()
    if is_refused_tap(before, event):
        assert after == before, f"{event} changed the session"
        assert result.replies[0].key == "notice.stale"
        assert not result.stages
    if isinstance(event, Typed) and not isinstance(content.states[before.state], TextState):
        assert (after.state, after.answers) == (before.state, before.answers)
    documents = [reply for reply in result.replies if reply.document is not None]
    if documents:  # only the summary's PDF button sends a file, and it moves nothing
        assert isinstance(content.states[before.state], SummaryState)
        assert isinstance(event, Choose) and event.option == "pdf"
        assert after == before
        assert documents[0].document is not None and documents[0].document.blocks


@st.composite
def next_event(draw: st.DrawFn, session: Session, shown: list[Button], old: list[Button]) -> Event:
    kind = draw(st.sampled_from(KINDS))
    if kind == "tap" and shown:
        answers = [button for button in shown if not isinstance(decode(button.data), MOVES_ON)]
        pool = answers if answers and draw(st.integers(0, 9)) else shown  # mostly answer, sometimes go back
        return decode(draw(st.sampled_from(pool)).data)
    if kind == "back":
        return Back()
    if kind == "old" and old:
        return decode(draw(st.sampled_from(old)).data)
    if kind == "forged":
        data = draw(st.one_of(st.text(max_size=70), st.from_regex(r"[ctdbrsmq][0-9]{0,3}(:[a-z_0-9]{0,20})?")))
        return decode(data)
    if kind == "forged_step":
        step = draw(st.one_of(st.just(session.step), st.integers(min_value=0, max_value=10**6)))
        option = draw(
            st.one_of(
                st.sampled_from(["ok", "skip", "pdf", "none", "agree", "11"]),
                st.from_regex(r"[a-z_]{1,8}", fullmatch=True),
            )
        )
        maker = draw(st.sampled_from([Choose, Toggle]))
        return (
            maker(step, option)
            if draw(st.booleans())
            else draw(st.sampled_from([Done(step), Back(step), Restart(step)]))
        )
    if kind == "typed":
        return Typed(draw(st.text(max_size=300)))
    if kind == "section":
        ids = [section.id for section in engine().content.sections]
        return ShowSection(draw(st.sampled_from([*ids, "no_such_topic"])))
    return draw(st.sampled_from(COMMANDS))


def keyboard(result: Step, shown: list[Button]) -> list[Button]:
    with_buttons = [reply for reply in result.replies if reply.buttons]
    if not with_buttons:
        return shown
    return [button for row in with_buttons[-1].buttons for button in row]


@PROPERTY
@given(st.data())
def test_random_conversations_keep_the_session_valid(data: st.DataObject) -> None:
    engine_ = engine()
    language = data.draw(st.sampled_from(["en", None, "es-MX", "xx"]))
    session = engine_.new_session(language)
    shown: list[Button] = []
    old: list[Button] = []
    prefix = PREFIXES[data.draw(st.sampled_from(sorted(PREFIXES)))]
    events: list[Event | str] = [Start(), *prefix] if prefix else []
    for _ in range(data.draw(st.integers(min_value=1, max_value=60))):
        planned = events.pop(0) if events else None
        if isinstance(planned, str):
            event = decode(find_button(shown, planned).data)
        else:
            event = planned or data.draw(next_event(session, shown, old))
        snapshot = session.model_copy(deep=True)
        result = engine_.step(session, event)
        assert session == snapshot, "the given session is never changed"
        check(session, event, result)
        old += shown
        shown = keyboard(result, shown)
        session = result.session


@PROPERTY
@given(st.data())
def test_a_tap_on_any_older_keyboard_changes_nothing(data: st.DataObject) -> None:
    engine_ = engine()
    session = engine_.new_session("en")
    result = engine_.step(session, Start())
    keyboards: list[tuple[int, list[Button]]] = []
    for _ in range(data.draw(st.integers(min_value=1, max_value=40))):
        session = result.session
        shown = keyboard(result, [])
        if shown:
            keyboards.append((session.step, shown))
        taps = [b for b in shown if not isinstance(decode(b.data), Restart)] or shown
        if not taps:
            break
        result = engine_.step(session, decode(data.draw(st.sampled_from(taps)).data))
    session = result.session
    older = [b for step, buttons in keyboards if step != session.step for b in buttons]
    stale = [b for b in older if isinstance(decode(b.data), Choose | Toggle | Done | Back | Restart)]
    if not stale:
        return
    button = data.draw(st.sampled_from(stale))
    after = engine_.step(session, decode(button.data))
    assert after.session == session
    assert after.replies[0].key == "notice.stale"
    assert not after.changed


@PROPERTY
@given(st.text(max_size=200))
def test_any_unicode_typed_anywhere_is_answered(text: str) -> None:
    engine_ = engine()
    for state in engine_.content.flow.states:
        session = Session(state=state.id, step=5, consent=True, history=["welcome"])
        result = engine_.step(session, Typed(text))
        check(session, Typed(text), result)
