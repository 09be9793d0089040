"""The Gigalis network as a GraceTHD subset, for exchange with other public networks.

GraceTHD (GraceTHD-MCD v2.0.1) is the French data model for fibre networks. This export
fills six of its tables, with GraceTHD's column names, in its column order, and its list
codes:

- ``t_organisme``: Gigalis (the network's manager) and the owners of its cables;
- ``t_noeud`` (points) and ``t_sitetech``: every network site (PoP, NRO, shelter, hosting
  room) and every other site a cable ends at;
- ``t_cheminement`` (lines): one per cable, along its recorded route, else straight —
  the civil-works path is not modelled apart from the cable it carries;
- ``t_cable`` and ``t_cableline`` (lines): GraceTHD keeps a cable's attributes in
  ``t_cable``, which has no geometry, and its line in ``t_cableline``; its rules want every
  cable drawn there, so both are written.

Codes are made from our natural keys — ``ND-<site code>``, ``ST-…``, ``CM-<cable code>``,
``CB-…``, ``CL-…``, organisations by SIREN, else by name — so the same network exports with
the same codes every time, and every reference (cables' and cheminements' nodes, a site's
node, owners and managers) names a row of the export.

Geometry is in Lambert-93 (EPSG:2154). Columns GraceTHD has that we do not know are written
empty (null), never guessed: addresses (``t_adresse`` is not exported), installation dates,
civil-works details.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date
from enum import StrEnum
from functools import partial
from pathlib import Path
from typing import Any

import shapely
import sqlalchemy as sa
from shapely.geometry.base import BaseGeometry
from sqlmodel import Session

from gigalis_nms.db.listing import execute_core
from gigalis_nms.errors import InvalidInput
from gigalis_nms.inventory.enums import CableOwnership, LifecycleStatus, SiteKind, StrandState
from gigalis_nms.inventory.tables import CABLE, ORGANISATION, SITE, STRAND, STRAND_HOLDING
from gigalis_nms.resource_centre.exports import (
    GEOPACKAGE_SUFFIX,
    OUT,
    OutTarget,
    WrittenFile,
    lambert93,
    make_folder,
    refuse_overwrite,
    require_suffix,
    write_atomically,
    write_geopackage,
)
from gigalis_nms.resource_centre.layers import (
    POP_KINDS,
    Column,
    Feature,
    FieldKind,
    Layer,
    cable_route,
)

DEFAULT_MANAGER = "Gigalis"
# A reference of the network (GraceTHD's *_r1_code), so that a base holding several
# networks tells Gigalis's objects apart.
NETWORK_REFERENCE = "GIGALIS"
GEOLOCATION_SOURCE = "Gigalis NMS inventory"
CSV_SEPARATOR = ";"
WKT_DECIMALS = 2  # centimetres in Lambert-93


class GraceFormat(StrEnum):
    CSV = "csv"
    GPKG = "gpkg"


# --- GraceTHD's lists: the codes of GraceTHD-MCD v2.0.1, in its order ---------------------

STATUT = ("PRE", "DIA", "AVP", "PRO", "ACT", "EXE", "TVX", "REC", "MCO")  # l_statut
AVANCEMENT = ("E", "C", "T", "S", "H", "A")  # l_avancement
ETAT = ("HS", "ME", "OK", "NC")  # l_etat_type
PROPRIETE = ("CST", "RAC", "CES", "IRU", "LOC", "OCC")  # l_propriete_type
NOEUD_TYPE = ("PT", "ST", "SF", "SE", "JX", "SH", "SC", "PC", "EC", "SP")  # l_noeud_type
SITE_TYPE_PHY = ("ADR", "BAT", "COF", "SHE")  # l_site_type_phy
SITE_TYPE_LOG = (  # l_site_type_log
    "NRA",
    "NRAHD",
    "NRAMED",
    "NRAZO",
    "SRP",
    "SRS",
    "SRT",
    "NRO",
    "SRO",
    "SROL",
    "BRASSAGE",
    "CLIENT",
    "HEBERG",
)
TECHNOLOGIE = ("CUT", "OPT", "COA", "ECL", "ELE", "VID", "RAD")  # l_technologie_type
CABLE_TYPE = ("C", "B", "J")  # l_cable_type
INFRA_TYPE_LOG = ("CX", "CO", "CT", "CD", "TD", "TR", "DI", "RA", "BM", "LH", "NC")
IMPLANTATION = tuple(str(code) for code in range(10))  # l_implantation_type: 0 to 9
INFRA_NATURE = ("ASS", "EAU", "ELE", "GAZ", "NC", "TEL", "HTZ")  # l_infra_nature
GEOLOC_CLASSE = ("A", "AP", "B", "C")  # l_geoloc_classe (DT-DICT precision class)
GEOLOC_MODE = ("LTRO", "LVIS", "DETC", "FDPL", "CBDU", "CADA", "ORTO", "INDT")  # l_geoloc_mode

# Which column takes its values from which list.
ENUMERATED_COLUMNS: dict[str, dict[str, tuple[str, ...]]] = {
    "t_noeud": {
        "nd_type": NOEUD_TYPE,
        "nd_type_ep": TECHNOLOGIE,
        "nd_dtclass": GEOLOC_CLASSE,
        "nd_geolmod": GEOLOC_MODE,
    },
    "t_sitetech": {
        "st_proptyp": PROPRIETE,
        "st_statut": STATUT,
        "st_etat": ETAT,
        "st_avct": AVANCEMENT,
        "st_typephy": SITE_TYPE_PHY,
        "st_typelog": SITE_TYPE_LOG,
    },
    "t_cheminement": {
        "cm_statut": STATUT,
        "cm_etat": ETAT,
        "cm_avct": AVANCEMENT,
        "cm_typelog": INFRA_TYPE_LOG,
        "cm_typ_imp": IMPLANTATION,
        "cm_nature": INFRA_NATURE,
        "cm_dtclass": GEOLOC_CLASSE,
        "cm_geolmod": GEOLOC_MODE,
    },
    "t_cable": {
        "cb_proptyp": PROPRIETE,
        "cb_statut": STATUT,
        "cb_etat": ETAT,
        "cb_avct": AVANCEMENT,
        "cb_tech": TECHNOLOGIE,
        "cb_typephy": CABLE_TYPE,
        "cb_typelog": INFRA_TYPE_LOG,
    },
    "t_cableline": {"cl_dtclass": GEOLOC_CLASSE, "cl_geolmod": GEOLOC_MODE},
}

# (table, column) → (table, column) each reference must name.
REFERENCES: dict[tuple[str, str], tuple[str, str]] = {
    ("t_sitetech", "st_nd_code"): ("t_noeud", "nd_code"),
    ("t_sitetech", "st_prop"): ("t_organisme", "or_code"),
    ("t_sitetech", "st_gest"): ("t_organisme", "or_code"),
    ("t_sitetech", "st_user"): ("t_organisme", "or_code"),
    ("t_cheminement", "cm_ndcode1"): ("t_noeud", "nd_code"),
    ("t_cheminement", "cm_ndcode2"): ("t_noeud", "nd_code"),
    ("t_cheminement", "cm_gest_do"): ("t_organisme", "or_code"),
    ("t_cheminement", "cm_prop_do"): ("t_organisme", "or_code"),
    ("t_cheminement", "cm_mut_org"): ("t_organisme", "or_code"),
    ("t_cable", "cb_nd1"): ("t_noeud", "nd_code"),
    ("t_cable", "cb_nd2"): ("t_noeud", "nd_code"),
    ("t_cable", "cb_prop"): ("t_organisme", "or_code"),
    ("t_cable", "cb_gest"): ("t_organisme", "or_code"),
    ("t_cable", "cb_user"): ("t_organisme", "or_code"),
    ("t_cableline", "cl_cb_code"): ("t_cable", "cb_code"),
}


# --- our values as GraceTHD codes ---------------------------------------------------------


@dataclass(frozen=True)
class Phase:
    statut: str  # l_statut: how far the project has gone
    avancement: str  # l_avancement: exists, to build, in service, abandoned…
    etat: str  # l_etat_type: physical condition


# GraceTHD's statut is the phase of a project under the French public works law (loi MOP);
# our lifecycle is the object's life once decided:
# - planned: decided, placed and sized from the map, not surveyed on the ground: the
#   avant-projet (AVP), to be built (C); its condition does not apply yet (NC).
# - active: built and in service; the as-built record (REC) is what we hold. No condition
#   survey is recorded, so an object in service is taken as in working order (OK).
# - decommissioning: still built and recorded (REC) while its circuits move off it: it
#   exists (E) but is no longer offered as in service (S).
# - retired: recorded as built (REC) and abandoned (A), with its *_abdsrc said; no longer
#   in service, its condition does not apply (NC).
# MCO would mean "under maintenance, back to REC afterwards", which none of ours is.
PHASES: dict[LifecycleStatus, Phase] = {
    LifecycleStatus.PLANNED: Phase("AVP", "C", "NC"),
    LifecycleStatus.ACTIVE: Phase("REC", "S", "OK"),
    LifecycleStatus.DECOMMISSIONING: Phase("REC", "E", "OK"),
    LifecycleStatus.RETIRED: Phase("REC", "A", "NC"),
}
RETIRED_REASON = "retiré du réseau Gigalis"

# own: Gigalis built the cable (construction, CST); iru: an indefeasible right of use (IRU);
# leased: rented from its owner for a term (location, LOC).
PROPERTY_TYPES: dict[CableOwnership, str] = {
    CableOwnership.OWN: "CST",
    CableOwnership.IRU: "IRU",
    CableOwnership.LEASED: "LOC",
}


@dataclass(frozen=True)
class SiteTypes:
    physical: str  # l_site_type_phy
    logical: str  # l_site_type_log


# Every Gigalis site stands in a building (local technique, data centre), except a shelter.
# A PoP, a shelter and a hosting room house active equipment outside any FTTH architecture:
# GraceTHD's HEBERG. An NRO is an NRO; an operator's site is a CLIENT site (a business or
# administration that is not an end user's premises).
SITE_TYPES: dict[SiteKind, SiteTypes] = {
    SiteKind.POP: SiteTypes("BAT", "HEBERG"),
    SiteKind.HOSTING_ROOM: SiteTypes("BAT", "HEBERG"),
    SiteKind.SHELTER: SiteTypes("SHE", "HEBERG"),
    SiteKind.NRO: SiteTypes("BAT", "NRO"),
    SiteKind.CUSTOMER_SITE: SiteTypes("BAT", "CLIENT"),
}
SITE_NODE_TYPE = "ST"  # every exported node is a technical site
OPTICAL = "OPT"
CABLE_PHYSICAL_TYPE = "C"  # a cable, not a breakout or a patch cord
# Gigalis is the regional backbone between PoPs: collecte, in GraceTHD's words.
BACKBONE_LOGICAL_TYPE = "CO"
# Gigalis lays its own cables in roadside ducts (see inventory/cables.yaml); how an IRU or
# leased cable runs (railway, power line, ducts) is its owner's and not recorded here.
OWN_IMPLANTATION = "7"  # conduite
OWN_NATURE = "TEL"
# No point is surveyed: class C is the DT-DICT class of a location known to more than
# 1.5 m or not vouched for, and the way it was placed is not recorded (INDT).
PRECISION_CLASS = "C"
PLACEMENT_MODE = "INDT"


# --- GraceTHD's columns -------------------------------------------------------------------


def grace_columns(names: str, **kinds: FieldKind) -> tuple[Column, ...]:
    """The columns of a GraceTHD table, text unless ``kinds`` says otherwise; the *_creadat
    and *_majdate columns are timestamps and *_abddate a date, in every table."""
    listed = names.split()
    for name in listed:
        if name.endswith(("_creadat", "_majdate")):
            kinds.setdefault(name, FieldKind.DATETIME)
        elif name.endswith("_abddate"):
            kinds.setdefault(name, FieldKind.DATE)
    unknown = set(kinds) - set(listed)
    if unknown:
        raise ValueError(f"kinds given for columns not listed: {sorted(unknown)}")
    return tuple(Column(name, kinds.get(name, FieldKind.TEXT)) for name in listed)


REAL, INTEGER, DATE, BOOLEAN = FieldKind.REAL, FieldKind.INTEGER, FieldKind.DATE, FieldKind.BOOLEAN

ORGANISME_COLUMNS = grace_columns(
    "or_code or_siren or_nom or_type or_activ or_l331 or_siret or_nometab or_ad_code "
    "or_nomvoie or_numero or_rep or_local or_postal or_commune or_telfixe or_mail or_comment "
    "or_creadat or_majdate or_majsrc or_abddate or_abdsrc",
    or_numero=INTEGER,
)
NOEUD_COLUMNS = grace_columns(
    "nd_code nd_codeext nd_nom nd_coderat nd_r1_code nd_r2_code nd_r3_code nd_r4_code "
    "nd_voie nd_type nd_type_ep nd_comment nd_dtclass nd_geolqlt nd_geolmod nd_geolsrc "
    "nd_creadat nd_majdate nd_majsrc nd_abddate nd_abdsrc",
    nd_geolqlt=REAL,
)
SITETECH_COLUMNS = grace_columns(
    "st_code st_nd_code st_codeext st_nom st_prop st_gest st_user st_proptyp st_statut "
    "st_etat st_dateins st_datemes st_avct st_typephy st_typelog st_nblines st_ad_code "
    "st_comment st_creadat st_majdate st_majsrc st_abddate st_abdsrc",
    st_dateins=DATE,
    st_datemes=DATE,
    st_nblines=INTEGER,
)
CHEMINEMENT_COLUMNS = grace_columns(
    "cm_code cm_codeext cm_ndcode1 cm_ndcode2 cm_cm1 cm_cm2 cm_r1_code cm_r2_code "
    "cm_r3_code cm_r4_code cm_voie cm_gest_do cm_prop_do cm_statut cm_etat cm_datcons "
    "cm_datemes cm_avct cm_typelog cm_typ_imp cm_nature cm_compo cm_cddispo cm_fo_util "
    "cm_mod_pos cm_passage cm_revet cm_remblai cm_charge cm_larg cm_fildtec cm_mut_org "
    "cm_long cm_lgreel cm_comment cm_dtclass cm_geolqlt cm_geolmod cm_geolsrc cm_creadat "
    "cm_majdate cm_majsrc cm_abddate cm_abdsrc",
    cm_datcons=DATE,
    cm_datemes=DATE,
    cm_cddispo=INTEGER,
    cm_fo_util=INTEGER,
    cm_charge=REAL,
    cm_larg=REAL,
    cm_fildtec=BOOLEAN,
    cm_long=REAL,
    cm_lgreel=REAL,
    cm_geolqlt=REAL,
)
CABLE_COLUMNS = grace_columns(
    "cb_code cb_codeext cb_etiquet cb_nd1 cb_nd2 cb_r1_code cb_r2_code cb_r3_code "
    "cb_r4_code cb_prop cb_gest cb_user cb_proptyp cb_statut cb_etat cb_dateins cb_datemes "
    "cb_avct cb_tech cb_typephy cb_typelog cb_rf_code cb_capafo cb_fo_disp cb_fo_util "
    "cb_modulo cb_diam cb_color cb_lgreel cb_localis cb_comment cb_creadat cb_majdate "
    "cb_majsrc cb_abddate cb_abdsrc",
    cb_dateins=DATE,
    cb_datemes=DATE,
    cb_capafo=INTEGER,
    cb_fo_disp=INTEGER,
    cb_fo_util=INTEGER,
    cb_modulo=INTEGER,
    cb_diam=REAL,
    cb_lgreel=REAL,
)
CABLELINE_COLUMNS = grace_columns(
    "cl_code cl_cb_code cl_long cl_comment cl_dtclass cl_geolqlt cl_geolmod cl_geolsrc "
    "cl_creadat cl_majdate cl_majsrc cl_abddate cl_abdsrc",
    cl_long=REAL,
    cl_geolqlt=REAL,
)
TABLE_ORDER = ("t_organisme", "t_noeud", "t_sitetech", "t_cheminement", "t_cable", "t_cableline")


# --- codes from natural keys --------------------------------------------------------------


def organisation_code(name: str, siren: str | None) -> str:
    """An organisation's or_code (GraceTHD allows 20 characters): its SIREN when known, else
    its name in capitals, shortened, and a digest of the whole name so that two names
    sharing a beginning still differ.

    >>> organisation_code("Gigalis", "589140649")
    'OR-589140649'
    >>> organisation_code("SNCF Réseau", None)
    'OR-SNCFRESEA-04AE08'
    """
    if siren:
        return f"OR-{siren}"
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    letters = re.sub(r"[^A-Z0-9]", "", ascii_name.upper())
    digest = hashlib.sha256(name.encode()).hexdigest()[:6].upper()
    return f"OR-{letters[:9]}-{digest}"


def node_code(site_code: str) -> str:
    return f"ND-{site_code}"


def site_code(site: str) -> str:
    return f"ST-{site}"


def cheminement_code(cable_code: str) -> str:
    return f"CM-{cable_code}"


def cable_code(cable: str) -> str:
    return f"CB-{cable}"


def cableline_code(cable: str) -> str:
    return f"CL-{cable}"


# --- reading the network ------------------------------------------------------------------


@dataclass(frozen=True)
class Network:
    organisations: dict[int, Any]  # by id, only those the export refers to
    manager_id: int
    sites: dict[int, Any]  # by id, the sites exported
    cables: list[Any]
    available_strands: dict[int, int]  # cable id → strands in working order and not held
    fibres_per_tube: dict[int, int]  # cable id → the most strands in one of its tubes


def read_network(session: Session, manager: str = DEFAULT_MANAGER) -> Network:
    """Every cable, every network site and every site a cable ends at, and the
    organisations they refer to; ``manager`` names the organisation that runs the network."""
    organisations = {row.id: row for row in execute_core(session, sa.select(ORGANISATION))}
    manager_id = next((row.id for row in organisations.values() if row.name == manager), None)
    if manager_id is None:
        raise InvalidInput.of("--manager", f"no organisation named {manager!r}")
    cables = list(execute_core(session, sa.select(CABLE).order_by(CABLE.c.code)))
    ends = {cable.a_site_id for cable in cables} | {cable.z_site_id for cable in cables}
    sites = {
        row.id: row
        for row in execute_core(session, sa.select(SITE).order_by(SITE.c.code))
        if row.kind in POP_KINDS or row.id in ends
    }
    referred = {manager_id} | {cable.owner_id for cable in cables}
    return Network(
        {key: row for key, row in organisations.items() if key in referred},
        manager_id,
        sites,
        cables,
        available_strands(session),
        fibres_per_tube(session),
    )


def available_strands(session: Session) -> dict[int, int]:
    held = sa.select(STRAND_HOLDING.c.strand_id)
    query = (
        sa.select(STRAND.c.cable_id, sa.func.count().label("strands"))
        .where(STRAND.c.state == StrandState.AVAILABLE, STRAND.c.id.not_in(held))
        .group_by(STRAND.c.cable_id)
    )
    return {row.cable_id: row.strands for row in execute_core(session, query)}


def fibres_per_tube(session: Session) -> dict[int, int]:
    per_tube = (
        sa.select(STRAND.c.cable_id, sa.func.count().label("strands"))
        .group_by(STRAND.c.cable_id, STRAND.c.tube)
        .subquery()
    )
    query = sa.select(
        per_tube.c.cable_id, sa.func.max(per_tube.c.strands).label("strands")
    ).group_by(per_tube.c.cable_id)
    return {row.cable_id: row.strands for row in execute_core(session, query)}


# --- the tables ---------------------------------------------------------------------------


def gracethd_tables(session: Session, manager: str = DEFAULT_MANAGER) -> list[Layer]:
    """The six tables, in GraceTHD's column order; geometry still WGS84, as every layer's."""
    network = read_network(session, manager)
    codes = {
        key: organisation_code(row.name, row.siren) for key, row in network.organisations.items()
    }
    manager_code = codes[network.manager_id]
    return [
        Layer("t_organisme", None, ORGANISME_COLUMNS, organisme_rows(network)),
        Layer("t_noeud", "Point", NOEUD_COLUMNS, noeud_rows(network)),
        Layer("t_sitetech", None, SITETECH_COLUMNS, sitetech_rows(network, manager_code)),
        Layer("t_cheminement", "LineString", CHEMINEMENT_COLUMNS, cheminement_rows(network)),
        Layer("t_cable", None, CABLE_COLUMNS, cable_rows(network, codes, manager_code)),
        Layer("t_cableline", "LineString", CABLELINE_COLUMNS, cableline_rows(network)),
    ]


def lifecycle(prefix: str, row: Any) -> dict[str, Any]:
    """The columns every GraceTHD object has about its record: created, updated, abandoned."""
    retired = row.status == LifecycleStatus.RETIRED
    return {
        f"{prefix}_creadat": row.created_at,
        f"{prefix}_majdate": row.updated_at,
        f"{prefix}_majsrc": GEOLOCATION_SOURCE,
        # The retirement's own date is not recorded: left empty rather than guessed.
        f"{prefix}_abdsrc": RETIRED_REASON if retired else None,
    }


def phase_columns(prefix: str, status: LifecycleStatus) -> dict[str, str]:
    phase = PHASES[LifecycleStatus(status)]
    return {
        f"{prefix}_statut": phase.statut,
        f"{prefix}_avct": phase.avancement,
        f"{prefix}_etat": phase.etat,
    }


def placement(prefix: str) -> dict[str, str]:
    return {
        f"{prefix}_dtclass": PRECISION_CLASS,
        f"{prefix}_geolmod": PLACEMENT_MODE,
        f"{prefix}_geolsrc": GEOLOCATION_SOURCE,
    }


def organisme_rows(network: Network) -> list[Feature]:
    rows = []
    for row in sorted(network.organisations.values(), key=lambda row: row.name):
        code = organisation_code(row.name, row.siren)
        properties = {
            "or_code": code,
            "or_siren": row.siren,
            "or_nom": row.name,
            "or_l331": row.arcep_code,  # ARCEP's code of an L33-1 operator
            "or_comment": _kind_comment(row.kind),
            "or_creadat": row.created_at,
            "or_majdate": row.updated_at,
            "or_majsrc": GEOLOCATION_SOURCE,
        }
        rows.append(Feature(code, properties, None))
    return rows


def _kind_comment(kind: Any) -> str:
    return {
        "member": "membre du syndicat mixte",
        "operator": "opérateur",
        "fibre_owner": "propriétaire de fibre",
        "supplier": "fournisseur",
    }.get(str(getattr(kind, "value", kind)), str(kind))


def noeud_rows(network: Network) -> list[Feature]:
    rows = []
    for site in network.sites.values():
        code = node_code(site.code)
        properties = {
            "nd_code": code,
            "nd_codeext": site.code,
            "nd_nom": site.name,
            "nd_r1_code": NETWORK_REFERENCE,
            "nd_voie": site.address,
            "nd_type": SITE_NODE_TYPE,
            "nd_type_ep": OPTICAL,
            **placement("nd"),
            **lifecycle("nd", site),
        }
        rows.append(Feature(code, properties, shapely.Point(site.longitude, site.latitude)))
    return rows


def sitetech_rows(network: Network, manager_code: str) -> list[Feature]:
    rows = []
    for site in network.sites.values():
        code = site_code(site.code)
        types = SITE_TYPES[SiteKind(site.kind)]
        properties = {
            "st_code": code,
            "st_nd_code": node_code(site.code),
            "st_codeext": site.code,
            "st_nom": site.name,
            # Who owns the premises is not recorded; Gigalis runs and uses every site.
            "st_gest": manager_code,
            "st_user": manager_code,
            **phase_columns("st", site.status),
            "st_typephy": types.physical,
            "st_typelog": types.logical,
            "st_comment": f"Gigalis {SiteKind(site.kind).value}",
            **lifecycle("st", site),
        }
        rows.append(Feature(code, properties, None))
    return rows


def cable_line(network: Network, cable: Any) -> shapely.LineString:
    return shapely.LineString(cable_route(cable, network.sites))


def route_source(cable: Any) -> str:
    return "tracé enregistré" if cable.route else "ligne droite entre les extrémités"


def cheminement_rows(network: Network) -> list[Feature]:
    rows = []
    for cable in network.cables:
        code = cheminement_code(cable.code)
        line = cable_line(network, cable)
        own = cable.ownership == CableOwnership.OWN
        properties = {
            "cm_code": code,
            "cm_ndcode1": node_code(network.sites[cable.a_site_id].code),
            "cm_ndcode2": node_code(network.sites[cable.z_site_id].code),
            "cm_r1_code": NETWORK_REFERENCE,
            **phase_columns("cm", cable.status),
            "cm_typelog": BACKBONE_LOGICAL_TYPE,
            "cm_typ_imp": OWN_IMPLANTATION if own else None,
            "cm_nature": OWN_NATURE if own else None,
            "cm_long": _length(line),
            "cm_lgreel": float(cable.length_m),
            "cm_comment": f"cheminement du câble {cable.code} ({route_source(cable)})",
            **placement("cm"),
            **lifecycle("cm", cable),
        }
        rows.append(Feature(code, properties, line))
    return rows


def cable_rows(network: Network, codes: Mapping[int, str], manager_code: str) -> list[Feature]:
    rows = []
    for cable in network.cables:
        code = cable_code(cable.code)
        properties = {
            "cb_code": code,
            "cb_codeext": cable.code,
            "cb_nd1": node_code(network.sites[cable.a_site_id].code),
            "cb_nd2": node_code(network.sites[cable.z_site_id].code),
            "cb_r1_code": NETWORK_REFERENCE,
            "cb_prop": codes[cable.owner_id],
            # The owner maintains its cable (an IRU or a lease pays it to); Gigalis uses it.
            "cb_gest": codes[cable.owner_id],
            "cb_user": manager_code,
            "cb_proptyp": PROPERTY_TYPES[CableOwnership(cable.ownership)],
            **phase_columns("cb", cable.status),
            "cb_tech": OPTICAL,
            "cb_typephy": CABLE_PHYSICAL_TYPE,
            "cb_typelog": BACKBONE_LOGICAL_TYPE,
            "cb_capafo": cable.fibre_count,
            "cb_fo_disp": network.available_strands.get(cable.id, 0),
            "cb_modulo": network.fibres_per_tube.get(cable.id),
            "cb_lgreel": float(cable.length_m),
            "cb_comment": _iru_comment(cable),
            **lifecycle("cb", cable),
        }
        rows.append(Feature(code, properties, None))
    return rows


def _iru_comment(cable: Any) -> str | None:
    if cable.iru_end_date is None:
        return None
    return f"IRU jusqu'au {cable.iru_end_date.isoformat()}"


def cableline_rows(network: Network) -> list[Feature]:
    rows = []
    for cable in network.cables:
        code = cableline_code(cable.code)
        line = cable_line(network, cable)
        properties = {
            "cl_code": code,
            "cl_cb_code": cable_code(cable.code),
            "cl_long": _length(line),
            "cl_comment": route_source(cable),
            **placement("cl"),
            **lifecycle("cl", cable),
        }
        rows.append(Feature(code, properties, line))
    return rows


def _length(line: BaseGeometry) -> float:
    """A line's length in metres, measured in Lambert-93, to the centimetre."""
    return round(float(lambert93(line).length), 2)


# --- checks the tests and the writer share ------------------------------------------------


def enumeration_problems(tables: Sequence[Layer]) -> list[str]:
    """Every value of a listed column that is not one of its list's codes."""
    problems = []
    for table in tables:
        for column, codes in ENUMERATED_COLUMNS.get(table.name, {}).items():
            for feature in table.features:
                value = feature.properties.get(column)
                if value is not None and value not in codes:
                    problems.append(f"{table.name}.{column} of {feature.key}: {value!r}")
    return problems


def reference_problems(tables: Sequence[Layer]) -> list[str]:
    """Every reference that names no row of the table it refers to."""
    keys = {
        (table.name, column.name): {f.properties.get(column.name) for f in table.features}
        for table in tables
        for column in table.columns
    }
    problems = []
    for table in tables:
        for feature in table.features:
            for column in table.columns:
                target = REFERENCES.get((table.name, column.name))
                value = feature.properties.get(column.name)
                if target and value is not None and value not in keys.get(target, set()):
                    problems.append(f"{table.name}.{column.name} of {feature.key}: {value!r}")
    return problems


# --- files --------------------------------------------------------------------------------


def csv_value(value: Any, kind: FieldKind) -> str:
    """A value as GraceTHD's CSV holds it: no quoting, so no ``;`` or line break inside a
    value (GraceTHD forbids ``;`` in any value); dates and times in ISO 8601, times in UTC;
    booleans 0 and 1; empty for null.

    >>> csv_value("Nantes; centre\\n", FieldKind.TEXT), csv_value(True, FieldKind.BOOLEAN)
    ('Nantes, centre ', '1')
    >>> from datetime import datetime
    >>> csv_value(datetime(2024, 5, 1, 8, 30, tzinfo=UTC), FieldKind.DATETIME)
    '2024-05-01 08:30:00'
    """
    if value is None:
        return ""
    if kind is FieldKind.BOOLEAN:
        return "1" if value else "0"
    if kind is FieldKind.DATETIME:
        return str(value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"))
    if kind is FieldKind.DATE:
        return str(value.isoformat() if isinstance(value, date) else value)
    if kind is FieldKind.REAL:
        return f"{float(value):.2f}"
    text = str(value)
    return (
        text.replace(CSV_SEPARATOR, ",").replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
    )


def csv_lines(table: Layer) -> Iterable[str]:
    """A table as GraceTHD CSV: the column names, then one line per row; a table with
    geometry ends with ``geom``, its Lambert-93 WKT."""
    names = [column.name for column in table.columns]
    yield CSV_SEPARATOR.join(names + (["geom"] if table.geometry_type else []))
    for feature in table.features:
        values = [csv_value(feature.properties.get(c.name), c.kind) for c in table.columns]
        if table.geometry_type:
            geometry = feature.geometry
            wkt = (
                ""
                if geometry is None
                else shapely.to_wkt(lambert93(geometry), rounding_precision=WKT_DECIMALS, trim=True)
            )
            values.append(str(wkt))
        yield CSV_SEPARATOR.join(values)


def write_csv(table: Layer, path: Path) -> None:
    path.write_text("".join(f"{line}\n" for line in csv_lines(table)), encoding="utf-8")


def plan_gracethd_files(
    tables: Sequence[str], output: GraceFormat, out: OutTarget, *, force: bool
) -> dict[str, Path]:
    """The file each table goes to, checked before anything is written: one CSV per table in
    the folder ``out``; or one GeoPackage, ``out`` itself (a .gpkg file) or
    ``gracethd.gpkg`` in the folder ``out``. A GeoPackage maps every table to its one file."""
    if output is GraceFormat.GPKG:
        if out.folder:
            path = out.path / "gracethd.gpkg"
        else:
            require_suffix(out, (GEOPACKAGE_SUFFIX,), "a GeoPackage")
            path = out.path
        refuse_overwrite(path, force=force)
        return dict.fromkeys(tables, path)
    if not out.folder:
        raise InvalidInput.of(
            OUT,
            f"the CSV tables are written one file each: name a folder, not {out.path} "
            "(a new folder's name ends in /)",
        )
    paths = {table: out.path / f"{table}.csv" for table in tables}
    for path in paths.values():
        refuse_overwrite(path, force=force)
    return paths


def export_gracethd(
    tables: Sequence[Layer], output: GraceFormat, out: OutTarget, *, force: bool
) -> list[WrittenFile]:
    """Write the tables as one CSV per table in the folder ``out``, or as one GeoPackage
    (``out`` a .gpkg file, or ``gracethd.gpkg`` in the folder ``out``)."""
    problems = enumeration_problems(tables) + reference_problems(tables)
    if problems:  # a mapping bug; the file would be refused by GraceTHD's checker
        raise ValueError(f"GraceTHD export inconsistent: {problems[:5]}")
    paths = plan_gracethd_files([table.name for table in tables], output, out, force=force)
    if output is GraceFormat.GPKG:
        [path] = set(paths.values())
        write_atomically(path, partial(write_geopackage, tables))
        return [WrittenFile(path, table_counts(tables))]
    make_folder(out.path)
    written = []
    for table in tables:
        write_atomically(paths[table.name], partial(write_csv, table))
        written.append(WrittenFile(paths[table.name], {table.name: len(table.features)}))
    return written


def table_counts(tables: Sequence[Layer]) -> dict[str, int]:
    return {table.name: len(table.features) for table in tables}
