"""Load `content/`: parse YAML with lines, validate shapes with pydantic, then run the content checks."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from flows.checks import Files, TextEntry, check_content
from flows.content import Content
from flows.flow import Flow
from flows.model import Candidacy, Clinics, Decision, Sections, Sources
from flows.problems import DuplicateKey, MissingFile, Problem, SchemaViolation, YamlSyntax
from flows.states import KINDS
from flows.texts import Texts
from flows.yamlsource import YamlDocument, YamlSyntaxError, load_yaml

DEFAULT_LANGUAGE = "en"
MODEL_FILES: dict[str, type[BaseModel]] = {
    "flow.yaml": Flow,
    "sections.yaml": Sections,
    "candidacy.yaml": Candidacy,
    "clinics.yaml": Clinics,
    "decision.yaml": Decision,
    "sources.yaml": Sources,
}


@dataclass
class LoadResult:
    """The content (None when there are problems) and every problem found."""

    content: Content | None
    problems: list[Problem] = field(default_factory=list)


def load_content(root: Path, readability: bool = False) -> LoadResult:
    """Read and check everything under `root`; content is returned only when no problem was found.

    `readability` adds the reading-grade check of every English section (slow; `validate` runs it).
    """
    problems: list[Problem] = []
    documents: dict[str, YamlDocument] = {}
    models: dict[str, Any] = {}
    for name, model in MODEL_FILES.items():
        document = _parse(root / name, problems)
        if document is None:
            continue
        documents[name] = document
        parsed = _validate(document, model, problems)
        if parsed is not None:
            models[name] = parsed
    texts = _load_texts(root / "texts", problems)
    if problems or len(models) < len(MODEL_FILES):
        return LoadResult(None, problems)
    files = Files(
        flow=models["flow.yaml"],
        sections=models["sections.yaml"],
        candidacy=models["candidacy.yaml"],
        clinics=models["clinics.yaml"],
        decision=models["decision.yaml"],
        sources=models["sources.yaml"],
        documents=documents,
    )
    problems += check_content(files, texts, DEFAULT_LANGUAGE, readability)
    if problems:
        return LoadResult(None, problems)
    by_language = {lang: {key: entry.text for key, entry in entries.items()} for lang, entries in texts.items()}
    content = Content(
        flow=files.flow,
        sections=files.sections.sections,
        candidacy=files.candidacy,
        texts=Texts(by_language, DEFAULT_LANGUAGE),
        version=content_version(root),
        clinics=files.clinics.clinics,
        groups=files.sections.groups,
        decision=files.decision,
        sources=files.sources.sources,
    )
    return LoadResult(content, [])


def content_version(root: Path) -> str:
    """A short hash of every content file: sessions remember the version they started on."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.suffix in {".yaml", ".yml", ".md"}:
            digest.update(path.relative_to(root).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _parse(path: Path, problems: list[Problem]) -> YamlDocument | None:
    if not path.is_file():
        problems.append(MissingFile(path, 1, "file not found", "create it; see README 'Editing content'"))
        return None
    try:
        document = load_yaml(path)
    except YamlSyntaxError as error:
        problems.append(YamlSyntax(path, error.line, f"not valid YAML: {error.message}", "check indentation"))
        return None
    for key, line in document.duplicate_keys:
        problems.append(DuplicateKey(path, line, f"key '{key}' appears twice", "keep one; the first is lost"))
    for key, line in document.ambiguous_keys:
        problems.append(
            SchemaViolation(path, line, f"key '{key}' is read by YAML as true/false/null", f'quote it: "{key}"')
        )
    return document


def _validate(document: YamlDocument, model: type[BaseModel], problems: list[Problem]) -> Any:
    try:
        return model.model_validate(document.data if document.data is not None else {})
    except ValidationError as error:
        for detail in error.errors():
            location = _known_location(document, detail["loc"])
            where = ".".join(str(part) for part in location) or "file"
            problems.append(
                SchemaViolation(
                    document.path,
                    document.line_of(location),
                    f"{where}: {detail['msg']}",
                    _hint(detail, document, location),
                )
            )
    return None


def _known_location(document: YamlDocument, loc: tuple[Any, ...]) -> tuple[str | int, ...]:
    """Drop the parts of a pydantic error location that are union tags rather than YAML keys."""
    location: tuple[str | int, ...] = ()
    for part in loc:
        if (*location, part) in document.lines:
            location = (*location, part)
    return location


def _hint(detail: Any, document: YamlDocument, location: tuple[str | int, ...]) -> str:
    kind = detail["type"]
    value = detail.get("input")
    if isinstance(value, bool):
        return 'YAML reads yes/no/on/off as true/false: put the id in quotes, e.g. "yes"'
    hints = {
        "extra_forbidden": "remove it or fix its spelling",
        "missing": f"add '{detail['loc'][-1]}'",
        "string_pattern_mismatch": "ids are lowercase letters, digits and _, starting with a letter",
        "union_tag_invalid": "type is one of: " + ", ".join(KINDS),
        "too_short": "add more items",
    }
    return hints.get(kind, "see README 'Editing content'")


def _load_texts(folder: Path, problems: list[Problem]) -> dict[str, dict[str, TextEntry]]:
    """Texts by language: `texts/<lang>.yaml` plus any `texts/<lang>.<part>.yaml`, merged."""
    texts: dict[str, dict[str, TextEntry]] = {}
    if not (folder / f"{DEFAULT_LANGUAGE}.yaml").is_file():
        problems.append(
            MissingFile(
                folder / f"{DEFAULT_LANGUAGE}.yaml", 1, "default-language texts not found", "create it; see README"
            )
        )
    for path in sorted(folder.glob("*.yaml")):
        document = _parse(path, problems)
        if document is None:
            continue
        entries: dict[str, TextEntry] = {}
        _flatten(document, document.data, (), entries, problems)
        language = texts.setdefault(path.name.split(".")[0], {})
        for key, entry in entries.items():
            if key in language:
                first = language[key]
                problems.append(
                    DuplicateKey(
                        path, entry.line, f"text '{key}' is also written in {first.path.name}:{first.line}", "keep one"
                    )
                )
            language[key] = entry
    return texts


def _flatten(
    document: YamlDocument,
    value: Any,
    location: tuple[str | int, ...],
    entries: dict[str, TextEntry],
    problems: list[Problem],
) -> None:
    if isinstance(value, dict):
        for key, child in value.items():
            _flatten(document, child, (*location, key), entries, problems)
    elif isinstance(value, str):
        key = ".".join(str(part) for part in location)
        entries[key] = TextEntry(value.strip(), document.path, document.line_of(location))
    else:
        key = ".".join(str(part) for part in location) or "file"
        problems.append(
            SchemaViolation(
                document.path,
                document.line_of(location),
                f"{key}: a text must be a string",
                "write the text after the colon, in quotes if it has special characters",
            )
        )
