"""The flow's state machine, built once with `transitions` and shared by every session."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from transitions import Machine
from transitions.extensions import GraphMachine

from flows.conditions import Answers, holds
from flows.flow import Flow
from flows.model import Branch, Condition, Next
from flows.states import kind_of

ADVANCE = "advance"


@dataclass(frozen=True)
class Move:
    """What the machine's conditions read: the answers so far and the option just chosen."""

    answers: Answers
    option: str | None


class _OptionIs:
    """Condition: the chosen option is `option_id`."""

    def __init__(self, option_id: str) -> None:
        self.option_id = option_id
        self.__name__ = f"chose {option_id}"

    def __call__(self, move: Move) -> bool:
        return move.option == self.option_id


class _When:
    """Condition: a content condition holds on the answers."""

    def __init__(self, condition: Condition) -> None:
        self.condition = condition
        self.__name__ = describe(condition)

    def __call__(self, move: Move) -> bool:
        return holds(self.condition, move.answers)


class _Cursor:
    """The minimal model `transitions` moves: only a `state` attribute."""

    def __init__(self, state: str) -> None:
        self.state = state


def branches(next_: Next | None) -> list[Branch]:
    """A `next` value as a list of branches (a plain state id is one unconditional branch)."""
    if next_ is None:
        return []
    if isinstance(next_, str):
        return [Branch(to=next_)]
    return list(next_)


def describe(condition: Condition) -> str:
    """A short human-readable form of a condition, for diagrams."""
    if condition.answer is not None:
        for word, value in (
            ("is", condition.is_),
            ("in", condition.in_),
            ("includes", condition.includes),
            (">=", condition.at_least),
            ("<=", condition.at_most),
        ):
            if value is not None:
                shown = ",".join(value) if isinstance(value, list) else value
                return f"{condition.answer} {word} {shown}"
    if condition.not_ is not None:
        return f"not ({describe(condition.not_)})"
    joiner = " and " if condition.all_ is not None else " or "
    return joiner.join(f"({describe(part)})" for part in condition.children())


class FlowMachine:
    """One `transitions.Machine` for the whole flow; `advance` moves a state id, never a stored object."""

    def __init__(self, flow: Flow) -> None:
        self.states = [state.id for state in flow.states]
        self.initial = flow.start
        self.transitions: list[dict[str, Any]] = []
        for state in flow.states:
            for exit_ in kind_of(state).exits(state):  # option exits first, then the plain `next`
                base = [_OptionIs(exit_.option)] if exit_.option is not None else []
                for branch in branches(exit_.next):
                    conditions = [*base, _When(branch.when)] if branch.when is not None else list(base)
                    self.transitions.append(
                        {"trigger": ADVANCE, "source": state.id, "dest": branch.to, "conditions": conditions}
                    )
        self._machine = Machine(
            model=None,
            states=self.states,
            transitions=self.transitions,
            initial=self.initial,
            auto_transitions=False,
        )
        self._advance = self._machine.events[ADVANCE]

    def advance(self, state: str, answers: Answers, option: str | None = None) -> str | None:
        """The state after `state` for these answers and chosen option; None when no way out matches."""
        cursor = _Cursor(state)
        moved = self._advance.trigger(cursor, Move(answers, option))
        return cursor.state if moved else None

    def mermaid(self) -> str:
        """The flow as a Mermaid state diagram, drawn from the same states and transitions."""
        cursor = _Cursor(self.initial)
        GraphMachine(
            model=cursor,
            states=self.states,
            transitions=self.transitions,
            initial=self.initial,
            auto_transitions=False,
            graph_engine="mermaid",
            show_conditions=True,
            title="Decision-aid flow",
        )
        return str(cursor.get_graph().draw(None))  # type: ignore[attr-defined]
