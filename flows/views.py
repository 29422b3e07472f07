"""Build the replies that every state type shares: texts, buttons, the menu, topics, the comparison of the
options, the result's reasons, the summary. How each state type looks is its kind's (flows/states/)."""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import replace

from flows.candidacy import CandidacyResult, Finding, evaluate
from flows.conditions import holds
from flows.content import Content
from flows.events import Back, Choose, Done, Restart, Resume, ShowComparison, ShowMenu, ShowSection, encode
from flows.limits import plain_text
from flows.model import Condition, DecisionOption, Option, Section
from flows.replies import Blocks, Button, Document, Picture, Reply
from flows.session import Session
from flows.states import kind_of
from flows.states.summary import SummaryState, leaning_figures
from flows.states.weighted import REFLECT_HEADING, WeightedState, reflections
from flows.texts import fill

SCREEN_ANSWER = "safety"  # kept with consent when the safety questions advised seeing a doctor first


def compose_comparison(options: list[DecisionOption], text: Callable[[str], str]) -> str:
    """The options as numbered blocks: name, what it is, what it may do, risks, time and cost, figures."""
    blocks = []
    for number, option in enumerate(options, start=1):
        lines = [f"<b>{number}. {text(option.name)}</b>", text(option.what)]
        for label, key in (
            ("comparison.may", option.may),
            ("comparison.risks", option.risks),
            ("comparison.time_cost", option.time_cost),
            ("comparison.figures", option.figures_line),
        ):
            lines.append(f"{text(label)} {text(key)}".strip())
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


class Views:
    """Turns content and a session into Replies; holds no state of its own."""

    def __init__(self, content: Content) -> None:
        self.content = content

    # --- texts and buttons --------------------------------------------------------------------------

    def text(self, session: Session, key: str) -> str:
        """The text for `key` in the session's language."""
        return self.content.texts.get(session.language, key)

    @staticmethod
    def escape(text: str) -> str:
        """Text the patient typed, safe to put in Telegram HTML."""
        return html.escape(text)

    def button(
        self, session: Session, key: str, event: Back | Choose | Done | Restart | Resume | ShowMenu | ShowComparison
    ) -> Button:
        """A button labelled with a text, sending `event`."""
        return Button(self.text(session, key), encode(event))

    def notice(self, session: Session, key: str) -> Reply:
        """A short notice (shown as a pop-up when it answers a tapped button)."""
        return Reply(key=key, text=self.text(session, key), kind="notice")

    def pictures(self, session: Session, figure_ids: list[str], after: Reply) -> list[Reply]:
        """`after` followed by the figures as pictures (each with its caption); the buttons of `after` move to the
        last picture, so they stay at the bottom of the chat."""
        if not figure_ids:
            return [after]
        pictures = [
            Reply(
                key=self.content.figure_by_id[f].caption,
                text=self.text(session, self.content.figure_by_id[f].caption),
                picture=Picture(f, session.language),
            )
            for f in figure_ids
        ]
        pictures[-1] = replace(pictures[-1], buttons=after.buttons, kind=after.kind)
        return [replace(after, buttons=(), kind="message"), *pictures]

    def info(self, session: Session, key: str) -> Reply:
        """A plain message from a text key."""
        return Reply(key=key, text=self.text(session, key))

    def holds(self, condition: Condition, session: Session) -> bool:
        """Whether a content condition holds for the session's answers."""
        return holds(condition, session.answers)

    # --- the current state --------------------------------------------------------------------------

    def current(self, session: Session, edit: bool = False) -> Reply:
        """The current state as a message with its buttons."""
        state = self.content.states[session.state]
        return kind_of(state).render(self, session, state, edit)

    def disclosure(self, session: Session) -> Reply | None:
        """Which clinic's link brought the patient here and its relationship with this guide (or None)."""
        clinic = self.content.clinic_by_code.get(session.clinic or "")
        if clinic is None:
            return None
        values = {"clinic": html.escape(clinic.name), "relationship": self.text(session, clinic.relationship)}
        return Reply(key="clinic.disclosure", text=fill(self.text(session, "clinic.disclosure"), values))

    # --- topics -------------------------------------------------------------------------------------

    def menu(self, session: Session, group: str | None = None) -> Reply:
        """The topics of one group (the first by default), those that fit the patient first, with buttons to
        the comparison and the other groups."""
        groups = self.content.groups
        shown = next((g for g in groups if g.id == group), groups[0])
        first = shown == groups[0]
        in_group = [s for s in self.content.sections if s.group == shown.id]
        matched = [s for s in self.matched_sections(session) if s.group == shown.id]
        rows: list[tuple[Button, ...]] = []
        if first and self.content.options:
            rows.append((self.button(session, "menu.compare", ShowComparison()),))
        rows += [(self._section_button(session, s),) for s in matched + [s for s in in_group if s not in matched]]
        if first:
            rows += [(self.button(session, g.title, ShowMenu(g.id)),) for g in groups[1:]]
        else:
            rows.append((self.button(session, "common.menu", ShowMenu()),))
        rows.append(self._leave_menu_row(session))
        key = "menu.intro" if first else shown.title
        parts = [self.text(session, key) if first else f"<b>{self.text(session, key)}</b>"]
        extra = ("menu.for_you",) if matched else ()
        parts += [self.text(session, k) for k in extra]
        return Reply(key=key, text="\n\n".join(parts), buttons=tuple(rows), kind="question", extra_keys=extra)

    def _leave_menu_row(self, session: Session) -> tuple[Button, ...]:
        if kind_of(self.content.states[session.state]).terminal:
            return (self.button(session, "common.restart", Restart(session.step)),)
        return (self.button(session, "common.resume", Resume()),)

    def _section_button(self, session: Session, section: Section) -> Button:
        return Button(self.text(session, section.title), encode(ShowSection(section.id)))

    def topics(self, session: Session, section_ids: list[str]) -> Reply:
        """Sections that may answer a typed question, with buttons to them, the menu and the question."""
        rows = [(self._section_button(session, self.content.section_by_id[s]),) for s in section_ids]
        rows.append((self.button(session, "common.menu", ShowMenu()),))
        rows.append((self.button(session, "common.resume", Resume()),))
        return Reply(key="typed.matches", text=self.text(session, "typed.matches"), buttons=tuple(rows))

    def section(self, session: Session, section_id: str) -> Reply:
        """One topic: title, body (and its appendix), sources as links; buttons to its group and the questions."""
        section = self.content.section_by_id[section_id]
        parts = [f"<b>{self.text(session, section.title)}</b>", self.text(session, section.body)]
        if section.appendix == "clinics":
            parts.append(self.clinic_relationships(session))
        if section.sources:
            parts.append(f"<i>{self.text(session, 'section.sources')}</i>\n" + self.source_links(section.sources))
        first_group = self.content.groups[0].id if self.content.groups else None
        group = None if section.group == first_group else section.group
        rows: list[tuple[Button, ...]] = [(self.button(session, "common.menu", ShowMenu(group)),)]
        rows.append(self._leave_menu_row(session))
        return Reply(key=section.body, text="\n\n".join(parts), buttons=tuple(rows), extra_keys=(section.title,))

    def source_links(self, source_ids: list[str]) -> str:
        """Cited sources as bullet lines, each a link where the source has an address."""
        lines = []
        for source_id in source_ids:
            source = self.content.source_by_id[source_id]
            title = html.escape(source.title)
            url = html.escape(source.url, quote=True) if source.url else ""
            lines.append(f'• <a href="{url}">{title}</a>' if url else f"• {title}")
        return "\n".join(lines)

    def matched_sections(self, session: Session) -> list[Section]:
        """Sections whose `match` holds for the session's answers, in content order."""
        return [s for s in self.content.sections if s.match is not None and holds(s.match, session.answers)]

    # --- the options compared -----------------------------------------------------------------------

    def comparison(self, session: Session) -> str:
        """Every option of the decision in the same order and the same terms, one short block each."""
        return compose_comparison(self.content.options, lambda key: self.text(session, key))

    def comparison_reply(self, session: Session) -> Reply:
        """The comparison on its own, from the menu, with buttons back to the topics and the questions."""
        rows = ((self.button(session, "common.menu", ShowMenu()),), self._leave_menu_row(session))
        return Reply(
            key="comparison.heading",
            text=f"{self.text(session, 'comparison.heading')}\n\n{self.comparison(session)}",
            buttons=rows,
        )

    # --- the result ---------------------------------------------------------------------------------

    def result(self, session: Session) -> CandidacyResult:
        """The candidacy result for the session's answers."""
        return evaluate(self.content.candidacy, session.answers)

    def answers_behind(self, session: Session, finding: Finding) -> str:
        """The answers that made a rule fire, as 'Question: answer; ...' (empty if none is on record)."""
        return "; ".join(filter(None, (self.describe_answer(session, q) for q in finding.questions)))

    def reflected_keys(self, session: Session) -> list[str]:
        """How the options compare on each value that matters a lot to the patient (their `reflect` texts)."""
        found: list[str] = []
        for state in self.content.flow.states:
            weights = session.answers.get(state.id)
            if isinstance(state, WeightedState) and isinstance(weights, dict):
                found += reflections(state, weights)
        return found

    def clinic_relationships(self, session: Session) -> str:
        """Every clinic that shares links to this guide, and its relationship with it."""
        if not self.content.clinics:
            return self.text(session, "clinic.none")
        lines = [f"• <b>{html.escape(c.name)}</b>: {self.text(session, c.relationship)}" for c in self.content.clinics]
        return "\n".join([self.text(session, "clinic.relationships"), *lines])

    def who_is_behind(self, session: Session) -> str:
        """Who writes this guide, its funding, the evidence date and the clinics' relationships."""
        return f"{self.text(session, 'result.disclosure')}\n{self.clinic_relationships(session)}"

    # --- answers ------------------------------------------------------------------------------------

    def describe_answer(self, session: Session, question_id: str, clinical: bool = False) -> str:
        """'Question: answer' in plain words (or in clinical terms, where the texts have them); empty when
        there is no such answer."""
        state = self.content.states.get(question_id)
        value = session.answers.get(question_id)
        short = getattr(state, "short", None)
        if state is None or value is None or short is None:
            return ""
        label_key = f"clinical_label.{question_id}"
        label = self.text(session, label_key if clinical and self._has(session, label_key) else short)
        return f"{label}: {kind_of(state).describe(self, session, state, value, clinical)}"

    def option_label(
        self, session: Session, question_id: str, options: list[Option], value: str, clinical: bool
    ) -> str:
        """An option as the patient saw it, or its clinical term where the texts have one."""
        clinical_key = f"clinical.{question_id}.{value}"
        if clinical and self._has(session, clinical_key):
            return self.text(session, clinical_key)
        labels = {o.id: o.label for o in options}
        return self.text(session, labels[value]) if value in labels else html.escape(value)

    def _has(self, session: Session, key: str) -> bool:
        return self.content.texts.has(session.language, key)

    # --- the summary --------------------------------------------------------------------------------

    def summary_document(self, session: Session, large_print: bool = False) -> Reply:
        """The personal summary as a PDF-ready document (in large print if asked), with a short caption."""
        document = self.summary_as_document(session, large_print)
        return Reply(key="summary.pdf_caption", text=self.text(session, "summary.pdf_caption"), document=document)

    def summary_as_document(self, session: Session, large_print: bool = False) -> Document:
        """The personal summary as plain-text blocks, with who is behind the guide, the sources, the figures of
        the option the patient leans towards and of its comparator, the options table, and a page for the
        patient's doctor."""
        return Document(
            filename="summary-large-print.pdf" if large_print else "summary.pdf",
            title=self._plain(session, "summary.pdf_title"),
            blocks=self.summary_blocks(session, for_pdf=True),
            clinician_title=self._plain(session, "summary.clinician_heading"),
            clinician=self.clinician_blocks(session),
            figures=self.summary_figures(session),
            language=session.language,
            large_print=large_print,
        )

    def summary_figures(self, session: Session) -> tuple[str, ...]:
        """The figures the summary's PDF holds: all those of the leaning and its comparator, then the table."""
        state = next((s for s in self.content.flow.states if isinstance(s, SummaryState)), None)
        chosen = [f for group in leaning_figures(self.content, session, state) for f in group] if state else []
        tables = [f.id for f in self.content.figure_by_id.values() if f.kind == "table"]
        return tuple(dict.fromkeys([*chosen, *tables]))

    def summary_blocks(self, session: Session, for_pdf: bool) -> Blocks:
        """Plain-text blocks: answers, result and reasons, leaning, what matters, matching topics, questions to
        ask; in the PDF also who is behind the guide and the sources with their addresses."""
        answers = [self.describe_answer(session, s.id) for s in self.content.flow.states if s.id in session.answers]
        result = self.result(session)
        result_lines = [plain_text(self.text(session, result.outcome.title))]
        for finding in result.findings:
            reason = plain_text(self.text(session, finding.rule.reason))
            behind = plain_text(self.answers_behind(session, finding))
            result_lines.append(f"{reason} ({behind})" if behind else reason)
        blocks = [
            (self._plain(session, "summary.answers"), tuple(plain_text(a) for a in answers if a)),
            (self._plain(session, "summary.result"), tuple(result_lines)),
            (
                self._plain(session, REFLECT_HEADING),
                tuple(self._plain(session, k) for k in self.reflected_keys(session)),
            ),
            (
                self._plain(session, "summary.topics"),
                tuple(self._plain(session, s.title) for s in self.matched_sections(session)),
            ),
            (self._plain(session, "summary.questions_heading"), self._questions(session)),
        ]
        if for_pdf:
            blocks.append((self._plain(session, "summary.about"), self._about_lines(session)))
            sources = dict.fromkeys(source for s in self.content.sections for source in s.sources)
            blocks.append((self._plain(session, "summary.sources"), tuple(self._source_line(s) for s in sources)))
        blocks.append(("", (self._plain(session, "result.disclaimer"),)))
        return tuple((title, lines) for title, lines in blocks if lines)

    def clinician_blocks(self, session: Session) -> Blocks:
        """For the patient's doctor: the answers in clinical terms, the safety screen, the questions to ask."""
        answers = [
            plain_text(self.describe_answer(session, s.id, clinical=True))
            for s in self.content.flow.states
            if s.id in session.answers and self._has(session, f"clinical_label.{s.id}")
        ]
        screen = "summary.screen_urgent" if session.answers.get(SCREEN_ANSWER) else "summary.screen_clear"
        blocks = [
            ("", (self._plain(session, "summary.clinician_intro"),)),
            (self._plain(session, "summary.screen"), (self._plain(session, screen),)),
            (self._plain(session, "summary.answers"), tuple(a for a in answers if a)),
            (self._plain(session, "summary.questions_heading"), self._questions(session)),
        ]
        return tuple((title, lines) for title, lines in blocks if lines)

    def _questions(self, session: Session) -> tuple[str, ...]:
        lines = self._plain(session, "summary.questions").splitlines()
        return tuple(line.strip(" •-") for line in lines if line.strip(" •-"))

    def _about_lines(self, session: Session) -> tuple[str, ...]:
        lines = [self._plain(session, "result.disclosure")]
        lines += [f"{clinic.name}: {self._plain(session, clinic.relationship)}" for clinic in self.content.clinics] or [
            self._plain(session, "clinic.none")
        ]
        return tuple(lines)

    def _source_line(self, source_id: str) -> str:
        source = self.content.source_by_id[source_id]
        return f"{source.title}: {source.url}" if source.url else source.title

    def _plain(self, session: Session, key: str) -> str:
        return plain_text(self.text(session, key))
