"""The index page: the flow as a picture (the bot's own Mermaid diagram, drawn in the page), every step and its
pages, every topic per language, every candidacy rule with its reason and example patient, the texts above the
reading-level targets, the texts not yet translated, and the content version and build date."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from bot.preview.html import Writer, esc, frame
from bot.preview.paths import comparison_path, group_path, state_path, topic_path
from bot.preview.telegram_html import plain
from flows.keys import SYSTEM_KEYS, KeyKind
from flows.readability import TARGETS, grade, plain_sentences
from flows.states import kind_of

if TYPE_CHECKING:
    from bot.preview.site import Site

PATH = "index.html"
MIN_WORDS = 20  # shorter texts (labels, headings) have no meaningful reading level


def index_page(site: Site) -> str:
    """The index as HTML."""
    content = site.plain
    writer = Writer(PATH, "en", site.figures)
    start = content.flow.start
    body = [
        "<h1>What the bot says, step by step</h1>",
        f'<p class="facts">Content version <code>{esc(content.version)}</code> · built '
        f"{esc(site.built_at.strftime('%Y-%m-%d %H:%M %Z').strip())} · languages: "
        + ", ".join(f"{esc(lang.name)} (<code>{esc(lang.code)}</code>)" for lang in site.languages)
        + "</p>",
        "<p>Every page shows what the Telegram bot sends at one step, drawn by the bot's own code: the text as "
        "formatted, the pictures, and the buttons. Each button links to the step it leads to. Steps whose text "
        "depends on the patient's answers have a page per example patient.</p>",
        "<h2>Start the conversation</h2><ul>"
        + "".join(
            f'<li><a href="{writer.href(state_path(lang.code, start))}" hreflang="{esc(lang.code)}" '
            f'data-start="{esc(lang.code)}">{esc(lang.name)}: the first message</a></li>'
            for lang in site.languages
        )
        + "</ul>",
        _contents(),
        _flow(site, writer),
        _steps(site, writer),
        _topics(site, writer),
        _candidacy(site, writer),
        _readability(site, writer),
        _missing(site),
    ]
    footer = (
        f"<p>Built {esc(site.built_at.isoformat(timespec='seconds'))} from content version "
        f"<code>{esc(content.version)}</code> with <code>python -m bot preview --out DIR</code>. The diagram is "
        'drawn by Mermaid (<a href="assets/mermaid-LICENSE.txt">MIT licence</a>), shipped with the site.</p>'
    )
    return frame(PATH, "en", "Index", "\n".join(body), [], "", footer)


def _contents() -> str:
    parts = [
        ("flow", "The flow"),
        ("steps", "Every step"),
        ("topics", "Topics"),
        ("candidacy", "Candidacy rules"),
        ("readability", "Reading level"),
        ("translations", "Missing translations"),
    ]
    links = "".join(f'<li><a href="#{anchor}">{name}</a></li>' for anchor, name in parts)
    return f'<nav aria-label="Contents"><h2>Contents</h2><ul>{links}</ul></nav>'


def _flow(site: Site, writer: Writer) -> str:
    source = site.engine.machine.mermaid()
    pages = {state.id: state_path("en", state.id) for state in site.content.flow.states}
    return (
        '<section id="flow"><h2>The flow</h2>'
        "<p>The states of the conversation and the ways between them, from the bot's own state machine (the same "
        "diagram as <code>python -m bot diagram</code>). Click a state to open its page.</p>"
        f'<div id="flow-diagram" class="diagram" hidden data-pages="{esc(json.dumps(pages))}"></div>'
        "<details open><summary>The diagram as text (Mermaid)</summary>"
        f'<pre id="flow-source" class="source">{esc(source)}</pre></details>'
        f'<script src="{writer.href("assets/mermaid.min.js")}"></script>'
        f'<script src="{writer.href("assets/flow.js")}"></script></section>'
    )


def _steps(site: Site, writer: Writer) -> str:
    head = "".join(f"<th>{esc(lang.name)}</th>" for lang in site.languages)
    rows = []
    for state in site.content.flow.states:
        cells = []
        for lang in site.languages:
            title = esc(_title(site, lang.code, state.text))
            link = f'<a href="{writer.href(state_path(lang.code, state.id))}">{title}</a>'
            found = site.variants.get(state.id, [])
            if found:
                link += f" <small>(a page per example patient: {len(found)} pages)</small>"
            cells.append(f"<td>{link}</td>")
        rows.append(
            f"<tr><td><code>{esc(state.id)}</code></td><td><code>{esc(kind_of(state).type)}</code></td>"
            f"{''.join(cells)}</tr>"
        )
    return (
        '<section id="steps"><h2>Every step</h2>'
        f'<div class="wide"><table><thead><tr><th>Step</th><th>Type</th>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
        "</section>"
    )


def _title(site: Site, language: str, key: str) -> str:
    text = plain(site.plain.texts.get(language, key)).strip()
    first = text.splitlines()[0] if text else key
    return first if len(first) <= 70 else first[:67].rstrip() + "…"


def _topics(site: Site, writer: Writer) -> str:
    content = site.plain
    blocks = []
    for lang in site.languages:
        groups = []
        for group in content.groups:
            topics = "".join(
                f'<li><a href="{writer.href(topic_path(lang.code, s.id))}">{esc(_title(site, lang.code, s.title))}</a>'
                + (f" <small>({len(s.figures)} figures)</small>" if s.figures else "")
                + "</li>"
                for s in content.sections
                if s.group == group.id
            )
            title = esc(_title(site, lang.code, group.title))
            groups.append(
                f'<li><a href="{writer.href(group_path(lang.code, group.id))}">{title}</a><ul>{topics}</ul></li>'
            )
        comparison = f'<li><a href="{writer.href(comparison_path(lang.code))}">All options side by side</a></li>'
        blocks.append(f'<h3 lang="{esc(lang.code)}">{esc(lang.name)}</h3><ul>{comparison}{"".join(groups)}</ul>')
    return '<section id="topics"><h2>Topics</h2>' + "".join(blocks) + "</section>"


def _candidacy(site: Site, writer: Writer) -> str:
    content = site.plain
    words = site.words("en")
    results = [s.id for s in content.flow.states if kind_of(s).type == "result"]
    examples = {e.id: e for e in content.candidacy.examples}
    outcome_titles = {o.id: o.title for o in content.candidacy.outcomes}
    outcome_rows = "".join(
        f"<tr><td>{rank}</td><td><code>{esc(o.id)}</code></td>"
        + "".join(
            f'<td lang="{esc(lang.code)}">{esc(_title(site, lang.code, o.title))}</td>' for lang in site.languages
        )
        + f"<td>{'yes' if o.handoff else 'no'}</td></tr>"
        for rank, o in enumerate(content.candidacy.outcomes, start=1)
    )
    lang_heads = "".join(f"<th>Title ({esc(lang.name)})</th>" for lang in site.languages)
    reason_heads = "".join(f"<th>Reason ({esc(lang.name)})</th>" for lang in site.languages)
    rule_rows = []
    for rule in content.candidacy.rules:
        example = examples.get(rule.example)
        pages = " ".join(
            f'<a href="{writer.href(state_path(lang.code, r, rule.example))}" hreflang="{esc(lang.code)}">'
            f"{esc(lang.code)}</a>"
            for r in results
            for lang in site.languages
        )
        patient = esc(example.patient) if example else "(no such example)"
        reasons = "".join(
            f'<td lang="{esc(lang.code)}">{writer.text(site.content.texts.get(lang.code, rule.reason))}</td>'
            for lang in site.languages
        )
        rule_rows.append(
            f'<tr id="rule-{esc(rule.id)}"><td><code>{esc(rule.id)}</code></td><td>{words.block(rule.when)}</td>'
            f"<td><code>{esc(rule.outcome)}</code><br>{esc(_title(site, 'en', outcome_titles[rule.outcome]))}</td>"
            f"{reasons}"
            f"<td><code>{esc(rule.example)}</code>: {patient} <small>(result page: {pages})</small></td></tr>"
        )
    example_rows = []
    for example in content.candidacy.examples:
        pages = " ".join(
            f'<a href="{writer.href(state_path(lang.code, r, example.id))}" hreflang="{esc(lang.code)}">'
            f"{esc(lang.code)}</a>"
            for r in results
            for lang in site.languages
        )
        example_rows.append(
            f"<tr><td><code>{esc(example.id)}</code></td><td>{esc(example.patient)}</td>"
            f"<td><code>{esc(example.outcome)}</code></td><td>{pages}</td></tr>"
        )
    return (
        '<section id="candidacy"><h2>Candidacy rules</h2>'
        "<p>Outcomes in priority order: when rules point to several, the first listed wins. Every rule that fires "
        "is shown to the patient with its reason and the answers behind it.</p>"
        f'<div class="wide"><table><thead><tr><th>#</th><th>Outcome</th>{lang_heads}'
        "<th>Clinic hand-off may follow</th></tr></thead>"
        f"<tbody>{outcome_rows}</tbody></table></div>"
        "<h3>Rules</h3>"
        f'<div class="wide"><table><thead><tr><th>Rule</th><th>When</th><th>Outcome</th>{reason_heads}'
        "<th>Example patient</th></tr>"
        f"</thead><tbody>{''.join(rule_rows)}</tbody></table></div>"
        "<h3>Example patients</h3>"
        '<div class="wide"><table><thead><tr><th>Example</th><th>Patient</th><th>Expected outcome</th>'
        "<th>Result page</th></tr></thead>"
        f"<tbody>{''.join(example_rows)}</tbody></table></div></section>"
    )


def _readability(site: Site, writer: Writer) -> str:
    content = site.plain
    places = _places(site)
    skipped = _not_prose(site)
    blocks = []
    for lang in site.languages:
        target = TARGETS.get(lang.code)
        if target is None:
            continue
        rows = []
        for key, text in content.texts.by_language.get(lang.code, {}).items():
            if key in skipped or len(plain_sentences(text).split()) < MIN_WORDS:
                continue
            score = grade(lang.code, text)
            if target.met(score):
                continue
            where = ", ".join(
                f'<a href="{writer.href(path.replace("en/", lang.code + "/", 1))}">{esc(name)}</a>'
                for name, path in places.get(key, [])
            )
            words = len(plain_sentences(text).split())
            rows.append((score, key, words, where, writer.text(text)))
        rows.sort(key=lambda row: row[0], reverse=not target.higher_is_easier)
        body = "".join(
            f'<tr><td><code>{esc(key)}</code></td><td lang="{esc(lang.code)}">{shown}</td><td>{score:.1f}</td>'
            f"<td>{words}</td><td>{where or '—'}</td></tr>"
            for score, key, words, where, shown in rows
        )
        wanted = f"{target.scale}: {target.wanted}"
        table = (
            '<div class="wide"><table><thead><tr><th>Key</th><th>Text</th><th>Score</th><th>Words</th>'
            "<th>Shown at</th></tr></thead>"
            f"<tbody>{body}</tbody></table></div>"
            if rows
            else "<p>None.</p>"
        )
        blocks.append(
            f'<h3 lang="{esc(lang.code)}">{esc(lang.name)}: {len(rows)} texts outside the target '
            f"({esc(wanted)})</h3>{table}"
        )
    return (
        '<section id="readability"><h2>Reading level</h2>'
        f"<p>Texts of {MIN_WORDS} words or more that read harder than their language's target (scored as "
        "<code>python -m bot validate</code> scores topics; button labels and search keywords left out), hardest "
        "first.</p>" + "".join(blocks) + "</section>"
    )


def _places(site: Site) -> dict[str, list[tuple[str, str]]]:
    """Where each text key is shown: the English pages of the steps and topics that use it."""
    content = site.plain
    places: dict[str, list[tuple[str, str]]] = {}
    for state in content.flow.states:
        for use in kind_of(state).text_uses(state):
            places.setdefault(use.key, []).append((state.id, state_path("en", state.id)))
    for section in content.sections:
        for key in (section.title, section.body):
            places.setdefault(key, []).append((f"topic {section.id}", topic_path("en", section.id)))
    for option in content.options:
        for key in (option.name, option.what, option.may, option.risks, option.time_cost, option.figures_line):
            places.setdefault(key, []).append(("options side by side", comparison_path("en")))
    for figure in content.figure_by_id.values():
        keys: list[str | None] = [figure.caption, figure.reference, figure.time_frame]
        keys += [p.label for p in figure.panels] + [g.label for p in figure.panels for g in p.groups]
        shown_at = [(s.id, state_path("en", s.id)) for s in content.flow.states if figure.id in s.figures]
        shown_at += [(f"topic {s.id}", topic_path("en", s.id)) for s in content.sections if figure.id in s.figures]
        for figure_key in keys:
            if figure_key is not None:
                places.setdefault(figure_key, []).extend(shown_at)
    results = [s.id for s in content.flow.states if kind_of(s).type == "result"]
    for outcome in content.candidacy.outcomes:
        for key in (outcome.title, outcome.body):
            places.setdefault(key, []).extend((r, state_path("en", r)) for r in results)
    for rule in content.candidacy.rules:
        places.setdefault(rule.reason, []).extend((r, state_path("en", r, rule.example)) for r in results)
    return {key: list(dict.fromkeys(found)) for key, found in places.items()}


def _not_prose(site: Site) -> set[str]:
    """Button labels and search keywords: not read as prose."""
    content = site.plain
    keys = {key for key, kind in SYSTEM_KEYS.items() if kind is KeyKind.LABEL}
    for state in content.flow.states:
        keys |= {use.key for use in kind_of(state).text_uses(state) if use.kind is KeyKind.LABEL}
    keys |= {section.keywords for section in content.sections if section.keywords}
    return keys


def _missing(site: Site) -> str:
    blocks = []
    for language, keys in site.missing.items():
        name = next((lang.name for lang in site.languages if lang.code == language), language)
        if keys:
            items = "".join(f"<li><code>{esc(key)}</code></li>" for key in keys)
            blocks.append(
                f"<h3>{esc(name)}: {len(keys)} texts missing</h3>"
                "<p>The bot shows these in English; pages mark them.</p>"
                f'<ul class="missing-keys" data-language="{esc(language)}">{items}</ul>'
            )
        else:
            blocks.append(f"<p>{esc(name)}: every text is translated.</p>")
    return '<section id="translations"><h2>Missing translations</h2>' + "".join(blocks) + "</section>"
