"""Scripted conversations (`tests/conversations/*.yaml`): parse them and find the button a step taps.

Plain data and functions, with no engine in them: the same scripts drive `flows.engine.Engine` directly
(tests/test_conversations.py) or a real Telegram Application. Scripts assert on text keys, never on wording.

A script::

    name: what it shows
    language: en                      # optional, default en
    steps:
      - command: start                # start | back | restart | menu | help | privacy
        expect: [welcome]             # Reply.key of every reply, in order
      - tap: ok                       # a button: an option id, ok, skip, a scale number, done, back,
        expect: [safety.cauda]        #   restart, resume, menu, menu:<group> or comparison
        buttons: [flag_yes, flag_unsure, flag_no, back]   # the buttons now shown (see `button_name`)
      - toggle: walking_pain          # tick an option of a multi-choice question
      - open: costs                   # a topic button (from the menu or a topics reply)
      - type: "walk to the shops"     # text the patient types
        includes: [result.intro]      # keys found anywhere in the replies (Reply.keys())
        excludes: [leg_symptoms.ask]  # keys found nowhere in the replies
        state: result                 # where the session is now (runners that can see it)
        stages: [completed]           # stages reached by this step (runners that can see them)
      - tap: agree
        keyboard: 3                   # tap a keyboard shown after step 3 instead of the latest one
    final: {state: menu, consent: true, answers: {region: low_back}}

A tap fails loudly (ScriptError) when the button is not shown.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

import yaml

from flows.events import Back, Choose, Done, Restart, Resume, ShowComparison, ShowMenu, ShowSection, Toggle, decode

FOLDER = Path(__file__).resolve().parent / "conversations"
ACTIONS = ("command", "tap", "toggle", "open", "type")
COMMANDS = ("start", "back", "restart", "menu", "help", "privacy")
CHECKS = ("expect", "includes", "excludes", "buttons", "state", "stages", "keyboard")
FINAL_FIELDS = ("state", "consent", "answers")


class ScriptError(Exception):
    """A script is malformed, or a step cannot be played (e.g. the button to tap is not shown)."""


@dataclass(frozen=True)
class ScriptStep:
    """One thing the patient does, and what the bot should answer."""

    number: int
    action: str
    value: str
    expect: tuple[str, ...] | None = None
    includes: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()
    buttons: tuple[str, ...] | None = None
    state: str | None = None
    stages: tuple[str, ...] | None = None
    keyboard: int | None = None

    def describe(self) -> str:
        """e.g. 'step 4 (tap: agree)'."""
        return f"step {self.number} ({self.action}: {self.value})"

    @property
    def target(self) -> str | None:
        """The name of the button this step taps (None for commands and typing)."""
        if self.action == "tap":
            return self.value
        if self.action == "toggle":
            return f"toggle:{self.value}"
        if self.action == "open":
            return f"section:{self.value}"
        return None


@dataclass(frozen=True)
class Final:
    """Checks on the session at the end (None: not checked)."""

    state: str | None = None
    consent: bool | None = None
    answers: dict[str, Any] | None = None


@dataclass(frozen=True)
class Script:
    """A whole conversation."""

    name: str
    path: Path
    steps: tuple[ScriptStep, ...]
    language: str = "en"
    final: Final = field(default_factory=Final)


class HasData(Protocol):
    """flows.replies.Button"""

    data: str


class HasCallbackData(Protocol):
    """telegram.InlineKeyboardButton"""

    callback_data: Any


ButtonT = TypeVar("ButtonT")


# --- parsing ----------------------------------------------------------------------------------------


def load_scripts(folder: Path = FOLDER) -> list[Script]:
    """Every script in `folder`, by file name."""
    return [load_script(path) for path in sorted(folder.glob("*.yaml"))]


def load_script(path: Path) -> Script:
    """Parse one script file; ScriptError names the file and step of any mistake."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ScriptError(f"{path}: a script is a mapping with 'name' and 'steps'")
    _only(data, ("name", "language", "steps", "final"), f"{path}")
    if not isinstance(data.get("name"), str) or not data["name"].strip():
        raise ScriptError(f"{path}: 'name' is required")
    raw_steps = data.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise ScriptError(f"{path}: 'steps' must be a non-empty list")
    steps = tuple(_step(path, number, raw) for number, raw in enumerate(raw_steps, start=1))
    for step in steps:
        if step.keyboard is not None and not 1 <= step.keyboard < step.number:
            raise ScriptError(f"{path}: {step.describe()}: 'keyboard' must name an earlier step")
    return Script(
        name=data["name"],
        path=path,
        steps=steps,
        language=str(data.get("language", "en")),
        final=_final(path, data.get("final") or {}),
    )


def _only(data: dict[str, Any], allowed: Sequence[str], where: str) -> None:
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise ScriptError(f"{where}: unknown field(s) {unknown}; allowed: {', '.join(allowed)}")


def _step(path: Path, number: int, raw: Any) -> ScriptStep:
    where = f"{path}: step {number}"
    if not isinstance(raw, dict):
        raise ScriptError(f"{where}: a step is a mapping such as {{tap: ok}}")
    _only(raw, (*ACTIONS, *CHECKS), where)
    actions = [name for name in ACTIONS if name in raw]
    if len(actions) != 1:
        raise ScriptError(f"{where}: write exactly one of {', '.join(ACTIONS)} (found {actions or 'none'})")
    action = actions[0]
    value = raw[action]
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ScriptError(f"{where}: {action} needs a word or a number (quote yes/no/on/off)")
    value = str(value)
    if action == "command" and value not in COMMANDS:
        raise ScriptError(f"{where}: unknown command {value!r}; commands: {', '.join(COMMANDS)}")
    keyboard = raw.get("keyboard")
    if keyboard is not None and (action not in ("tap", "toggle", "open") or not isinstance(keyboard, int)):
        raise ScriptError(f"{where}: 'keyboard' (a step number) only goes with tap, toggle or open")
    state = raw.get("state")
    if state is not None and not isinstance(state, str):
        raise ScriptError(f"{where}: 'state' is a state id")
    return ScriptStep(
        number=number,
        action=action,
        value=value,
        expect=_keys(raw, "expect", where),
        includes=_keys(raw, "includes", where) or (),
        excludes=_keys(raw, "excludes", where) or (),
        buttons=_keys(raw, "buttons", where),
        state=state,
        stages=_keys(raw, "stages", where),
        keyboard=keyboard,
    )


def _keys(raw: dict[str, Any], name: str, where: str) -> tuple[str, ...] | None:
    if name not in raw:
        return None
    value = raw[name]
    if not isinstance(value, list) or not all(
        isinstance(item, str | int) and not isinstance(item, bool) for item in value
    ):
        raise ScriptError(f"{where}: '{name}' is a list of words, e.g. [welcome]")
    return tuple(str(item) for item in value)


def _final(path: Path, raw: Any) -> Final:
    if not isinstance(raw, dict):
        raise ScriptError(f"{path}: 'final' is a mapping")
    _only(raw, FINAL_FIELDS, f"{path}: final")
    consent = raw.get("consent")
    if consent is not None and not isinstance(consent, bool):
        raise ScriptError(f"{path}: final.consent is true or false")
    answers = raw.get("answers")
    if answers is not None and not isinstance(answers, dict):
        raise ScriptError(f"{path}: final.answers is a mapping of question id to answer")
    return Final(state=raw.get("state"), consent=consent, answers=answers)


# --- buttons ----------------------------------------------------------------------------------------


def button_data(button: object) -> str:
    """The callback data of a flows Button (`data`) or a Telegram InlineKeyboardButton (`callback_data`)."""
    data = getattr(button, "data", None)
    if data is None:
        data = getattr(button, "callback_data", None)
    if not isinstance(data, str):
        raise ScriptError(f"{button!r} has no callback data")
    return data


def button_name(data: str) -> str:
    """How scripts name a button: its option id, 'toggle:<id>', 'section:<id>', done, back, restart, resume, menu,
    'menu:<group>' (a group of topics) or comparison (all options side by side)."""
    event = decode(data)
    match event:
        case Choose(_, option):
            return option
        case Toggle(_, option):
            return f"toggle:{option}"
        case Done():
            return "done"
        case Back():
            return "back"
        case Restart():
            return "restart"
        case Resume():
            return "resume"
        case ShowMenu(None):
            return "menu"
        case ShowMenu(group):
            return f"menu:{group}"
        case ShowComparison():
            return "comparison"
        case ShowSection(section):
            return f"section:{section}"
    return f"?{data}"


def flatten(rows: Iterable[Iterable[ButtonT]]) -> list[ButtonT]:
    """The buttons of a keyboard, row by row."""
    return [button for row in rows for button in row]


def find_button(buttons: Iterable[ButtonT], step: ScriptStep | str) -> ButtonT:
    """The one shown button that `step` taps (or that has the given name); ScriptError if none or several."""
    shown = list(buttons)
    target = step if isinstance(step, str) else step.target
    where = step if isinstance(step, str) else step.describe()
    if target is None:
        raise ScriptError(f"{where}: this step taps no button")
    found = [button for button in shown if button_name(button_data(button)) == target]
    names = [button_name(button_data(button)) for button in shown]
    if not found:
        raise ScriptError(f"{where}: no button {target!r} is shown; shown: {names}")
    if len(found) > 1:
        raise ScriptError(f"{where}: {len(found)} buttons are named {target!r}; shown: {names}")
    return found[0]


# --- checks -----------------------------------------------------------------------------------------


def check_replies(step: ScriptStep, replies: Sequence[Sequence[str]], buttons: Iterable[object]) -> None:
    """Check a step's `expect`, `includes`, `excludes` and `buttons`.

    `replies` holds the text keys of each reply (Reply.keys(): the main key first); `buttons` are the buttons
    now shown (the keyboard of the last reply that has one).
    """
    main = [keys[0] for keys in replies]
    every = {key for keys in replies for key in keys}
    where = step.describe()
    if step.expect is not None and tuple(main) != step.expect:
        raise AssertionError(f"{where}: expected replies {list(step.expect)}, got {main}")
    missing = [key for key in step.includes if key not in every]
    if missing:
        raise AssertionError(f"{where}: no reply was built from {missing}; keys: {sorted(every)}")
    present = [key for key in step.excludes if key in every]
    if present:
        raise AssertionError(f"{where}: replies should not use {present}; replies: {main}")
    if step.buttons is not None:
        names = tuple(button_name(button_data(button)) for button in buttons)
        if names != step.buttons:
            raise AssertionError(f"{where}: expected buttons {list(step.buttons)}, shown {list(names)}")
