"""A router's configuration as one text document: a kernel section and an FRR section.

::

    ! section: kernel
    link br100 type bridge
    port eth3 master br100
    ! section: frr
    frr version 8.4.4
    ...

The marker lines are FRR comments, so the FRR section can be cut out and fed to vtysh as
it stands. A text without markers is FRR configuration only: a plain ``frr.conf`` is a valid
candidate. A section that is absent is left alone on the router, even by a replace. A kernel
section that is present but empty says "no bridge, VLAN or VXLAN": a replace removes them all
(that is how a rollback undoes the first bridge ever created). An FRR section of comments only
counts as absent: an empty FRR configuration would stop all routing, and frr-reload refuses it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gigalis_nms.errors import FieldProblem, InvalidInput

KERNEL = "kernel"
FRR = "frr"
_MARKER = re.compile(r"^!\s*section:\s*(?P<name>\S+)\s*$")


@dataclass(frozen=True)
class Section:
    text: str
    first_line: int  # line number, in the whole document, of the section's first line


@dataclass(frozen=True)
class ConfigDocument:
    kernel: Section | None
    frr: Section | None


class DocumentError(InvalidInput):
    """The document's section markers are wrong; the message names the line."""


def _is_content(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith(("!", "#"))


def parse_document(text: str) -> ConfigDocument:
    """Split a document into its sections.

    >>> document = parse_document("! section: kernel\\nlink br1 type bridge\\n! section: frr\\n")
    >>> document.kernel
    Section(text='link br1 type bridge\\n', first_line=2)
    >>> parse_document("! section: kernel\\n").kernel
    Section(text='', first_line=2)
    >>> parse_document("hostname r1\\n").frr
    Section(text='hostname r1\\n', first_line=1)
    """
    lines = text.splitlines(keepends=True)
    markers = [(index, _MARKER.match(line.rstrip("\n"))) for index, line in enumerate(lines)]
    found = [(index, match["name"]) for index, match in markers if match]
    if not found:
        return ConfigDocument(kernel=None, frr=_section(lines, 0, len(lines)))

    problems = []
    if any(_is_content(line) for line in lines[: found[0][0]]):
        problems.append(FieldProblem("section", "configuration before the first marker", "line 1"))
    sections: dict[str, Section | None] = {}
    for position, (index, name) in enumerate(found):
        where = f"line {index + 1}"
        if name not in (KERNEL, FRR):
            problems.append(FieldProblem("section", f"unknown section {name!r}", where))
        elif name in sections:
            problems.append(FieldProblem("section", f"section {name!r} given twice", where))
        else:
            end = found[position + 1][0] if position + 1 < len(found) else len(lines)
            sections[name] = _section(lines, index + 1, end, keep_empty=name == KERNEL)
    if problems:
        raise DocumentError("; ".join(str(problem) for problem in problems), problems)
    return ConfigDocument(kernel=sections.get(KERNEL), frr=sections.get(FRR))


def _section(lines: list[str], start: int, end: int, keep_empty: bool = False) -> Section | None:
    """A section's text, or None when it holds no configuration line (unless kept empty)."""
    body = lines[start:end]
    if not keep_empty and not any(_is_content(line) for line in body):
        return None
    text = "".join(body)
    return Section(text if text.endswith("\n") or not text else f"{text}\n", start + 1)


def render_document(kernel: str | None, frr: str | None) -> str:
    """The document of the given sections, each only when given.

    >>> print(render_document("link br1 type bridge\\n", "hostname r1\\n"), end="")
    ! section: kernel
    link br1 type bridge
    ! section: frr
    hostname r1
    """
    parts = []
    if kernel is not None:
        parts.append(f"! section: {KERNEL}\n{kernel}")
    if frr is not None:
        parts.append(f"! section: {FRR}\n{frr}")
    return "".join(parts)
