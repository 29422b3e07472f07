"""flows.yamlsource: YAML is parsed with the line of every value, so problems can name `file:line`."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.yamlsource import YamlSyntaxError, load_yaml


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "doc.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_values_keep_their_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "# a comment\nstart: welcome\nstates:\n  - id: one\n    type: message\n\n  - id: two\n    options: [a, b]\n",
    )
    document = load_yaml(path)
    assert document.data == {
        "start": "welcome",
        "states": [{"id": "one", "type": "message"}, {"id": "two", "options": ["a", "b"]}],
    }
    assert document.lines[("start",)] == 2
    assert document.lines[("states", 0, "id")] == 4
    assert document.lines[("states", 0, "type")] == 5
    assert document.lines[("states", 1, "id")] == 7
    assert document.lines[("states", 1, "options", 1)] == 8


def test_line_of_falls_back_to_the_deepest_known_value(tmp_path: Path) -> None:
    document = load_yaml(write(tmp_path, "a: 1\nb:\n  c: 2\n"))
    assert document.line_of(("b", "c", "missing", 3)) == 3
    assert document.line_of(("b", "nothing")) == 3  # a nested mapping starts at its first key
    assert document.line_of(("a", "deeper")) == 1
    assert document.line_of(("nowhere",)) == 1


def test_block_scalars_start_on_the_key_line_of_their_value(tmp_path: Path) -> None:
    document = load_yaml(write(tmp_path, "first: x\nbody: |\n  line one\n  line two\nlast: y\n"))
    assert document.data["body"] == "line one\nline two\n"
    assert document.line_of(("body",)) == 2
    assert document.line_of(("last",)) == 5


def test_duplicate_keys_are_recorded_with_the_line_of_the_repeat(tmp_path: Path) -> None:
    document = load_yaml(write(tmp_path, "a: 1\nb:\n  x: 1\n  y: 2\n  x: 3\n"))
    assert document.duplicate_keys == [("x", 5)]
    assert document.data["b"]["x"] == 3


@pytest.mark.parametrize("word", ["yes", "no", "on", "off", "true", "null", "~"])
def test_keys_yaml_reads_as_booleans_or_null_are_flagged_and_kept_as_written(tmp_path: Path, word: str) -> None:
    document = load_yaml(write(tmp_path, f"common:\n  {word}: Sure\n  maybe: Maybe\n"))
    assert document.ambiguous_keys == [(word, 2)]
    assert document.data["common"][word] == "Sure"


def test_quoted_yes_is_an_ordinary_key(tmp_path: Path) -> None:
    document = load_yaml(write(tmp_path, 'common:\n  "yes": "Yes"\n  "no": "No"\n'))
    assert document.ambiguous_keys == []
    assert document.data == {"common": {"yes": "Yes", "no": "No"}}


def test_syntax_error_names_the_line_of_the_mistake(tmp_path: Path) -> None:
    path = write(tmp_path, "a: 1\nb:\n  - x\n  c: 2\nd: 3\n")
    with pytest.raises(YamlSyntaxError) as caught:
        load_yaml(path)
    assert caught.value.path == path
    assert caught.value.line == 4
    assert caught.value.message


def test_unclosed_quote_is_a_syntax_error(tmp_path: Path) -> None:
    with pytest.raises(YamlSyntaxError) as caught:
        load_yaml(write(tmp_path, 'a: "open\nb: 2\n'))
    assert caught.value.line >= 1


def test_empty_file_has_no_data(tmp_path: Path) -> None:
    document = load_yaml(write(tmp_path, "# nothing here\n"))
    assert document.data is None
    assert document.line_of(("anything",)) == 1
