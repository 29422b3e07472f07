"""Read YAML while remembering the line of every value, so problems can name `file:line`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

Path_ = tuple[str | int, ...]


@dataclass
class YamlDocument:
    """A parsed YAML file: its data, the line of each value by path, and duplicate keys found."""

    path: Path
    data: Any
    lines: dict[Path_, int] = field(default_factory=dict)
    duplicate_keys: list[tuple[str, int]] = field(default_factory=list)
    ambiguous_keys: list[tuple[str, int]] = field(default_factory=list)  # e.g. yes/no, read as booleans

    def line_of(self, location: Path_) -> int:
        """Line of the deepest known value on `location` (1 for the file itself)."""
        for end in range(len(location), -1, -1):
            line = self.lines.get(tuple(location[:end]))
            if line is not None:
                return line
        return 1


class YamlSyntaxError(Exception):
    """The file is not valid YAML; carries the line of the mistake."""

    def __init__(self, path: Path, line: int, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.line = line
        self.message = message


def load_yaml(path: Path) -> YamlDocument:
    """Parse `path`; raise YamlSyntaxError with a line number if it is not valid YAML."""
    text = path.read_text(encoding="utf-8")
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else 1
        raise YamlSyntaxError(path, line, str(error.problem or error)) from None
    document = YamlDocument(path=path, data=None)
    if node is not None:
        document.data = _convert(node, (), document, SafeConstructor())
    return document


def _convert(node: Node, location: Path_, document: YamlDocument, scalars: SafeConstructor) -> Any:
    document.lines[location] = node.start_mark.line + 1
    if isinstance(node, MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = scalars.construct_object(key_node, deep=True) if isinstance(key_node, ScalarNode) else None
            if isinstance(key, bool) or key is None:
                document.ambiguous_keys.append((key_node.value, key_node.start_mark.line + 1))
                key = key_node.value
            elif not isinstance(key, str | int):
                key = str(key)
            if key in result:
                document.duplicate_keys.append((str(key), key_node.start_mark.line + 1))
            result[key] = _convert(value_node, (*location, key), document, scalars)
        return result
    if isinstance(node, SequenceNode):
        return [_convert(item, (*location, index), document, scalars) for index, item in enumerate(node.value)]
    return scalars.construct_object(node, deep=True)
