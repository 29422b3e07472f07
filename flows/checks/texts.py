"""Rules on texts: every key used is written in the default language and translated into the others; each
text is Telegram HTML within Telegram's limits for what it is used as; topics read easily enough."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from flows.checks.report import Report
from flows.checks.walker import Files, Place, References, TextRef
from flows.events import worst_case_callback
from flows.keys import SYSTEM_KEYS, KeyKind
from flows.limits import (
    MAX_CAPTION_CHARS,
    MAX_LABEL_BYTES,
    MAX_MESSAGE_CHARS,
    MAX_NOTICE_CHARS,
    callback_fits,
    html_problems,
    plain_text,
    visible_length,
)
from flows.problems import (
    CallbackTooLong,
    EmptyText,
    InvalidHtml,
    LabelTooLong,
    MissingText,
    MissingTranslation,
    ReadabilityAboveTarget,
    TextTooLong,
)
from flows.readability import TARGETS, grade


@dataclass(frozen=True)
class TextEntry:
    """One text as written: its value and where."""

    text: str
    path: Path
    line: int

    @property
    def place(self) -> Place:
        """Where it is written."""
        return Place(self.path, self.line)


LIMITS = {
    KeyKind.MESSAGE: (MAX_MESSAGE_CHARS, "split it into two"),
    KeyKind.NOTICE: (MAX_NOTICE_CHARS, "a notice is shown as a pop-up: keep it short"),
    KeyKind.CAPTION: (MAX_CAPTION_CHARS, "a caption is short: move the rest into a message"),
}


def check_texts(
    files: Files,
    refs: References,
    texts: dict[str, dict[str, TextEntry]],
    default_language: str,
    readability: bool,
    report: Report,
) -> None:
    """Missing texts and translations, HTML, lengths by kind, label sizes, callback sizes, reading level."""
    default = texts.get(default_language, {})
    default_file = Place(files.documents["flow.yaml"].path.parent / "texts" / f"{default_language}.yaml", 1)
    uses = refs.texts + [TextRef(key, kind, default_file) for key, kind in SYSTEM_KEYS.items()]
    kinds: dict[str, set[KeyKind]] = {}
    for use in uses:
        kinds.setdefault(use.key, set()).add(use.kind)
    reported: set[str] = set()
    for use in uses:
        if use.key not in default and use.key not in reported:
            reported.add(use.key)
            report.add(
                MissingText, use.place, f"text '{use.key}' is not written", f"add it to texts/{default_language}.yaml"
            )
    for language, entries in texts.items():
        if language != default_language:
            for key, entry in default.items():
                if key not in entries:
                    report.add(
                        MissingTranslation,
                        entry.place,
                        f"'{key}' has no {language} text",
                        f"add it to texts/{language}.yaml",
                    )
        for key, entry in entries.items():
            _check_text(key, entry, kinds.get(key, {KeyKind.MESSAGE}), report)
    if readability:
        _check_readability(files, texts, report)
    _check_callbacks(files, report)


def _check_text(key: str, entry: TextEntry, kinds: set[KeyKind], report: Report) -> None:
    for message in html_problems(entry.text):
        report.add(
            InvalidHtml, entry.place, f"'{key}': {message}", "Telegram allows b, i, u, s, a, code, pre, blockquote"
        )
    if not plain_text(entry.text).strip():
        report.add(EmptyText, entry.place, f"'{key}' shows nothing", "write the text, or remove the key")
    length = visible_length(entry.text)
    for kind in kinds - {KeyKind.LABEL}:
        limit, hint = LIMITS[kind]
        if length > limit:
            report.add(TextTooLong, entry.place, f"'{key}' has {length} characters, over {limit}", hint)
    size = len(entry.text.encode("utf-8"))
    if KeyKind.LABEL in kinds and size > MAX_LABEL_BYTES:
        report.add(
            LabelTooLong,
            entry.place,
            f"button label '{key}' is {size} bytes, over {MAX_LABEL_BYTES}",
            "shorten the label",
        )


def _check_readability(files: Files, texts: dict[str, dict[str, TextEntry]], report: Report) -> None:
    for language, target in TARGETS.items():
        entries = texts.get(language, {})
        for section in files.sections.sections:
            entry = entries.get(section.body)
            if entry is None:
                continue
            score = grade(language, entry.text)
            if not target.met(score):
                report.add(
                    ReadabilityAboveTarget,
                    entry.place,
                    f"'{section.body}' ({language}) scores {score:.1f} on {target.scale}, {target.wanted}",
                    "use shorter sentences and everyday words",
                )


def _check_callbacks(files: Files, report: Report) -> None:
    for i, state in enumerate(files.flow.states):
        for j, option in enumerate(getattr(state, "options", [])):
            if not callback_fits(worst_case_callback(option.id)):
                report.add(
                    CallbackTooLong,
                    files.place("flow.yaml", "states", i, "options", j, "id"),
                    f"option id '{option.id}' makes button data over 64 bytes",
                    "use an id of at most 53 characters",
                )
    ids = [("sections", i, s.id) for i, s in enumerate(files.sections.sections)]
    ids += [("groups", i, g.id) for i, g in enumerate(files.sections.groups)]
    for name, i, item in ids:
        if not callback_fits(f"s:{item}"):
            report.add(
                CallbackTooLong,
                files.place("sections.yaml", name, i, "id"),
                f"id '{item}' makes button data over 64 bytes",
                "use an id of at most 62 characters",
            )


def check_composed(files: Files, texts: dict[str, dict[str, TextEntry]], report: Report) -> None:
    """Messages put together from several texts stay within Telegram's limit in every language: the
    comparison of the options, with its state's intro and all its notes."""
    from flows.states.comparison import ComparisonState
    from flows.views import compose_comparison

    for index, state in enumerate(files.flow.states):
        if not isinstance(state, ComparisonState):
            continue
        for language, entries in texts.items():

            def text(key: str, entries: dict[str, TextEntry] = entries) -> str:
                entry = entries.get(key)
                return entry.text if entry is not None else ""

            parts = [text(state.text), compose_comparison(files.decision.options, text)]
            parts += [text(note.text) for note in state.notes]
            length = visible_length("\n\n".join(parts))
            if length > MAX_MESSAGE_CHARS:
                report.add(
                    TextTooLong,
                    files.place("flow.yaml", "states", index, "id"),
                    f"the comparison in '{state.id}' ({language}) has {length} characters, over {MAX_MESSAGE_CHARS}",
                    "shorten the options' texts in texts/<lang>.decision.yaml",
                )
