"""Whom a qualification or a quote is for: the caller's own organisation for an operator
token; the operator a staff token names in ``relatedParty`` (role customer or buyer, by
organisation id or name).
"""

from __future__ import annotations

import sqlalchemy as sa
from pydantic import Field
from sqlmodel import Session

from gigalis_nms.db.listing import execute_core
from gigalis_nms.errors import InvalidInput
from gigalis_nms.inventory.enums import OrganisationKind
from gigalis_nms.inventory.tables import ORGANISATION
from gigalis_nms.ordering.requests import TmfModel

CUSTOMER_ROLES = frozenset({"customer", "buyer"})


class RelatedParty(TmfModel):
    """A party of a TMF request: the customer is an operator, by organisation id or name."""

    id: str | None = Field(None, min_length=1, max_length=100)
    name: str | None = Field(None, min_length=1, max_length=200)
    role: str | None = Field(None, max_length=50)
    href: str | None = Field(None, max_length=500)
    referred_type: str | None = Field(None, alias="@referredType", max_length=100)


def customer_of(
    session: Session, parties: list[RelatedParty], *, tenant: int | None, field: str
) -> int:
    """The operator a request is for. An operator acts for itself: a customer party naming
    another organisation is refused. Staff must name one. InvalidInput naming
    ``<field>[n]`` otherwise."""
    named = [
        (number, party)
        for number, party in enumerate(parties)
        if party.role is None or party.role.lower() in CUSTOMER_ROLES
    ]
    if tenant is not None:
        for number, party in named:
            if _organisation_id(session, party) != tenant:
                raise InvalidInput.of(
                    f"{field}[{number}]", "an operator token acts for its own organisation only"
                )
        return tenant
    if not named:
        raise InvalidInput.of(
            field, "a staff token names the operator: a party with role customer, by id or name"
        )
    number, party = named[0]
    organisation_id = _organisation_id(session, party)
    if organisation_id is None:
        what = party.id if party.id is not None else party.name
        raise InvalidInput.of(f"{field}[{number}]", f"no operator {what!r}")
    return organisation_id


def _organisation_id(session: Session, party: RelatedParty) -> int | None:
    """The operator the party names, by id (a number) or else by name; None if none."""
    query = sa.select(ORGANISATION.c.id).where(ORGANISATION.c.kind == OrganisationKind.OPERATOR)
    if party.id is not None:
        if not party.id.isdigit() or len(party.id) > 18:
            return None
        query = query.where(ORGANISATION.c.id == int(party.id))
    elif party.name is not None:
        query = query.where(ORGANISATION.c.name == party.name)
    else:
        return None
    found: int | None = execute_core(session, query).scalar_one_or_none()
    return found
