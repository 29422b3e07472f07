"""The decision aid's content: typed questions find their topic, every topic is reachable and cited,
emergency advice is complete in every language, and the personal summary PDF carries answers and sources."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest
import yaml
from pypdf import PdfReader

from bot.summary_pdf import render_pdf
from flows.content import Content
from flows.engine import Engine
from flows.events import Choose, Done, ShowMenu, Toggle, Typed, decode
from flows.limits import plain_text
from flows.loader import load_content
from flows.session import Session

ROOT = Path(__file__).resolve().parent.parent
TYPED = yaml.safe_load((ROOT / "tests" / "data" / "typed_questions.yaml").read_text(encoding="utf-8"))


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


def test_the_typed_question_data_is_big_enough() -> None:
    assert len(TYPED["en"]) >= 30 and len(TYPED["es"]) >= 30


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
    assert offered[0] == decode(f"s:{section}"), [b.label for row in reply.buttons for b in row]
    assert step.session == session  # the current question stays where it was


def test_text_that_matches_nothing_points_to_the_buttons(engine: Engine) -> None:
    step = engine.step(at_question(engine, "en"), Typed("qwertyuiop asdf"))
    assert [r.key for r in step.replies] == ["notice.use_buttons", "duration.ask"]


@pytest.mark.parametrize("language", ["en", "es"])
def test_every_section_is_in_the_menu_and_opens_with_its_sources(engine: Engine, language: str) -> None:
    session = at_question(engine, language)
    menu = engine.step(session, ShowMenu()).replies[0]
    opened = set()
    for row in menu.buttons:
        event = decode(row[0].data)
        reply = engine.step(session, event).replies[0]
        if reply.key.startswith("section."):
            section = engine.content.section_by_id[reply.key.split(".")[1]]
            assert section.sources, section.id
            assert plain_text(reply.text).count("•") >= len(section.sources)
            opened.add(section.id)
    assert opened == set(engine.content.section_by_id)
    assert len(opened) >= 20


@pytest.mark.parametrize("language", ["en", "es"])
def test_sections_are_written_in_both_languages(content: Content, language: str) -> None:
    for section in content.sections:
        for key in (section.title, section.body, section.keywords):
            assert key is not None and key in content.texts.by_language[language], (language, key)


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize(
    "key", ["urgent.cauda", "urgent.cord", "urgent.other", "section.urgent_help.body", "info_only"]
)
def test_emergency_texts_say_where_to_go_and_whom_to_call(content: Content, language: str, key: str) -> None:
    text = content.texts.by_language[language][key]
    for number in ("911", "999", "112"):
        assert number in text, (language, key, number)
    place = {"en": "emergency department", "es": "urgencias"}[language]
    assert place in text, (language, key)


def test_the_language_follows_the_telegram_setting(engine: Engine) -> None:
    assert engine.new_session("es-MX").language == "es"
    assert engine.new_session("de").language == "en"
    assert engine.new_session(None).language == "en"
    welcome = engine.step(engine.new_session("es"), Typed("hola")).replies[-1]
    assert welcome.text == engine.content.texts.get("es", "welcome")


def walk_to_summary(engine: Engine) -> Session:
    """A low-back patient answering everything, up to the summary."""
    session = engine.new_session("en")
    taps: list[tuple[str, str]] = [
        ("c", "ok"),
        ("c", "agree"),
        ("c", "flag_no"),
        ("c", "flag_no"),
        ("c", "flag_no"),
        ("c", "low_back"),
        ("t", "walking_pain"),
        ("d", ""),
        ("c", "over_1_year"),
        ("c", "6"),
        ("c", "had_mri"),
        ("t", "bulging_disc"),
        ("d", ""),
        ("c", "moderate"),
        ("t", "physio"),
        ("d", ""),
        ("c", "good"),
        ("t", "low_cost"),
        ("d", ""),
    ]
    for kind, value in taps:
        event = {"c": Choose(session.step, value), "t": Toggle(session.step, value), "d": Done(session.step)}[kind]
        session = engine.step(session, event).session
    session = engine.step(session, Typed("walk to the shops")).session
    for value in ("ok", "wait", "yes", "no", "yes", "yes", "ok"):
        session = engine.step(session, Choose(session.step, value)).session
    assert session.state == "summary"
    return session


def test_the_summary_pdf_holds_the_answers_result_and_sources(engine: Engine) -> None:
    session = walk_to_summary(engine)
    step = engine.step(session, Choose(session.step, "pdf"))
    document = step.replies[0].document
    assert document is not None
    assert step.session == session  # asking for the PDF changes nothing
    pdf = render_pdf(document, date(2026, 11, 23))
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    flat = " ".join(text.split())
    assert "2026-11-23" in flat
    for expected in (
        "Where it is: Low back and legs",
        "MRI showed: Bulging disc",
        "Your goal: walk to the shops",
        "Leaning towards: Wait and see",
        "Your answers match the profile clinics describe",
        "[32] Levi 2025",
    ):
        assert expected in flat, expected
    assert "Questions to ask your doctor" in flat
