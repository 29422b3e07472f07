"""The preview site (`python -m bot preview`): a page per state and language drawn by the bot's own views, pages per
example patient where the text depends on the answers, buttons that link where the engine goes, the index, missing
translations marked; and a walk through it in a real browser (Debian's Chromium, driven by Playwright), offline."""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml

from bot.cli import main
from bot.preview.paths import comparison_path, state_path, topic_path
from bot.preview.site import build
from flows.candidacy import evaluate
from flows.content import Content
from flows.limits import plain_text
from flows.loader import load_content
from flows.model import Example
from flows.readability import TARGETS, grade

ROOT = Path(__file__).resolve().parent.parent
CONTENT = ROOT / "content"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
BUILD_SECONDS = 10.0  # the limit for the real content
ANSWER_DEPENDENT = ("result", "compare", "nudge", "summary")
WALKED_EXAMPLE = "low_back_profile"


# --- helpers ----------------------------------------------------------------------------------------------


class _Page(HTMLParser):
    """What a test needs from a page: links (with their text), sources, the html lang and data attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[dict[str, str]] = []
        self.sources: list[tuple[str, str]] = []  # (tag, src or href) of scripts, stylesheets, images
        self.alts: list[str] = []
        self.lang = ""
        self._open: dict[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {name: value or "" for name, value in attrs}
        if tag == "html":
            self.lang = found.get("lang", "")
        if tag == "a" and "href" in found:
            self._open = {**found, "text": ""}
            self.links.append(self._open)
        if tag == "img":
            self.alts.append(found.get("alt", ""))
        if tag in ("script", "img") and "src" in found:
            self.sources.append((tag, found["src"]))
        if tag == "link" and "href" in found:
            self.sources.append((tag, found["href"]))

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self._open = None

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._open["text"] += data


def parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    return page


def squash(text: str) -> str:
    """Whitespace-insensitive text, for comparing what a page shows with what a text says."""
    return " ".join(text.split())


def label(content: Content, language: str, key: str) -> str:
    return plain_text(content.texts.get(language, key)).strip()


def local_target(page: Path, reference: str) -> Path | None:
    """The file a relative link or source points to (None for other schemes and in-page anchors)."""
    parts = urlsplit(reference)
    if parts.scheme or parts.netloc or not parts.path:
        return None
    return (page.parent / unquote(parts.path)).resolve()


def example(content: Content, example_id: str) -> Example:
    return next(e for e in content.candidacy.examples if e.id == example_id)


@pytest.fixture(scope="module")
def content() -> Content:
    result = load_content(CONTENT)
    assert result.content is not None, "\n".join(map(str, result.problems))
    return result.content


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, content: Content) -> Iterator[Path]:
    out = tmp_path_factory.mktemp("preview") / "site"
    started = time.perf_counter()
    built = build(content, out)
    seconds = time.perf_counter() - started
    assert seconds < BUILD_SECONDS, f"building the preview took {seconds:.1f} s (limit {BUILD_SECONDS:.0f} s)"
    assert built.pages > 0
    yield out


# --- the site's structure, without a browser --------------------------------------------------------------


def test_every_state_has_a_page_in_every_language(site: Path, content: Content) -> None:
    for language in content.texts.languages:
        for state in content.flow.states:
            path = site / state_path(language, state.id)
            assert path.is_file(), f"no page for {state.id} in {language}"
            page = parse(path)
            assert page.lang == language
            switch = {link["hreflang"]: link["href"] for link in page.links if "hreflang" in link}
            assert set(switch) == set(content.texts.languages), f"{path}: language switch {switch}"
            for other, href in switch.items():  # the switch lands on the same state in the other language
                assert local_target(path, href) == (site / state_path(other, state.id)).resolve()
            if not any("data-variant" in link for link in page.links):  # not a page that lists example patients
                text = path.read_text(encoding="utf-8")
                assert f'data-keys="{state.text}' in text, f"{path} does not show the text {state.text}"


def test_answer_dependent_states_have_a_page_per_example_patient(site: Path, content: Content) -> None:
    for state_id in ANSWER_DEPENDENT:
        for language in content.texts.languages:
            chooser = site / state_path(language, state_id)
            linked = {link.get("data-variant") for link in parse(chooser).links}
            for patient in content.candidacy.examples:
                assert (site / state_path(language, state_id, patient.id)).is_file(), (state_id, patient.id)
                assert patient.id in linked, f"{chooser} does not list {patient.id}"
    assert not list((site / "en" / "states").glob("region.*.html")), "a question that reads no answers got examples"


def test_each_example_result_page_shows_its_outcome_and_reasons(site: Path, content: Content) -> None:
    for patient in content.candidacy.examples:
        result = evaluate(content.candidacy, patient.answers)
        assert result.outcome.id == patient.outcome
        for language in content.texts.languages:
            page = squash(plain_text((site / state_path(language, "result", patient.id)).read_text(encoding="utf-8")))
            assert squash(label(content, language, result.outcome.title)) in page, (patient.id, language)
            for finding in result.findings:
                assert squash(label(content, language, finding.rule.reason)) in page, (patient.id, finding.rule.id)


def test_nudge_pages_show_each_conflict_and_skip_for_patients_without_one(site: Path, content: Content) -> None:
    conflict = site / state_path("en", "nudge", "conflict_stem_cells_proven")
    assert squash(label(content, "en", "nudge.stem_cells.proven")) in squash(
        plain_text(conflict.read_text(encoding="utf-8"))
    )
    skipped = (site / state_path("en", "nudge", WALKED_EXAMPLE)).read_text(encoding="utf-8")
    assert "skips this step for this patient" in skipped
    assert 'href="sure.html"' in skipped


def test_every_link_and_picture_resolves_and_nothing_comes_from_elsewhere(site: Path) -> None:
    pages = sorted(site.rglob("*.html"))
    assert len(pages) > 100
    for path in pages:
        page = parse(path)
        for link in page.links:
            target = local_target(path, link["href"])
            if target is not None:
                assert target.is_file(), f"{path.relative_to(site)}: broken link {link['href']}"
            else:  # only sources cited in the texts (followed on a click, never fetched to show the page)
                assert link["href"].startswith(("https://", "http://", "#", "mailto:")), link["href"]
        for tag, source in page.sources:
            target = local_target(path, source)
            assert target is not None and target.is_file(), f"{path.relative_to(site)}: <{tag}> from {source}"
    stylesheet = (site / "assets" / "preview.css").read_text(encoding="utf-8")
    assert "@import" not in stylesheet and "@font-face" not in stylesheet and "url(" not in stylesheet
    assert (site / "assets" / "mermaid.min.js").stat().st_size > 1_000_000
    assert "MIT" in (site / "assets" / "mermaid-LICENSE.txt").read_text(encoding="utf-8")


def test_buttons_link_to_where_the_flow_leads(site: Path, content: Content) -> None:
    region = site / state_path("en", "region")
    by_label = {squash(link["text"]): link["href"] for link in parse(region).links}
    assert (
        local_target(region, by_label[label(content, "en", "region.neck")])
        == (site / state_path("en", "neck_symptoms")).resolve()
    )
    assert (
        local_target(region, by_label[label(content, "en", "region.low_back")])
        == (site / state_path("en", "leg_symptoms")).resolve()
    )
    # Done on the leg question: both branches, the first with its condition in words naming the answer it tests
    legs = (site / state_path("en", "leg_symptoms")).read_text(encoding="utf-8")
    assert 'data-to="neck_symptoms"' in legs and 'data-to="duration"' in legs
    condition = re.search(r'data-to="neck_symptoms">.*?</a> when (.*?)</li>', legs)
    assert condition is not None and "<code>region</code>" in condition.group(1)
    assert label(content, "en", "region.both") in condition.group(1)
    # an example page follows the engine with that patient's answers, straight to the next page of the same patient
    result = site / state_path("en", "result", WALKED_EXAMPLE)
    continue_ = label(content, "en", "common.continue")
    href = next(link["href"] for link in parse(result).links if squash(link["text"]) == continue_)
    assert local_target(result, href) == (site / state_path("en", "compare", WALKED_EXAMPLE)).resolve()


def test_topics_show_their_body_sources_and_figures(site: Path, content: Content) -> None:
    for language in content.texts.languages:
        for section in content.sections:
            path = site / topic_path(language, section.id)
            text = path.read_text(encoding="utf-8")
            assert f'data-keys="{section.body} {section.title}"' in text
            cited = [content.source_by_id[s].url for s in section.sources if content.source_by_id[s].url]
            hrefs = {link["href"] for link in parse(path).links}
            assert all(url in hrefs for url in cited), f"{path}: sources not linked"
            alts = [squash(alt) for alt in parse(path).alts]
            for figure in section.figures:
                assert f'data-figure="{figure}"' in text
                assert (site / "figures" / language / f"{figure}.png").is_file()
                caption = squash(label(content, language, content.figure_by_id[figure].caption))
                assert caption in alts, f"{path}: no picture with the caption of {figure} as its text alternative"
        assert (site / comparison_path(language)).is_file()


def test_index_has_the_diagram_topics_rules_readability_and_version(site: Path, content: Content) -> None:
    index = site / "index.html"
    text = index.read_text(encoding="utf-8")
    page = parse(index)
    assert content.version in text
    assert 'id="flow-source"' in text and "stateDiagram-v2" in text  # the source, readable without JavaScript
    hrefs = {(local_target(index, link["href"]) or Path()) for link in page.links}
    for language in content.texts.languages:
        assert (site / state_path(language, content.flow.start)).resolve() in hrefs
        for section in content.sections:
            assert (site / topic_path(language, section.id)).resolve() in hrefs
    for rule in content.candidacy.rules:
        row = re.search(rf'<tr id="rule-{rule.id}">(.*?)</tr>', text, re.S)
        assert row is not None, rule.id
        assert plain_text(content.texts.get("en", rule.reason))[:30] in plain_text(row.group(1)).replace("&#x27;", "'")
        assert rule.example in row.group(1)
    section = text[text.index('id="readability"') : text.index('id="translations"')]
    for language, target in TARGETS.items():  # every text listed misses its language's target, with its score
        row = rf'<tr><td><code>([a-z0-9_.]+)</code></td><td lang="{language}">.*?<td>([\d.-]+)</td>'
        for key, score in re.findall(row, section):
            measured = grade(language, content.texts.by_language[language][key])
            assert not target.met(measured) and abs(measured - float(score)) < 0.06, (language, key, score)


def test_a_hard_text_is_listed_and_a_missing_translation_is_marked(tmp_path: Path, content: Content) -> None:
    copy = tmp_path / "content"
    shutil.copytree(CONTENT, copy)
    spanish = copy / "texts" / "es.yaml"
    texts = yaml.safe_load(spanish.read_text(encoding="utf-8"))
    del texts["welcome"]
    spanish.write_text(yaml.safe_dump(texts, allow_unicode=True, sort_keys=False), encoding="utf-8")
    english = copy / "texts" / "en.yaml"
    hard = (
        "Notwithstanding considerable interindividual heterogeneity, epidemiological investigations "
        "consistently demonstrate that degenerative lumbar canal narrowing frequently remains asymptomatic, "
        "necessitating circumspect interpretation of radiological abnormalities."
    )
    english_texts = yaml.safe_load(english.read_text(encoding="utf-8"))
    english_texts["info_only"] = hard
    english.write_text(yaml.safe_dump(english_texts, allow_unicode=True, sort_keys=False), encoding="utf-8")
    assert load_content(copy).content is None  # the bot's own loader refuses it: a translation is missing

    out = tmp_path / "site"
    assert main(["preview", "--content", str(copy), "--out", str(out)]) == 0

    welcome_es = (out / state_path("es", "welcome")).read_text(encoding="utf-8")
    assert 'class="untranslated" data-key="welcome"' in welcome_es
    assert squash(label(content, "en", "welcome"))[:40] in squash(plain_text(welcome_es))  # English, as the bot does
    assert "untranslated" not in (out / state_path("en", "welcome")).read_text(encoding="utf-8")
    assert "untranslated" not in (out / state_path("es", "region")).read_text(encoding="utf-8")
    index = (out / "index.html").read_text(encoding="utf-8")
    missing = re.search(r'<ul class="missing-keys" data-language="es">(.*?)</ul>', index)
    assert missing is not None and "<code>welcome</code>" in missing.group(1)
    readability = index[index.index('id="readability"') : index.index('id="translations"')]
    assert "<code>info_only</code>" in readability


def test_it_empties_only_a_folder_it_made(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    precious = tmp_path / "notes"
    precious.mkdir()
    (precious / "keep.txt").write_text("mine", encoding="utf-8")
    assert main(["preview", "--content", str(CONTENT), "--out", str(precious)]) == 2
    assert (precious / "keep.txt").read_text(encoding="utf-8") == "mine"
    assert "not empty" in capsys.readouterr().err
    out = tmp_path / "site"
    assert main(["preview", "--content", str(CONTENT), "--out", str(out)]) == 0
    (out / "en" / "states" / "stale.html").write_text("old", encoding="utf-8")
    assert main(["preview", "--content", str(CONTENT), "--out", str(out)]) == 0  # an earlier preview: rebuilt
    assert not (out / "en" / "states" / "stale.html").exists()
    assert "wrote" in capsys.readouterr().out


# --- in a real browser ------------------------------------------------------------------------------------


def test_walk_through_the_site_in_a_browser(site: Path, content: Content, tmp_path: Path) -> None:
    from playwright.sync_api import Page, Route, sync_playwright

    assert Path(CHROMIUM).is_file(), "Debian's Chromium is needed: apt-get install -y chromium"
    requested: list[str] = []
    outside: list[str] = []

    def offline(route: Route) -> None:
        url = route.request.url
        if url.startswith("file://"):
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    def at(page: Page, state: str, variant: str | None = None, language: str = "en") -> None:
        expected = (site / state_path(language, state, variant)).resolve().as_uri()
        assert page.url == expected, f"expected {state_path(language, state, variant)}, at {page.url}"

    def shows(page: Page, key: str, language: str = "en") -> None:
        chat = squash(page.locator(".chat").first.inner_text())
        assert squash(label(content, language, key)) in chat, f"{page.url} does not show {key}"

    def tap(page: Page, key: str) -> None:
        wanted = label(content, "en", key)
        page.locator("a.button", has_text=re.compile(rf"^\s*{re.escape(wanted)}\s*$")).first.click()

    def branch(page: Page, to: str) -> None:
        page.locator(f'.branches a[data-to="{to}"]').first.click()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1100, "height": 900})
            context.route("**/*", offline)
            context.on("request", lambda request: requested.append(request.url))
            page = context.new_page()
            page.goto((site / "index.html").as_uri())
            page.wait_for_selector("#flow-diagram svg", timeout=30_000)
            assert page.locator("body").get_attribute("data-diagram") == "drawn"
            assert page.locator("#flow-diagram svg g.node").count() >= len(content.flow.states)
            index_shot = tmp_path / "preview-index.png"
            page.screenshot(path=str(index_shot), full_page=True, clip={"x": 0, "y": 0, "width": 1100, "height": 1700})

            page.locator('a[data-start="en"]').click()
            at(page, "welcome")
            shows(page, "welcome")
            tap(page, "common.continue")
            for state in ("safety_cauda", "safety_legs", "safety_neck", "safety_other"):
                at(page, state)
                shows(page, content.states[state].text)
                tap(page, "common.no")
            at(page, "consent")
            shows(page, "consent.ask")
            tap(page, "consent.agree")
            at(page, "region")
            shows(page, "region.ask")
            tap(page, "region.low_back")
            at(page, "leg_symptoms")
            shows(page, "leg_symptoms.ask")
            branch(page, "duration")  # Done: "otherwise" (the region is not "both")
            at(page, "duration")
            tap(page, "duration.over_1_year")
            at(page, "pain")
            shows(page, "pain.ask")
            page.locator("a.button", has_text=re.compile(r"^\s*6\s*$")).click()
            at(page, "mri")
            tap(page, "common.yes")
            at(page, "mri_findings")
            shows(page, "mri_findings.ask")
            tap(page, "common.done")
            at(page, "mri_severity")
            tap(page, "mri_severity.mild")
            at(page, "treatments")
            branch(page, "health")  # Done: no injections ticked
            at(page, "health")
            tap(page, "health.good")
            at(page, "goal")
            shows(page, "goal.ask")
            tap(page, "common.skip")
            at(page, "result")  # the result depends on the answers: pick the example patient
            page.locator(f'a[data-variant="{WALKED_EXAMPLE}"]').click()
            at(page, "result", WALKED_EXAMPLE)
            patient = example(content, WALKED_EXAMPLE)
            found = evaluate(content.candidacy, patient.answers)
            shows(page, "result.intro")
            shows(page, found.outcome.title)
            for finding in found.findings:
                shows(page, finding.rule.reason)
            state_shot = tmp_path / "preview-state.png"
            page.screenshot(path=str(state_shot), full_page=True)

            page.locator('nav.languages a[hreflang="es"]').click()
            at(page, "result", WALKED_EXAMPLE, "es")
            assert page.locator("html").get_attribute("lang") == "es"
            shows(page, found.outcome.title, "es")
            shows(page, "result.intro", "es")
        finally:
            browser.close()

    assert outside == [], f"requests left file://: {outside}"
    assert any(url.endswith("/assets/mermaid.min.js") for url in requested)  # the listener saw the page's own files
    assert all(url.startswith("file://") for url in requested)
    for shot in (index_shot, state_shot):
        assert shot.read_bytes().startswith(b"\x89PNG")
        if os.environ.get("PREVIEW_SCREENSHOTS"):  # refresh docs/preview-*.png
            shutil.copyfile(shot, Path(os.environ["PREVIEW_SCREENSHOTS"]) / shot.name)
