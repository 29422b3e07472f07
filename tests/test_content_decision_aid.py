"""The decision aid's content: typed questions find their topic, every topic is in a menu group and cites its
sources as links, emergency and urgent advice names the right numbers in every language, and the personal
summary PDF carries the answers, the sources, who is behind the guide and a page for the doctor."""

from __future__ import annotations

import html
import io
import re
from datetime import date
from pathlib import Path

import pytest
import yaml
from pypdf import PdfReader

from bot.summary_pdf import printable, render_pdf
from flows.content import Content
from flows.engine import Engine
from flows.events import Choose, ShowComparison, ShowMenu, ShowSection, Typed, decode
from flows.limits import plain_text
from flows.loader import load_content
from flows.session import Session
from flows.stages import Stage
from tests.test_candidacy import LOW_BACK_PROFILE, Answers, walk

ROOT = Path(__file__).resolve().parent.parent
TYPED = yaml.safe_load((ROOT / "tests" / "data" / "typed_questions.yaml").read_text(encoding="utf-8"))
EMERGENCY_NUMBERS = {
    "en": ("999", "911", "112"),
    "es": ("112", "911", "123", "131", "107", "106", "número local de emergencias"),
}
URGENT_NUMBERS = {"en": (*EMERGENCY_NUMBERS["en"], "111"), "es": EMERGENCY_NUMBERS["es"]}
PLACE = {"en": "A&E", "es": "urgencias"}  # where to go


@pytest.fixture(scope="module")
def content() -> Content:
    result = load_content(ROOT / "content")
    assert result.content is not None, [str(p) for p in result.problems]
    return result.content


@pytest.fixture(scope="module")
def engine(content: Content) -> Engine:
    return Engine(content)


def at_question(engine: Engine, language: str, state: str = "duration") -> Session:
    session = engine.new_session(language)
    return session.model_copy(update={"state": state, "consent": True, "history": ["region"], "step": 7})


# --- typed questions --------------------------------------------------------------------------------


def test_the_typed_question_data_is_big_enough_and_names_real_topics(content: Content) -> None:
    assert len(TYPED["en"]) >= 30 and len(TYPED["es"]) >= 30
    named = {section for rows in TYPED.values() for _, section in rows}
    assert named <= set(content.section_by_id), named - set(content.section_by_id)
    assert len(named) >= 20, "the questions cover most topics"


@pytest.mark.parametrize(
    ("language", "question", "section"),
    [(language, q, s) for language, rows in TYPED.items() for q, s in rows],
)
def test_a_typed_question_offers_its_topic_first_and_keeps_the_question(
    engine: Engine, language: str, question: str, section: str
) -> None:
    session = at_question(engine, language)
    step = engine.step(session, Typed(question))
    reply = step.replies[0]
    assert reply.key == "typed.matches"
    offered = [decode(row[0].data) for row in reply.buttons]
    assert offered[0] == ShowSection(section), [b.label for row in reply.buttons for b in row]
    assert step.session == session  # the current question stays where it was
    assert not step.changed


def test_text_that_matches_nothing_points_to_the_buttons(engine: Engine) -> None:
    step = engine.step(at_question(engine, "en"), Typed("qwertyuiop asdf"))
    assert [r.key for r in step.replies] == ["notice.use_buttons", "duration.ask"]


# --- topics: menu groups and sources ----------------------------------------------------------------


def source_link(content: Content, source_id: str) -> str:
    source = content.source_by_id[source_id]
    title = html.escape(source.title)
    return f'<a href="{html.escape(source.url, quote=True)}">{title}</a>' if source.url else title


@pytest.mark.parametrize("language", ["en", "es"])
def test_every_section_is_in_a_menu_group_and_opens_with_its_sources_as_links(
    engine: Engine, content: Content, language: str
) -> None:
    session = at_question(engine, language)
    main = engine.step(session, ShowMenu()).replies[0]
    events = [decode(row[0].data) for row in main.buttons]
    assert events[0] == ShowComparison(), "the comparison of all options comes first"
    groups = [event.group for event in events if isinstance(event, ShowMenu) and event.group is not None]
    assert groups == [group.id for group in content.groups[1:]]
    opened: dict[str, str] = {}
    for group, menu in [(content.groups[0].id, main)] + [
        (g, engine.step(session, ShowMenu(g)).replies[0]) for g in groups
    ]:
        for row in menu.buttons:
            event = decode(row[0].data)
            if not isinstance(event, ShowSection):
                continue
            reply = engine.step(session, event).replies[0]
            section = content.section_by_id[event.section]
            assert reply.key == section.body
            assert section.sources, section.id
            for source_id in section.sources:
                assert source_link(content, source_id) in reply.text, (section.id, source_id)
            opened[section.id] = group
    assert opened == {section.id: section.group for section in content.sections}
    assert len(opened) >= 20


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_comparison_from_the_menu_shows_every_option_in_order(
    engine: Engine, content: Content, language: str
) -> None:
    reply = engine.step(at_question(engine, language), ShowComparison()).replies[0]
    assert reply.key == "comparison.heading"
    text = plain_text(reply.text)
    names = [plain_text(content.texts.get(language, option.name)) for option in content.options]
    positions = [text.index(f"{number}. {name}") for number, name in enumerate(names, start=1)]
    assert positions == sorted(positions)


@pytest.mark.parametrize("language", ["en", "es"])
def test_sections_are_written_in_both_languages(content: Content, language: str) -> None:
    for section in content.sections:
        for key in (section.title, section.body, section.keywords):
            assert key is not None and key in content.texts.by_language[language], (language, key)


# --- emergency and urgent advice --------------------------------------------------------------------


def emergency_keys(content: Content) -> list[str]:
    """The advice of every emergency stop, and the topic about getting help now."""
    stops = [state.text for state in content.flow.states if state.stage is Stage.RED_FLAG]
    return [*stops, "section.urgent_help.body"]


def urgent_keys(content: Content) -> list[str]:
    """The advice shown when a doctor should see the patient today, and the topic about getting help now."""
    advice = [
        getattr(state, "before", None) or state.text for state in content.flow.states if state.stage is Stage.URGENT
    ]
    return [*advice, "section.urgent_help.body"]


def test_the_flow_has_emergency_and_urgent_advice(content: Content) -> None:
    assert len(emergency_keys(content)) >= 4  # cauda equina, a weakening leg, neck signs; the topic
    assert urgent_keys(content)[0] == "urgent.advice"


@pytest.mark.parametrize("language", ["en", "es"])
def test_emergency_texts_say_where_to_go_and_whom_to_call(content: Content, language: str) -> None:
    for key in emergency_keys(content):
        text = plain_text(content.texts.by_language[language][key])
        for number in EMERGENCY_NUMBERS[language]:
            assert number in text, (language, key, number)
        assert PLACE[language] in text, (language, key)


@pytest.mark.parametrize("language", ["en", "es"])
def test_urgent_texts_say_whom_to_call(content: Content, language: str) -> None:
    for key in urgent_keys(content):
        text = plain_text(content.texts.by_language[language][key])
        for number in URGENT_NUMBERS[language]:
            assert number in text, (language, key, number)
        assert PLACE[language] in text, (language, key)


def test_no_spanish_text_says_revisate(content: Content) -> None:
    found = [key for key, text in content.texts.by_language["es"].items() if "revísate" in text.lower()]
    assert found == []


def test_the_language_follows_the_telegram_setting(engine: Engine) -> None:
    assert engine.new_session("es-MX").language == "es"
    assert engine.new_session("de").language == "en"
    assert engine.new_session(None).language == "en"
    welcome = engine.step(engine.new_session("es"), Typed("hola")).replies[-1]
    assert welcome.text == engine.content.texts.get("es", "welcome")


# --- the personal summary PDF -----------------------------------------------------------------------

PATIENT: Answers = {  # a low-back patient who answers everything
    **LOW_BACK_PROFILE,
    "goal": "walk to the shops",
    "values": {"proven": "a_lot", "low_cost": "a_little", "avoid_surgery": "not_at_all"},
    "leaning": "exercise",
}


def squeeze(text: str) -> str:
    """Text without any white space: the PDF wraps lines (and long addresses) anywhere."""
    return "".join(text.split())


def pdf_pages(engine: Engine, answers: Answers, language: str = "en") -> list[str]:
    """The summary PDF of a patient who answered as `answers` say, as the text of each page."""
    session = walk(engine, answers, until="summary", language=language)
    step = engine.step(session, Choose(session.step, "pdf"))
    assert step.session == session and not step.changed  # asking for the PDF changes nothing
    assert [reply.key for reply in step.replies] == ["summary.pdf_caption"]
    document = step.replies[0].document
    assert document is not None
    pdf = render_pdf(document, date(2026, 11, 23))
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def doctors_page(pages: list[str], content: Content, language: str = "en") -> int:
    """The index of the page that starts the part for the doctor."""
    title = printable(plain_text(content.texts.get(language, "summary.clinician_heading")))
    starts = [i for i, page in enumerate(pages) if page.strip().startswith(title)]
    assert len(starts) == 1, "the part for the doctor starts a page of its own"
    return starts[0]


def said(content: Content, key: str, language: str = "en") -> str:
    return printable(plain_text(content.texts.get(language, key)))


def answer_line(content: Content, question: str, option: str, clinical: bool = False, language: str = "en") -> str:
    """'Question: answer' as the summary writes it, in plain words or clinical terms."""
    if clinical:
        label, answer = f"clinical_label.{question}", f"clinical.{question}.{option}"
        return f"{said(content, label, language)}: {said(content, answer, language)}"
    state = content.states[question]
    label = next(o.label for o in state.options if o.id == option)  # type: ignore[attr-defined]
    return f"{said(content, state.short, language)}: {said(content, label, language)}"  # type: ignore[attr-defined]


def test_the_summary_pdf_holds_the_answers_result_and_sources(engine: Engine, content: Content) -> None:
    pages = pdf_pages(engine, PATIENT)
    patient = squeeze(" ".join(pages[: doctors_page(pages, content)]))
    assert "2026-11-23" in patient
    for expected in (
        answer_line(content, "region", "low_back"),
        answer_line(content, "mri_findings", "bulging_disc"),
        answer_line(content, "leaning", "exercise"),
        f"{said(content, 'goal.short')}: walk to the shops",
        said(content, "outcome.may_be_discussed.title"),
        said(content, "reason.clinic_profile"),
        said(content, "summary.questions_heading"),
    ):
        assert squeeze(expected) in patient, expected
    cited = dict.fromkeys(source for section in content.sections for source in section.sources)
    for source_id in cited:
        source = content.source_by_id[source_id]
        assert squeeze(printable(source.title)) in patient, source_id
        if source.url:
            assert squeeze(source.url) in patient, source.url


def test_the_summary_pdf_says_who_is_behind_the_guide(engine: Engine, content: Content) -> None:
    pages = pdf_pages(engine, PATIENT)
    patient = " ".join(pages[: doctors_page(pages, content)])
    about = squeeze(patient.split(said(content, "summary.about"), 1)[1].split(said(content, "summary.sources"))[0])
    disclosure = said(content, "result.disclosure")
    assert squeeze(disclosure) in about
    assert "funding" in disclosure.lower()
    assert re.search(
        r"reviewed: (January|February|March|April|May|June|July|August|September|October|November|"
        r"December) 20\d\d",
        disclosure,
    ), "the date the evidence was last reviewed"
    assert content.clinics, "content/clinics.yaml lists the clinics that share links"
    for clinic in content.clinics:
        assert squeeze(f"{printable(clinic.name)}: {said(content, clinic.relationship)}") in about


@pytest.mark.parametrize(
    ("screen", "answers"),
    [("summary.screen_clear", PATIENT), ("summary.screen_urgent", {**PATIENT, "safety": "urgent"})],
)
def test_the_summary_pdf_has_a_page_for_the_doctor(
    engine: Engine, content: Content, screen: str, answers: Answers
) -> None:
    pages = pdf_pages(engine, answers)
    first = doctors_page(pages, content)
    assert first >= 1
    doctor = squeeze(" ".join(pages[first:]))
    patient = squeeze(" ".join(pages[:first]))
    for expected in (
        said(content, "summary.clinician_intro"),
        said(content, "summary.screen"),
        said(content, screen),
        answer_line(content, "region", "low_back", clinical=True),
        answer_line(content, "leg_symptoms", "walking_pain", clinical=True),
        answer_line(content, "mri_findings", "bulging_disc", clinical=True),
        answer_line(content, "leaning", "exercise", clinical=True),
        f"{said(content, 'clinical_label.sure')}: 4/4",
    ):
        assert squeeze(expected) in doctor, expected
    assert "Neurogenicclaudication" in doctor
    assert "Neurogenicclaudication" not in patient, "the patient's pages use their own words"
    other = "summary.screen_urgent" if screen == "summary.screen_clear" else "summary.screen_clear"
    assert squeeze(said(content, other)) not in doctor


def test_the_summary_pdf_in_spanish(engine: Engine, content: Content) -> None:
    pages = pdf_pages(engine, PATIENT, language="es")
    first = doctors_page(pages, content, "es")
    doctor = squeeze(" ".join(pages[first:]))
    assert squeeze(answer_line(content, "leg_symptoms", "walking_pain", clinical=True, language="es")) in doctor
    assert squeeze(said(content, "summary.screen_clear", "es")) in doctor
    patient = squeeze(" ".join(pages[:first]))
    assert squeeze(answer_line(content, "region", "low_back", language="es")) in patient
    assert "Claudicaciónneurógena" in doctor, "Spanish accents survive in the PDF"
