"""Content validation: one broken copy of the real content per rule, checked for class, file, line and message.

Each test edits a copy of `content/` (flow.yaml, sections.yaml, candidacy.yaml, clinics.yaml, decision.yaml,
sources.yaml and texts/) in tmp_path by string replacement and computes the expected line from the edited text,
so the tests follow the content when it grows.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from flows import problems as p
from flows.loader import LoadResult, load_content
from flows.readability import grade
from flows.yamlsource import load_yaml

ROOT = Path(__file__).resolve().parent.parent
CONTENT = ROOT / "content"


@pytest.fixture
def content(tmp_path: Path) -> Path:
    """A private copy of the real content to break."""
    root = tmp_path / "content"
    shutil.copytree(CONTENT, root)
    return root


def replace(path: Path, old: str, new: str) -> str:
    """Replace the single occurrence of `old` in `path`; returns the new text."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} should appear exactly once in {path.name}"
    text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")
    return text


def line_after(text: str, anchor: str, fragment: str) -> int:
    """1-based line of the first `fragment` after the (single) `anchor` in `text`."""
    assert text.count(anchor) == 1, f"{anchor!r} should appear exactly once"
    index = text.index(fragment, text.index(anchor))
    return text[:index].count("\n") + 1


def append(path: Path, extra: str) -> str:
    text = path.read_text(encoding="utf-8").rstrip("\n") + "\n" + extra
    path.write_text(text, encoding="utf-8")
    return text


def line_of(text: str, fragment: str, occurrence: int = 1) -> int:
    """1-based line of the `occurrence`-th appearance of `fragment` in `text`."""
    index = -1
    for _ in range(occurrence):
        index = text.index(fragment, index + 1)
    return text[:index].count("\n") + 1


def texts_file(root: Path, key: str, language: str = "en") -> Path:
    """The texts file (texts/<lang>.yaml or texts/<lang>.<part>.yaml) in which `key` is written."""
    for path in sorted((root / "texts").glob(f"{language}.*yaml")):
        if tuple(key.split(".")) in load_yaml(path).lines:
            return path
    raise AssertionError(f"text {key!r} is not written in {root / 'texts'}")


def set_text(root: Path, key: str, value: str, language: str = "en") -> tuple[Path, int]:
    """Rewrite the text `key` (e.g. 'region.short') as a quoted one-line value; returns its file and line."""
    path = texts_file(root, key, language)
    line = load_yaml(path).lines[tuple(key.split("."))]
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    first = lines[line - 1]
    indent = len(first) - len(first.lstrip())
    end = line
    while end < len(lines) and (not lines[end].strip() or len(lines[end]) - len(lines[end].lstrip()) > indent):
        end += 1  # the rest of a block text (|), and blank lines after it
    name = key.split(".")[-1]
    lines[line - 1 : end] = [f"{' ' * indent}{json.dumps(name)}: {json.dumps(value, ensure_ascii=False)}\n\n"]
    path.write_text("".join(lines), encoding="utf-8")
    return path, line


def text_line(root: Path, key: str, language: str = "en") -> tuple[Path, int, str]:
    """The file, line and raw line of the text `key`."""
    path = texts_file(root, key, language)
    line = load_yaml(path).lines[tuple(key.split("."))]
    return path, line, path.read_text(encoding="utf-8").splitlines()[line - 1]


def only(root: Path, kind: type[p.Problem]) -> p.Problem:
    """Load `root` (all checks, readability included); assert exactly one problem was found, of class `kind`,
    and no content was returned."""
    result = load_content(root, readability=True)
    assert result.content is None
    assert [type(problem) for problem in result.problems] == [kind], "\n".join(map(str, result.problems))
    return result.problems[0]


def assert_problem(problem: p.Problem, path: Path, line: int, *fragments: str) -> None:
    assert problem.path == path, str(problem)
    assert problem.line == line, str(problem)
    for fragment in fragments:
        assert fragment in problem.message, str(problem)
    assert problem.hint, "every problem says how to fix it"
    assert str(problem) == f"{path}:{line}: {problem.message} ({problem.hint})"


# --- the real content -------------------------------------------------------------------------------


def test_real_content_has_no_problems() -> None:
    result = load_content(CONTENT, readability=True)
    assert result.problems == []
    assert result.content is not None
    assert result.content.flow.start in result.content.states


def test_content_version_changes_when_a_text_changes(content: Path) -> None:
    before = load_content(content).content
    set_text(content, "region.short", "Where it hurts")
    after = load_content(content).content
    assert before is not None and after is not None
    assert before.version != after.version
    assert after.texts.get("en", "region.short") == "Where it hurts"


# --- files and YAML ---------------------------------------------------------------------------------


def test_yaml_syntax_error(content: Path) -> None:
    flow = content / "flow.yaml"
    text = replace(flow, "  - id: info_only\n    type: message\n", "  - id: info_only\n    type: [message\n")
    problem = only(content, p.YamlSyntax)
    # the parser notices the unclosed list where the next key starts
    assert_problem(problem, flow, line_of(text, "type: [message") + 1, "not valid YAML")


@pytest.mark.parametrize(
    "name", ["flow.yaml", "sections.yaml", "candidacy.yaml", "clinics.yaml", "decision.yaml", "sources.yaml"]
)
def test_missing_file(content: Path, name: str) -> None:
    (content / name).unlink()
    assert_problem(only(content, p.MissingFile), content / name, 1, "not found")


def test_missing_default_language_texts(content: Path) -> None:
    (content / "texts" / "en.yaml").unlink()
    problems = load_content(content).problems
    missing = [problem for problem in problems if isinstance(problem, p.MissingFile)]
    assert len(missing) == 1
    assert_problem(missing[0], content / "texts" / "en.yaml", 1, "texts not found")


def test_schema_violation_unknown_field(content: Path) -> None:
    flow = content / "flow.yaml"
    text = replace(flow, "    text: info_only\n", "    text: info_only\n    colour: blue\n")
    problem = only(content, p.SchemaViolation)
    assert_problem(problem, flow, line_of(text, "colour: blue"), "colour")
    assert "remove it" in problem.hint


def test_schema_violation_unknown_state_type_points_at_the_state(content: Path) -> None:
    flow = content / "flow.yaml"
    text = replace(flow, "  - id: pain\n    type: scale\n", "  - id: pain\n    type: slider\n")
    problem = only(content, p.SchemaViolation)
    assert_problem(problem, flow, line_of(text, "  - id: pain"), "'slider'")
    assert "single" in problem.hint and "scale" in problem.hint


def test_schema_violation_unquoted_yes_key_in_texts(content: Path) -> None:
    path, line, raw = text_line(content, "common.yes")
    assert '"yes":' in raw
    replace(path, raw, raw.replace('"yes":', "yes:"))
    problem = only(content, p.SchemaViolation)
    assert_problem(problem, path, line, "'yes'", "true/false")
    assert '"yes"' in problem.hint


def test_schema_violation_text_that_is_not_a_string(content: Path) -> None:
    path, line, raw = text_line(content, "region.short")
    replace(path, raw + "\n", "  short: 42\n")
    assert_problem(only(content, p.SchemaViolation), path, line, "region.short", "string")


def test_duplicate_key(content: Path) -> None:
    path, line, raw = text_line(content, "region.short")
    replace(path, raw + "\n", raw + "\n  short: Where\n")
    problem = only(content, p.DuplicateKey)
    assert_problem(problem, path, line + 1, "'short'", "twice")


def test_duplicate_text_in_two_files_of_one_language(content: Path) -> None:
    extra = content / "texts" / "en.z.yaml"  # read after en.yaml
    extra.write_text("# more texts\nregion:\n  short: Where\n", encoding="utf-8")
    first, first_line, _ = text_line(content, "region.short")
    problem = only(content, p.DuplicateKey)
    assert_problem(problem, extra, 3, "'region.short'", f"{first.name}:{first_line}")


# --- ids and references -----------------------------------------------------------------------------


def test_duplicate_state_id(content: Path) -> None:
    flow = content / "flow.yaml"
    text = append(flow, "\n  - id: menu\n    type: menu\n    text: menu.intro\n")
    problem = only(content, p.DuplicateId)
    assert_problem(problem, flow, line_of(text, "  - id: menu", occurrence=2), "state id 'menu'")


def test_duplicate_option_id(content: Path) -> None:
    flow = content / "flow.yaml"
    old = "{id: flag_yes, label: common.yes, next: urgent_advice}"  # in safety_other, before its flag_no
    text = replace(flow, old, "{id: flag_no, label: common.yes, next: urgent_advice}")
    problem = only(content, p.DuplicateId)
    assert_problem(
        problem, flow, line_of(text, "{id: flag_no, label: common.no, next: consent}"), "option id 'flag_no'"
    )


def test_unknown_reference_next_state(content: Path) -> None:
    flow = content / "flow.yaml"
    text = replace(
        flow,
        "    text: info_only\n    button: common.menu\n    next: menu\n",
        "    text: info_only\n    button: common.menu\n    next: manu\n",
    )
    problem = only(content, p.UnknownReference)
    assert_problem(problem, flow, line_of(text, "next: manu"), "'info_only'", "unknown state 'manu'")
    assert "menu" in problem.hint


def test_unknown_reference_condition_on_unknown_question(content: Path) -> None:
    flow = content / "flow.yaml"
    text = replace(flow, "when: {answer: region, is: neck}", "when: {answer: regoin, is: neck}")
    problem = only(content, p.UnknownReference)
    assert_problem(problem, flow, line_of(text, "answer: regoin"), "'regoin'")
    assert "region" in problem.hint


def test_unknown_reference_condition_on_unknown_option(content: Path) -> None:
    sections = content / "sections.yaml"
    text = replace(sections, "{answer: region, in: [neck, both]}", "{answer: region, in: [neck, bothh]}")
    problem = only(content, p.UnknownReference)
    assert_problem(problem, sections, line_of(text, "bothh"), "'region' has no option 'bothh'")
    assert "both" in problem.hint


def test_unknown_reference_condition_test_that_does_not_fit_the_question(content: Path) -> None:
    sections = content / "sections.yaml"
    text = replace(sections, "{answer: duration, is: over_1_year}", "{answer: duration, includes: [over_1_year]}")
    problem = only(content, p.UnknownReference)
    assert_problem(problem, sections, line_of(text, "{answer: duration, includes"), "'includes'", "(choice)")
    assert "is, in" in problem.hint


@pytest.mark.parametrize(
    ("outcome", "rule"),
    [
        ("see_specialist_first", "cord_signs"),  # other rules fire for its example patient too
        ("not_yet", "no_scan"),  # the only rule that fires for its example patient
    ],
)
def test_unknown_reference_rule_to_unknown_outcome(content: Path, outcome: str, rule: str) -> None:
    candidacy = content / "candidacy.yaml"
    text = replace(
        candidacy,
        f"    outcome: {outcome}\n    reason: reason.{rule}",
        f"    outcome: see_a_specialist\n    reason: reason.{rule}",
    )
    try:
        result: LoadResult | None = load_content(content)
    except StopIteration:  # flows.candidacy.evaluate, run on the example patients by flows/checks/candidacy.py
        result = None
    assert result is not None, (
        f"the validator crashed (StopIteration) on rule '{rule}' pointing to an unknown outcome, instead of "
        "reporting it: flows/checks/candidacy.py evaluates the example patients with the broken rule"
    )
    assert result.content is None
    unknown = [problem for problem in result.problems if isinstance(problem, p.UnknownReference)]
    assert len(unknown) == 1, "\n".join(map(str, result.problems))
    assert_problem(unknown[0], candidacy, line_of(text, "see_a_specialist"), "unknown outcome 'see_a_specialist'")
    assert "see_specialist_first" in unknown[0].hint
    # the only other thing it may cause: its example patient no longer gets the outcome written beside them
    assert {type(problem) for problem in result.problems} <= {p.UnknownReference, p.ExampleMismatch}


def test_unknown_action(content: Path) -> None:
    flow = content / "flow.yaml"
    text = replace(flow, "action: grant_consent,", "action: grant_consnet,")
    problem = only(content, p.UnknownAction)
    assert_problem(problem, flow, line_of(text, "grant_consnet"), "'grant_consnet'")
    assert "grant_consent" in problem.hint


def test_unknown_source(content: Path) -> None:
    sections = content / "sections.yaml"
    text = replace(sections, 'sources: ["64"]', 'sources: ["640"]')
    problem = only(content, p.UnknownReference)
    assert_problem(problem, sections, line_of(text, '"640"'), "unknown source '640'")
    assert "sources.yaml" in problem.hint


def test_unknown_source_of_a_figure(content: Path) -> None:
    decision = content / "decision.yaml"
    text = replace(decision, 'source: "141"', 'source: "1410"')
    problem = only(content, p.UnknownReference)
    assert_problem(problem, decision, line_of(text, '"1410"'), "unknown source '1410'")


def test_unknown_group_of_a_section(content: Path) -> None:
    sections = content / "sections.yaml"
    text = replace(
        sections,
        "keywords: section.about.keywords\n    group: general\n",
        "keywords: section.about.keywords\n    group: generl\n",
    )
    problem = only(content, p.UnknownReference)
    assert_problem(problem, sections, line_of(text, "group: generl"), "unknown group 'generl'")
    assert "general" in problem.hint and "options" in problem.hint


def test_unknown_decision_option_of_a_section(content: Path) -> None:
    sections = content / "sections.yaml"
    text = replace(sections, "    option: wait\n", "    option: waiting\n")
    problem = only(content, p.UnknownReference)
    assert_problem(problem, sections, line_of(text, "option: waiting"), "unknown option 'waiting'")
    assert "decision.yaml" in problem.hint and "stem_cells" in problem.hint


def test_unknown_topic_of_a_decision_option(content: Path) -> None:
    decision = content / "decision.yaml"
    text = replace(decision, "    section: waiting\n", "    section: waitng\n")
    problem = only(content, p.UnknownReference)
    assert_problem(problem, decision, line_of(text, "section: waitng"), "unknown topic 'waitng'")


def test_nudge_must_name_a_weighted_values_question(content: Path) -> None:
    flow = content / "flow.yaml"
    text = replace(flow, "    values: values\n", "    values: leaning\n")
    result = load_content(content)
    assert result.content is None
    line = line_of(text, "values: leaning")
    at_values = [problem for problem in result.problems if problem.line == line]
    assert len(at_values) == 1, "\n".join(map(str, result.problems))
    assert_problem(at_values[0], flow, line, "'leaning' is not a weighted values question")
    assert "values" in at_values[0].hint  # names the weighted question to use
    nudge = line_of(text, "  - id: nudge")
    assert all(problem.path == flow and problem.line > nudge for problem in result.problems), result.problems


def test_nudge_conflict_with_an_unknown_value(content: Path) -> None:
    flow = content / "flow.yaml"
    old = "{leaning: surgery, value: few_visits, text: nudge.surgery.few_visits}"
    text = replace(flow, old, "{leaning: surgery, value: fewer_visits, text: nudge.surgery.few_visits}")
    problem = only(content, p.UnknownReference)
    assert_problem(problem, flow, line_of(text, "value: fewer_visits"), "'values' has no item 'fewer_visits'")
    assert "few_visits" in problem.hint


# --- candidacy: example patients --------------------------------------------------------------------


def test_rule_that_does_not_fire_for_its_example_patient(content: Path) -> None:
    candidacy = content / "candidacy.yaml"
    text = replace(candidacy, "    example: no_scan\n", "    example: facet_arthritis\n")
    problem = only(content, p.ExampleMismatch)
    assert_problem(
        problem, candidacy, line_of(text, "example: facet_arthritis"), "'no_scan'", "example patient 'facet_arthritis'"
    )


def test_example_patient_with_the_wrong_outcome(content: Path) -> None:
    candidacy = content / "candidacy.yaml"
    old = "[facet_arthritis], mri_severity: moderate, treatments: [physio],\n"
    old += "              health: good}\n    outcome: unclear\n"
    assert candidacy.read_text(encoding="utf-8").endswith(old)  # the last example patient
    text = replace(candidacy, old, old.replace("outcome: unclear", "outcome: may_be_discussed"))
    problem = only(content, p.ExampleMismatch)
    line = text.count("\n")  # the last line
    assert_problem(problem, candidacy, line, "'facet_arthritis' gets 'unclear', not 'may_be_discussed'")


def test_example_patient_with_an_answer_the_question_does_not_have(content: Path) -> None:
    candidacy = content / "candidacy.yaml"
    old = "mri: no_mri, treatments: [physio], health: good}"
    text = replace(candidacy, old, "mri: no_mri, treatments: [yoga], health: good}")
    problem = only(content, p.UnknownReference)
    assert_problem(problem, candidacy, line_of(text, "treatments: [yoga]"), "'treatments' has no option yoga")
    assert "physio" in problem.hint


# --- the decision's figures -------------------------------------------------------------------------


def test_figure_groups_that_do_not_add_up(content: Path) -> None:
    decision = content / "decision.yaml"
    old = "{id: no_surgery, label: figure.group.no_surgery, count: 43, rest: true}"
    text = replace(decision, old, old.replace("43", "42"))
    problem = only(content, p.FigureMismatch)
    panel = line_after(text, "  - id: physio_then_surgery", "      - groups:")
    assert_problem(problem, decision, panel, "'physio_then_surgery'", "add up to 99, not 100")


def test_figure_range_that_cannot_reach_the_denominator(content: Path) -> None:
    decision = content / "decision.yaml"
    old = "{id: none, label: figure.group.no_side_effects, count: 76, high: 90, rest: true}"
    text = replace(decision, old, old.replace("count: 76, high: 90", "count: 66, high: 70"))  # 10-24 and 66-70
    problem = only(content, p.FigureMismatch)
    panel = line_after(text, "  - id: surgery_side_effects", "      - groups:")
    assert_problem(problem, decision, panel, "'surgery_side_effects'", "add up to 76-94, not 100")


def test_caption_that_misses_a_number_of_its_figure(content: Path) -> None:
    caption = (
        "What happened to leg pain over about 3 years in 100 people with moderate stenosis who were not advised "
        "surgery: better in 32, the same in 55, worse in a few."
    )
    path, line = set_text(content, "figure.natural_history.caption", caption)
    problem = only(content, p.FigureMismatch)
    assert_problem(problem, path, line, "'figure.natural_history.caption' (en)", "does not state 13", "natural_history")


def test_spanish_caption_that_misses_a_number(content: Path) -> None:
    caption = "Medio dolor o más desaparecido a los 12 meses: 44 de cada 100 con células, y más con la inyección falsa."
    path, line = set_text(content, "figure.cells_vs_dummy_12_months.caption", caption, language="es")
    problem = only(content, p.FigureMismatch)
    assert path.name.startswith("es.")
    assert_problem(problem, path, line, "(es)", "does not state 56")


def test_caption_without_its_time_frame(content: Path) -> None:
    caption = "Of 100 people who had stenosis surgery, 18 had another operation later. Source: Gerling 2016 (SPORT)."
    path, line = set_text(content, "figure.surgery_repeat.caption", caption)
    problem = only(content, p.FigureMismatch)
    assert_problem(problem, path, line, "'figure.surgery_repeat.caption' (en)", "time frame '8 years'")
    assert "figure.surgery_repeat.time_frame" in problem.hint


def test_options_figures_line_that_misses_a_number(content: Path) -> None:
    line_text = "About 85 in 100 improve (one NHS leaflet). Side effects in 10 to 24 in 100. Another operation later."
    path, line = set_text(content, "option.surgery.figures", line_text)
    problem = only(content, p.FigureMismatch)
    assert_problem(problem, path, line, "'option.surgery.figures' (en)", "does not state 18")
    assert "surgery_repeat" in problem.hint


def test_figures_line_numbers_are_read_as_the_patient_sees_them(content: Path) -> None:
    """A number inside a tag (a link's address) is not stated; one in bold is."""
    line_text = (
        "About <b>85</b> in 100 improve. Side effects in 10 to 24 in 100. "
        '<a href="https://example.org/18">Another operation</a> within 8 years.'
    )
    path, line = set_text(content, "option.surgery.figures", line_text)
    assert_problem(only(content, p.FigureMismatch), path, line, "does not state 18")
    set_text(content, "option.surgery.figures", line_text.replace("</a> within", "</a> in 18 in 100 within"))
    assert load_content(content, readability=True).problems == []


# --- composed messages ------------------------------------------------------------------------------


def test_comparison_over_telegrams_limit_in_one_language(content: Path) -> None:
    """Every text is short enough on its own; the comparison they make up is too long in Spanish only."""
    spanish = load_content(content).content
    assert spanish is not None
    longer = spanish.texts.get("es", "option.wait.what") + " Caminar un poco cada día ayuda." * 8
    set_text(content, "option.wait.what", longer, language="es")
    flow = content / "flow.yaml"
    problem = only(content, p.TextTooLong)
    line = line_of(flow.read_text(encoding="utf-8"), "  - id: compare")
    assert_problem(problem, flow, line, "comparison in 'compare' (es)", "over 4096")
    assert "decision.yaml" in problem.hint
    length = int(problem.message.split(" has ")[1].split(" characters")[0])
    assert 4096 < length < 4096 + 300


# --- shape of the flow ------------------------------------------------------------------------------


def test_unreachable_state(content: Path) -> None:
    flow = content / "flow.yaml"
    text = append(flow, "\n  - id: forgotten\n    type: stop\n    text: emergency.cauda\n")
    problem = only(content, p.UnreachableState)
    assert_problem(problem, flow, line_of(text, "id: forgotten"), "'forgotten'")


def test_dead_end_safety_option_without_next(content: Path) -> None:
    flow = content / "flow.yaml"
    old = "{id: flag_yes, label: common.yes, next: urgent_advice}"  # in safety_other
    text = replace(flow, old, "{id: flag_yes, label: common.yes}")
    problem = only(content, p.DeadEnd)
    assert_problem(problem, flow, line_of(text, "{id: flag_yes, label: common.yes}"), "'flag_yes'", "'safety_other'")
    assert "next" in problem.hint


def test_safety_option_cannot_run_an_action(content: Path) -> None:
    flow = content / "flow.yaml"
    old = "{id: flag_no, label: common.no, next: consent}"
    text = replace(flow, old, "{id: flag_no, label: common.no, next: consent, action: grant_consent}")
    problem = only(content, p.SchemaViolation)
    assert_problem(problem, flow, line_of(text, "action: grant_consent}"), "safety question", "'flag_no'")
    assert "consent" in problem.hint


def test_dead_end_branch_list_without_default(content: Path) -> None:
    flow = content / "flow.yaml"
    text = replace(flow, "        to: mri_findings\n      - to: treatments\n", "        to: mri_findings\n")
    problem = only(content, p.DeadEnd)
    # the problem points at the branch list of 'mri'
    assert_problem(problem, flow, line_of(text, "      - when: {answer: mri, is: had_mri}"), "'mri'")
    assert "only 'to'" in problem.hint


# --- texts ------------------------------------------------------------------------------------------


def test_missing_text(content: Path) -> None:
    flow = content / "flow.yaml"
    text = replace(flow, "    text: info_only\n", "    text: info_only_page\n")
    problem = only(content, p.MissingText)
    assert_problem(problem, flow, line_of(text, "text: info_only_page"), "'info_only_page'")
    assert "texts/en.yaml" in problem.hint


def test_missing_system_text(content: Path) -> None:
    path, _, raw = text_line(content, "notice.stale")
    replace(path, raw + "\n", "")
    assert_problem(only(content, p.MissingText), content / "texts" / "en.yaml", 1, "'notice.stale'")


def spanish_copy(root: Path) -> None:
    """texts/es*.yaml as exact copies of texts/en*.yaml."""
    for english in (root / "texts").glob("en.*yaml"):
        shutil.copy(english, english.with_name("es" + english.name[2:]))


def test_missing_translation(content: Path) -> None:
    english, line, raw = text_line(content, "region.short")
    spanish_copy(content)
    replace(english.with_name("es" + english.name[2:]), raw + "\n", "")
    problem = only(content, p.MissingTranslation)
    assert_problem(problem, english, line, "'region.short'", "es")
    assert "texts/es.yaml" in problem.hint


def test_complete_translation_is_a_language(content: Path) -> None:
    spanish_copy(content)
    result = load_content(content)
    assert result.problems == []
    assert result.content is not None
    assert result.content.texts.languages == ["en", "es"]


def test_text_too_long(content: Path) -> None:
    body = "Ask us. " * 520  # 4159 characters once trimmed, over Telegram's 4096
    path, line = set_text(content, "info.privacy", body)
    problem = only(content, p.TextTooLong)
    assert_problem(problem, path, line, "'info.privacy'", str(len(body.strip())), "4096")


def test_text_length_counts_what_telegram_shows_not_the_tags(content: Path) -> None:
    body = "<b>" + "Ask us. " * 500 + "</b> &amp; <i>" + "x" * 90 + "</i>"  # 4092 visible characters
    set_text(content, "info.privacy", body)
    assert load_content(content).problems == []


def test_notice_too_long(content: Path) -> None:
    notice = "Please tap a button. " * 10 + "Thanks"  # 216 characters: fine as a message, too long for a pop-up
    path, line = set_text(content, "notice.stale", notice)
    problem = only(content, p.TextTooLong)
    assert_problem(problem, path, line, "'notice.stale'", "216", "200")
    assert "pop-up" in problem.hint


@pytest.mark.parametrize(
    ("broken", "fragment"),
    [
        ("Thank you. <div>Where are your symptoms mostly?</div>", "<div>"),
        ("Thank you. <b>Where are your symptoms mostly?", "never closed"),
        ("Thank you & welcome. <b>Where are your symptoms mostly?</b>", "'&amp;'"),
        ("Thank you. <b>Where are your symptoms mostly?</i></b>", "</i>"),
        ("Thank you. <b>Where are your symptoms, 1 < 2?</b>", "'&lt;'"),
        ('See <a title="x">this</a>.', "href"),
    ],
    ids=["div", "unclosed-b", "bare-ampersand", "mismatched-close", "bare-less-than", "link-without-href"],
)
def test_invalid_html(content: Path, broken: str, fragment: str) -> None:
    path, line = set_text(content, "region.ask", broken)
    result = load_content(content)
    assert result.content is None
    assert {type(problem) for problem in result.problems} == {p.InvalidHtml}, "\n".join(map(str, result.problems))
    assert all(problem.path == path and problem.line == line for problem in result.problems)
    assert all("'region.ask'" in problem.message for problem in result.problems)
    assert any(fragment in problem.message for problem in result.problems), result.problems


def test_label_too_long(content: Path) -> None:
    label = "Both the low back and legs and also the neck, arms or hands together"
    assert len(label.encode()) == 68
    path, line = set_text(content, "region.both", label)
    problem = only(content, p.LabelTooLong)
    assert_problem(problem, path, line, "'region.both'", "68 bytes")


def test_label_length_is_counted_in_bytes(content: Path) -> None:
    fits = "Оба места, спина и шея вместе и ноги"  # 36 characters, 64 bytes
    set_text(content, "region.both", fits)
    assert load_content(content).problems == []
    too_long = "Оба места, спина и шея вместе, и ноги тоже"  # 42 characters, 74 bytes
    path, line = set_text(content, "region.both", too_long)
    assert_problem(only(content, p.LabelTooLong), path, line, "74 bytes")


def test_section_title_is_a_label(content: Path) -> None:
    title = "Costs of every treatment, at home and abroad, with travel and aftercare"
    path, line = set_text(content, "section.costs.title", title)
    assert_problem(only(content, p.LabelTooLong), path, line, "'section.costs.title'")


def test_callback_too_long(content: Path) -> None:
    flow = content / "flow.yaml"
    long_id = "up_to_three_months_" + "x" * 41
    assert len(long_id) == 60
    text = replace(flow, "{id: up_to_3_months, label:", f"{{id: {long_id}, label:")
    problem = only(content, p.CallbackTooLong)
    assert_problem(problem, flow, line_of(text, long_id), f"'{long_id}'", "64 bytes")


def test_longest_option_id_that_fits_is_accepted(content: Path) -> None:
    flow = content / "flow.yaml"
    long_id = "u" * 53  # the longest button data for it, t999999999:<id>, is exactly 64 bytes
    replace(flow, "{id: up_to_3_months, label:", f"{{id: {long_id}, label:")
    assert load_content(content).problems == []


def test_hard_to_read_section(content: Path) -> None:
    body = (
        "Percutaneous autologous mesenchymal stromal cell administration demonstrates heterogeneous "
        "methodological characteristics, inconsistent radiological documentation and insufficient "
        "longitudinal evaluation of functional neurological outcomes in degenerative conditions."
    )
    path, line = set_text(content, "section.about.body", body)
    assert load_content(content).content is not None  # the bot starts; only `validate` checks reading grade
    problem = only(content, p.ReadabilityAboveTarget)
    assert_problem(problem, path, line, "'section.about.body'", "(en)", "grade", "needs 8 or below")


def test_hard_to_read_spanish_section(content: Path) -> None:
    body = (
        "La administración percutánea de células estromales mesenquimales autólogas demuestra características "
        "metodológicas heterogéneas, documentación radiológica inconsistente y evaluación longitudinal insuficiente "
        "de resultados neurológicos funcionales en enfermedades degenerativas."
    )
    assert grade("es", body) < 70
    path, line = set_text(content, "section.about.body", body, language="es")
    assert load_content(content).content is not None  # only `validate` (readability on) checks reading level
    problem = only(content, p.ReadabilityAboveTarget)
    assert_problem(problem, path, line, "'section.about.body'", "(es)", "Fernández-Huerta", "needs 70 or above")


# --- reporting --------------------------------------------------------------------------------------


def test_every_problem_of_one_run_is_reported(content: Path) -> None:
    flow = content / "flow.yaml"
    candidacy = content / "candidacy.yaml"
    sections = content / "sections.yaml"
    replace(flow, "action: grant_consent,", "action: grant_consnet,")
    flow_text = replace(flow, "    text: info_only\n", "    text: info_only_page\n")
    texts, html_line = set_text(content, "region.ask", "Thank you & welcome.")
    candidacy_text = replace(
        candidacy,
        "    outcome: not_yet\n    reason: reason.chiropractic_only",
        "    outcome: unclear\n    reason: reason.chiropractic_only",
    )
    sections_text = replace(sections, 'sources: ["64"]', 'sources: ["640"]')
    result = load_content(content)
    assert result.content is None
    found = {(type(problem), problem.path, problem.line) for problem in result.problems}
    assert found == {
        (p.UnknownAction, flow, line_of(flow_text, "grant_consnet")),
        (p.MissingText, flow, line_of(flow_text, "info_only_page")),
        (p.InvalidHtml, texts, html_line),
        (p.ExampleMismatch, candidacy, line_after(candidacy_text, "only chiropractic tried", "outcome: not_yet")),
        (p.UnknownReference, sections, line_of(sections_text, '"640"')),
    }


def test_shape_problems_in_several_files_are_all_reported(content: Path) -> None:
    (content / "sections.yaml").unlink()
    flow = content / "flow.yaml"
    text = replace(flow, "    text: info_only\n", "    text: info_only\n    colour: blue\n")
    result = load_content(content)
    assert {(type(problem), problem.path) for problem in result.problems} == {
        (p.MissingFile, content / "sections.yaml"),
        (p.SchemaViolation, flow),
    }
    assert next(problem for problem in result.problems if problem.path == flow).line == line_of(text, "colour")


def test_problem_prints_as_path_line_message_hint(content: Path) -> None:
    flow = content / "flow.yaml"
    text = replace(flow, "action: grant_consent,", "action: grant_consnet,")
    problem = only(content, p.UnknownAction)
    line = line_of(text, "grant_consnet")
    assert str(problem) == f"{flow}:{line}: {problem.message} ({problem.hint})"
    assert str(problem).startswith(f"{flow}:{line}: unknown action 'grant_consnet' (known: ")


def test_problem_without_hint_prints_without_parentheses() -> None:
    problem = p.MissingFile(Path("content/flow.yaml"), 1, "file not found")
    assert str(problem) == "content/flow.yaml:1: file not found"
