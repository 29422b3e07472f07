"""The preview site: a page per state and language, drawn with the engine's own views on a session placed at the
state (pages of states whose messages read the answers: one per example patient); every button links to where it
leads; topics, figures, and the index."""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from bot.pictures import Pictures
from bot.preview.html import Key, Language, Link, Shown, Writer, esc, frame
from bot.preview.index import index_page
from bot.preview.paths import comparison_path, figure_path, group_path, state_path, topic_path
from bot.preview.source import KeyLog, marked, missing_texts
from bot.preview.telegram_html import plain
from bot.preview.walk import (
    Variant,
    exit_for,
    may_skip,
    place,
    predecessors,
    reads_answers,
    variants,
)
from bot.preview.words import Words, decided
from flows.conditions import AnswerValue
from flows.content import Content
from flows.engine import Engine
from flows.events import (
    Back,
    Choose,
    Done,
    Restart,
    Resume,
    ShowComparison,
    ShowMenu,
    ShowSection,
    Toggle,
    decode,
)
from flows.machine import branches
from flows.replies import Button, Reply
from flows.session import Session
from flows.states import StateBase, kind_of
from flows.states.series import Item
from flows.turn import Step
from flows.views import Views

ASSETS = Path(__file__).resolve().parent / "assets"
MERMAID = Path(__file__).resolve().parent / "mermaid"
MARKER = ".decision-aid-preview"  # a site folder holds this file: only such a folder is emptied before a build


@dataclass
class Built:
    """What a build wrote."""

    out: Path
    pages: int
    seconds: float
    missing: dict[str, list[str]] = field(default_factory=dict)


def is_series(state: StateBase) -> bool:
    """A state that asks its items one at a time (weighted values, knowledge check, SURE)."""
    items = getattr(state, "items", None)
    return isinstance(items, list) and bool(items) and all(isinstance(item, Item) for item in items)


class Site:
    """Builds the whole site for one content."""

    def __init__(self, content: Content, built_at: datetime) -> None:
        self.plain = content
        self.built_at = built_at
        self.log = KeyLog()
        self.content = marked(content, self.log)
        self.engine = Engine(self.content)
        self.views = self.engine.views
        self.languages = [
            Language(code, plain(content.texts.get(code, f"language.{code}")).strip() or code)
            for code in content.texts.languages
        ]
        self.placed = place(Engine(content))
        plain_views = Views(content)
        self.variants: dict[str, list[Variant]] = {
            state.id: variants(content, self.placed[state.id], state)
            for state in content.flow.states
            if reads_answers(plain_views, content, self.placed[state.id], state)
        }
        self.pages: dict[str, str] = {}
        self.figures: dict[tuple[str, str], tuple[str, int, int]] = {}
        self.seen: dict[tuple[str, str], set[str]] = {}  # (state, language) -> text keys shown on its pages
        self.missing = missing_texts(content)

    # --- paths ----------------------------------------------------------------------------------------

    def dynamic(self, state_id: str) -> bool:
        """Whether the state's messages depend on the answers (pages per example patient)."""
        return state_id in self.variants

    def page_of(self, language: str, state_id: str, variant: str | None) -> str:
        """The page a link to a state opens: the variant's own where the state has one, else the state's page."""
        if variant is not None and any(v.id == variant for v in self.variants.get(state_id, [])):
            return state_path(language, state_id, variant)
        return state_path(language, state_id)

    # --- building -------------------------------------------------------------------------------------

    def build(self, out: Path) -> int:
        """Write every page, picture and asset under `out`; returns the number of pages."""
        self._pictures(out)
        for language in self.languages:
            for state in self.content.flow.states:
                self._state_pages(language.code, state)
            self._topic_pages(language.code)
        self.pages["index.html"] = index_page(self)
        for path, text in self.pages.items():
            target = out / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        assets = out / "assets"
        assets.mkdir(parents=True, exist_ok=True)
        for name in ("preview.css", "flow.js"):
            shutil.copyfile(ASSETS / name, assets / name)
        shutil.copyfile(MERMAID / "mermaid.min.js", assets / "mermaid.min.js")
        shutil.copyfile(MERMAID / "LICENSE", assets / "mermaid-LICENSE.txt")
        (out / MARKER).write_text(f"content version {self.plain.version}\n", encoding="utf-8")
        return len(self.pages)

    def _pictures(self, out: Path) -> None:
        pictures = Pictures(self.plain)
        for figure_id in self.plain.figure_by_id:
            for language in self.languages:
                drawing = pictures.drawing(figure_id, language.code)
                path = figure_path(language.code, figure_id)
                target = out / path
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(drawing.png)
                self.figures[(figure_id, language.code)] = (path, drawing.width, drawing.height)

    # --- sessions -------------------------------------------------------------------------------------

    def session(self, state_id: str, language: str, variant: Variant | None) -> Session:
        """The walk's session at the state, in `language`, with the variant's answers."""
        session = self.placed[state_id].model_copy(deep=True, update={"language": language})
        if variant is not None:
            session.answers = {key: _copy(value) for key, value in variant.answers.items()}
        return session

    # --- state pages ----------------------------------------------------------------------------------

    def _state_pages(self, language: str, state: StateBase) -> None:
        seen = self.seen.setdefault((state.id, language), set())
        for variant in self.variants.get(state.id, []):
            shown = self.shown(language, state, variant)
            seen |= self._keys_of(shown)
            path = state_path(language, state.id, variant.id)
            self.pages[path] = self._state_page(path, language, state, variant, shown)
        path = state_path(language, state.id)
        if self.dynamic(state.id):
            self.pages[path] = self._state_page(path, language, state, None, None)
        else:
            shown = self.shown(language, state, None)
            seen |= self._keys_of(shown)
            self.pages[path] = self._state_page(path, language, state, None, shown)

    def _keys_of(self, shown: list[Shown]) -> set[str]:
        keys = set(self.log.used)
        for group in shown:
            for row in group.keys:
                for key in row:
                    for reply in key.after:
                        keys |= set(reply.keys())
        return keys

    def shown(self, language: str, state: StateBase, variant: Variant | None) -> list[Shown]:
        """The state as the patient meets it: the message, its pictures and its buttons (items asked one at a
        time: each in turn, as the message is edited in place)."""
        session = self.session(state.id, language, variant)
        kind = kind_of(state)
        self.log.clear()
        first = self.views.current(session)
        figures = kind.pictures(self.content, session, state)
        replies = self.views.pictures(session, figures, first) if figures else [first]
        used = set(self.log.used)
        groups = [Shown(replies, self.keys(language, state, variant, session, first))]
        if is_series(state):
            total = len(getattr(state, "items", []))
            groups[0].caption = f"Item 1 of {total}"
            current, reply = session, first
            for number in range(2, total + 1):
                event = next((decode(b.data) for row in reply.buttons for b in row), None)
                if not isinstance(event, Choose):
                    break
                step = self.engine.step(current, event)
                if step.session.state != state.id:
                    break
                current = step.session
                self.log.clear()
                reply = self.views.current(current)
                used |= self.log.used
                caption = f"Item {number} of {total} (Telegram edits the message in place)"
                groups.append(Shown([reply], self.keys(language, state, variant, current, reply), caption))
        self.log.clear()
        self.log.used |= used
        return groups

    def keys(
        self, language: str, state: StateBase, variant: Variant | None, session: Session, reply: Reply
    ) -> list[list[Key]]:
        """The reply's buttons, each resolved to where it leads."""
        return [[self.key(language, state, variant, session, reply, button) for button in row] for row in reply.buttons]

    def key(
        self, language: str, state: StateBase, variant: Variant | None, session: Session, reply: Reply, button: Button
    ) -> Key:
        """Where one button leads, found by tapping it in the engine."""
        event = decode(button.data)
        where = variant.id if variant is not None else None
        if isinstance(event, Restart):
            return Key(button.label, state_path(language, self.content.flow.start), note="starts again")
        if isinstance(event, ShowMenu):
            group = event.group or self.content.groups[0].id
            return Key(button.label, group_path(language, group))
        if isinstance(event, ShowComparison):
            return Key(button.label, comparison_path(language))
        if isinstance(event, ShowSection):
            return Key(button.label, topic_path(language, event.section))
        if isinstance(event, Resume):
            return Key(button.label, note="shows the question the patient was at again")
        if not isinstance(event, Back | Choose | Toggle | Done):
            return Key(button.label, note="does nothing here")
        step = self.engine.step(session, event)
        landed = step.session
        if step.rejected is not None:
            return Key(button.label, note="the bot does not take this tap here")
        if isinstance(event, Back):
            if landed.state == state.id:
                return Key(button.label, note="goes back to the previous item")
            before = predecessors(self.content, state.id) or [landed.state]
            ways = [Link(self.page_of(language, b, where), b) for b in before]
            return self._way_key(button.label, ways, "goes back to the step the patient came from", ())
        if isinstance(event, Done) and landed.state == state.id and not session.draft:
            after = tuple(r for r in step.replies if r.key != reply.key)
            ways = self.ways(language, state, None, None, {})
            return self._way_key(button.label, ways, "with nothing ticked, the bot asks for a tick first", after)
        if landed.state == state.id:
            after = tuple(r for r in step.replies if r.key != reply.key)
            stays = "ticks or unticks an option, in place" if isinstance(event, Toggle) else None
            if isinstance(event, Choose) and is_series(state) and landed.draft != session.draft:
                stays = "asks the next item"
            return Key(button.label, note=stays, after=after)
        after = self.feedback(step)
        if variant is not None:
            return Key(button.label, self.page_of(language, landed.state, where), after=after)
        option = event.option if isinstance(event, Choose) else None
        known: dict[str, AnswerValue] = {}
        if state.id in landed.answers and not is_series(state):  # a series' answer also holds the earlier items
            known[state.id] = landed.answers[state.id]
        return self._way_key(button.label, self.ways(language, state, option, landed.state, known), None, after)

    def _way_key(self, label: str, ways: list[Link], note: str | None, after: tuple[Reply, ...]) -> Key:
        if len(ways) == 1 and ways[0].condition is None:
            return Key(label, ways[0].path, note=note, after=after)
        return Key(label, ways=ways, note=note, after=after)

    def ways(
        self, language: str, state: StateBase, option: str | None, landed: str | None, known: dict[str, AnswerValue]
    ) -> list[Link]:
        """Every branch of the way out a tap takes, with its condition in words; branches decided by the answer
        just given are resolved."""
        exit_ = exit_for(self.content, state, option, landed)
        if exit_ is None:
            return []
        words = self.words(language)
        found = []
        for branch in branches(exit_.next):
            path = state_path(language, branch.to)
            if branch.when is None:
                found.append(Link(path, branch.to))
                break
            verdict = decided(branch.when, known)
            if verdict is False:
                continue
            if verdict is True:
                found.append(Link(path, branch.to))
                break
            found.append(Link(path, branch.to, words.condition(branch.when)))
        return found

    def feedback(self, step: Step) -> tuple[Reply, ...]:
        """What a tap sent before the next state's message (e.g. an explanation, what matters to the patient)."""
        current = self.views.current(step.session)
        for index, reply in enumerate(step.replies):
            if reply.key == current.key and reply.text == current.text:
                return tuple(step.replies[:index])
        return tuple(step.replies)

    def words(self, language: str) -> Words:
        """Conditions in words, with the question names of `language`."""
        return Words(self.plain, lambda key: plain(self.plain.texts.get(language, key)))

    # --- the page of a state ----------------------------------------------------------------------------

    def _state_page(
        self, path: str, language: str, state: StateBase, variant: Variant | None, shown: list[Shown] | None
    ) -> str:
        writer = Writer(path, language, self.figures)
        kind = kind_of(state)
        session = self.session(state.id, language, variant)
        body = [f"<h1>Step <code>{esc(state.id)}</code></h1>"]
        facts = f"Type <code>{esc(kind.type)}</code> · text <code>{esc(state.text)}</code>"
        if state.stage is not None:
            facts += f" · stage <code>{esc(str(state.stage))}</code>"
        body.append(f'<p class="facts">{facts}</p>')
        if variant is not None:
            body.append(self._patient(writer, language, state, variant, session))
        if shown is None:
            body.append(self._chooser(writer, language, state))
        else:
            skip = self._skip_note(writer, language, state, variant, session)
            if skip:
                body.append(skip)
            chat = writer.shown(shown)
            body.append("<h2>What the patient sees</h2>")
            body.append(chat)
        body.append(self._reached_from(writer, language, state, variant))
        if variant is None:
            body.append(self._other_texts(writer, language, state, session))
        if writer.missing:
            keys = ", ".join(f"<code>{esc(k)}</code>" for k in sorted(writer.missing))
            note = (
                f'<section class="missing" aria-label="Missing texts"><p><b>Not yet translated on this page:</b> '
                f"{keys}. The bot shows them in English (marked below).</p></section>"
            )
            body.insert(2, note)
        title = f"{state.id}" + (f" · {variant.id}" if variant else "")
        return self._frame(path, language, title, "\n".join(body), f" › step <code>{esc(state.id)}</code>")

    def _frame(self, path: str, language: str, title: str, body: str, trail: str) -> str:
        switch = [(lang, lang.code + path[len(language) :]) for lang in self.languages]
        footer = (
            f"<p>Content version <code>{esc(self.plain.version)}</code>, built "
            f"{esc(self.built_at.strftime('%Y-%m-%d %H:%M'))} with <code>python -m bot preview</code>. "
            "What the bot sends is drawn by the bot's own code; buttons link to where they lead.</p>"
        )
        return frame(path, language, title, body, switch, trail, footer)

    def _patient(self, writer: Writer, language: str, state: StateBase, variant: Variant, session: Session) -> str:
        lines = []
        for flow_state in self.content.flow.states:
            if flow_state.id in session.answers:
                said = self.views.describe_answer(session, flow_state.id)
                if said:
                    lines.append(f"<li>{writer.text(said)}</li>")
        known = {s.id for s in self.content.flow.states}
        for key, value in session.answers.items():
            if key not in known:
                lines.append(f"<li><code>{esc(key)}</code>: <code>{esc(str(value))}</code></li>")
        outcome = ""
        if variant.outcome is not None:
            title = self.content.outcome_by_id[variant.outcome].title
            outcome = f"<p>Expected result: <b>{writer.text(self.views.text(session, title))}</b></p>"
        answers = f"<ul>{''.join(lines)}</ul>" if lines else "<p>No answers kept.</p>"
        chooser = writer.href(state_path(language, state.id))
        who = "Example patient" if variant.outcome is not None else "Drawn for"
        return (
            f'<section class="patient" aria-label="Example patient"><p><b>{who} '
            f"<code>{esc(variant.id)}</code>:</b> {esc(variant.patient)}</p>{outcome}"
            f"<details open><summary>Their answers</summary>{answers}</details>"
            f'<p><a href="{chooser}">Other example patients at this step</a></p></section>'
        )

    def _chooser(self, writer: Writer, language: str, state: StateBase) -> str:
        items = []
        for variant in self.variants[state.id]:
            outcome = ""
            if variant.outcome is not None:
                title = self.content.texts.get(language, self.content.outcome_by_id[variant.outcome].title)
                outcome = f" · expected result: {writer.text(title)}"
            href = writer.href(state_path(language, state.id, variant.id))
            items.append(
                f'<li><a href="{href}" data-variant="{esc(variant.id)}"><code>{esc(variant.id)}</code></a>: '
                f"{esc(variant.patient)}{outcome}</li>"
            )
        skip = ""
        if may_skip(state):
            skip = (
                "<p>The bot skips this step for a patient it has nothing to show here; each example's page says "
                "whether it is skipped for them.</p>"
            )
        return (
            "<h2>Example patients</h2><p>What this step shows depends on the patient's answers. Pick an example "
            "patient (from <code>content/candidacy.yaml</code>, or drawn from the step's own conditions):</p>"
            + skip
            + '<ul class="variants">'
            + "".join(items)
            + "</ul>"
        )

    def _skip_note(
        self, writer: Writer, language: str, state: StateBase, variant: Variant | None, session: Session
    ) -> str:
        if not may_skip(state):
            return ""
        if variant is None:
            return (
                '<p class="skip-note">The bot skips this step for a patient it has nothing to show here, and goes '
                "on as the buttons below do.</p>"
            )
        skip = kind_of(state).skip(self.content, session, state)
        if skip is None:
            return ""
        target = self.engine.machine.advance(state.id, session.answers, skip.option)
        if target is None:
            return '<p class="skip-note">The bot skips this step for this patient.</p>'
        href = writer.href(self.page_of(language, target, variant.id))
        return (
            f'<p class="skip-note"><b>The bot skips this step for this patient</b> (it has nothing to show them) '
            f'and goes on to <a href="{href}"><code>{esc(target)}</code></a>. This is what it would show:</p>'
        )

    def _reached_from(self, writer: Writer, language: str, state: StateBase, variant: Variant | None) -> str:
        before = predecessors(self.content, state.id)
        if state.id == self.content.flow.start:
            return "<p>The conversation starts here (<code>/start</code>).</p>"
        where = variant.id if variant is not None else None
        links = ", ".join(
            f'<a href="{writer.href(self.page_of(language, b, where))}"><code>{esc(b)}</code></a>' for b in before
        )
        return f"<p>Reached from: {links or 'no step (unreachable)'}.</p>"

    def _other_texts(self, writer: Writer, language: str, state: StateBase, session: Session) -> str:
        seen = self.seen.get((state.id, language), set())
        rows = []
        done: set[str] = set()
        for use in kind_of(state).text_uses(state):
            if use.key in seen or use.key in done:
                continue
            done.add(use.key)
            text = self.views.text(session, use.key)
            rows.append(f"<dt><code>{esc(use.key)}</code> ({esc(str(use.kind))})</dt><dd>{writer.text(text)}</dd>")
        if not rows:
            return ""
        return (
            "<h2>Other texts of this step</h2><p>Texts the step uses that are not in the messages above: short names "
            "used in summaries, and texts shown only to some patients.</p>"
            f'<dl class="texts">{"".join(rows)}</dl>'
        )

    # --- topics ----------------------------------------------------------------------------------------

    def _topic_pages(self, language: str) -> None:
        session = self.session(self.content.flow.start, language, None)
        session.answers = {}
        for section in self.content.sections:
            reply = self.views.section(session, section.id)
            replies = self.views.pictures(session, list(section.figures), reply)
            path = topic_path(language, section.id)
            title = plain(self.plain.texts.get(language, section.title))
            self.pages[path] = self._reply_page(
                path, language, title, replies, session, f"Topic <code>{esc(section.id)}</code>"
            )
        for group in self.content.groups:
            reply = self.views.menu(session, group.id)
            path = group_path(language, group.id)
            title = plain(self.plain.texts.get(language, group.title))
            self.pages[path] = self._reply_page(
                path, language, title, [reply], session, f"Menu <code>{esc(group.id)}</code>"
            )
        reply = self.views.comparison_reply(session)
        path = comparison_path(language)
        self.pages[path] = self._reply_page(
            path, language, "Options side by side", [reply], session, "The options side by side"
        )

    def _reply_page(
        self, path: str, language: str, title: str, replies: list[Reply], session: Session, heading: str
    ) -> str:
        writer = Writer(path, language, self.figures)
        state = self.content.states[session.state]
        keys = [[self.key(language, state, None, session, replies[-1], b) for b in row] for row in replies[-1].buttons]
        chat = writer.shown([Shown(replies, keys)])
        body = [f"<h1>{heading}: {esc(title)}</h1>", '<p class="facts">As the bot shows it from its menu.</p>', chat]
        if writer.missing:
            keys_ = ", ".join(f"<code>{esc(k)}</code>" for k in sorted(writer.missing))
            body.insert(
                1,
                f'<section class="missing" aria-label="Missing texts"><p><b>Not yet translated on this page:</b> '
                f"{keys_}. The bot shows them in English (marked below).</p></section>",
            )
        return self._frame(path, language, title, "\n".join(body), f" › {heading}")


def _copy(value: AnswerValue) -> AnswerValue:
    if isinstance(value, list):
        return list(value)
    if isinstance(value, dict):
        return dict(value)
    return value


def prepare(out: Path) -> None:
    """Make `out` ready for a new site: create it, or empty it if an earlier build made it; refuse any other
    folder that is not empty (so a typo cannot wipe a folder)."""
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"{out} is a file: give a folder for the site")
    if out.is_dir() and any(out.iterdir()):
        if not (out / MARKER).is_file():
            raise FileExistsError(f"{out} is not empty and holds no earlier preview: give a new or empty folder")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)


def build(content: Content, out: Path, built_at: datetime | None = None) -> Built:
    """Build the preview site of `content` into `out` (a new, empty or earlier preview folder)."""
    started = time.perf_counter()
    prepare(out)
    site = Site(content, built_at or datetime.now().astimezone())
    pages = site.build(out)
    return Built(out, pages, time.perf_counter() - started, site.missing)


__all__ = ["Built", "Site", "build"]
