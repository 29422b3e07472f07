"""Rule: ids are unique where they are looked up by id."""

from __future__ import annotations

from collections.abc import Sequence

from flows.checks.report import Report
from flows.checks.walker import Files
from flows.problems import DuplicateId


def check_ids(files: Files, report: Report) -> None:
    """States, each state's options and items, topics, groups, outcomes, rules, examples, the decision's
    options and figures, sources and clinic codes."""
    lists: list[tuple[str, str, tuple[str | int, ...], Sequence[str]]] = [
        ("flow.yaml", "state", ("states",), [s.id for s in files.flow.states]),
        ("sections.yaml", "section", ("sections",), [s.id for s in files.sections.sections]),
        ("sections.yaml", "group", ("groups",), [g.id for g in files.sections.groups]),
        ("candidacy.yaml", "outcome", ("outcomes",), [o.id for o in files.candidacy.outcomes]),
        ("candidacy.yaml", "rule", ("rules",), [r.id for r in files.candidacy.rules]),
        ("candidacy.yaml", "example", ("examples",), [e.id for e in files.candidacy.examples]),
        ("decision.yaml", "option", ("options",), [o.id for o in files.decision.options]),
        ("decision.yaml", "figure", ("figures",), [f.id for f in files.decision.figures]),
        ("sources.yaml", "source", ("sources",), [s.id for s in files.sources.sources]),
    ]
    for index, state in enumerate(files.flow.states):
        for field in ("options", "items"):
            children = getattr(state, field, None) or []
            lists.append(("flow.yaml", field[:-1], ("states", index, field), [c.id for c in children]))
    for name, what, location, ids in lists:
        seen: set[str] = set()
        for index, item in enumerate(ids):
            if item in seen:
                place = files.place(name, *location, index, "id")
                report.add(DuplicateId, place, f"{what} id '{item}' is used twice", "rename one")
            seen.add(item)
    seen_codes: set[str] = set()
    for index, clinic in enumerate(files.clinics.clinics):
        if clinic.code in seen_codes:
            place = files.place("clinics.yaml", "clinics", index, "code")
            report.add(DuplicateId, place, f"clinic code '{clinic.code}' is used twice", "rename one")
        seen_codes.add(clinic.code)
