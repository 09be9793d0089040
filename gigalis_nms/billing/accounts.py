"""Operators' billing accounts: what an invoice says about its buyer beyond the inventory.

The SIREN stays the organisation's (inventory); the account adds the establishment invoiced
(SIRET, which must belong to that SIREN), the VAT number (whose key is computed from the
SIREN), the postal address, payment terms, and for a public buyer the Chorus Pro fields.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    ValidationError,
)
from sqlmodel import Session, col, select

from gigalis_nms.billing.models import BillingAccount
from gigalis_nms.db.types import utcnow
from gigalis_nms.errors import FieldProblem, InvalidInput, NotFound
from gigalis_nms.inventory.models import Organisation
from gigalis_nms.inventory.validators import check_siret


def vat_number_of(siren: str) -> str:
    """The French intra-community VAT number of a SIREN: FR, a two-digit key, the SIREN.

    >>> vat_number_of("732829320")
    'FR44732829320'
    """
    key = (12 + 3 * (int(siren) % 97)) % 97
    return f"FR{key:02d}{siren}"


def check_vat_number(value: str) -> str:
    if not re.fullmatch(r"FR[0-9A-Z]{2}\d{9}", value):
        raise ValueError("a French VAT number is FR, a two-character key and the 9-digit SIREN")
    return value


def printable(value: str) -> str:
    """Text printed on invoices and written into their XML: trimmed, never blank, without
    control or invisible formatting characters (a BEL is not valid XML; a right-to-left
    override would make the PDF say something other than what was typed).

    >>> printable("  Covage SAS ")
    'Covage SAS'
    """
    value = unicodedata.normalize("NFC", value).strip()
    if not value:
        raise ValueError("may not be blank")
    odd = next((c for c in value if unicodedata.category(c) in ("Cc", "Cf")), None)
    if odd is not None:
        raise ValueError(f"may not hold the control character U+{ord(odd):04X}")
    return value


def _compact(value: object) -> object:
    """Identifiers as people type them: "732 829 320 00074", "fr44…"."""
    return value.replace(" ", "").upper() if isinstance(value, str) else value


Siret = Annotated[str, BeforeValidator(_compact), AfterValidator(check_siret)]
VatNumber = Annotated[str, BeforeValidator(_compact), AfterValidator(check_vat_number)]
Printable = Annotated[str, AfterValidator(printable)]


class BillingAccountChange(BaseModel):
    """Fields to set on an operator's billing account; those left out keep their value,
    ``null`` clears one."""

    model_config = ConfigDict(extra="forbid")

    legal_name: Printable | None = Field(default=None, max_length=200)
    siret: Siret | None = None
    vat_number: VatNumber | None = None
    address: Printable | None = Field(default=None, max_length=300)
    postcode: str | None = Field(default=None, pattern=r"^[0-9A-Z -]{2,10}$")
    city: Printable | None = Field(default=None, max_length=100)
    country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    email: EmailStr | None = None
    payment_days: int | None = Field(default=None, ge=0, le=60, description="at most 60 by law")
    public_buyer: bool | None = None
    chorus_service_code: Printable | None = Field(default=None, max_length=100)
    commitment_number: Printable | None = Field(default=None, max_length=50)


class BillingAccountView(BaseModel):
    operator_id: int
    operator: str
    siren: str | None
    legal_name: str | None
    siret: str | None
    vat_number: str | None
    address: str | None
    postcode: str | None
    city: str | None
    country: str
    email: str | None
    payment_days: int
    public_buyer: bool
    chorus_service_code: str | None
    commitment_number: str | None


def account_of(session: Session, operator_id: int) -> BillingAccount:
    """The operator's account, or a blank one (not added to the session) if it has none."""
    query = select(BillingAccount).where(col(BillingAccount.operator_id) == operator_id)
    return session.exec(query).first() or BillingAccount(operator_id=operator_id)


def read_account(session: Session, operator_id: int) -> BillingAccountView:
    organisation = _organisation(session, operator_id)
    account = account_of(session, operator_id)
    return _view(organisation, account)


def set_account(
    session: Session, operator_id: int, change: BillingAccountChange
) -> BillingAccountView:
    """Change an operator's billing account, creating it on first use. Refused, changing
    nothing, when the SIRET or VAT number is not the organisation's, or when a public buyer
    would be left without a SIRET."""
    organisation = _organisation(session, operator_id)
    account = account_of(session, operator_id)
    values = change.model_dump(exclude_unset=True)
    if values.get("country") is None:
        values.pop("country", None)  # never cleared: FR unless said otherwise
    if values.get("payment_days") is None:
        values.pop("payment_days", None)
    merged = {**account.model_dump(), **values}
    problems = _account_problems(organisation, merged)
    if problems:
        raise InvalidInput(f"billing account of {organisation.name}: {problems[0]}", problems)
    for name, value in values.items():
        setattr(account, name, value)
    account.updated_at = utcnow()
    session.add(account)
    session.flush()
    return _view(organisation, account)


def parse_change(data: dict[str, object]) -> BillingAccountChange:
    """A change from untrusted input (the command line), every bad field named."""
    try:
        return BillingAccountChange.model_validate(data)
    except ValidationError as error:
        problems = [
            FieldProblem(
                ".".join(str(part) for part in item["loc"]),
                str(item["msg"]).removeprefix("Value error, "),
            )
            for item in error.errors()
        ]
        raise InvalidInput(str(problems[0]), problems) from None


def _account_problems(organisation: Organisation, merged: dict[str, object]) -> list[FieldProblem]:
    siren = organisation.siren
    problems = []
    siret = merged.get("siret")
    if isinstance(siret, str) and siren and not siret.startswith(siren):
        problems.append(FieldProblem("siret", f"{siret} is not an establishment of SIREN {siren}"))
    vat = merged.get("vat_number")
    if isinstance(vat, str) and siren and vat != vat_number_of(siren):
        problems.append(
            FieldProblem("vat_number", f"the VAT number of SIREN {siren} is {vat_number_of(siren)}")
        )
    postcode = merged.get("postcode")
    if (
        merged.get("country", "FR") == "FR"
        and postcode
        and not re.fullmatch(r"\d{5}", str(postcode))
    ):
        problems.append(FieldProblem("postcode", "a French postcode is five digits"))
    if merged.get("public_buyer") and not siret:
        problems.append(
            FieldProblem("siret", "a public buyer is invoiced through Chorus Pro, which needs it")
        )
    return problems


def _organisation(session: Session, operator_id: int) -> Organisation:
    organisation = session.get(Organisation, operator_id)
    if organisation is None:
        raise NotFound.of("operator", f"no operator with id {operator_id}")
    return organisation


def _view(organisation: Organisation, account: BillingAccount) -> BillingAccountView:
    assert organisation.id is not None
    return BillingAccountView(
        operator_id=organisation.id,
        operator=organisation.name,
        siren=organisation.siren,
        legal_name=account.legal_name,
        siret=account.siret,
        vat_number=account.vat_number,
        address=account.address,
        postcode=account.postcode,
        city=account.city,
        country=account.country or "FR",
        email=account.email,
        payment_days=account.payment_days if account.payment_days is not None else 30,
        public_buyer=bool(account.public_buyer),
        chorus_service_code=account.chorus_service_code,
        commitment_number=account.commitment_number,
    )
