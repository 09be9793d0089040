"""Service functions over the sites needing THD: what the API, the command line and the
importer call to read, create, change and delete them.

Each function takes the caller's Session and leaves committing to it. Every site is checked
the same way whoever writes it: the fields by :class:`SiteNeedCreate` (identifiers, dates
against the status), then its place — a point in France, a commune the communes reference
knows, a postcode of that commune's département — and ``departement`` is filled from the
commune. A change to what the analysis reads (the point, category, connectivity, need or
status) recomputes that site's distances, cost and priority in the same transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlmodel import Session, SQLModel, col, select

from gigalis_nms.catalogue.models import Catalogue
from gigalis_nms.db.integrity import Violation, ViolationKind, write_or_conflict
from gigalis_nms.db.listing import Listing, PageOfRows, exact, fetch_page
from gigalis_nms.db.types import fits_row_id
from gigalis_nms.errors import FieldProblem, InvalidInput, NotFound
from gigalis_nms.resource_centre import analysis, identifiers
from gigalis_nms.resource_centre.communes import Commune, departement_of_commune
from gigalis_nms.resource_centre.geo import in_france
from gigalis_nms.resource_centre.models import (
    NEED_STEPS,
    STATUS_DATE,
    LocatedBy,
    NeedStatus,
    SiteNeed,
    SiteNeedBase,
    SiteNeedCreate,
    SiteNeedRead,
    SiteNeedUpdate,
    status_date_problem,
)

logger = logging.getLogger(__name__)

PARIS = ZoneInfo("Europe/Paris")
LABEL = "site needing THD"
SITE_FIELDS = tuple(SiteNeedBase.model_fields)
IDENTIFIER_FIELDS = ("uai", "finess", "siret")
POINT_FIELDS = frozenset({"latitude", "longitude"})
# What the analysis reads: a change to any recomputes the site's analysis.
ANALYSIS_INPUTS = frozenset(
    {"latitude", "longitude", "category", "connectivity", "needed_mbps", "status"}
)
NOT_NULL = frozenset(
    {"name", "category", "latitude", "longitude", "located_by", "connectivity", "status"}
)
FILTERED = (
    "status",
    "category",
    "departement",
    "commune_insee",
    "uai",
    "finess",
    "siret",
    "located_by",
)

SITE_NEEDS = Listing(
    SiteNeed, SiteNeedRead, filters={name: exact(SiteNeed, name) for name in FILTERED}
)

Communes = Mapping[str, Commune]
Values = dict[str, Any]


# --- Checks shared by every writer ---------------------------------------------------------


def validation_problems(error: ValidationError) -> list[FieldProblem]:
    """Pydantic's errors as field and reason; a check over several fields (the dates against
    the status) names its field at the start of its message."""
    problems = []
    for item in error.errors():
        reason = item["msg"].removeprefix("Value error, ")
        field = ".".join(str(part) for part in item["loc"])
        if not field:
            head, colon, rest = reason.partition(": ")
            field, reason = (head, rest) if colon and head in SITE_FIELDS else ("site", reason)
        problems.append(FieldProblem(field, reason))
    return problems


def validated(values: Mapping[str, Any]) -> SiteNeedCreate:
    """``values`` read as a new site would be; InvalidInput naming each field otherwise."""
    try:
        return SiteNeedCreate.model_validate({k: v for k, v in values.items() if k in SITE_FIELDS})
    except ValidationError as error:
        problems = validation_problems(error)
        raise InvalidInput("; ".join(map(str, problems)), problems) from None


def point_problem(latitude: float, longitude: float) -> FieldProblem | None:
    """Why a WGS84 point cannot be a French site, or None when it can.

    >>> point_problem(47.2, -1.55) is None
    True
    >>> print(point_problem(-1.55, 47.2))
    latitude: (-1.55, 47.2) is outside France, but would be inside with latitude and \
longitude swapped
    """
    if in_france(longitude, latitude):
        return None
    where = f"({latitude:.6g}, {longitude:.6g})"
    if in_france(latitude, longitude):
        return FieldProblem(
            "latitude",
            f"{where} is outside France, but would be inside with latitude and longitude swapped",
        )
    return FieldProblem("latitude", f"the point {where} (latitude, longitude) is outside France")


def postcode_fits(postcode: str, departement: str) -> bool:
    """Whether a postcode belongs to a département (Corsica's start with 20, overseas' with
    the three digits of their département).

    >>> postcode_fits("53600", "53"), postcode_fits("44000", "53"), postcode_fits("20000", "2A")
    (True, False, True)
    """
    if departement in ("2A", "2B"):
        return postcode.startswith("20")
    return postcode.startswith(departement)


def uai_departement(uai: str) -> str | None:
    """The département a UAI belongs to, by its first three digits: 0DD in mainland France,
    97D overseas, 620 and 720 for Corse-du-Sud and Haute-Corse; None for any other start.

    >>> [uai_departement(u) for u in ("0440001X", "9710001A", "6200001G", "7200001X")]
    ['44', '971', '2A', '2B']
    >>> print(uai_departement("4410001E"))
    None
    """
    head = uai[:3]
    corsica = {"620": "2A", "720": "2B"}
    if head in corsica:
        return corsica[head]
    if head.startswith("97"):
        return head
    return head[1:] if head.startswith("0") else None


def finess_departement(finess: str) -> str:
    """The département a FINESS number belongs to: its first two characters.

    >>> finess_departement("440000289"), finess_departement("2A0000000")
    ('44', '2A')
    """
    return finess[:2]


def identifier_problems(values: Mapping[str, Any], commune: Commune) -> list[FieldProblem]:
    """A UAI or FINESS number of another département than the site's commune names another
    site: an identifier copied onto the wrong row, most likely. The importer checks it; the
    API does not yet (a site it moves to another département keeps its identifiers)."""
    found: dict[str, str | None] = {}
    if values.get("uai"):
        found["uai"] = uai_departement(values["uai"])
    # Overseas FINESS numbers do not start with the three-digit département: not checked.
    if values.get("finess") and len(commune.departement) == 2:
        found["finess"] = finess_departement(values["finess"])
    problems = []
    for name, departement in found.items():
        if departement == commune.departement:
            continue
        of = f"of département {departement}" if departement else "of no département"
        problems.append(
            FieldProblem(
                name,
                f"{values[name]} is a {name.upper()} {of}, but commune {commune.insee} "
                f"({commune.name}) is in département {commune.departement}: "
                f"check the {name.upper()}",
            )
        )
    return problems


def place_problems(values: Mapping[str, Any], communes: Communes) -> list[FieldProblem]:
    """Where a site stands: a point in France, a known commune, a postcode and identifiers
    (UAI, FINESS) of its département."""
    problems = []
    latitude, longitude = values.get("latitude"), values.get("longitude")
    if latitude is not None and longitude is not None:
        problem = point_problem(latitude, longitude)
        if problem:
            problems.append(problem)
    insee = values.get("commune_insee")
    commune = communes.get(insee) if insee else None
    if insee and commune is None:
        problems.append(
            FieldProblem("commune_insee", f"unknown commune {insee}: not in the communes reference")
        )
    postcode = values.get("postcode")
    if commune and postcode and not postcode_fits(postcode, commune.departement):
        problems.append(
            FieldProblem(
                "postcode",
                f"{postcode} is not a postcode of département {commune.departement}, where "
                f"commune {commune.insee} ({commune.name}) is",
            )
        )
    if commune:
        problems.extend(identifier_problems(values, commune))
    return problems


def checked_values(values: Mapping[str, Any], communes: Communes) -> Values:
    """The columns of a site from ``values``, every check passed, ``departement`` filled;
    InvalidInput with every problem otherwise."""
    site = validated(values)
    problems = place_problems(site.model_dump(), communes)
    if problems:
        raise InvalidInput("; ".join(map(str, problems)), problems)
    return {
        **site.model_dump(),
        "departement": departement_of_commune(site.commune_insee, communes),
    }


def today() -> date:
    return datetime.now(PARIS).date()


# --- Reads ---------------------------------------------------------------------------------


def list_sites(
    session: Session, filters: Mapping[str, list[Any]], *, limit: int, offset: int
) -> PageOfRows:
    """One page of sites, by id, matching the exact ``filters`` of :data:`SITE_NEEDS`."""
    return fetch_page(session, SITE_NEEDS, filters, limit=limit, offset=offset)


def get_site(session: Session, site_id: int) -> SiteNeed:
    site = session.get(SiteNeed, site_id) if fits_row_id(site_id) else None
    if site is None:
        raise NotFound.of("id", f"no {LABEL} with id {site_id}")
    return site


def find_site(session: Session, key: str) -> SiteNeed:
    """The site named by its id, UAI, FINESS or SIRET."""
    text = key.strip()
    for field, check in (
        ("uai", identifiers.check_uai),
        ("finess", identifiers.check_finess),
        ("siret", identifiers.check_siret),
    ):
        try:
            value = check(text)
        except ValueError:
            continue
        found = session.exec(select(SiteNeed).where(col(getattr(SiteNeed, field)) == value)).first()
        if found is not None:
            return found
    if text.isdigit():
        return get_site(session, int(text))
    raise NotFound.of("site", f"no {LABEL} with id, UAI, FINESS or SIRET {key!r}")


def values_of(site: SiteNeed) -> Values:
    """A stored site's own fields (not its analysis) and département."""
    return {**{name: getattr(site, name) for name in SITE_FIELDS}, "departement": site.departement}


# --- Writes --------------------------------------------------------------------------------


def create_site(
    session: Session, body: SQLModel, *, communes: Communes, catalogue: Catalogue
) -> SiteNeed:
    """A new site from an API or command-line body, checked, then analysed."""
    values = checked_values(body.model_dump(), communes)
    site = SiteNeed(**values)
    write_or_conflict(session, lambda: session.add(site), lambda v: _explain(session, v, values))
    assert site.id is not None  # flushed
    analysis.analyse_sites(session, catalogue, [site.id])
    session.refresh(site)
    logger.info("site need %s (%s) created", site.id, site.name)
    return site


def update_site(
    session: Session,
    site_id: int,
    body: SiteNeedUpdate,
    *,
    communes: Communes,
    catalogue: Catalogue,
) -> SiteNeed:
    """Change only the fields sent; the whole site, merged, is checked again (dates against
    the status included). A point sent is a point given: ``located_by`` becomes source."""
    site = get_site(session, site_id)
    current = values_of(site)
    sent = body.model_dump(exclude_unset=True)
    for name, value in sent.items():
        if value is None and name in NOT_NULL:
            raise InvalidInput.of(name, "may not be null")

    merged = {**current, **sent}
    if POINT_FIELDS & set(sent):
        merged["located_by"] = LocatedBy.SOURCE
    elif current["located_by"] == LocatedBy.COMMUNE and "commune_insee" in sent:
        _place_at_commune(merged, communes)
    return _save_changes(session, site, current, checked_values(merged, communes), catalogue)


def set_status(
    session: Session,
    site_id: int,
    status: NeedStatus,
    *,
    on: date | None,
    catalogue: Catalogue,
) -> SiteNeed:
    """Move a site to ``status`` on the date ``on`` (the step's recorded date, else today).

    A date before an earlier step's is refused. Moving back to an earlier status clears the
    dates of the steps after it, since the site has not reached them any more."""
    site = get_site(session, site_id)
    current = values_of(site)
    field = STATUS_DATE[status]
    changed = {**current, "status": status, field: on or current[field] or today()}
    for step in NEED_STEPS[NEED_STEPS.index(status) + 1 :]:
        changed[STATUS_DATE[step]] = None
    problem = status_date_problem(changed)
    if problem:
        raise InvalidInput.of(*problem)
    return _save_changes(session, site, current, changed, catalogue)


def delete_site(session: Session, site_id: int) -> None:
    site = get_site(session, site_id)
    session.delete(site)
    session.flush()
    logger.info("site need %s (%s) deleted", site_id, site.name)


def _place_at_commune(values: Values, communes: Communes) -> None:
    """A site placed at its commune's centre follows its commune when that changes."""
    commune = communes.get(values.get("commune_insee") or "")
    if commune is not None and commune.latitude is not None and commune.longitude is not None:
        values["latitude"], values["longitude"] = commune.latitude, commune.longitude


def _save_changes(
    session: Session, site: SiteNeed, current: Values, wanted: Values, catalogue: Catalogue
) -> SiteNeed:
    changes = {name: value for name, value in wanted.items() if current.get(name) != value}
    if not changes:
        return site

    def assign() -> None:
        for name, value in changes.items():
            setattr(site, name, value)

    write_or_conflict(session, assign, lambda v: _explain(session, v, wanted))
    if ANALYSIS_INPUTS & set(changes):
        assert site.id is not None
        analysis.analyse_sites(session, catalogue, [site.id])
        session.refresh(site)
    logger.info("site need %s (%s) updated: %s", site.id, site.name, sorted(changes))
    return site


def _explain(session: Session, violation: Violation, values: Mapping[str, Any]) -> FieldProblem:
    """Why the database refused a site: an identifier another site already has."""
    if violation.kind is ViolationKind.UNIQUE and violation.columns:
        field = violation.columns[-1]
        value = values.get(field)
        other = session.exec(select(SiteNeed).where(col(getattr(SiteNeed, field)) == value)).first()
        holder = f" (site {other.id}, {other.name})" if other else ""
        return FieldProblem(field, f"another {LABEL} already has {field} {value}{holder}")
    field = violation.columns[0] if violation.columns else "site"
    return FieldProblem(field, f"refused by the database rule {violation.constraint or '?'}")
