"""Property-based: random sequences of what a patient (or a forger) can send never break a session."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Sequence
from functools import cache
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows.actions import ACTIONS
from flows.content import Content
from flows.engine import Engine, Step
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
from flows.limits import MAX_CALLBACK_BYTES, html_problems
from flows.loader import load_content
from flows.replies import Button
from flows.session import Session
from flows.states import KINDS, kind_of
from flows.states.handoff_consent import HandoffConsentState
from flows.states.knowledge import ANSWERS as KNOWLEDGE_ANSWERS
from flows.states.knowledge import KnowledgeState
from flows.states.multi import MultiState
from flows.states.safety import SafetyState
from flows.states.scale import ScaleState
from flows.states.single import SingleState
from flows.states.summary import SummaryState
from flows.states.sure import ANSWERS as SURE_ANSWERS
from flows.states.sure import SureState
from flows.states.text import TextState
from flows.states.weighted import LEVELS, WeightedState
from flows.turn import Reason
from tests.conversation_script import find_button

ROOT = Path(__file__).resolve().parent.parent
PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
COMMANDS: list[Event] = [
    Start(),
    Back(),
    Restart(),
    ShowMenu(),
    ShowMenu("general"),
    ShowMenu("no_such_group"),
    ShowComparison(),
    Resume(),
    ShowInfo("help"),
    ShowInfo("privacy"),
    SharedContact("+1 555 0100"),
]
# how often each kind of action is drawn: mostly real taps, so that random walks get deep into the flow
KINDS_OF_MOVE = ["tap"] * 10 + ["old"] * 2 + ["back"] * 2 + ["forged", "forged_step", "typed", "command", "section"]
# buttons that leave the question where it is or step back: a walk taps them only now and then
MOVES_ON = (Back, Restart, Resume, ShowMenu, ShowComparison)
VALUES = ("avoid_surgery", "proven", "low_cost", "quick_return", "few_visits", "stay_near_home")
SCREEN_CLEAR = ("ok", "flag_no", "flag_no", "flag_no", "flag_no")
# a low-back patient whose result allows a hand-off (may be discussed)
AT_GOAL = (
    *SCREEN_CLEAR,
    *("agree", "low_back", "toggle:walking_pain", "toggle:numbness", "done", "over_1_year", "6", "had_mri"),
    *("toggle:bulging_disc", "done", "moderate", "toggle:physio", "done", "good"),
)
AT_VALUES = (*AT_GOAL, "skip", "ok", "ok")
AT_KNOWLEDGE = (*AT_VALUES, "a_lot", "a_lot", "a_little", "not_at_all", "a_lot", "a_little")
AT_LEANING = (*AT_KNOWLEDGE, "true", "false", "not_sure")
AT_SUMMARY = (*AT_LEANING, "stem_cells", "ok", "yes", "no", "yes", "yes", "ok")  # a nudge: "proven" matters a lot
# where a random conversation begins: the safety questions stop many random walks, so many start past them
PREFIXES = {
    "fresh": (),
    "consent": SCREEN_CLEAR,
    "urgent": ("ok", "flag_no", "gradual"),
    "screened": (*SCREEN_CLEAR, "agree"),
    "at_goal": AT_GOAL,
    "at_values": AT_VALUES,
    "at_knowledge": AT_KNOWLEDGE,
    "at_leaning": AT_LEANING,
    "at_sure": (*AT_LEANING, "wait"),
    "at_summary": AT_SUMMARY,
    "after_summary": (
        *AT_SUMMARY,
        "ok",
        "no",
    ),  # no check-ins; the clinic choice (when a clinic can take it) or your own doctor
}


@cache
def content() -> Content:
    result = load_content(ROOT / "content")
    assert result.content is not None, "\n".join(map(str, result.problems))
    return result.content


@cache
def engines() -> dict[str, Engine]:
    """The real content, and the same with a clinic that can receive hand-offs (so the hand-off states are
    reached too)."""
    real = content()
    clinics = [clinic.model_copy(update={"handoff_chat_id": -100123}) for clinic in real.clinics]
    return {"real": Engine(real), "handoff": Engine(dataclasses.replace(real, clinics=clinics))}


def engine() -> Engine:
    return engines()["real"]


def kept_by_actions() -> dict[str, tuple[str, ...]]:
    """Answers that content actions keep (e.g. the urgent advice kept with consent), and their values."""
    return {name: values for action in ACTIONS.values() for name, values in action.keeps.items()}


def answer_questions(content: Content) -> set[str]:
    """Questions whose answers are kept."""
    return {
        state.id
        for state in content.flow.states
        if isinstance(state, MultiState | ScaleState | TextState | WeightedState | SureState)
        or (isinstance(state, SingleState) and state.short is not None)
    }


def handoff_sent_states(content: Content) -> set[str]:
    """Where a hand-off consent leads once the summary is sent."""
    return {state.sent for state in content.flow.states if isinstance(state, HandoffConsentState)}


def valid_answer(content: Content, question: str, value: object) -> bool:
    if question in kept_by_actions():
        return value in kept_by_actions()[question]
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
    if isinstance(state, WeightedState):  # every item, in order, weighed with one of the levels
        items = [item.id for item in state.items]
        return isinstance(value, dict) and list(value) == items and all(v in LEVELS for v in value.values())
    if isinstance(state, SureState):  # the number of "yes" answers
        return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= len(state.items)
    return False


def valid_draft(content: Content, session: Session) -> bool:
    """Ticks of the multi-choice question, or the items of a series answered so far, in order."""
    state = content.states[session.state]
    if isinstance(state, MultiState):
        return set(session.draft) <= {option.id for option in state.options}
    series: dict[type, set[str]] = {
        WeightedState: set(LEVELS),
        KnowledgeState: {answer for answer, _ in KNOWLEDGE_ANSWERS},
        SureState: {answer for answer, _ in SURE_ANSWERS},
    }
    if type(state) in series:
        items = [item.id for item in state.items]  # type: ignore[attr-defined]
        pairs = [entry.split("=", 1) for entry in session.draft]
        return (
            len(pairs) < len(items)
            and all(len(pair) == 2 for pair in pairs)
            and [pair[0] for pair in pairs] == items[: len(pairs)]
            and all(pair[1] in series[type(state)] for pair in pairs)
        )
    return session.draft == []


def current_button_data(engine_: Engine, session: Session) -> set[str]:
    """Button data a patient can send right now (from the question as it would be shown)."""
    reply = engine_.views.current(session)
    return {button.data for row in reply.buttons for button in row}


def is_refused_tap(engine_: Engine, before: Session, event: Event) -> bool:
    """A tap on an out-of-date keyboard, or data no current button sends: it must change nothing."""
    if isinstance(event, Unreadable):
        return True
    if isinstance(event, ShowSection):
        return event.section not in engine_.content.section_by_id
    if isinstance(event, Back | Restart):
        return event.step is not None and event.step != before.step  # with the current step it is /back, /restart
    if isinstance(event, Choose | Toggle | Done):
        if event.step != before.step:
            return True
        # asked for a phone number, the contact keyboard is shown: the consent's own answers still count
        return not before.awaiting_contact and encode(event) not in current_button_data(engine_, before)
    return False


def check(engine_: Engine, before: Session, event: Event, result: Step) -> None:
    content_ = engine_.content
    after = result.session
    assert result.replies, f"no reply to {event}"
    assert after.state in content_.states
    assert all(state in content_.states for state in after.history)
    assert after.step >= before.step
    assert after.content_version == before.content_version

    # answers: only kept ones, only valid ones, only on the path taken, only with consent
    kept = kept_by_actions()
    assert set(after.answers) <= answer_questions(content_) | set(kept)
    for question, value in after.answers.items():
        assert valid_answer(content_, question, value), (question, value)
    path = {*after.history, after.state}
    if (after.history or [after.state])[0] in handoff_sent_states(content_):
        # once a hand-off is sent the path starts again there (no Back to the consent, no second hand-off): the
        # answers stay, for the summary, and nothing new is kept
        assert set(after.answers) <= set(before.answers), "nothing is kept after the hand-off is sent"
        if (before.history or [before.state])[0] in handoff_sent_states(content_):
            assert result.handoff is None, "a hand-off is sent once"
    else:
        assert set(after.answers) - set(kept) <= path, "answers belong to questions on the path taken"
    if "safety" in after.answers:
        assert "urgent_advice" in path, "the urgent advice is kept only by agreeing after it"
    if after.consent is not True:
        assert after.answers == {}, "no health answer is kept without consent"
    assert valid_draft(content_, after), (after.state, after.draft)

    # the safety questions: one way out, and no trace of them once left; without consent, no path is kept
    state = content_.states[after.state]
    if not isinstance(state, SafetyState):
        assert not any(isinstance(content_.states[s], SafetyState) for s in after.history), after.history
        if after.consent is not True:
            assert after.history == [], "without consent no path is kept"

    for reply in result.replies:
        assert reply.text.strip()
        assert html_problems(reply.text) == [], (reply.key, html_problems(reply.text))
        for row in reply.buttons:
            for button in row:
                assert button.label.strip()
                assert 0 < len(button.data.encode()) <= MAX_CALLBACK_BYTES
                assert decode(button.data) != Unreadable()
        if reply.contact_keyboard is not None:
            assert all(label.strip() for label in reply.contact_keyboard)

    # a rejected event changes nothing at all
    if result.rejected is not None:
        assert after == before, f"a rejected {event} changed the session"
        assert result.rejected.state == before.state
        assert result.replies[0].key == "notice.stale"
        assert not result.stages and not result.changed and result.handoff is None
    if is_refused_tap(engine_, before, event):
        assert result.rejected is not None, f"{event} was not rejected"
        if isinstance(event, Choose | Toggle | Done | Back | Restart) and event.step != before.step:
            assert result.rejected.reason is Reason.STALE
        if isinstance(event, Unreadable):
            assert result.rejected.reason is Reason.FORGED
        if isinstance(event, Choose | Toggle | Done) and event.step == before.step:
            # a kind of tap the state does not take, or an option it does not have
            takes = kind_of(content_.states[before.state]).takes
            expected = Reason.UNKNOWN_OPTION if isinstance(event, takes) else Reason.NOT_HERE
            assert result.rejected.reason is expected, (before.state, event, result.rejected.reason)
    typed_at_a_button = isinstance(event, Typed) and not isinstance(content_.states[before.state], TextState)
    if typed_at_a_button and not before.awaiting_contact:  # asked for a phone number, typing Cancel cancels
        assert (after.state, after.answers) == (before.state, before.answers)
    documents = [reply for reply in result.replies if reply.document is not None]
    if documents:  # only the summary's PDF buttons send a file (in large print from the second), moving nothing
        assert isinstance(content_.states[before.state], SummaryState)
        assert isinstance(event, Choose) and event.option in ("pdf", "pdf_large")
        assert after == before
        document = documents[0].document
        assert document is not None and document.blocks
        assert document.large_print is (event.option == "pdf_large")
    # pictures: figures of the content, each with its caption in the patient's language, after a message; the
    # buttons of that message are on the last picture of the run
    for index, reply in enumerate(result.replies):
        if reply.picture is None:
            continue
        figure = content_.figure_by_id[reply.picture.figure]
        assert reply.key == figure.caption and reply.picture.language == after.language
        assert reply.text == content_.texts.get(after.language, figure.caption)
        assert index > 0, "a picture follows the message it illustrates"
        following = result.replies[index + 1] if index + 1 < len(result.replies) else None
        if following is not None and following.picture is not None:
            assert not reply.buttons, "only the last picture of a run has buttons"
    if result.handoff is not None:  # only from the hand-off consent, to the clinic the patient chose
        assert isinstance(content_.states[before.state], HandoffConsentState)
        assert result.handoff.clinic == before.handoff_clinic
        assert isinstance(event, Choose | SharedContact)


def answer_buttons(shown: Sequence[Button]) -> list[Button]:
    """The shown buttons that answer or move on (not Back, Restart, the menu or the comparison)."""
    return [button for button in shown if not isinstance(decode(button.data), MOVES_ON)]


@st.composite
def next_event(draw: st.DrawFn, session: Session, shown: list[Button], old: list[Button]) -> Event:
    kind = draw(st.sampled_from(KINDS_OF_MOVE))
    if kind == "tap" and shown:
        answers = answer_buttons(shown)
        pool = answers if answers and draw(st.integers(0, 9)) else shown  # mostly answer, sometimes go back
        return decode(draw(st.sampled_from(pool)).data)
    if kind == "back":
        return Back()
    if kind == "old" and old:
        return decode(draw(st.sampled_from(old)).data)
    if kind == "forged":
        data = draw(st.one_of(st.text(max_size=70), st.from_regex(r"[ctdbrsmqo][0-9]{0,3}(:[a-z_0-9]{0,20})?")))
        return decode(data)
    if kind == "forged_step":
        step = draw(st.one_of(st.just(session.step), st.integers(min_value=0, max_value=10**6)))
        option = draw(
            st.one_of(
                st.sampled_from(["ok", "skip", "pdf", "none", "agree", "11", "a_lot", "yes", "true", "k0", "k9"]),
                st.sampled_from(["username", "phone", "cancel", "flag_yes", "sudden", "stem_cells"]),
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
    engine_ = engines()[data.draw(st.sampled_from(sorted(engines())))]
    language = data.draw(st.sampled_from(["en", None, "es-MX", "xx"]))
    session = engine_.new_session(language).model_copy(update={"has_username": data.draw(st.booleans())})
    shown: list[Button] = []
    old: list[Button] = []
    prefix = PREFIXES[data.draw(st.sampled_from(sorted(PREFIXES)))]
    events: list[Event | str] = [Start(), *prefix] if prefix else []
    for _ in range(len(events) + data.draw(st.integers(min_value=1, max_value=60))):
        planned = events.pop(0) if events else None
        if isinstance(planned, str):
            event = decode(find_button(shown, planned).data)
        else:
            event = planned or data.draw(next_event(session, shown, old))
        snapshot = session.model_copy(deep=True)
        result = engine_.step(session, event)
        assert session == snapshot, "the given session is never changed"
        check(engine_, session, event, result)
        old += shown
        shown = keyboard(result, shown)
        session = result.session


def test_the_prefixes_lead_where_they_say() -> None:
    """Each place a random walk may start from is reached by its taps (so the walks cover every state type)."""
    expected = {
        "consent": "consent",
        "urgent": "urgent_advice",
        "screened": "region",
        "at_goal": "goal",
        "at_values": "values",
        "at_knowledge": "knowledge",
        "at_leaning": "leaning",
        "at_sure": "sure",
        "at_summary": "summary",
    }
    for name, engine_ in engines().items():
        expected["after_summary"] = "handoff_choice" if name == "handoff" else "own_doctor"
        for prefix, state in expected.items():
            session = engine_.new_session("en")
            result = engine_.step(session, Start())
            for tap in PREFIXES[prefix]:
                result = engine_.step(result.session, decode(find_button(keyboard(result, []), tap).data))
                assert result.rejected is None, (name, prefix, tap)
            assert result.session.state == state, (name, prefix)


def test_random_taps_reach_every_state_type() -> None:
    """Walks like the random conversations above (from each starting place, mostly tapping a shown answer) reach
    every type of state in the content, the hand-off ones included."""
    wanted = {state.type for state in content().flow.states}  # type: ignore[attr-defined]
    assert wanted <= set(KINDS)
    reached: set[str] = set()
    rng = random.Random(20240610)
    for walk in range(200):
        engine_ = engines()["handoff" if walk % 2 else "real"]
        session = engine_.new_session("en").model_copy(update={"has_username": bool(walk % 3)})
        result = engine_.step(session, Start())
        for tap in PREFIXES[sorted(PREFIXES)[walk // 2 % len(PREFIXES)]]:
            result = engine_.step(result.session, decode(find_button(keyboard(result, []), tap).data))
        for _ in range(60):
            reached.add(engine_.content.states[result.session.state].type)  # type: ignore[attr-defined]
            shown = keyboard(result, [])
            answers = answer_buttons(shown)
            if result.session.awaiting_contact:
                event: Event = SharedContact("+1 555 0100")
            elif not answers or kind_of(engine_.content.states[result.session.state]).terminal:
                break
            elif rng.random() < 0.1 and len(answers) < len(shown):
                event = decode(rng.choice([b for b in shown if b not in answers]).data)
            else:
                event = decode(rng.choice(answers).data)
            before = result.session
            result = engine_.step(before, event)
            check(engine_, before, event, result)
    assert wanted - reached == set(), f"random walks never reached: {sorted(wanted - reached)}"


@PROPERTY
@given(st.data())
def test_a_tap_on_any_older_keyboard_changes_nothing(data: st.DataObject) -> None:
    engine_ = engines()[data.draw(st.sampled_from(sorted(engines())))]
    session = engine_.new_session("en")
    result = engine_.step(session, Start())
    keyboards: list[tuple[int, list[Button]]] = []
    for _ in range(data.draw(st.integers(min_value=1, max_value=60))):
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
    assert after.rejected is not None and after.rejected.reason is Reason.STALE
    assert not after.changed


@PROPERTY
@given(st.text(max_size=200))
def test_any_unicode_typed_anywhere_is_answered(text: str) -> None:
    engine_ = engine()
    for state in engine_.content.flow.states:
        session = Session(state=state.id, step=5, consent=True, history=["welcome"])
        result = engine_.step(session, Typed(text))
        check(engine_, session, Typed(text), result)
