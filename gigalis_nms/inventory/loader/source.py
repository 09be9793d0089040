"""Reading YAML so that every mapping remembers where it came from.

PyYAML forgets positions once it has built Python objects; this loader keeps, for every
mapping, its file, its line and the line of each of its keys, so that a validation error
found much later can still say ``cables.yaml:42: z_site: unknown site 'XYZ'``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from gigalis_nms.errors import FieldProblem, InvalidInput

try:  # the C parser is several times faster on large inventories
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]


class Located(dict[str, Any]):
    """A YAML mapping that knows its file, its line and the line of each key."""

    file: str = ""
    line: int = 0
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)

    def where(self, key: str | None = None) -> str:
        return f"{self.file}:{self.line_of(key) if key else self.line}"


class _LocatingLoader(_BaseLoader):
    file_label = ""


def _construct_located_mapping(loader: _LocatingLoader, node: yaml.MappingNode) -> Located:
    loader.flatten_mapping(node)
    mapping = Located()
    mapping.file = loader.file_label
    mapping.line = node.start_mark.line + 1
    mapping.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if not isinstance(key, str):
            raise InvalidInput.of(str(key), "keys must be text", f"{loader.file_label}:{line}")
        if key in mapping:
            # YAML silently keeps the last of two equal keys; in an inventory that hides a typo.
            raise InvalidInput.of(
                key, "given twice in the same object", f"{loader.file_label}:{line}"
            )
        mapping[key] = loader.construct_object(value_node, deep=True)
        mapping.key_lines[key] = line
    return mapping


_LocatingLoader.add_constructor("tag:yaml.org,2002:map", _construct_located_mapping)


def read_yaml(path: Path, label: str) -> Any:
    """Parse one file; a syntax error becomes InvalidInput with the file and line."""
    loader_class = type("Loader", (_LocatingLoader,), {"file_label": label})
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise InvalidInput.of("file", f"not UTF-8 text ({error.reason})", label) from None
    try:
        return yaml.load(text, Loader=loader_class)  # a SafeLoader subclass: builds no objects
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f"{label}:{mark.line + 1}" if mark else label
        reason = f"invalid YAML: {error.problem or error}"
        raise InvalidInput(f"{where}: {reason}", [FieldProblem("yaml", reason, where)]) from None
    except yaml.YAMLError as error:
        raise InvalidInput.of("yaml", f"invalid YAML: {error}", label) from None


def yaml_files(folder: Path) -> list[Path]:
    if folder.is_file():
        return [folder]
    if not folder.is_dir():
        raise InvalidInput.of("path", "no such file or folder", str(folder))
    files = sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])
    if not files:
        raise InvalidInput.of("path", "no .yaml file in this folder", str(folder))
    return files
