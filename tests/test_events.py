"""flows.events: the callback-data codec of buttons (compact, at most 64 bytes, forgeries unreadable)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
    worst_case_callback,
)
from flows.limits import MAX_CALLBACK_BYTES

MAX_STEP = 999_999_999
option_ids = st.from_regex(r"[a-z][a-z0-9_]{0,52}", fullmatch=True)  # ids the validator accepts for options
section_ids = st.from_regex(r"[a-z][a-z0-9_]{0,61}", fullmatch=True)
steps = st.integers(min_value=0, max_value=MAX_STEP)
answers = st.one_of(option_ids, st.sampled_from(["ok", "skip", *map(str, range(11))]))

button_events = st.one_of(
    st.builds(Choose, steps, answers),
    st.builds(Toggle, steps, option_ids),
    st.builds(Done, steps),
    st.builds(Back, steps),
    st.builds(Restart, steps),
    st.builds(ShowSection, section_ids),
    st.just(ShowMenu()),
    st.just(Resume()),
)


@pytest.mark.parametrize(
    "event",
    [
        Choose(0, "ok"),
        Choose(7, "agree"),
        Choose(12, "10"),
        Choose(3, "skip"),
        Toggle(4, "walking_pain"),
        Done(5),
        Back(6),
        Restart(8),
        ShowSection("what_is_stenosis"),
        ShowMenu(),
        Resume(),
    ],
)
def test_every_button_event_round_trips(event: Event) -> None:
    data = encode(event)
    assert decode(data) == event
    assert len(data.encode("utf-8")) <= MAX_CALLBACK_BYTES


def test_button_data_of_different_events_differs() -> None:
    events: list[Event] = [Choose(1, "a"), Toggle(1, "a"), Done(1), Back(1), Restart(1), ShowSection("a")]
    assert len({encode(event) for event in events}) == len(events)


@settings(max_examples=200, deadline=None)
@given(button_events)
def test_round_trip_for_any_valid_button(event: Event) -> None:
    data = encode(event)
    assert len(data.encode("utf-8")) <= MAX_CALLBACK_BYTES
    assert decode(data) == event


@settings(max_examples=200, deadline=None)
@given(option_ids)
def test_worst_case_callback_bounds_every_button_of_an_option(option: str) -> None:
    worst = len(worst_case_callback(option))
    for event in (Choose(MAX_STEP, option), Toggle(MAX_STEP, option)):
        assert len(encode(event)) <= worst <= MAX_CALLBACK_BYTES


@pytest.mark.parametrize(
    "event", [Start(), Start("clinic_42"), Typed("hello"), ShowInfo("help"), Back(), Restart(), Unreadable()]
)
def test_events_no_button_sends_cannot_be_encoded(event: Event) -> None:
    with pytest.raises(ValueError, match="not sent by a button"):
        encode(event)


def test_encoding_over_64_bytes_is_refused() -> None:
    with pytest.raises(ValueError, match="64 bytes"):
        encode(Toggle(MAX_STEP, "x" * 60))


@pytest.mark.parametrize(
    "data",
    [
        None,
        "",
        " ",
        "x",
        "c",
        "c1",  # a choice without an option
        "t1",
        "c1:",
        "d1:x",  # Done, Back and Restart carry no option
        "b1:x",
        "r1:x",
        "d",
        "b",
        "r",
        "c-1:agree",
        "cA:agree",
        "c1:Agree",
        "c1:a b",
        "c1:agree;drop table",
        "c1234567890:agree",  # a step of ten digits
        "s:",
        "s:Costs",
        "s:1costs",
        "mm",
        "m ",
        "qq",
        "d5\n",
        "s:costs\n",
        "\x00",
        "c1:🚨",
        "c1:" + "a" * 62,  # the right shape, but 65 bytes
        "t123456789:" + "a" * 60,
        "s:" + "a" * 63,
        "c1:" + "a" * 500,
    ],
)
def test_junk_overlong_and_wrong_shapes_are_unreadable(data: str | None) -> None:
    assert decode(data) == Unreadable()


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(max_size=80), st.from_regex(r"[ctdbrsmq][0-9:]{0,3}[a-z_0-9]{0,70}", fullmatch=True)))
def test_anything_decoded_is_a_button_this_bot_could_have_made(data: str) -> None:
    event = decode(data)
    if event == Unreadable():
        return
    assert len(data.encode("utf-8")) <= MAX_CALLBACK_BYTES
    assert decode(encode(event)) == event
