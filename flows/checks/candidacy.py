"""Rule: every candidacy rule is shown working on the example patient it names, and every example patient
gets the outcome written beside them."""

from __future__ import annotations

from flows.candidacy import evaluate
from flows.checks.conditions import answerable
from flows.checks.report import Report
from flows.checks.walker import Files
from flows.conditions import holds
from flows.problems import ExampleMismatch, UnknownReference


def check_examples(files: Files, report: Report) -> None:
    """Each rule fires for its example; each example gets its outcome."""
    candidacy = files.candidacy
    examples = {example.id: example for example in candidacy.examples}
    outcomes = {outcome.id for outcome in candidacy.outcomes}
    if any(rule.outcome not in outcomes for rule in candidacy.rules) or candidacy.default_outcome not in outcomes:
        return  # reported as unknown outcomes; the examples cannot be evaluated until they are fixed
    for index, rule in enumerate(candidacy.rules):
        example = examples.get(rule.example)
        if example is not None and not holds(rule.when, example.answers):
            report.add(
                ExampleMismatch,
                files.place("candidacy.yaml", "rules", index, "example"),
                f"rule '{rule.id}' does not fire for its example patient '{example.id}'",
                "fix the rule's 'when' or the example's answers",
            )
    questions = answerable(files)
    for index, example in enumerate(candidacy.examples):
        for question, value in example.answers.items():
            place = files.place("candidacy.yaml", "examples", index, "answers", question)
            if question not in questions:
                report.add(UnknownReference, place, f"'{question}' is not a question whose answer is kept")
                continue
            _, ids = questions[question]
            given = value if isinstance(value, list) else list(value) if isinstance(value, dict) else [value]
            unknown = [str(v) for v in given if isinstance(v, str) and ids and v not in ids]
            if unknown:
                report.add(
                    UnknownReference,
                    place,
                    f"'{question}' has no option {', '.join(unknown)}",
                    "options: " + ", ".join(ids),
                )
        if example.outcome not in outcomes:
            continue  # reported as an unknown outcome
        got = evaluate(candidacy, example.answers).outcome.id
        if got != example.outcome:
            report.add(
                ExampleMismatch,
                files.place("candidacy.yaml", "examples", index, "outcome"),
                f"example patient '{example.id}' gets '{got}', not '{example.outcome}'",
                "a rule with a higher-priority outcome fires for them, or none fires",
            )
