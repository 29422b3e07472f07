"""What a patient can do, as plain data, and the compact callback-data codec for buttons."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from flows.limits import callback_fits


@dataclass(frozen=True)
class Start:
    """/start, possibly with a deep-link payload."""

    payload: str | None = None


@dataclass(frozen=True)
class Choose:
    """A tap on an answer button: an option id, 'ok' to continue, 'skip', or a number on a scale."""

    step: int
    option: str


@dataclass(frozen=True)
class Toggle:
    """A tap that ticks or unticks an option of a multi-choice question."""

    step: int
    option: str


@dataclass(frozen=True)
class Done:
    """'Done' on a multi-choice question."""

    step: int


@dataclass(frozen=True)
class Back:
    """Go back one question (a button carries its step; /back does not)."""

    step: int | None = None


@dataclass(frozen=True)
class Restart:
    """Start again from the beginning (a button carries its step; /restart does not)."""

    step: int | None = None


@dataclass(frozen=True)
class Typed:
    """Free text the patient typed."""

    text: str


@dataclass(frozen=True)
class ShowMenu:
    """/menu or a menu button: the topics of the first group, or of `group`."""

    group: str | None = None


@dataclass(frozen=True)
class ShowComparison:
    """Every option side by side, from the menu."""


@dataclass(frozen=True)
class ShowSection:
    """Open one section from the menu."""

    section: str


@dataclass(frozen=True)
class Resume:
    """Show the current question again."""


@dataclass(frozen=True)
class ShowInfo:
    """/help or /privacy."""

    topic: Literal["help", "privacy"]


@dataclass(frozen=True)
class SharedContact:
    """The patient shared their own phone number with Telegram's contact button."""

    phone: str


@dataclass(frozen=True)
class CheckIn:
    """A follow-up check-in falls due (the `number`th, from 0): it becomes the chat's current step."""

    number: int


@dataclass(frozen=True)
class Unreadable:
    """Button data that this bot never made (forged, or from another bot version)."""


Event = (
    Start
    | Choose
    | Toggle
    | Done
    | Back
    | Restart
    | Typed
    | ShowMenu
    | ShowComparison
    | ShowSection
    | Resume
    | ShowInfo
    | SharedContact
    | CheckIn
    | Unreadable
)

_STEPPED = re.compile(r"^([ctdbr])(\d{1,9})(?::([a-z0-9_]{1,62}))?$")
_SECTION = re.compile(r"^s:([a-z][a-z0-9_]{0,61})$")
_GROUP = re.compile(r"^m:([a-z][a-z0-9_]{0,61})$")


def encode(event: Event) -> str:
    """The callback data for a button that sends `event` (at most 64 bytes)."""
    match event:
        case Choose(step, option):
            data = f"c{step}:{option}"
        case Toggle(step, option):
            data = f"t{step}:{option}"
        case Done(step):
            data = f"d{step}"
        case Back(step) if step is not None:
            data = f"b{step}"
        case Restart(step) if step is not None:
            data = f"r{step}"
        case ShowSection(section):
            data = f"s:{section}"
        case ShowMenu(group) if group is not None:
            data = f"m:{group}"
        case ShowMenu():
            data = "m"
        case ShowComparison():
            data = "o"
        case Resume():
            data = "q"
        case _:
            raise ValueError(f"{type(event).__name__} is not sent by a button")
    if not callback_fits(data):
        raise ValueError("callback data over 64 bytes")
    return data


def decode(data: str | None) -> Event:
    """The event a button's callback data stands for; Unreadable for anything this bot did not make."""
    if not data or not callback_fits(data):
        return Unreadable()
    if data == "m":
        return ShowMenu()
    if data == "q":
        return Resume()
    if data == "o":
        return ShowComparison()
    group = _GROUP.fullmatch(data)
    if group:
        return ShowMenu(group.group(1))
    section = _SECTION.fullmatch(data)
    if section:
        return ShowSection(section.group(1))
    stepped = _STEPPED.fullmatch(data)
    if not stepped:
        return Unreadable()
    kind, step_text, option = stepped.groups()
    step = int(step_text)
    if (kind in "ct" and option is None) or (kind in "dbr" and option is not None):
        return Unreadable()
    if kind == "c":
        return Choose(step, option)
    if kind == "t":
        return Toggle(step, option)
    if kind == "d":
        return Done(step)
    return Back(step) if kind == "b" else Restart(step)


def worst_case_callback(option_id: str) -> str:
    """The longest callback data an option id can produce (used by the validator)."""
    return f"t999999999:{option_id}"
