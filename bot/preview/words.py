"""Content conditions in plain words, naming the answers they test (each question by its short name in the page's
language, with its id), and conditions decided on the answers already known."""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping

from flows.actions import ACTIONS
from flows.conditions import AnswerValue, holds, referenced_questions
from flows.content import Content
from flows.model import Condition
from flows.states.weighted import WeightedState

Text = Callable[[str], str]  # a text key -> the text in the page's language (plain)


class Words:
    """Says conditions in words for one language."""

    def __init__(self, content: Content, text: Text) -> None:
        self.content = content
        self.text = text

    def condition(self, condition: Condition) -> str:
        """The condition as HTML, e.g. '“Where is it?” (region) is “Neck” (neck)'."""
        if condition.answer is not None:
            return self._test(condition)
        if condition.not_ is not None:
            return f"not ({self.condition(condition.not_)})"
        joiner = " and " if condition.all_ is not None else " or "
        parts = [self._part(child) for child in condition.children()]
        return joiner.join(parts)

    def block(self, condition: Condition) -> str:
        """The condition as HTML, with `all` and `any` as nested lists (for long rules)."""
        if condition.answer is not None:
            return self._test(condition)
        if condition.not_ is not None:
            inner = self.block(condition.not_)
            return f"not ({inner})" if condition.not_.answer is not None else f"not:{inner}"
        word = "all of" if condition.all_ is not None else "any of"
        items = "".join(f"<li>{self.block(child)}</li>" for child in condition.children())
        return f"{word}:<ul>{items}</ul>"

    def _part(self, condition: Condition) -> str:
        said = self.condition(condition)
        return said if condition.answer is not None or condition.not_ is not None else f"({said})"

    def question(self, answer_id: str) -> str:
        """A question by its short name and id, or an answer an action keeps."""
        state = self.content.states.get(answer_id)
        if state is None:
            keepers = [name for name, action in ACTIONS.items() if answer_id in action.keeps]
            by = f" (kept by the action {', '.join(keepers)})" if keepers else ""
            return f"the answer <code>{html.escape(answer_id)}</code>{by}"
        short = getattr(state, "short", None)
        name = self.text(short) if short else answer_id
        return f"“{html.escape(name)}” (<code>{html.escape(answer_id)}</code>)"

    def value(self, answer_id: str, value: str) -> str:
        """An option or item of a question by its label and id."""
        labels = self._labels(answer_id)
        label = labels.get(value)
        if not label:
            return f"<code>{html.escape(value)}</code>"
        return f"“{html.escape(label)}” (<code>{html.escape(value)}</code>)"

    def _labels(self, answer_id: str) -> dict[str, str]:
        state = self.content.states.get(answer_id)
        if state is None:
            return {}
        options = getattr(state, "options", None)
        if options is not None:
            return {o.id: self.text(o.label) for o in options}
        if isinstance(state, WeightedState):
            return {item.id: self.text(item.label) for item in state.items}
        return {}

    def _test(self, condition: Condition) -> str:
        answer = condition.answer or ""
        question = self.question(answer)
        values = [self.value(answer, v) for v in condition.option_values()]
        if condition.is_ is not None:
            return f"{question} is {values[0]}"
        if condition.in_ is not None:
            return f"{question} is one of {', '.join(values)}"
        if condition.includes is not None:
            state = self.content.states.get(answer)
            listed = values[0] if len(values) == 1 else f"any of {', '.join(values)}"
            if isinstance(state, WeightedState):
                return f"in {question}, {listed} matters a lot"
            return f"{question} has {listed} ticked"
        if condition.at_least is not None:
            return f"{question} is at least {condition.at_least}"
        return f"{question} is at most {condition.at_most}"

    def tested(self, condition: Condition) -> str:
        """The answers a condition tests, as a list of questions."""
        return ", ".join(self.question(q) for q in referenced_questions(condition))


def decided(condition: Condition, known: Mapping[str, AnswerValue]) -> bool | None:
    """True or False when every answer the condition tests is known; None when it depends on others."""
    if all(question in known for question in referenced_questions(condition)):
        return holds(condition, known)
    return None
