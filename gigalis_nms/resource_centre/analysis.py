"""Distances from each site needing THD to the network, the estimated cost of connecting it,
and its priority. (Being written: the signature below is the contract with the importer.)"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from gigalis_nms.catalogue.models import Catalogue


@dataclass(frozen=True)
class AnalysisSummary:
    analysed: int  # sites whose analysis columns were written
    unreachable: int  # sites left without a distance: the network has no active PoP or cable


def analyse_sites(
    session: Session,
    catalogue: Catalogue,
    site_ids: Collection[int] | None = None,
    *,
    now: datetime | None = None,
) -> AnalysisSummary:
    """Write the analysis columns of the sites ``site_ids`` (every site when None)."""
    raise NotImplementedError("being written")
