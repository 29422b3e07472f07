"""Candidacy: which outcome the rules in content point to, and the answers behind each rule."""

from __future__ import annotations

from dataclasses import dataclass

from flows.conditions import Answers, evidence
from flows.model import Candidacy, Outcome, Rule


@dataclass(frozen=True)
class Finding:
    """A rule that fired, and the question ids whose answers made it fire."""

    rule: Rule
    questions: list[str]


@dataclass(frozen=True)
class CandidacyResult:
    """The outcome (the highest-priority one among the fired rules) and every rule that fired."""

    outcome: Outcome
    findings: list[Finding]


def evaluate(candidacy: Candidacy, answers: Answers) -> CandidacyResult:
    """Apply every rule to `answers`; findings for the chosen outcome come first."""
    priority = {outcome.id: rank for rank, outcome in enumerate(candidacy.outcomes)}
    findings = []
    for rule in candidacy.rules:
        questions = evidence(rule.when, answers)
        if questions is not None:
            findings.append(Finding(rule, questions))
    findings.sort(key=lambda finding: priority.get(finding.rule.outcome, len(priority)))
    outcome_id = findings[0].rule.outcome if findings else candidacy.default_outcome
    outcome = next(outcome for outcome in candidacy.outcomes if outcome.id == outcome_id)
    return CandidacyResult(outcome, findings)
