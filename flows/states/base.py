"""What every state type has in common: its base model, and the `Kind` that gives a type its behaviour.

A state type is one module in this package. Its module holds the pydantic model of the state (what content
may write) and a `Kind`: how the state is shown, which taps and typed text it takes, where it may lead, which
texts it uses and what the validator checks about it. The engine and the validator only talk to kinds.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, TypeVar

from pydantic import Field

from flows.conditions import AnswerValue
from flows.events import Back, Choose, Done, Toggle, encode
from flows.keys import KeyKind
from flows.model import Condition, Id, Next, Option, Strict, TextKey
from flows.replies import Button, Reply
from flows.stages import Stage

if TYPE_CHECKING:
    from flows.content import Content
    from flows.session import Session
    from flows.turn import Turn
    from flows.views import Views

Location = tuple[str | int, ...]
Rows = tuple[tuple[Button, ...], ...]
AnswerShape = Literal["choice", "ticks", "number", "text", "weights"]
Tap = Choose | Toggle | Done


class StateBase(Strict):
    """Fields every state has: its id, its text, the analytics stage reached on entering it, and an action
    run on entering it."""

    id: Id
    text: TextKey
    stage: Stage | None = None
    action: Id | None = None
    figures: list[Id] = Field(default_factory=list)  # sent as pictures on entering the state


S = TypeVar("S", bound=StateBase)


@dataclass(frozen=True)
class Exit:
    """A way out of a state: taken when `option` is tapped (None: the state's plain `next`)."""

    option: str | None
    next: Next | None
    location: Location  # where the `next` is written, below the state


@dataclass(frozen=True)
class TextUse:
    """A text key a state uses, where it is named (below the state), and what kind of text it is."""

    key: str
    location: Location
    kind: KeyKind = KeyKind.MESSAGE


@dataclass(frozen=True)
class Skip:
    """Entering the state is skipped: the flow goes on by the exit of `option` (None: the plain `next`)."""

    option: str | None = None


@dataclass(frozen=True)
class StateProblem:
    """Something wrong with one state, found by its kind: where (below the state), what, how to fix it."""

    location: Location
    message: str
    hint: str
    rule: Literal["reference", "dead_end", "shape"] = "reference"


class Kind(Generic[S]):
    """The behaviour of one state type. Kinds hold no data: one instance serves every state of its type."""

    type: ClassVar[str]
    takes: ClassVar[tuple[builtins.type, ...]] = (Choose,)  # the kinds of tap its buttons send (others are not for it)
    terminal: ClassVar[bool] = False  # an ending: needs no way forward
    screen: ClassVar[bool] = False  # a safety question: leaving the screen is one way, it keeps no answer
    back_allowed: ClassVar[bool] = True

    # --- showing --------------------------------------------------------------------------------------

    def render(self, views: Views, session: Session, state: S, edit: bool) -> Reply:
        """The state as a message with its buttons."""
        rows = self.answer_rows(views, session, state) + (back_row(views, session) if self.back_allowed else ())
        return Reply(key=state.text, text=views.text(session, state.text), buttons=rows, kind="question", edit=edit)

    def answer_rows(self, views: Views, session: Session, state: S) -> Rows:
        """The buttons that answer the state (Back is added by `render`)."""
        return ()

    def pictures(self, content: Content, session: Session, state: S) -> list[str]:
        """The figures to send on entering the state (its `figures`)."""
        return list(state.figures)

    def skip(self, content: Content, session: Session, state: S) -> Skip | None:
        """Whether entering the state is skipped for this session (e.g. nothing to offer)."""
        return None

    # --- events ---------------------------------------------------------------------------------------

    def tap(self, turn: Turn, state: S, event: Tap) -> None:
        """A tap of a kind in `takes`, at the current step (an option it does not have: reject_unknown)."""
        turn.reject_unknown()

    def typed(self, turn: Turn, state: S, text: str) -> bool:
        """Typed text; False leaves it to the engine (topic matching, or a pointer to the buttons)."""
        return False

    def contact(self, turn: Turn, state: S, phone: str) -> bool:
        """A phone number shared with Telegram's contact button; False: it was not asked for here."""
        return False

    def back(self, turn: Turn, state: S) -> bool:
        """Back within the state (e.g. to its previous item); False leaves it to the engine."""
        return False

    # --- content --------------------------------------------------------------------------------------

    def exits(self, state: S) -> list[Exit]:
        """Every way out, in the order the engine tries them."""
        next_ = getattr(state, "next", None)
        return [Exit(None, next_, ("next",))] if next_ is not None else []

    def text_uses(self, state: S) -> list[TextUse]:
        """Every text key the state shows."""
        return [TextUse(state.text, ("text",))]

    def conditions(self, state: S) -> list[tuple[Condition, Location]]:
        """Every content condition the state holds, with where it is written (its exits' `when`s)."""
        found = []
        for exit_ in self.exits(state):
            if isinstance(exit_.next, list):
                for k, branch in enumerate(exit_.next):
                    if branch.when is not None:
                        found.append((branch.when, (*exit_.location, k, "when")))
        return found

    def answer_shape(self, state: S) -> AnswerShape | None:
        """What kind of answer the state keeps, for conditions on it (None: it keeps none)."""
        return None

    def answer_ids(self, state: S) -> list[str]:
        """The ids a condition may compare this state's answer with (options, items)."""
        return []

    def describe(self, views: Views, session: Session, state: S, value: AnswerValue, clinical: bool) -> str:
        """A kept answer in words, as the patient saw it, or in clinical terms where the texts have them."""
        return views.escape(str(value))

    def restore(self, state: S, value: AnswerValue | None) -> list[str]:
        """The draft to show when Back returns to this state, from its kept answer (e.g. the ticks)."""
        return list(value) if isinstance(value, list) else []

    def check(self, state: S, content: CheckView) -> list[StateProblem]:
        """Problems particular to this state type."""
        return []


class CheckView:
    """What a kind's `check` may look at: every state by id, and the decision's options."""

    def __init__(self, states: dict[str, StateBase], kinds: dict[str, Kind[Any]], decision_options: list[str]) -> None:
        self.states = states
        self.kinds = kinds
        self.options = decision_options

    def kind_of(self, state: StateBase) -> Kind[Any]:
        """The kind of a state."""
        return self.kinds[state.type]  # type: ignore[attr-defined]

    def shape_of(self, state_id: str) -> AnswerShape | None:
        """The answer shape of a state (None when it keeps no answer or does not exist)."""
        state = self.states.get(state_id)
        return None if state is None else self.kind_of(state).answer_shape(state)

    def ids_with_shape(self, *shapes: AnswerShape) -> list[str]:
        """The states whose answers have one of `shapes` (for hints)."""
        return [state_id for state_id in self.states if self.shape_of(state_id) in shapes]

    def answer_ids(self, state_id: str) -> list[str]:
        """The option or item ids of a state's answer."""
        state = self.states.get(state_id)
        return [] if state is None else self.kind_of(state).answer_ids(state)

    def decision_option_ids(self) -> list[str]:
        """The decision's options, in their order."""
        return list(self.options)


def back_row(views: Views, session: Session) -> Rows:
    """A Back button, when there is somewhere to go back to."""
    if not session.history:
        return ()
    return ((views.button(session, "common.back", Back(session.step)),),)


def option_rows(views: Views, session: Session, options: Sequence[Option]) -> Rows:
    """One button per option, each on its own row."""
    return tuple((views.button(session, option.label, Choose(session.step, option.id)),) for option in options)


def option_exits(options: Sequence[Option], next_: Next | None) -> list[Exit]:
    """Each option's own `next`, then the state's `next`."""
    exits = [Exit(o.id, o.next, ("options", i, "next")) for i, o in enumerate(options) if o.next is not None]
    if next_ is not None:
        exits.append(Exit(None, next_, ("next",)))
    return exits


def option_uses(options: Sequence[Option]) -> list[TextUse]:
    """The labels of options, as button labels."""
    return [TextUse(o.label, ("options", i, "label"), KeyKind.LABEL) for i, o in enumerate(options)]


def choose_data(session: Session, option: str) -> str:
    """Callback data of a button that chooses `option` at the session's current step."""
    return encode(Choose(session.step, option))
