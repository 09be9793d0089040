"""Reading YAML so that every mapping remembers where it came from.

PyYAML forgets positions once it has built Python objects; this loader keeps, for every
mapping, its file, its line and the line of each of its keys, so that a validation error
found much later can still say ``cables.yaml:42: z_site: unknown site 'XYZ'``.

PyYAML composes a whole document as nodes before it builds any object, and nodes with their
marks take three times the memory of the objects they become: 640 MB for a file of 50,000
circuits. This loader builds each record (each item of a top-level list) as soon as it is
composed and lets its nodes go, so a file costs about what its objects cost.
"""

from __future__ import annotations

from itertools import islice
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.nodes import Node, ScalarNode
from yaml.resolver import Resolver

from gigalis_nms.errors import FieldProblem, InvalidInput

try:  # the C parser is several times faster on large inventories
    from yaml._yaml import CParser as _Parser
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class _Parser(Reader, Scanner, Parser):  # type: ignore[no-redef]
        def __init__(self, stream: str) -> None:
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            Parser.__init__(self)


# The root mapping is at depth 1, its lists of records at depth 2, the records at depth 3.
RECORD_DEPTH = 3


class Located(dict[str, Any]):
    """A YAML mapping that knows its file, its line and the line of each key."""

    file: str = ""
    line: int = 0
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)

    def where(self, key: str | None = None) -> str:
        return f"{self.file}:{self.line_of(key) if key else self.line}"


class _LocatingLoader(Composer, _Parser, SafeConstructor, Resolver):
    """A safe loader (it builds no arbitrary objects) that builds records as it composes.

    The result is the same as ``yaml.safe_load``'s, error for error: a record that fails to
    build is left as nodes, and building the whole document afterwards raises its error in
    document order, after any syntax error further down, as the plain loader would.
    """

    file_label = ""

    def __init__(self, stream: str) -> None:
        _Parser.__init__(self, stream)
        Composer.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)
        self.depth = 0
        self.anchored: set[int] = set()  # ids of the anchored nodes, which stay known

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        self.depth += 1
        try:
            node = super().compose_node(parent, index)
            if node is not None and self.depth == RECORD_DEPTH:
                node = self.build_now(node)
        finally:
            self.depth -= 1
        return node

    def build_now(self, node: Node) -> Node:
        """Build ``node``'s object, forget its nodes, and return a stand-in that maps to it.

        Anchored nodes stay known, since an alias further down must get the same object.
        """
        known = len(self.constructed_objects)
        try:
            data = self.construct_object(node, deep=True)
        except Exception:
            # Left as nodes: building the document at the end raises this again, in order.
            self.recursive_objects = {}
            self.deep_construct = False
            self.forget_built(len(self.constructed_objects) - known)
            return node
        self.forget_built(len(self.constructed_objects) - known)
        stand_in = ScalarNode(node.tag, "", node.start_mark, node.end_mark)
        self.constructed_objects[stand_in] = data
        return stand_in

    def forget_built(self, count: int) -> None:
        """Drop the ``count`` nodes built last, except anchored ones."""
        if len(self.anchored) != len(self.anchors):
            self.anchored = {id(anchored) for anchored in self.anchors.values()}
        for built in list(islice(reversed(self.constructed_objects), count)):
            if id(built) not in self.anchored:
                del self.constructed_objects[built]


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


def _construct_checked_timestamp(loader: _LocatingLoader, node: ScalarNode) -> Any:
    # PyYAML turns 2038-02-30 into a bare ValueError with no position; say where it is.
    try:
        return SafeConstructor.construct_yaml_timestamp(loader, node)
    except ValueError as error:
        where = f"{loader.file_label}:{node.start_mark.line + 1}"
        raise InvalidInput.of(
            "date", f"{node.value!r} is not a valid date ({error})", where
        ) from None


def _construct_checked_text(loader: _LocatingLoader, node: ScalarNode) -> str:
    text = SafeConstructor.construct_yaml_str(loader, node)
    if "\x00" in text:
        # PostgreSQL cannot store it and SQLite would: refused on both, so both behave alike.
        where = f"{loader.file_label}:{node.start_mark.line + 1}"
        raise InvalidInput.of("text", "contains the NUL character", where)
    return text


# add_constructor's stub accepts only PyYAML's own loader classes; this is what it does.
_LocatingLoader.yaml_constructors = {
    **SafeConstructor.yaml_constructors,
    "tag:yaml.org,2002:map": _construct_located_mapping,
    "tag:yaml.org,2002:timestamp": _construct_checked_timestamp,
    "tag:yaml.org,2002:str": _construct_checked_text,
}


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
