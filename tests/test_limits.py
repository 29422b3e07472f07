"""flows.limits: what Telegram accepts (HTML, length) and splitting long texts into messages."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.limits import MAX_MESSAGE_CHARS, callback_fits, html_problems, split_message, visible_length


@pytest.mark.parametrize(
    "text",
    [
        "plain words",
        "<b>bold</b> and <i>italic</i>, <u>under</u>, <s>struck</s>",
        "<strong>a</strong><em>b</em><ins>c</ins><del>d</del><strike>e</strike>",
        '<a href="https://example.org/?a=1&amp;b=2">a link</a>',
        "<blockquote>quoted</blockquote>",
        "<pre><code>x = 1</code></pre>",
        "<tg-spoiler>hidden</tg-spoiler>",
        "Tom &amp; Jerry, 1 &lt; 2 &gt; 0, &quot;q&quot;, &#39; &#x27;",
        "<b>nested <i>tags</i> closed in order</b>",
        "emoji 🚨 and accents: café",
    ],
)
def test_html_telegram_accepts_has_no_problems(text: str) -> None:
    assert html_problems(text) == []


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("<div>block</div>", "<div>"),
        ("<p>para</p>", "<p>"),
        ("<b>never closed", "<b> is never closed"),
        ("<b><i>crossed</b></i>", "does not match"),
        ("closed only</b>", "</b>"),
        ("Tom & Jerry", "'&amp;'"),
        ("AT&T", "'&amp;'"),
        ("1 < 2", "'&lt;'"),
        ("<a>no link</a>", "href"),
        ('<a href="">empty link</a>', "href"),
    ],
)
def test_html_telegram_rejects_is_reported(text: str, fragment: str) -> None:
    problems = html_problems(text)
    assert problems, text
    assert any(fragment in problem for problem in problems), problems


def test_every_html_problem_is_reported_not_only_the_first() -> None:
    problems = html_problems("Tom & Jerry <div>x</div> <b>open")
    assert any("&amp;" in problem for problem in problems)
    assert any("<div>" in problem for problem in problems)
    assert any("<b> is never closed" in problem for problem in problems)


@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("hello", 5),
        ("<b>hello</b>", 5),
        ('<a href="https://example.org/very/long/address">go</a>', 2),
        ("Tom &amp; Jerry", 11),
        ("1 &lt; 2", 5),
        ("&#39;", 1),
        ("café 🚨", 6),
        ("", 0),
    ],
)
def test_visible_length_counts_what_the_reader_sees(text: str, length: int) -> None:
    assert visible_length(text) == length


def test_short_text_is_one_message_unchanged() -> None:
    text = "<b>Title</b>\n\nFirst paragraph.\n\nSecond paragraph."
    assert split_message(text) == [text]
    exactly = "x" * MAX_MESSAGE_CHARS
    assert split_message(exactly) == [exactly]


def test_long_text_is_split_on_paragraphs() -> None:
    paragraphs = [f"Paragraph {n}: " + "word " * 30 for n in range(6)]  # about 163 characters each
    text = "\n\n".join(p.strip() for p in paragraphs)
    parts = split_message(text, limit=400)
    assert len(parts) == 3
    assert all(visible_length(part) <= 400 for part in parts)
    assert "\n\n".join(parts) == text
    # no paragraph is cut in two
    for part in parts:
        assert all(paragraph.startswith("Paragraph ") for paragraph in part.split("\n\n"))


def test_paragraph_longer_than_the_limit_is_split_on_lines_then_words() -> None:
    lines = "\n".join(f"line {n} " + "abc " * 10 for n in range(10))
    parts = split_message(lines, limit=120)
    assert all(len(part) <= 120 for part in parts)
    assert all(part.startswith("line ") for part in parts)

    words = " ".join(["word"] * 100)  # one line of 499 characters
    parts = split_message(words, limit=50)
    assert all(len(part) <= 50 for part in parts)
    assert " ".join(parts) == words


def test_a_word_longer_than_the_limit_is_cut() -> None:
    word = "x" * 250
    parts = split_message(word, limit=100)
    assert [len(part) for part in parts] == [100, 100, 50]
    assert "".join(parts) == word


def test_tags_do_not_count_toward_the_limit() -> None:
    paragraph = "<b>" + "y" * 90 + "</b>"  # 97 characters written, 90 shown
    text = paragraph + "\n\n" + paragraph
    assert split_message(text, limit=182) == [text]  # 90 + 2 + 90 shown
    assert split_message(text, limit=181) == [paragraph, paragraph]
    parts = split_message(text, limit=100)
    assert parts == [paragraph, paragraph]
    assert all(html_problems(part) == [] for part in parts)


def test_a_real_long_message_fits_telegram() -> None:
    text = "\n\n".join(f"<b>Topic {n}</b>\n" + "Some plain words here. " * 40 for n in range(8))
    assert visible_length(text) > MAX_MESSAGE_CHARS
    parts = split_message(text)
    assert len(parts) >= 2
    assert all(visible_length(part) <= MAX_MESSAGE_CHARS for part in parts)
    assert all(html_problems(part) == [] for part in parts)
    assert "\n\n".join(parts) == text


def squeeze(text: str) -> str:
    return re.sub(r"\s", "", text)


@settings(max_examples=200, deadline=None)
@given(
    text=st.text(alphabet=st.sampled_from(list("ab é🚨.,\n")), max_size=400),
    limit=st.integers(min_value=1, max_value=60),
)
def test_split_never_exceeds_the_limit_and_loses_nothing(text: str, limit: int) -> None:
    parts = split_message(text, limit=limit)
    assert all(visible_length(part) <= limit for part in parts)
    assert squeeze("".join(parts)) == squeeze(text)
    if visible_length(text) <= limit:
        assert parts == [text]


@settings(max_examples=200, deadline=None)
@given(
    paragraphs=st.lists(
        st.text(alphabet=st.sampled_from(list("abc de.\n")), min_size=1, max_size=40).filter(
            lambda p: "\n\n" not in p and p.strip() == p and p != ""
        ),
        min_size=1,
        max_size=12,
    ),
)
def test_paragraphs_that_fit_are_kept_whole(paragraphs: list[str]) -> None:
    text = "\n\n".join(paragraphs)
    parts = split_message(text, limit=40)
    assert all(visible_length(part) <= 40 for part in parts)
    assert "\n\n".join(parts) == text


@pytest.mark.parametrize(
    ("data", "fits"),
    [("c1:agree", True), ("x" * 64, True), ("x" * 65, False), ("é" * 32, True), ("é" * 33, False), ("", False)],
)
def test_callback_fits_counts_bytes(data: str, fits: bool) -> None:
    assert callback_fits(data) is fits
