"""Rules on the flow: unique ids, known targets and actions, every state reachable, no dead ends, and each
state type's own checks."""

from __future__ import annotations

from collections import deque

from flows.actions import ACTIONS
from flows.checks.report import Report
from flows.checks.walker import Files, References
from flows.problems import DeadEnd, SchemaViolation, UnknownAction, UnknownReference, UnreachableState
from flows.states import KINDS, kind_of
from flows.states.base import CheckView

_RULES = {"reference": UnknownReference, "dead_end": DeadEnd, "shape": SchemaViolation}


def check_flow(files: Files, refs: References, report: Report) -> None:
    """Targets, actions, reachability, ways forward, and the kinds' own checks."""
    flow = files.flow
    states = {state.id: state for state in flow.states}
    hint = "known states: " + ", ".join(states)
    if flow.start not in states:
        report.add(
            UnknownReference, files.place("flow.yaml", "start"), f"start state '{flow.start}' does not exist", hint
        )
    for source, target, place in refs.states:
        if target not in states:
            report.add(UnknownReference, place, f"'{source}' leads to unknown state '{target}'", hint)
    for action, place in refs.actions:
        if action not in ACTIONS:
            report.add(UnknownAction, place, f"unknown action '{action}'", "known: " + ", ".join(ACTIONS))
    view = CheckView(dict(states), KINDS, [o.id for o in files.decision.options])
    for index, state in enumerate(flow.states):
        kind = kind_of(state)
        for problem in kind.check(state, view):
            place = files.place("flow.yaml", "states", index, *problem.location)
            report.add(_RULES[problem.rule], place, problem.message, problem.hint)
        if not kind.terminal:
            _way_forward(files, report, index)
    _reachable(files, refs, report)


def _way_forward(files: Files, report: Report, index: int) -> None:
    state = files.flow.states[index]
    exits = kind_of(state).exits(state)
    if not exits:
        report.add(
            DeadEnd, files.place("flow.yaml", "states", index, "id"), f"'{state.id}' has no way forward", "add a 'next'"
        )
    for exit_ in exits:
        if isinstance(exit_.next, list) and (not exit_.next or exit_.next[-1].when is not None):
            report.add(
                DeadEnd,
                files.place("flow.yaml", "states", index, *exit_.location),
                f"'{state.id}' has no way forward when no 'when' holds",
                "end the list with a branch that has only 'to'",
            )


def _reachable(files: Files, refs: References, report: Report) -> None:
    flow = files.flow
    ids = {state.id for state in flow.states}
    if flow.start not in ids:
        return
    targets: dict[str, list[str]] = {}
    for source, target, _ in refs.states:
        targets.setdefault(source, []).append(target)
    entries = [flow.start, *(first for first in flow.follow_ups if first in ids)]  # check-ins start on their own
    seen = set(entries)
    queue = deque(entries)
    while queue:
        for target in targets.get(queue.popleft(), []):
            if target in ids and target not in seen:
                seen.add(target)
                queue.append(target)
    for index, state in enumerate(flow.states):
        if state.id not in seen:
            report.add(
                UnreachableState,
                files.place("flow.yaml", "states", index, "id"),
                f"no path from '{flow.start}' reaches '{state.id}'",
                "point a 'next' at it, or remove it",
            )
