"""The state types, one module each, and their registry. A maintainer adding a type writes one module here
and lists it below."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from flows.states import (
    clinic_choice,
    comparison,
    handoff_consent,
    knowledge,
    menu,
    message,
    multi,
    nudge,
    result,
    safety,
    scale,
    single,
    stop,
    summary,
    sure,
    text,
    weighted,
)
from flows.states.base import Kind, StateBase

State = Annotated[
    message.MessageState
    | safety.SafetyState
    | single.SingleState
    | multi.MultiState
    | scale.ScaleState
    | text.TextState
    | result.ResultState
    | comparison.ComparisonState
    | weighted.WeightedState
    | knowledge.KnowledgeState
    | nudge.NudgeState
    | sure.SureState
    | summary.SummaryState
    | clinic_choice.ClinicChoiceState
    | handoff_consent.HandoffConsentState
    | menu.MenuState
    | stop.StopState,
    Field(discriminator="type"),
]

KINDS: dict[str, Kind[Any]] = {
    module.KIND.type: module.KIND
    for module in (
        message,
        safety,
        single,
        multi,
        scale,
        text,
        result,
        comparison,
        weighted,
        knowledge,
        nudge,
        sure,
        summary,
        clinic_choice,
        handoff_consent,
        menu,
        stop,
    )
}


def kind_of(state: StateBase) -> Kind[Any]:
    """The behaviour of a state's type."""
    return KINDS[state.type]  # type: ignore[attr-defined]


__all__ = ["KINDS", "Kind", "State", "StateBase", "kind_of"]
