"""Import sites needing THD from a CSV file, through a :class:`ColumnMapping`.

The import runs in four steps, each keeping its outcome per row as data:

1. *read* the file: decoded (UTF-8 with or without BOM; Windows-1252 as a stated fallback),
   its delimiter sniffed from the header unless given, each row numbered by the physical
   line it starts on, so that a quoted field spanning lines does not shift the numbers;
2. *check* each row as the API checks a site (:class:`SiteNeedCreate`, then its place: a
   point in France, a known commune, a postcode of its département). A row without a point
   but with a known commune is placed at the commune's centre (``located_by=commune``);
3. *merge* each row, in the file's order, into the site it names — on UAI, FINESS or SIRET,
   or on name and commune (without case or accents) for a row with none — a stored site or
   one an earlier row creates. A merge takes the row's non-empty values; a status never
   moves back, a point given is never replaced by a commune's centre. A row naming two
   different sites, changing an identifier, or sharing one with a site in another commune
   is rejected, naming both: the row that brings the conflict, never the earlier one;
4. *write* what is valid in one transaction, then analyse the sites written (distances,
   cost, priority). ``strict`` writes nothing when any row is rejected; ``dry_run`` never
   writes. Importing the same file again changes nothing.
"""

from __future__ import annotations

import csv
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, TextIO

from pydantic import BaseModel, Field
from pyproj import CRS
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
from gigalis_nms.resource_centre.geo import in_france, in_lambert93_france, to_wgs84
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
            wrong = _metres_as_degrees(latitude, longitude, mapping)
            if wrong:
                problems.append(RowProblem(column=where, field="latitude", reason=wrong))
                return None
        else:
            x, y = converted["x"], converted["y"]
            wrong = _swapped_lambert93(x, y, mapping.crs) or _degrees_as_metres(x, y, mapping)
            if wrong:
                problems.append(RowProblem(column=where, field="longitude", reason=wrong))
                return None
            longitude, latitude = to_wgs84(x, y, mapping.crs)
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


def _metres_as_degrees(latitude: float, longitude: float, mapping: ColumnMapping) -> str | None:
    """Lambert-93 metres in the lat and lon columns: the mapping took x and y for degrees."""
    lat, lon = mapping.where("lat"), mapping.where("lon")
    if in_lambert93_france(longitude, latitude):
        return (
            f"latitude {latitude:.1f} and longitude {longitude:.1f} look like a Lambert-93 y "
            f"and x (metres): map {lat} as y and {lon} as x"
        )
    if in_lambert93_france(latitude, longitude):
        return (
            f"latitude {latitude:.1f} and longitude {longitude:.1f} look like a Lambert-93 x "
            f"and y (metres): map {lat} as x and {lon} as y"
        )
    return None


@cache
def projected(crs: str) -> bool:
    return bool(CRS.from_user_input(crs).is_projected)


def _degrees_as_metres(x: float, y: float, mapping: ColumnMapping) -> str | None:
    """WGS84 degrees in projected x and y columns: the mapping took lon and lat for metres."""
    if not projected(mapping.crs):
        return None
    where_x, where_y = mapping.where("x"), mapping.where("y")
    if in_france(x, y):
        return (
            f"x {x:g} and y {y:g} look like a WGS84 longitude and latitude (degrees, not "
            f"{mapping.crs} metres): map {where_x} as lon and {where_y} as lat"
        )
    if in_france(y, x):
        return (
            f"x {x:g} and y {y:g} look like a WGS84 latitude and longitude (degrees, not "
            f"{mapping.crs} metres): map {where_x} as lat and {where_y} as lon"
        )
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


@dataclass(eq=False)
class Target:
    """A site the rows merge into: one already stored, or one a row of the file creates."""

    values: Values  # what the site holds, with the changes of the rows merged so far
    label: str  # "the row of line 3", "site 4 (Collège Jules Verne)"
    place: str  # "line 3", "site 4"
    row: SiteRow | None = None  # the row creating it
    site: SiteNeed | None = None  # the stored site
    changes: Values = field(default_factory=dict)  # what the file changes in a stored site
    first_line: int | None = None  # the first row of the file naming it


@dataclass
class MergePlan:
    """What the rows do, in the file's order: create a site, change one, or are rejected."""

    created: list[Target] = field(default_factory=list)
    touched: list[Target] = field(default_factory=list)  # stored sites some row names
    merges: list[Merge] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    by_line: dict[int, Target] = field(default_factory=dict)  # each row taken → its site

    @property
    def kept(self) -> list[SiteRow]:
        return [target.row for target in self.created if target.row is not None]

    @property
    def updates(self) -> dict[int, Values]:
        """Stored site id → what the file changes in it."""
        return {
            target.site.id: target.changes
            for target in self.touched
            if target.changes and target.site is not None and target.site.id is not None
        }


def merge_rows(
    rows: Sequence[SiteRow], communes: service.Communes, stored: Sequence[SiteNeed] = ()
) -> MergePlan:
    """Each row, in the file's order, merged into the site it names — a stored one, or one an
    earlier row creates — or creating one. A row that names two sites, would change an
    identifier, or names by identifier a site in another commune, is rejected: the row that
    brings the conflict, never the earlier one it conflicts with."""
    plan = MergePlan()
    index = KeyIndex()
    for site in stored:
        values = service.values_of(site)
        index.add(
            index_keys(values), Target(values, _site_label(site), f"site {site.id}", site=site)
        )

    for row in rows:
        found = index.matches(row.given)
        if len(found) > 1:
            plan.rejections.append(_two_sites(row, [(key, t.label) for key, t in found]))
            continue
        if found:
            key, target = found[0]
            try:
                _same_commune(key, target, row, communes)
                changes = merged_changes(target.values, row.given, target.label)
            except MergeConflict as conflict:
                plan.rejections.append(_conflict(row, conflict))
                continue
            _merge(plan, target, row, key, changes)
        else:
            label = f"the row of line {row.line}"
            target = Target(row.given, label, f"line {row.line}", row=row, first_line=row.line)
            plan.created.append(target)
        index.add(index_keys(target.values), target)
        plan.by_line[row.line] = target
    return plan


def _merge(plan: MergePlan, target: Target, row: SiteRow, key: Key, changes: Values) -> None:
    target.values.update(changes)
    if target.row is not None:
        target.row.full.update(changes)
        target.row.origin.update({name: row.origin.get(name, "") for name in changes})
        target.row.lines.append(row.line)
    else:
        target.changes.update(changes)
    if target.first_line is None:  # the first row naming a stored site
        target.first_line = row.line
        plan.touched.append(target)
    else:
        plan.merges.append(Merge(line=row.line, into_line=target.first_line, key=describe(key)))


def _same_commune(key: Key, target: Target, row: SiteRow, communes: service.Communes) -> None:
    """An identifier shared by two sites in different communes is a copied or mistyped
    identifier far more often than a site that moved: merging would overwrite one site with
    another."""
    theirs, ours = target.values.get("commune_insee"), row.given.get("commune_insee")
    if key[0] == "name" or not theirs or not ours or theirs == ours:
        return
    raise MergeConflict(
        key[0],
        f"{describe(key)} is also {target.place}: {_named(target.values, communes)}; this row "
        f"(line {row.line}) is {_named(row.given, communes)}: check the {key[0].upper()}",
    )


def _named(values: Mapping[str, Any], communes: service.Communes) -> str:
    insee = str(values["commune_insee"])
    commune = communes.get(insee)
    return f"{values.get('name')} in {commune.name if commune else 'commune'} ({insee})"


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


# --- 4. Writing ----------------------------------------------------------------------------


def _explain_concurrent(violation: Violation) -> FieldProblem:
    # Every identifier was matched against the stored sites in this transaction: a refusal
    # now means another writer stored one of them meanwhile.
    name = violation.columns[-1] if violation.columns else "site"
    return FieldProblem(name, f"another writer stored a site with one of these {name}s meanwhile")


def _site_label(site: SiteNeed) -> str:
    return f"site {site.id} ({site.name})"


def write_plan(session: Session, plan: MergePlan) -> list[int]:
    """Create and update the sites in one flush; the ids written."""
    created = [SiteNeed(**row.full) for row in plan.kept]
    updates = [(target.site, target.changes) for target in plan.touched if target.changes]

    def write() -> None:
        session.add_all(created)
        for site, changes in updates:
            for name, value in changes.items():
                setattr(site, name, value)

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
    plan = merge_rows(rows, communes, session.exec(select(SiteNeed)).all())
    report.merged = plan.merges
    report.rejected = sorted([*report.rejected, *plan.rejections], key=lambda r: r.line)
    report.created, report.updated = len(plan.created), len(plan.updates)
    report.unchanged = len(plan.touched) - report.updated
    # Only the rows taken that left their site at the commune's centre: a rejected row, or
    # one merged into a site with a point, places nothing.
    report.placed_at_commune = [
        placed
        for placed in report.placed_at_commune
        if placed.line in plan.by_line
        and plan.by_line[placed.line].values["located_by"] == LocatedBy.COMMUNE
    ]
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


# --- The rejects file ----------------------------------------------------------------------


def rejects_table(header: Sequence[str], report: ImportReport) -> list[list[str]]:
    """The rejected rows as they were read, under the file's header, then their line and
    reason: a short row padded, a long row's extra cells kept in an ``extra`` column (joined
    by the file's delimiter), so that every column stays under its name."""
    width = len(header)
    extra = any(len(rejection.cells) > width for rejection in report.rejected)
    ours = [*(["extra"] if extra else []), "line", "reason"]
    table = [[*header, *(f"import_{name}" if name in header else name for name in ours)]]
    for rejection in report.rejected:
        cells = [*rejection.cells[:width], *[""] * (width - len(rejection.cells))]
        if extra:
            cells.append(report.delimiter.join(rejection.cells[width:]))
        table.append([*cells, str(rejection.line), rejection.reason])
    return table


def same_file(first: Path, second: Path) -> bool:
    """Whether two paths name one file: the same path once resolved, or a hard link."""
    if first.resolve() == second.resolve():
        return True
    try:
        return os.path.samefile(first, second)
    except OSError:  # one of them does not exist (yet)
        return False


SYSTEM_FOLDERS = (Path("/proc"), Path("/sys"))


@dataclass
class RejectsFile:
    """The ``--rejects`` file, opened before the import so that a path that cannot be
    written stops it before anything is written; emptied only when the rows are written."""

    path: Path
    stream: TextIO
    created: bool  # by this import: removed again if the import stops

    @classmethod
    def open(cls, path: Path, reads: Mapping[str, Path]) -> RejectsFile:
        """Opened for writing, refused when it is one of the files the import ``reads``
        (what → path), a folder, not a regular file, or not writable."""
        for what, read in reads.items():
            if same_file(path, read):
                raise InvalidInput.of(
                    "--rejects", f"{path} is the {what}: writing the rejects would overwrite it"
                )
        if path.is_dir():
            raise InvalidInput.of("--rejects", f"{path} is a folder: name a file")
        resolved = path.resolve()
        for system in SYSTEM_FOLDERS:
            if resolved.is_relative_to(system):
                # The kernel's files there open for writing (as root) yet refuse a CSV.
                raise InvalidInput.of(
                    "--rejects",
                    f"{path} is under {system}, the kernel's files: name a file elsewhere",
                )
        if path.exists() and not path.is_file():
            raise InvalidInput.of("--rejects", f"{path} is not a regular file")
        if not path.parent.is_dir():
            raise InvalidInput.of("--rejects", f"{path}: folder {path.parent} does not exist")
        existed = path.exists()
        try:
            # Not truncated yet: a file that exists keeps its content until the rows come.
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT, 0o666)
        except OSError as error:
            raise InvalidInput.of("--rejects", f"cannot write {path}: {error.strerror}") from None
        stream = os.fdopen(descriptor, "w", encoding="utf-8-sig", newline="")
        return cls(path, stream, created=not existed)

    def write(self, report: ImportReport) -> None:
        """The rejected rows, in CSV with the file's delimiter (UTF-8 with a BOM, so that
        spreadsheets read the accents)."""
        try:
            self.stream.seek(0)
            self.stream.truncate()
            csv.writer(self.stream, delimiter=report.delimiter).writerows(
                rejects_table(report.header, report)
            )
            self.stream.flush()
        except OSError as error:
            raise InvalidInput.of("--rejects", f"cannot write {self.path}: {error}") from None

    def close(self, *, keep: bool) -> None:
        self.stream.close()
        if not keep and self.created:
            self.path.unlink(missing_ok=True)
