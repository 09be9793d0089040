"""What the public-view tests load: the real Gigalis network with its subscriptions priced,
a planned PoP, and real collèges needing THD at every status, the first few carrying the
private data (contacts, notes, estimated costs) that the public view must never show."""

from __future__ import annotations

import csv
import itertools
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from gigalis_nms.billing.subscriptions import sync_subscriptions
from gigalis_nms.catalogue.loader import REPOSITORY_CATALOGUE, load_catalogue
from gigalis_nms.db import session_scope
from gigalis_nms.inventory.enums import LifecycleStatus, SiteKind
from gigalis_nms.inventory.loader import load_inventory
from gigalis_nms.inventory.models import Contact, Site
from gigalis_nms.resource_centre.models import (
    NEED_STEPS,
    STATUS_DATE,
    LocatedBy,
    NeedStatus,
    SiteCategory,
    SiteNeed,
)
from tests.conftest import SHARED_DATA

ROOT = Path(__file__).resolve().parents[2]
PUBLIC = "/api/v1/public"
COLLEGES = SHARED_DATA / "opendata" / "colleges-pays-de-la-loire.csv"
COLLEGES_TAKEN = 40
STEP_DAYS = [date(2024, 1, 15), date(2024, 9, 2), date(2025, 3, 10), date(2025, 11, 3)]


@dataclass(frozen=True)
class Private:
    """What the database holds and the public view must never show."""

    notes: list[str]
    contacts: list[Contact]
    costs: list[Decimal]


def need_site(row: dict[str, str], status: NeedStatus, **extra: Any) -> SiteNeed:
    """A collège of the open-data file as a site needing THD, dated up to ``status``."""
    reached = NEED_STEPS[: NEED_STEPS.index(status) + 1]
    dates = {STATUS_DATE[step]: STEP_DAYS[i] for i, step in enumerate(reached)}
    return SiteNeed(
        name=row["appellation_officielle"],
        category=SiteCategory.SCHOOL,
        uai=row["numero_uai"],
        commune_insee=row["code_commune"],
        departement=row["code_commune"][:2],
        latitude=float(row["latitude"]),
        longitude=float(row["longitude"]),
        located_by=LocatedBy.SOURCE,
        status=status,
        source="test: collèges open data",
        **dates,
        **extra,
    )


def load_public_data(engine: Engine) -> Private:
    """The Gigalis network (circuits of six operators) with its subscriptions priced, a
    planned PoP, and collèges needing THD, the first few with contacts, notes and an
    estimated cost."""
    load_inventory(engine, ROOT / "inventory", actor="test")
    with COLLEGES.open(encoding="utf-8") as stream:
        rows = [row for row in csv.DictReader(stream, delimiter=";") if row["latitude"]]
    private = Private(
        notes=["Clé du local technique chez la gardienne, code 4412B", "Budget voté le 12/03"],
        contacts=[
            Contact(
                name="Agnès Quémeneur",
                role="principal",
                email="agnes.q@college.example.net",
                phone="+33 2 40 11 22 33",
            ),
            Contact(
                name="Bertrand Loiseau-Test",
                email="b.loiseau@college.example.net",
                phone="+33 2 41 99 88 77",
            ),
        ],
        costs=[Decimal("48213.57"), Decimal("127904.10")],
    )
    with session_scope(engine, actor="test") as session:
        statuses = itertools.cycle(NeedStatus)
        for index, row in enumerate(rows[:COLLEGES_TAKEN]):
            extra: dict[str, Any] = {}
            if index < len(private.notes):
                extra = {
                    "notes": private.notes[index],
                    "contacts": [private.contacts[index].model_dump()],
                    "connection_cost": private.costs[index],
                    "priority": 77,
                }
            session.add(need_site(row, next(statuses), **extra))
        session.add(
            Site(
                code="PLN1",
                name="Pornichet – planned PoP",
                kind=SiteKind.POP,
                insee_code="44132",
                latitude=47.2637,
                longitude=-2.3387,
                status=LifecycleStatus.PLANNED,
            )
        )
        sync_subscriptions(session, load_catalogue(REPOSITORY_CATALOGUE))
    return private
