"""Import sites needing THD from a CSV file, through a :class:`ColumnMapping`.

The import runs in four steps, each keeping its outcome per row as data:

1. *read* the file: decoded (UTF-8 with or without BOM; Windows-1252 as a stated fallback),
   its delimiter sniffed from the header unless given, each row numbered by the physical
   line it starts on, so that a quoted field spanning lines does not shift the numbers;
2. *check* each row as the API checks a site (:class:`SiteNeedCreate`, then its place: a
   point in France, a known commune, a postcode of its département). A row without a point
   but with a known commune is placed at the commune's centre (``located_by=commune``);
3. *merge* the rows that name the same site — on UAI, FINESS or SIRET, or on name and
   commune (without case or accents) for a row with none — first within the file (the later
   row into the first), then with the sites already stored. A merge takes the row's
   non-empty values; a status never moves back, a point given is never replaced by a
   commune's centre, and a row naming two different sites is rejected naming both;
4. *write* what is valid in one transaction, then analyse the sites written (distances,
   cost, priority). ``strict`` writes nothing when any row is rejected; ``dry_run`` never
   writes. Importing the same file again changes nothing.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from sqlmodel import Session, select

from gigalis_nms.db.integrity import Violation, write_or_conflict
from gigalis_nms.errors import FieldProblem, InvalidInput
from gigalis_nms.resource_centre import service
from gigalis_nms.resource_centre.csv_source import (
    Record,
    SourceTable,
    header_index,
    read_table,
)
from gigalis_nms.resource_centre.geo import in_lambert93_france, to_wgs84
from gigalis_nms.resource_centre.mapping import (
    LAMBERT93,
    TARGET_FIELDS,
    ColumnMapping,
    folded,
    read_cell,
)
from gigalis_nms.resource_centre.models import (
    NEED_STEPS,
    STATUS_DATE,
    LocatedBy,
    NeedStatus,
    SiteNeed,
    status_date_problem,
)

logger = logging.getLogger(__name__)

Values = dict[str, Any]
Key = tuple[str, ...]
Analyser = Callable[[Session, list[int]], object]

POINT_TARGETS = frozenset({"lat", "lon", "x", "y"})
PLACED_FIELDS = ("latitude", "longitude", "located_by")


# --- The report ----------------------------------------------------------------------------


class RowProblem(BaseModel):
    column: str | None  # the file's column (or the option) the value came from
    field: str | None  # the site's field
    reason: str

    def __str__(self) -> str:
        where = " / ".join(part for part in (self.column, self.field) if part)
        return f"{where}: {self.reason}" if where else self.reason


class Rejection(BaseModel):
    line: int
    problems: list[RowProblem]
    cells: list[str] = Field(exclude=True)  # the row as read, for the rejects file

    @property
    def reason(self) -> str:
        return "; ".join(map(str, self.problems))


class Merge(BaseModel):
    line: int  # the later row…
    into_line: int  # …merged into the first row naming the same site
    key: str  # what they share: "uai 0530007V", "name and commune"


class Placement(BaseModel):
    line: int
    name: str
    commune_insee: str
    commune: str


class ImportReport(BaseModel):
    file: str
    delimiter: str
    encoding: str
    header: list[str] = Field(default=[], exclude=True)
    read: int = 0  # data rows in the file
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    merged: list[Merge] = []
    rejected: list[Rejection] = []
    placed_at_commune: list[Placement] = []
    notes: list[str] = []
    dry_run: bool = False
    strict: bool = False
    written: bool = False
    site_ids: list[int] = []  # created or updated, analysed after writing
    analysed: bool = False


# --- 2. Checking each row ------------------------------------------------------------------


@dataclass
class SiteRow:
    """A row read and checked: what it gives, and the whole site it would create."""

    line: int
    cells: list[str]
    given: Values  # the fields the row gives a value for, checked
    full: Values  # every column of a new site from this row
    origin: dict[str, str]  # field → the column or option its value came from
    lines: list[int] = field(default_factory=list)  # rows merged into this one


@dataclass
class RowContext:
    mapping: ColumnMapping
    positions: dict[str, int]
    width: int  # how many fields the header has
    communes: service.Communes
    source: str  # the rows' source when they give none


class RowRejected(Exception):
    def __init__(self, problems: list[RowProblem]) -> None:
        super().__init__("; ".join(map(str, problems)))
        self.problems = problems


def read_row(record: Record, context: RowContext) -> SiteRow:
    """The row checked as the API checks a site; RowRejected naming each problem."""
    if len(record.cells) != context.width:
        reason = f"{len(record.cells)} fields where the header has {context.width}"
        raise RowRejected([RowProblem(column=None, field=None, reason=reason)])
    texts = _texts(record, context)
    converted, origin, problems = _converted(texts, context.mapping)
    point = _point(converted, origin, texts, problems, context.mapping)

    values = {TARGET_FIELDS[t]: v for t, v in converted.items() if t not in POINT_TARGETS}
    for target in ("name", "category"):
        if target not in texts:
            reason = "no value: a site needs one"
            problems.append(
                RowProblem(column=context.mapping.where(target), field=target, reason=reason)
            )
    _infer_status(values, origin)
    if point is None and not POINT_TARGETS & texts.keys():
        point = _commune_centre(values, origin, context, problems)
    if problems or point is None:
        raise RowRejected(problems)

    given = {**values, **point}
    try:
        full = service.checked_values(given, context.communes)
    except InvalidInput as error:
        raise RowRejected([_row_problem(p, origin) for p in error.problems]) from None
    checked = {name: full[name] for name in given}
    checked["departement"] = full["departement"]
    return SiteRow(record.line, record.cells, checked, full, origin, [record.line])


def _texts(record: Record, context: RowContext) -> dict[str, tuple[str, str]]:
    """Target → (where from, non-empty text) for this row."""
    texts = {}
    for target, column in context.mapping.columns.items():
        text = record.cells[context.positions[column]].strip()
        if text:
            texts[target] = (column, text)
    for target, text in context.mapping.constants.items():
        texts[target] = (f"--set {target}", text)
    if "source" not in texts:
        texts["source"] = ("--source", context.source)
    return texts


def _converted(
    texts: Mapping[str, tuple[str, str]], mapping: ColumnMapping
) -> tuple[Values, dict[str, str], list[RowProblem]]:
    converted: Values = {}
    origin: dict[str, str] = {}
    problems: list[RowProblem] = []
    for target, (where, text) in texts.items():
        field_name = TARGET_FIELDS[target]
        try:
            converted[target] = read_cell(mapping, target, text)
        except ValueError as error:
            problems.append(RowProblem(column=where, field=field_name, reason=str(error)))
            continue
        if target not in POINT_TARGETS:
            origin[field_name] = where
    return converted, origin, problems


def _point(
    converted: Values,
    origin: dict[str, str],
    texts: Mapping[str, tuple[str, str]],
    problems: list[RowProblem],
    mapping: ColumnMapping,
) -> Values | None:
    """The row's WGS84 point from lat/lon, else x/y; None when it gives neither."""
    for first, second in (("lat", "lon"), ("x", "y")):
        if first not in texts and second not in texts:
            continue
        if first not in converted or second not in converted:
            problems.extend(_incomplete((first, second), converted, texts, mapping))
            return None
        where = f"{mapping.where(first)}, {mapping.where(second)}"
        origin["latitude"] = origin["longitude"] = where
        if first == "lat":
            latitude, longitude = converted["lat"], converted["lon"]
        else:
            swapped = _swapped_lambert93(converted["x"], converted["y"], mapping.crs)
            if swapped:
                problems.append(RowProblem(column=where, field="longitude", reason=swapped))
                return None
            longitude, latitude = to_wgs84(converted["x"], converted["y"], mapping.crs)
        return {"latitude": latitude, "longitude": longitude, "located_by": LocatedBy.SOURCE}
    return None


def _incomplete(
    pair: tuple[str, str],
    converted: Values,
    texts: Mapping[str, tuple[str, str]],
    mapping: ColumnMapping,
) -> list[RowProblem]:
    """One coordinate given without the other (an unreadable one is already reported)."""
    first, second = pair
    return [
        RowProblem(
            column=mapping.where(missing),
            field=TARGET_FIELDS[missing],
            reason=f"empty while {mapping.where(other)} is given",
        )
        for missing, other in ((first, second), (second, first))
        if missing not in texts and other in converted
    ]


def _swapped_lambert93(x: float, y: float, crs: str) -> str | None:
    if crs == LAMBERT93 and not in_lambert93_france(x, y) and in_lambert93_france(y, x):
        return f"x {x:.1f} and y {y:.1f} are outside France, but inside once swapped"
    return None


def _infer_status(values: Values, origin: dict[str, str]) -> None:
    """A row dating steps but giving no status has reached the furthest step it dates."""
    if "status" in values:
        return
    dated = [step for step in NEED_STEPS if values.get(STATUS_DATE[step]) is not None]
    if dated:
        values["status"] = dated[-1]
        origin["status"] = origin[STATUS_DATE[dated[-1]]]


def _commune_centre(
    values: Values, origin: dict[str, str], context: RowContext, problems: list[RowProblem]
) -> Values | None:
    """A row without a point stands at its commune's centre, if the commune is known."""
    insee = values.get("commune_insee")
    commune = context.communes.get(insee or "")
    if commune is None:
        if insee:
            unknown = service.place_problems({"commune_insee": insee}, context.communes)
            problems.extend(_row_problem(problem, origin) for problem in unknown)
        else:
            reason = "no point and no commune: the row cannot be placed"
            problems.append(RowProblem(column=None, field="latitude", reason=reason))
        return None
    if commune.latitude is None or commune.longitude is None:
        reason = f"no point, and commune {commune.insee} ({commune.name}) has no centre to stand in"
        problems.append(RowProblem(column=None, field="latitude", reason=reason))
        return None
    origin["latitude"] = origin["longitude"] = origin.get("commune_insee", "commune")
    return {
        "latitude": commune.latitude,
        "longitude": commune.longitude,
        "located_by": LocatedBy.COMMUNE,
    }


def _row_problem(problem: FieldProblem, origin: Mapping[str, str]) -> RowProblem:
    return RowProblem(column=origin.get(problem.field), field=problem.field, reason=problem.reason)


# --- 3. Merging ----------------------------------------------------------------------------

IDENTIFIERS = service.IDENTIFIER_FIELDS


class MergeConflict(Exception):
    def __init__(self, field_name: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field_name
        self.reason = reason


def keys_of(values: Mapping[str, Any]) -> list[Key]:
    """What names a site: its identifiers, or its name and commune when it has none."""
    found: list[Key] = [(name, str(values[name])) for name in IDENTIFIERS if values.get(name)]
    return found or [name_key(values)]


def name_key(values: Mapping[str, Any]) -> Key:
    return ("name", folded(str(values.get("name") or "")), str(values.get("commune_insee") or ""))


def describe(key: Key) -> str:
    return "name and commune" if key[0] == "name" else f"{key[0]} {key[1]}"


def rank(status: Any) -> int:
    return NEED_STEPS.index(NeedStatus(status))


def merged_changes(current: Mapping[str, Any], incoming: Mapping[str, Any], holder: str) -> Values:
    """What ``incoming`` changes in ``current``: its non-empty values, except a status
    moving back, or a commune's centre over a point given. MergeConflict when an identifier
    differs or the dates no longer follow the status."""
    keep_point = (
        incoming.get("located_by") == LocatedBy.COMMUNE
        and current.get("located_by") == LocatedBy.SOURCE
    )
    changes: Values = {}
    for name, value in incoming.items():
        old = current.get(name)
        if value is None or old == value:
            continue
        if name in IDENTIFIERS and old is not None:
            raise MergeConflict(name, f"{holder} has {name} {old}, this row {value}")
        if name == "status" and old is not None and rank(value) < rank(old):
            continue
        if keep_point and name in PLACED_FIELDS:
            continue
        changes[name] = value
    problem = status_date_problem({**current, **changes})
    if problem:
        # Named after what this row changed: the stored date it clashes with is not its own.
        stepped = [name for name in changes if name == "status" or name.endswith("_on")]
        field_name = problem[0] if problem[0] in changes or not stepped else stepped[0]
        raise MergeConflict(field_name, f"merged with {holder}, {problem[0]}: {problem[1]}")
    return changes


@dataclass
class KeyIndex:
    """Which sites (rows or stored sites) each key names."""

    entries: dict[Key, list[Any]] = field(default_factory=dict)

    def add(self, keys: Sequence[Key], item: Any) -> None:
        for key in keys:
            holders = self.entries.setdefault(key, [])
            if not any(holder is item for holder in holders):
                holders.append(item)

    def matches(self, values: Mapping[str, Any]) -> list[tuple[Key, Any]]:
        """The distinct items named by the keys of ``values``, each with the first key."""
        found: list[tuple[Key, Any]] = []
        for key in keys_of(values):
            for item in self.entries.get(key, []):
                if not any(item is other for _, other in found):
                    found.append((key, item))
        return found


def index_keys(values: Mapping[str, Any]) -> list[Key]:
    """Every key a site is found by: its identifiers and its name and commune."""
    return [(name, str(values[name])) for name in IDENTIFIERS if values.get(name)] + [
        name_key(values)
    ]


def merge_rows(rows: list[SiteRow]) -> tuple[list[SiteRow], list[Merge], list[Rejection]]:
    """The rows with those naming the same site merged into the first of them."""
    kept: list[SiteRow] = []
    merges: list[Merge] = []
    rejections: list[Rejection] = []
    index = KeyIndex()
    for row in rows:
        found = index.matches(row.given)
        if len(found) > 1:
            rejections.append(_two_sites(row, [(k, f"the row of line {r.line}") for k, r in found]))
            continue
        if not found:
            kept.append(row)
            index.add(index_keys(row.given), row)
            continue
        key, first = found[0]
        try:
            changes = merged_changes(first.given, row.given, f"the row of line {first.line}")
        except MergeConflict as conflict:
            rejections.append(_conflict(row, conflict))
            continue
        first.given.update(changes)
        first.full.update(changes)
        first.origin.update({name: row.origin.get(name, "") for name in changes})
        first.lines.append(row.line)
        merges.append(Merge(line=row.line, into_line=first.line, key=describe(key)))
        index.add(index_keys(first.given), first)
    return kept, merges, rejections


def _two_sites(row: SiteRow, named: list[tuple[Key, str]]) -> Rejection:
    parts = [f"{describe(key)} is {holder}" for key, holder in named]
    reason = f"names two different sites: {' and '.join(parts)}"
    fields = ", ".join(dict.fromkeys(key[0] for key, _ in named))
    problem = RowProblem(column=None, field=fields, reason=reason)
    return Rejection(line=row.line, problems=[problem], cells=row.cells)


def _conflict(row: SiteRow, conflict: MergeConflict) -> Rejection:
    problem = RowProblem(
        column=row.origin.get(conflict.field), field=conflict.field, reason=conflict.reason
    )
    return Rejection(line=row.line, problems=[problem], cells=row.cells)


# --- 4. Against the database, and writing --------------------------------------------------


@dataclass
class WritePlan:
    creates: list[SiteRow] = field(default_factory=list)
    updates: dict[int, Values] = field(default_factory=dict)  # site id → changes
    sites: dict[int, SiteNeed] = field(default_factory=dict)
    updated_rows: int = 0
    unchanged_rows: int = 0
    rejections: list[Rejection] = field(default_factory=list)


def plan_writes(session: Session, rows: list[SiteRow]) -> WritePlan:
    """What each merged row does to the stored sites: create one, update one, or nothing."""
    plan = WritePlan()
    index = KeyIndex()
    current: dict[int, Values] = {}
    for site in session.exec(select(SiteNeed)).all():
        assert site.id is not None
        plan.sites[site.id] = site
        current[site.id] = service.values_of(site)
        index.add(index_keys(current[site.id]), site.id)

    for row in rows:
        found = index.matches(row.given)
        if len(found) > 1:
            named = [(key, _site_label(plan.sites[site_id])) for key, site_id in found]
            plan.rejections.append(_two_sites(row, named))
            continue
        if not found:
            plan.creates.append(row)
            continue
        site_id = found[0][1]
        try:
            changes = merged_changes(current[site_id], row.given, _site_label(plan.sites[site_id]))
        except MergeConflict as conflict:
            plan.rejections.append(_conflict(row, conflict))
            continue
        if changes:
            current[site_id].update(changes)
            plan.updates.setdefault(site_id, {}).update(changes)
            plan.updated_rows += 1
        else:
            plan.unchanged_rows += 1
    return plan


def _explain_concurrent(violation: Violation) -> FieldProblem:
    # Every identifier was matched against the stored sites in this transaction: a refusal
    # now means another writer stored one of them meanwhile.
    name = violation.columns[-1] if violation.columns else "site"
    return FieldProblem(name, f"another writer stored a site with one of these {name}s meanwhile")


def _site_label(site: SiteNeed) -> str:
    return f"site {site.id} ({site.name})"


def write_plan(session: Session, plan: WritePlan) -> list[int]:
    """Create and update the sites in one flush; the ids written."""
    created = [SiteNeed(**row.full) for row in plan.creates]

    def write() -> None:
        session.add_all(created)
        for site_id, changes in plan.updates.items():
            for name, value in changes.items():
                setattr(plan.sites[site_id], name, value)

    write_or_conflict(session, write, _explain_concurrent)
    ids = [site.id for site in created if site.id is not None]
    return ids + sorted(plan.updates)


# --- The whole import ----------------------------------------------------------------------


def import_sites(
    session: Session,
    path: Path,
    mapping: ColumnMapping,
    communes: service.Communes,
    *,
    dry_run: bool = False,
    strict: bool = False,
    analyse: Analyser | None = None,
) -> ImportReport:
    """Import the sites of the CSV file ``path``; the report says what each row did.

    A file that cannot be read, or a mapping that does not fit its header, raises
    InvalidInput before anything is written. ``analyse`` is called with the ids written,
    in the same transaction."""
    table = read_table(path, mapping)
    context = RowContext(
        mapping,
        header_index(table, mapping, path),
        len(table.header),
        communes,
        mapping.source or path.name,
    )
    report = ImportReport(
        file=str(path),
        delimiter=table.delimiter,
        encoding=table.encoding,
        header=table.header,
        read=len(table.records),
        notes=list(table.notes),
        dry_run=dry_run,
        strict=strict,
    )
    rows = _read_rows(table, context, report)
    kept, report.merged, rejected = merge_rows(rows)
    plan = plan_writes(session, kept)
    report.rejected = sorted([*report.rejected, *rejected, *plan.rejections], key=lambda r: r.line)
    report.created, report.updated = len(plan.creates), plan.updated_rows
    report.unchanged = plan.unchanged_rows
    lines_kept = {line for row in kept for line in row.lines}
    report.placed_at_commune = [p for p in report.placed_at_commune if p.line in lines_kept]
    if dry_run or (strict and report.rejected):
        return report

    report.site_ids = write_plan(session, plan)
    report.written = True
    if analyse is not None and report.site_ids:
        analyse(session, report.site_ids)
        report.analysed = True
    logger.info(
        "sites needing THD imported from %s: %d created, %d updated, %d rejected",
        path,
        report.created,
        report.updated,
        len(report.rejected),
    )
    return report


def _read_rows(table: SourceTable, context: RowContext, report: ImportReport) -> list[SiteRow]:
    rows = []
    for record in table.records:
        try:
            row = read_row(record, context)
        except RowRejected as rejected:
            report.rejected.append(
                Rejection(line=record.line, problems=rejected.problems, cells=record.cells)
            )
            continue
        if row.given["located_by"] == LocatedBy.COMMUNE:
            commune = context.communes[row.given["commune_insee"]]
            report.placed_at_commune.append(
                Placement(
                    line=row.line,
                    name=row.given["name"],
                    commune_insee=commune.insee,
                    commune=commune.name,
                )
            )
        rows.append(row)
    return rows


def write_rejects(path: Path, header: Sequence[str], report: ImportReport) -> None:
    """The rejected rows as they were read, with their line and the reason, in CSV (UTF-8
    with a BOM, so that spreadsheets read the accents)."""
    line_column = "import_line" if "line" in header else "line"
    reason_column = "import_reason" if "reason" in header else "reason"
    with path.open("w", newline="", encoding="utf-8-sig") as stream:
        writer = csv.writer(stream, delimiter=report.delimiter)
        writer.writerow([*header, line_column, reason_column])
        for rejection in report.rejected:
            writer.writerow([*rejection.cells, rejection.line, rejection.reason])
