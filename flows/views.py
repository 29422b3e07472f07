"""Build the replies that show a state, the menu, a section or a result, in the session's language."""

from __future__ import annotations

import html

from flows.candidacy import CandidacyResult, Finding, evaluate
from flows.conditions import AnswerValue, holds
from flows.content import Content
from flows.events import Back, Choose, Done, Restart, Resume, ShowMenu, ShowSection, Toggle, encode
from flows.handoff import eligible_clinics
from flows.limits import plain_text
from flows.model import (
    QUESTION_TYPES,
    ClinicChoiceState,
    HandoffConsentState,
    MenuState,
    MessageState,
    MultiState,
    ResultState,
    ScaleState,
    Section,
    SingleState,
    State,
    StopState,
    SummaryState,
    TextState,
)
from flows.replies import Button, Document, Reply
from flows.session import Session

Rows = tuple[tuple[Button, ...], ...]

SYSTEM_KEYS = (
    "common.back",
    "common.continue",
    "common.done",
    "common.skip",
    "common.restart",
    "common.menu",
    "common.resume",
    "common.tick_on",
    "common.tick_off",
    "notice.stale",
    "notice.use_buttons",
    "notice.pick_one",
    "notice.first_question",
    "notice.text_too_long",
    "notice.welcome_back",
    "notice.content_changed",
    "result.why",
    "result.based_on",
    "result.no_rules",
    "result.disclaimer",
    "result.values_heading",
    "menu.intro",
    "menu.for_you",
    "typed.matches",
    "summary.answers",
    "summary.result",
    "summary.topics",
    "summary.questions_heading",
    "summary.questions",
    "summary.sources",
    "summary.pdf_button",
    "summary.pdf_caption",
    "summary.pdf_title",
    "clinic.disclosure",
    "handoff.send_username",
    "handoff.send_phone",
    "handoff.cancel",
    "handoff.share_phone_button",
    "handoff.phone_ask",
    "section.sources",
    "info.help",
    "info.privacy",
    # used by the Telegram adapter (bot/)
    "bot.private_only",
    "bot.unsupported",
    "bot.edited",
    "bot.delete_confirm",
    "bot.delete_yes",
    "bot.delete_no",
    "bot.deleted",
    "bot.delete_cancelled",
    "bot.error",
    "bot.language_choose",
    "bot.busy",
    "bot.handoff_delivered",
    "bot.handoff_delayed",
    "bot.handoff_failed",
    "bot.stats_denied",
    "bot.stats_heading",
    "clinic_message.new",
    "clinic_message.withdrawn",
    *(f"command.{name}" for name in ("start", "menu", "back", "restart", "language", "privacy", "delete", "help")),
)
NOTICE_KEYS = tuple(key for key in SYSTEM_KEYS if key.startswith("notice."))


def reflect_key(question: str, option: str) -> str:
    """The text that reflects a ticked value back in the result, e.g. `values.reflect.low_cost`."""
    return f"{question}.reflect.{option}"


def fill(template: str, values: dict[str, str]) -> str:
    """Put values (already safe HTML) in the `{name}` places of a text."""
    for name, value in values.items():
        template = template.replace("{" + name + "}", value)
    return template


class Views:
    """Turns content and a session into Replies; holds no state of its own."""

    def __init__(self, content: Content) -> None:
        self.content = content

    def text(self, session: Session, key: str) -> str:
        """The text for `key` in the session's language."""
        return self.content.texts.get(session.language, key)

    def notice(self, session: Session, key: str) -> Reply:
        """A short notice (shown as a pop-up when it answers a tapped button)."""
        return Reply(key=key, text=self.text(session, key), kind="notice")

    def info(self, session: Session, key: str) -> Reply:
        """A plain message from a text key."""
        return Reply(key=key, text=self.text(session, key))

    def current(self, session: Session, edit: bool = False) -> Reply:
        """The current state as a message with its buttons."""
        state = self.content.states[session.state]
        if isinstance(state, MenuState):
            return self.menu(session)
        if isinstance(state, ResultState):
            return self._result(session, state)
        if isinstance(state, SummaryState):
            return self._summary(session, state)
        if isinstance(state, ClinicChoiceState):
            return self._clinic_choice(session, state)
        if isinstance(state, HandoffConsentState):
            return self._handoff_consent(session, state)
        rows = self._answer_rows(session, state)
        if isinstance(state, StopState):
            rows += ((self._button(session, "common.restart", Restart(session.step)),),)
        elif session.history:
            rows += ((self._button(session, "common.back", Back(session.step)),),)
        return Reply(key=state.text, text=self.text(session, state.text), buttons=rows, kind="question", edit=edit)

    def disclosure(self, session: Session) -> Reply | None:
        """Which clinic's link brought the patient here and its relationship with this guide (or None)."""
        clinic = self.content.clinic_by_code.get(session.clinic or "")
        if clinic is None:
            return None
        values = {"clinic": html.escape(clinic.name), "relationship": self.text(session, clinic.relationship)}
        return Reply(key="clinic.disclosure", text=fill(self.text(session, "clinic.disclosure"), values))

    def _clinic_choice(self, session: Session, state: ClinicChoiceState) -> Reply:
        step = session.step
        clinics = eligible_clinics(self.content, session)
        rows: list[tuple[Button, ...]] = [
            (Button(clinic.name, encode(Choose(step, f"k{index}"))),) for index, clinic in enumerate(clinics)
        ]
        rows.append((self._button(session, state.decline, Choose(step, "none")),))
        if session.history:
            rows.append((self._button(session, "common.back", Back(step)),))
        names = ", ".join(html.escape(clinic.name) for clinic in clinics)
        text = fill(self.text(session, state.text), {"clinic": names})
        return Reply(key=state.text, text=text, buttons=tuple(rows), kind="question")

    def _handoff_consent(self, session: Session, state: HandoffConsentState) -> Reply:
        step = session.step
        clinic = self.content.clinic_by_code.get(session.handoff_clinic or "")
        name = html.escape(clinic.name if clinic else "")
        if session.awaiting_contact:
            return Reply(
                key="handoff.phone_ask",
                text=fill(self.text(session, "handoff.phone_ask"), {"clinic": name}),
                kind="question",
                contact_keyboard=(
                    self.text(session, "handoff.share_phone_button"),
                    self.text(session, "handoff.cancel"),
                ),
            )
        rows: list[tuple[Button, ...]] = []
        if session.has_username:
            rows.append((self._button(session, "handoff.send_username", Choose(step, "username")),))
        rows.append((self._button(session, "handoff.send_phone", Choose(step, "phone")),))
        rows.append((self._button(session, "handoff.cancel", Choose(step, "cancel")),))
        text = fill(self.text(session, state.text), {"clinic": name})
        return Reply(key=state.text, text=text, buttons=tuple(rows), kind="question")

    def _answer_rows(self, session: Session, state: State) -> Rows:
        step = session.step
        if isinstance(state, MessageState):
            return ((self._button(session, state.button, Choose(step, "ok")),),)
        if isinstance(state, SingleState):
            return tuple((self._button(session, o.label, Choose(step, o.id)),) for o in state.options)
        if isinstance(state, MultiState):
            rows = []
            for option in state.options:
                tick = "common.tick_on" if option.id in session.draft else "common.tick_off"
                label = f"{self.text(session, tick)} {self.text(session, option.label)}"
                rows.append((Button(label, encode(Toggle(step, option.id))),))
            rows.append((self._button(session, "common.done", Done(step)),))
            return tuple(rows)
        if isinstance(state, ScaleState):
            numbers = [Button(str(n), encode(Choose(step, str(n)))) for n in range(state.low, state.high + 1)]
            middle = (len(numbers) + 1) // 2
            return (tuple(numbers[:middle]), tuple(numbers[middle:]))
        if isinstance(state, TextState):
            return ((self._button(session, "common.skip", Choose(step, "skip")),),)
        return ()

    def _button(self, session: Session, key: str, event: Back | Choose | Done | Restart | Resume | ShowMenu) -> Button:
        return Button(self.text(session, key), encode(event))

    def menu(self, session: Session) -> Reply:
        """The sections, those matching the patient's answers first, with a way back to the questions."""
        matched = self.matched_sections(session)
        others = [s for s in self.content.sections if s not in matched]
        rows = [(Button(self.text(session, s.title), encode(ShowSection(s.id))),) for s in matched + others]
        state = self.content.states[session.state]
        if isinstance(state, MenuState | StopState):
            rows.append((self._button(session, "common.restart", Restart(session.step)),))
        else:
            rows.append((self._button(session, "common.resume", Resume()),))
        keys = ["menu.intro"]
        if matched:
            keys.append("menu.for_you")
        text = "\n\n".join(self.text(session, key) for key in keys)
        return Reply(key="menu.intro", text=text, buttons=tuple(rows), kind="question", extra_keys=tuple(keys[1:]))

    def topics(self, session: Session, section_ids: list[str]) -> Reply:
        """Sections that may answer a typed question, with buttons to them, the menu and the question."""
        rows = [
            (Button(self.text(session, self.content.section_by_id[s].title), encode(ShowSection(s))),)
            for s in section_ids
        ]
        rows.append((self._button(session, "common.menu", ShowMenu()),))
        rows.append((self._button(session, "common.resume", Resume()),))
        return Reply(key="typed.matches", text=self.text(session, "typed.matches"), buttons=tuple(rows))

    def section(self, session: Session, section_id: str) -> Reply:
        """One section: title, body and sources, with buttons to the menu and back to the questions."""
        section = self.content.section_by_id[section_id]
        parts = [f"<b>{self.text(session, section.title)}</b>", self.text(session, section.body)]
        if section.sources:
            sources = "\n".join(f"• {html.escape(source)}" for source in section.sources)
            parts.append(f"<i>{self.text(session, 'section.sources')}</i>\n{sources}")
        rows: Rows = ((self._button(session, "common.menu", ShowMenu()),),)
        if not isinstance(self.content.states[session.state], MenuState | StopState):
            rows += ((self._button(session, "common.resume", Resume()),),)
        return Reply(key=section.body, text="\n\n".join(parts), buttons=rows, extra_keys=(section.title,))

    def result(self, session: Session) -> CandidacyResult:
        """The candidacy result for the session's answers."""
        return evaluate(self.content.candidacy, session.answers)

    def _result(self, session: Session, state: ResultState) -> Reply:
        result = self.result(session)
        outcome = result.outcome
        parts = [
            self.text(session, state.text),
            f"<b>{self.text(session, outcome.title)}</b>\n{self.text(session, outcome.body)}",
        ]
        if result.findings:
            lines = [self.text(session, "result.why")]
            for finding in result.findings:
                line = f"• {self.text(session, finding.rule.reason)}"
                answers = self.answers_behind(session, finding)
                if answers:
                    line += f"\n  <i>{self.text(session, 'result.based_on')} {answers}</i>"
                lines.append(line)
            parts.append("\n".join(lines))
        else:
            parts.append(self.text(session, "result.no_rules"))
        reflected = self._reflect(session, state)
        if reflected:
            parts.append(reflected)
        parts.append(self.text(session, "result.disclaimer"))
        rows: list[tuple[Button, ...]] = [(self._button(session, state.button, Choose(session.step, "ok")),)]
        if session.history:
            rows.append((self._button(session, "common.back", Back(session.step)),))
        keys = (
            outcome.title,
            outcome.body,
            *(f.rule.reason for f in result.findings),
            *self._reflect_keys(session, state),
        )
        return Reply(key=state.text, text="\n\n".join(parts), buttons=tuple(rows), kind="question", extra_keys=keys)

    def _summary(self, session: Session, state: SummaryState) -> Reply:
        blocks = self.summary_blocks(session, with_sources=False)
        parts = [self.text(session, state.text)]
        for heading, lines in blocks:
            if heading:
                bullets = "\n".join(f"• {html.escape(line)}" for line in lines)
                parts.append(f"<b>{html.escape(heading)}</b>\n{bullets}")
            else:  # the closing disclaimer
                parts.append("<i>" + "\n".join(html.escape(line) for line in lines) + "</i>")
        step = session.step
        rows: list[tuple[Button, ...]] = [
            (self._button(session, "summary.pdf_button", Choose(step, "pdf")),),
            (self._button(session, state.button, Choose(step, "ok")),),
        ]
        if session.history:
            rows.append((self._button(session, "common.back", Back(step)),))
        return Reply(key=state.text, text="\n\n".join(parts), buttons=tuple(rows), kind="question")

    def summary_document(self, session: Session) -> Reply:
        """The personal summary as a PDF-ready document, with a short caption."""
        document = self.summary_as_document(session)
        return Reply(key="summary.pdf_caption", text=self.text(session, "summary.pdf_caption"), document=document)

    def summary_as_document(self, session: Session) -> Document:
        """The personal summary as plain-text blocks, sources included."""
        return Document(
            filename="summary.pdf",
            title=plain_text(self.text(session, "summary.pdf_title")),
            blocks=self.summary_blocks(session, with_sources=True),
        )

    def summary_blocks(self, session: Session, with_sources: bool) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """Plain-text blocks: answers, result and reasons, matching topics, questions to ask (and sources)."""

        def plain(key: str) -> str:
            return plain_text(self.text(session, key))

        answers = [self.describe_answer(session, s.id) for s in self.content.flow.states if s.id in session.answers]
        result = self.result(session)
        result_lines = [plain_text(self.text(session, result.outcome.title))]
        for finding in result.findings:
            reason = plain_text(self.text(session, finding.rule.reason))
            behind = plain_text(self.answers_behind(session, finding))
            result_lines.append(f"{reason} ({behind})" if behind else reason)
        matched = self.matched_sections(session)
        questions = [line.strip(" •-") for line in plain("summary.questions").splitlines() if line.strip(" •-")]
        blocks = [
            (plain("summary.answers"), tuple(plain_text(a) for a in answers if a)),
            (plain("summary.result"), tuple(result_lines)),
            (plain("summary.topics"), tuple(plain_text(self.text(session, s.title)) for s in matched)),
            (plain("summary.questions_heading"), tuple(questions)),
        ]
        if with_sources:
            sources = dict.fromkeys(source for s in self.content.sections for source in s.sources)
            blocks.append((plain("summary.sources"), tuple(sources)))
        blocks.append(("", (plain_text(self.text(session, "result.disclaimer")),)))
        return tuple((title, lines) for title, lines in blocks if lines)

    def matched_sections(self, session: Session) -> list[Section]:
        """Sections whose `match` holds for the session's answers, in content order."""
        return [s for s in self.content.sections if s.match is not None and holds(s.match, session.answers)]

    def _reflect_keys(self, session: Session, state: ResultState) -> list[str]:
        """Text keys of what the patient said matters to them (heading first), or none."""
        ticked = session.answers.get(state.reflect or "")
        if not isinstance(ticked, list) or not ticked:
            return []
        return ["result.values_heading", *(reflect_key(state.reflect or "", option) for option in ticked)]

    def _reflect(self, session: Session, state: ResultState) -> str:
        """What the patient said matters to them, each with how the options compare on it."""
        keys = self._reflect_keys(session, state)
        if not keys:
            return ""
        return "\n".join([self.text(session, keys[0]), *(f"• {self.text(session, key)}" for key in keys[1:])])

    def answers_behind(self, session: Session, finding: Finding) -> str:
        """The answers that made a rule fire, as 'Question: answer; ...' (empty if none is on record)."""
        return "; ".join(filter(None, (self.describe_answer(session, q) for q in finding.questions)))

    def describe_answer(self, session: Session, question_id: str) -> str:
        """'Question: answer' in plain words (user-typed text escaped)."""
        state = self.content.states.get(question_id)
        value = session.answers.get(question_id)
        if not isinstance(state, QUESTION_TYPES) or value is None or state.short is None:
            return ""
        return f"{self.text(session, state.short)}: {self.answer_label(session, state, value)}"

    def answer_label(self, session: Session, state: State, value: AnswerValue) -> str:
        """An answer as the patient saw it: option labels, a number, or their own escaped text."""
        labels = {o.id: o.label for o in getattr(state, "options", [])}
        if isinstance(value, list):
            return ", ".join(self.text(session, labels[v]) for v in value if v in labels)
        if isinstance(value, int):
            return str(value)
        if value in labels:
            return self.text(session, labels[value])
        return html.escape(value)
