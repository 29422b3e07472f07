"""Numbers as pictures (issue 12) through the real Application and the offline Bot API: the options table after
the comparison, icon arrays after the summary and after a topic, each a photo with its caption (its text
alternative) and the buttons on the last one; the caption as text, with the same buttons, when Telegram refuses
a photo; the figures in the summary PDF and its large-print twin; and the validator's checks of figures.

What each picture shows is checked pixel by pixel in tests/test_pictures.py; here a photo is checked to be that
picture of its figure.
"""

from __future__ import annotations

import io
import re
import shutil
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageChops
from pypdf import PdfReader
from telegram.constants import MessageLimit

import bot.delivery
from bot.delivery import MAX_ATTEMPTS
from bot.pictures import Pictures
from bot.plaintext import to_plain
from flows import problems
from tests.conftest import CONTENT, BotEnv
from tests.fake_bot_api import parse_telegram_html
from tests.test_loader import assert_problem, line_of, only, replace, set_text
from tests.test_telegram_decision_aid import (
    SUMMARY_BUTTONS,
    SUMMARY_FIGURES,
    Patient,
    content,
    example,
    text_of,
)

DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@cache
def pictures() -> Pictures:
    """The real content's figures, drawn the way the bot draws them."""
    return Pictures(content())


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record the waits of the retry logic instead of sleeping."""
    waited: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        waited.append(seconds)

    monkeypatch.setattr(bot.delivery, "sleep", fake_sleep)
    return waited


def upload(sent: dict[str, Any]) -> tuple[str, bytes]:
    """The one file of a sendPhoto or sendDocument call: its name and bytes."""
    files = sent.get("_files") or {}
    assert len(files) == 1, f"{len(files)} files in one call"
    return next(iter(files.items()))


def figure_of(photo: dict[str, Any]) -> str:
    """The figure a photo shows, by its file name (<figure>.png)."""
    return upload(photo)[0].removesuffix(".png")


def check_photo(p: Patient, photo: dict[str, Any], figure: str) -> None:
    """A photo as Telegram got it: the figure drawn (a PNG at least 1,000 px wide), with the figure's caption in
    the patient's language as Telegram HTML within the 1,024 characters a caption may have."""
    name, png = upload(photo)
    assert name == f"{figure}.png"
    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG" and image.width >= 1000, (figure, image.size)
        image.load()  # the whole picture decodes
    assert png == pictures().png(figure, p.language), f"{name} is not the drawing of {figure} in {p.language}"
    caption_key = content().figure_by_id[figure].caption
    assert photo["caption"] == text_of(caption_key, p.language)
    assert photo["parse_mode"] == "HTML"
    shown, errors = parse_telegram_html(photo["caption"])
    assert errors == [] and 0 < len(shown) <= MessageLimit.CAPTION_LENGTH


def photo_messages(p: Patient) -> list[dict[str, Any]]:
    """The chat's photos as they look now (buttons cleared once tapped), oldest first."""
    return [m for m in p.user.messages() if "photo" in m]


async def at_result(p: Patient) -> None:
    """A low-back patient whose result allows a hand-off, at the result."""
    await p.consent()
    await p.answer_intake(example("low_back_profile"), "walk to the shops")
    assert await p.state() == "result"


async def to_sure_advice(p: Patient, leaning: str) -> None:
    """From the result to the advice after the SURE questions (nothing matters a lot: no nudge)."""
    await p.tap("ok")  # the result
    await p.tap("ok")  # the comparison
    await p.weigh({})
    await p.knowledge_check()
    await p.tap(leaning)
    await p.sure(("yes",) * 4)
    assert await p.state() == "sure_high"


async def to_summary(p: Patient, leaning: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """From the result to the summary; returns the messages and the photos sent after the last tap."""
    await to_sure_advice(p, leaning)
    before = len(p.photos())
    sent = await p.tap("ok")
    assert await p.state() == "summary"
    return sent, p.photos()[before:]


# --- the photos, where they belong ---------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "es"])
async def test_the_comparison_is_followed_by_the_table_as_a_photo_carrying_its_buttons(
    bot_env: BotEnv, language: str
) -> None:
    p = Patient.of(bot_env, language=language)
    await at_result(p)
    before = len(p.photos())
    sent = await p.tap("ok")
    assert [p.says(m, "comparison.intro") for m in sent] == [True]
    assert p.names(sent[0]) == [], "the buttons are under the table, at the bottom of the chat"
    [table] = p.photos()[before:]
    check_photo(p, table, "options_table")
    assert p.names(table) == ["ok", "back"]
    *_, message, photo = p.user.messages()  # the chat as it looks: the comparison, then the table under it
    assert p.says(message, "comparison.intro") and "photo" in photo and photo["photo"][0]["width"] >= 1000

    sent = await p.tap("ok")  # Continue, under the table
    assert p.says(sent[-1], "values.ask")
    assert "reply_markup" not in photo_messages(p)[-1], "the tapped photo's buttons are cleared"


@pytest.mark.parametrize("leaning", ["exercise", "stem_cells", "unsure"])
async def test_the_summary_is_followed_by_icon_arrays_with_the_buttons_on_the_last(
    bot_env: BotEnv, leaning: str
) -> None:
    p = Patient.of(bot_env)
    await at_result(p)
    sent, photos = await to_summary(p, leaning)
    assert p.says(sent[-1], "summary.intro") and p.names(sent[-1]) == []
    assert [figure_of(photo) for photo in photos] == list(SUMMARY_FIGURES[leaning])
    for photo in photos:
        check_photo(p, photo, figure_of(photo))
        assert content().figure_by_id[figure_of(photo)].kind == "icon_array"
    assert [p.names(photo) for photo in photos] == [[]] * (len(photos) - 1) + [SUMMARY_BUTTONS]

    sent = await p.tap("ok")  # Continue, under the last picture
    assert p.says(sent[-1], "follow_up.offer")
    sent = await p.tap("no")  # no check-ins
    assert p.says(sent[-1], "own_doctor")


async def test_a_topic_is_followed_by_its_figures_and_one_without_figures_is_text_alone(bot_env: BotEnv) -> None:
    p = Patient.of(bot_env)
    await p.start()
    await p.send("/menu")
    before = len(p.photos())
    sent = await p.tap("section:surgery")
    assert [p.says(m, "section.surgery.body") for m in sent] == [True] and p.names(sent[0]) == []
    photos = p.photos()[before:]
    figures = ["surgery_improves", "surgery_side_effects", "surgery_repeat"]
    assert [figure_of(photo) for photo in photos] == figures
    for photo, figure in zip(photos, figures, strict=True):
        check_photo(p, photo, figure)
    assert [p.names(photo) for photo in photos] == [[], [], ["menu", "resume"]]

    await p.tap("menu")
    before = len(p.photos())
    sent = await p.tap("section:epidural")
    assert p.says(sent[-1], "section.epidural.body") and p.names(sent[-1]) == ["menu", "resume"]
    assert p.photos()[before:] == []
    sent = await p.tap("resume")
    assert p.says(sent[-1], "welcome")


@pytest.mark.parametrize("language", ["en", "es"])
async def test_a_walk_to_the_end_shows_the_table_and_icon_arrays_as_photos(bot_env: BotEnv, language: str) -> None:
    p = Patient.of(bot_env, language=language)
    await p.walk(example("neck_pain_only"), leaning="surgery")
    sent = await p.tap("ok")
    assert p.says(sent[-1], "follow_up.offer")
    sent = await p.tap("no")
    assert p.says(sent[-1], "own_doctor")
    await p.tap("ok")
    assert await p.state() == "menu"
    figures = [figure_of(photo) for photo in p.photos()]
    assert figures == ["options_table", *SUMMARY_FIGURES["surgery"]]
    assert any(content().figure_by_id[f].kind == "icon_array" for f in figures)
    for photo in p.photos():
        check_photo(p, photo, figure_of(photo))
    assert len(photo_messages(p)) == len(figures)


# --- when Telegram refuses a photo ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "times", "retries", "as_photo"),
    [("400", 1, 0, False), ("500", MAX_ATTEMPTS, MAX_ATTEMPTS - 1, False), ("500", 1, 1, True)],
    ids=["refused", "server-error-each-time", "server-error-once"],
)
async def test_a_failed_photo_is_sent_as_its_caption_with_the_same_buttons(
    bot_env: BotEnv, sleeps: list[float], fault: str, times: int, retries: int, as_photo: bool
) -> None:
    p = Patient.of(bot_env)
    await at_result(p)
    for _ in range(times):
        bot_env.api.inject(fault, "sendPhoto")
    before = len(p.photos())
    sent = await p.tap("ok")
    assert len(sleeps) == retries  # a refusal is final; a server error is tried again, a few times
    photos = p.photos()[before:]
    if as_photo:  # a server error once: sent again, as a photo
        assert [p.says(m, "comparison.intro") for m in sent] == [True]
        assert [figure_of(photo) for photo in photos] == ["options_table"]
        assert p.names(photos[0]) == ["ok", "back"]
    else:  # the patient still gets the words of the picture, and a way on
        assert photos == []
        assert [p.says(m, "comparison.intro") for m in sent] == [True, False]
        assert sent[1]["text"] == text_of("figure.options_table.caption")
        assert p.names(sent[0]) == [] and p.names(sent[1]) == ["ok", "back"]
    assert bot_env.api.faults == []
    sent = await p.tap("ok")
    assert p.says(sent[-1], "values.ask")


async def test_refused_summary_photos_arrive_as_captions_and_the_last_keeps_the_summary_buttons(
    bot_env: BotEnv,
) -> None:
    p = Patient.of(bot_env)
    await at_result(p)
    await to_sure_advice(p, "exercise")
    for _ in SUMMARY_FIGURES["exercise"]:
        bot_env.api.inject("400", "sendPhoto")
    before = len(p.photos())
    sent = await p.tap("ok")
    assert p.photos()[before:] == []
    assert p.says(sent[0], "summary.intro") and p.names(sent[0]) == []
    captions = [text_of(f"figure.{figure}.caption") for figure in SUMMARY_FIGURES["exercise"]]
    assert [m["text"] for m in sent[1:]] == captions
    assert [p.names(m) for m in sent[1:]] == [[], SUMMARY_BUTTONS]
    await p.tap("pdf")  # the buttons work from the text
    assert len(bot_env.api.documents) == 1 and bot_env.api.documents[0].startswith(b"%PDF")


# --- the summary PDF ---------------------------------------------------------------------------------


async def summary_pdfs(env: BotEnv, leaning: str = "exercise") -> dict[str, bytes]:
    """The summary PDF and the large-print one, as sent to a patient who leans towards `leaning`, by file name."""
    p = Patient.of(env)
    await at_result(p)
    await to_summary(p, leaning)
    summary = p.keyboard()
    assert await p.tap("pdf") == [] and await p.tap("pdf_large", summary) == []  # files, no new message
    assert await p.state() == "summary"
    sent = env.api.sent(p.chat_id, method="sendDocument")
    assert [p.says(document["caption"], "summary.pdf_caption") for document in sent] == [True, True]
    return dict(upload(document) for document in sent)


async def test_both_summary_pdfs_hold_the_figures_of_the_leaning_its_comparator_and_the_table(
    bot_env: BotEnv,
) -> None:
    pdfs = await summary_pdfs(bot_env, "exercise")
    assert sorted(pdfs) == ["summary-large-print.pdf", "summary.pdf"]
    # every figure of exercise (where the patient leans) and of stem cells (its comparator), then the table
    figures = ["physio_then_surgery", "cells_vs_dummy_6_months", "cells_vs_dummy_12_months", "options_table"]
    for name, data in pdfs.items():
        reader = PdfReader(io.BytesIO(data))
        images = [image.image for page in reader.pages for image in page.images]
        assert len(images) == len(figures), name
        for image, figure in zip(images, figures, strict=True):
            assert image is not None and image.width >= 1000, (name, figure)
            with Image.open(io.BytesIO(pictures().png(figure, "en"))) as drawn:
                assert image.size == drawn.size, (name, figure)
                difference = ImageChops.difference(image.convert("RGB"), drawn.convert("RGB"))
                assert difference.getbbox() is None, f"{name}: the image is not the drawing of {figure}"


def text_runs(data: bytes) -> list[tuple[str, float]]:
    """Every run of text in a PDF with the size it is printed at (pt), page by page."""
    runs: list[tuple[str, float]] = []

    def visitor(text: str, cm: list[float], tm: list[float], font: Any, size: float) -> None:
        if text.strip():
            runs.append((text.strip(), size * abs(tm[3]) * abs(cm[3])))

    for page in PdfReader(io.BytesIO(data)).pages:
        page.extract_text(visitor_text=visitor)
    return runs


async def test_the_large_print_pdf_sets_its_body_text_at_16_pt_or_more(bot_env: BotEnv) -> None:
    pdfs = await summary_pdfs(bot_env)
    large, normal = text_runs(pdfs["summary-large-print.pdf"]), text_runs(pdfs["summary.pdf"])
    body = [(text, size) for text, size in large if not DATE.fullmatch(text)]  # all but the date under the title
    assert len(body) > 50
    assert min(size for _, size in body) >= 16, [run for run in body if run[1] < 16][:5]
    # the same lines, larger than in the normal PDF (whose body is 11 pt)
    region = next(text for text, _ in normal if text.startswith("• ") and "Low back" in text)
    assert dict(normal)[region] < 16 <= dict(large)[region]
    disclaimer = to_plain(text_of("result.disclaimer"))
    assert any(disclaimer.startswith(text) and size >= 16 for text, size in large)
    doctor = text_of("summary.clinician_heading")
    assert [size for text, size in large if text == doctor] == [max(size for _, size in large)]  # its own title


# --- the validator ------------------------------------------------------------------------------------


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    """A private copy of the real content to break."""
    root = tmp_path / "content"
    shutil.copytree(CONTENT, root)
    return root


def test_a_figure_caption_over_telegrams_caption_limit_is_reported(broken: Path) -> None:
    caption = "The six options side by side, as a table, in the same order as the message above. " * 13
    assert len(caption) > MessageLimit.CAPTION_LENGTH
    path, line = set_text(broken, "figure.options_table.caption", caption)
    problem = only(broken, problems.TextTooLong)
    assert_problem(problem, path, line, "'figure.options_table.caption'", f"over {MessageLimit.CAPTION_LENGTH}")


@pytest.mark.parametrize(
    ("file", "old", "new", "after"),
    [
        # the comparison state (the first check-in's comparison shows the same table, then a menu button)
        ("flow.yaml", "figures: [options_table]", "figures: [options_tabel]", "\n    notes:"),
        ("sections.yaml", "figures: [natural_history]", "figures: [natural_histroy]", ""),  # the topic on waiting
    ],
    ids=["state", "topic"],
)
def test_an_unknown_figure_of_a_state_or_a_topic_is_reported(
    broken: Path, file: str, old: str, new: str, after: str
) -> None:
    path = broken / file
    text = replace(path, old + after, new + after)  # what follows tells the state apart where its figures recur
    wrong = new.removeprefix("figures: [").removesuffix("]")
    problem = only(broken, problems.UnknownReference)
    assert_problem(problem, path, line_of(text, new), f"unknown figure '{wrong}'")
    assert "options_table" in problem.hint and "natural_history" in problem.hint  # the figures there are


def test_an_unknown_comparator_of_the_summary_is_reported(broken: Path) -> None:
    flow = broken / "flow.yaml"
    text = replace(  # the summary's (the second check-in's summary has the same comparators)
        flow,
        "    leaning: leaning\n    compare_with: [stem_cells, surgery]\n",
        "    leaning: leaning\n    compare_with: [stem_cell, surgery]\n",
    )
    problem = only(broken, problems.UnknownReference)
    assert_problem(problem, flow, line_of(text, "stem_cell,"), "'stem_cell' is not an option of decision.yaml")
    assert "stem_cells" in problem.hint


@pytest.mark.parametrize("language", ["en", "es"])
def test_every_figure_is_a_photo_telegram_takes(language: str) -> None:
    """Width and height add up to at most 10,000 px, neither side over 20 times the other, at most 10 MB."""
    for figure in content().figure_by_id:
        png = pictures().png(figure, language)
        assert len(png) <= 10 * 2**20, figure
        with Image.open(io.BytesIO(png)) as image:
            width, height = image.size
            assert width >= 1000 and width + height <= 10_000, (figure, image.size)
            assert max(width, height) <= 20 * min(width, height), (figure, image.size)
