"""Reading a CSV file of sites needing THD, before any row is checked: decoded (UTF-8 with or
without BOM, UTF-16 with a BOM; Windows-1252 as a stated fallback), its delimiter sniffed
from the header unless given, each row numbered by the physical line it starts on so that a
quoted field spanning lines does not shift the numbers, and the mapped columns found in the
header. Anything that is not a CSV file — empty, binary, a ZIP archive (a spreadsheet), an
unclosed quote — is refused naming the file and the reason."""

from __future__ import annotations

import codecs
import csv
import difflib
import io
from dataclasses import dataclass
from pathlib import Path

from gigalis_nms.errors import InvalidInput
from gigalis_nms.resource_centre.mapping import DELIMITERS, ColumnMapping

FILE = "FILE"  # how errors name the file argument
ZIP_MAGIC = b"PK\x03\x04"
BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


@dataclass(frozen=True)
class Record:
    line: int  # the physical line the row starts on
    cells: list[str]


@dataclass(frozen=True)
class SourceTable:
    header: list[str]
    records: list[Record]
    delimiter: str
    encoding: str
    notes: list[str]
    first_line: str = ""  # the header as written, to say when another delimiter splits it


def read_table(path: Path, mapping: ColumnMapping) -> SourceTable:
    """The rows of the CSV file at ``path``; InvalidInput naming the file and the reason when
    it is missing, empty, binary, undecodable or not CSV."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise InvalidInput.of(FILE, f"cannot read {path}: {error.strerror}") from None
    if not data.strip():
        raise InvalidInput.of(FILE, f"{path} is empty")
    text, encoding, notes = decode(data, mapping.encoding, path, mapping.encoding_from)
    delimiter = mapping.delimiter or sniff_delimiter(text, path, mapping)
    records = split_records(text, delimiter, path)
    if not records:
        raise InvalidInput.of(FILE, f"{path} is empty")
    first_line = text.lstrip("\r\n").splitlines()[0]
    if len(records[0].cells) == 1 and len(set(mapping.columns.values())) > 1:
        hint = mapping.delimiter and other_delimiter(first_line, mapping.delimiter)
        if hint:
            raise InvalidInput.of(mapping.delimiter_from, f"{path}: {hint}")
        raise InvalidInput.of(
            FILE,
            f"{path} is not a CSV file: its first line has no {shown(delimiter)} between columns",
        )
    if len(records) == 1:
        raise InvalidInput.of(FILE, f"{path} has a header and no rows")
    header = [name.strip() for name in records[0].cells]
    return SourceTable(header, records[1:], delimiter, encoding, notes, first_line)


def shown(delimiter: str) -> str:
    return "tab" if delimiter == "\t" else repr(delimiter)


def other_delimiter(first_line: str, given: str) -> str | None:
    """Why the header looks split by another delimiter than the one given, or None.

    >>> other_delimiter("a,b,c", ";")
    "the header has 0 ';' but 2 ',': is the delimiter ','?"
    """
    counts = {delimiter: _count_unquoted(first_line, delimiter) for delimiter in DELIMITERS}
    counts[given] = _count_unquoted(first_line, given)
    best = max((d for d in DELIMITERS if d != given), key=lambda delimiter: counts[delimiter])
    if counts[best] <= counts[given]:
        return None
    return (
        f"the header has {counts[given]} {shown(given)} but {counts[best]} {shown(best)}: "
        f"is the delimiter {shown(best)}?"
    )


def decode(
    data: bytes, encoding: str | None, path: Path, given_by: str = "--encoding"
) -> tuple[str, str, list[str]]:
    """The text of the file, the encoding used, and a note when it was guessed; a file that
    does not decode as the encoding given blames ``given_by`` (the option or the mapping)."""
    if data.startswith(ZIP_MAGIC):
        raise InvalidInput.of(
            FILE, f"{path} is not a CSV file but a ZIP archive (a spreadsheet?): save it as CSV"
        )
    wide = (encoding or "").startswith(("utf-16", "utf-32")) or data.startswith(BOMS[1][0])
    if b"\x00" in data and not wide and not data.startswith(BOMS[2][0]):
        raise InvalidInput.of(FILE, f"{path} is not a CSV file: it holds binary data")
    if encoding:
        return _decoded(data, encoding, path, given_by), encoding, []
    for bom, name in BOMS:
        if data.startswith(bom):
            return _decoded(data, name, path, FILE), name, []
    try:
        return data.decode("utf-8"), "utf-8", []
    except UnicodeDecodeError as error:
        where = _byte_at(data, error.start)
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        raise InvalidInput.of(
            FILE, f"{path} is neither UTF-8 ({where}) nor Windows-1252: give its --encoding"
        ) from None
    note = f"{path} is not UTF-8 ({where}): read as Windows-1252 (cp1252); --encoding to change"
    return text, "cp1252", [note]


def _decoded(data: bytes, encoding: str, path: Path, option: str) -> str:
    try:
        return data.decode(encoding).removeprefix("\ufeff")
    except UnicodeDecodeError as error:
        where = _byte_at(data, error.start)
        raise InvalidInput.of(option, f"{path} is not {encoding}: {where}") from None


def _byte_at(data: bytes, position: int) -> str:
    line = data.count(b"\n", 0, position) + 1
    return f"byte 0x{data[position]:02x} on line {line}"


def sniff_delimiter(text: str, path: Path, mapping: ColumnMapping) -> str:
    """The delimiter that splits the header most (``;`` first on a tie, French files use
    it). A header with none is a one-column file only if that is all the mapping reads."""
    first = text.lstrip("\r\n").splitlines()[0]
    counts = {delimiter: _count_unquoted(first, delimiter) for delimiter in DELIMITERS}
    best = max(DELIMITERS, key=lambda delimiter: counts[delimiter])
    if counts[best]:
        return best
    if set(mapping.columns.values()) == {first.strip().strip('"')}:
        return DELIMITERS[0]
    raise InvalidInput.of(
        FILE, f"{path} is not a CSV file: its first line has no ; , tab or | between columns"
    )


def _count_unquoted(line: str, delimiter: str) -> int:
    count, quoted = 0, False
    for char in line:
        if char == '"':
            quoted = not quoted
        elif char == delimiter and not quoted:
            count += 1
    return count


def split_records(text: str, delimiter: str, path: Path) -> list[Record]:
    """The non-blank rows, each with the physical line it starts on."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    records, previous = [], 0
    try:
        for cells in reader:
            line, previous = previous + 1, reader.line_num
            if any(cell.strip() for cell in cells):
                records.append(Record(line, cells))
    except csv.Error as error:
        reason = f"not readable as CSV: {error}"
        if "unexpected end of data" in str(error):
            reason = 'a quoted field is never closed (a " is missing)'
        raise InvalidInput.of(FILE, reason, f"{path}:{previous + 1}") from None
    return records


def header_index(table: SourceTable, mapping: ColumnMapping, path: Path) -> dict[str, int]:
    """Each mapped column's position; InvalidInput naming a column absent or repeated."""
    positions: dict[str, int] = {}
    for target, column in mapping.columns.items():
        found = [index for index, name in enumerate(table.header) if name == column]
        if not found:
            close = difflib.get_close_matches(column, table.header, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            split = mapping.delimiter and other_delimiter(table.first_line, mapping.delimiter)
            if split:
                hint += f" ({split} It comes from {mapping.delimiter_from}.)"
            raise InvalidInput.of(
                f"--map {target}", f"column {column!r} is not in the header of {path}{hint}"
            )
        if len(found) > 1:
            raise InvalidInput.of(
                f"--map {target}", f"column {column!r} appears {len(found)} times in the header"
            )
        positions[column] = found[0]
    return positions
