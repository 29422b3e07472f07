"""Rule: everything named by id exists (sources, figures, topics, groups, decision options, outcomes, example
patients), and clinics speak languages the texts have."""

from __future__ import annotations

from flows.checks.report import Report
from flows.checks.walker import Files, Place, References
from flows.problems import UnknownReference


def check_registry(files: Files, refs: References, languages: set[str], report: Report) -> None:
    """Each reference against the list it names."""
    known: list[tuple[str, list[tuple[str, Place]], set[str], str]] = [
        ("source", refs.sources, {s.id for s in files.sources.sources}, "add it to sources.yaml"),
        ("figure", refs.figures, {f.id for f in files.decision.figures}, "add it to decision.yaml's figures"),
        ("topic", refs.sections, {s.id for s in files.sections.sections}, "topics are in sections.yaml"),
        ("group", refs.groups, {g.id for g in files.sections.groups}, "groups are listed in sections.yaml"),
        ("option", refs.options, {o.id for o in files.decision.options}, "options are in decision.yaml"),
        ("outcome", refs.outcomes, {o.id for o in files.candidacy.outcomes}, "outcomes are in candidacy.yaml"),
        ("example patient", refs.examples, {e.id for e in files.candidacy.examples}, "examples are in candidacy.yaml"),
    ]
    for what, found, ids, where in known:
        for name, place in found:
            if name not in ids:
                report.add(
                    UnknownReference, place, f"unknown {what} '{name}'", f"{where}; known: {', '.join(sorted(ids))}"
                )
    for index, clinic in enumerate(files.clinics.clinics):
        for j, language in enumerate(clinic.languages):
            if language not in languages:
                report.add(
                    UnknownReference,
                    files.place("clinics.yaml", "clinics", index, "languages", j),
                    f"clinic '{clinic.code}' speaks '{language}', which has no texts",
                    "languages with texts: " + ", ".join(sorted(languages)),
                )
