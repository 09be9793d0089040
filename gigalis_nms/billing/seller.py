"""Who invoices: Gigalis's identity, bank details and legal mentions, from
``billing/seller.yaml``.

Every invoice and credit note names its seller by SIREN, SIRET and VAT number, and a Factur-X
invoice paid by transfer carries the IBAN, so the file is checked on load: each identifier
by its own checksum, the SIRET and VAT number against the SIREN, and an unknown key refused,
every problem named by line and field.

>>> format_iban("FR7699999000010000001234537")
'FR76 9999 9000 0100 0000 1234 537'
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    ValidationError,
    model_validator,
)

from gigalis_nms.billing.accounts import check_vat_number, vat_number_of
from gigalis_nms.catalogue.loader import problem_at
from gigalis_nms.errors import FieldProblem, InvalidInput
from gigalis_nms.inventory.loader.source import Located, read_yaml
from gigalis_nms.inventory.validators import check_siren, check_siret
from gigalis_nms.settings import get_settings

logger = logging.getLogger(__name__)

REPOSITORY_SELLER = Path(__file__).resolve().parents[2] / "billing" / "seller.yaml"
# A French IBAN: FR, two check digits, then the RIB: bank (5), branch (5), account (11
# letters or digits) and its two-digit key.
FRENCH_IBAN = re.compile(r"FR\d{2}(\d{5})(\d{5})([0-9A-Z]{11})(\d{2})")
IBAN = re.compile(r"[A-Z]{2}\d{2}[0-9A-Z]{11,30}")
BIC = re.compile(r"[A-Z]{4}[A-Z]{2}[0-9A-Z]{2}([0-9A-Z]{3})?")
# The RIB key counts letters of the account as digits, by this table (norme AFNOR).
RIB_LETTERS = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "12345678912345678923456789")


def iban_checksum_valid(iban: str) -> bool:
    """ISO 13616: the IBAN, its first four characters moved to the end and letters counted
    as 10 to 35, leaves 1 when divided by 97.

    >>> [iban_checksum_valid(f"FR763000600001123456789018{last}") for last in (9, 8)]
    [True, False]
    """
    moved = iban[4:] + iban[:4]
    return int("".join(str(int(char, 36)) for char in moved)) % 97 == 1


def rib_key_valid(bank: str, branch: str, account: str, key: str) -> bool:
    """The French RIB key: 97 minus (89 × bank + 15 × branch + 3 × account) modulo 97."""
    digits = account.translate(RIB_LETTERS)
    return 97 - (89 * int(bank) + 15 * int(branch) + 3 * int(digits)) % 97 == int(key)


def check_iban(value: str) -> str:
    if not IBAN.fullmatch(value):
        raise ValueError(
            "an IBAN is a country code, two check digits and 11 to 30 letters or digits"
        )
    if not iban_checksum_valid(value):
        raise ValueError("not a valid IBAN (its check digits fail)")
    french = FRENCH_IBAN.fullmatch(value)
    if value.startswith("FR") and french is None:
        raise ValueError("a French IBAN is FR, two check digits and a 23-character RIB")
    if french is not None and not rib_key_valid(*french.groups()):
        raise ValueError("not a valid French IBAN (the key of its RIB fails)")
    return value


def check_bic(value: str) -> str:
    if not BIC.fullmatch(value):
        raise ValueError("a BIC is 8 or 11 characters: bank (4 letters), country, location")
    return value


def compact(value: Any) -> Any:
    """An identifier as people write it (grouped by spaces) as it is checked and sent."""
    return value.replace(" ", "").upper() if isinstance(value, str) else value


def format_iban(iban: str) -> str:
    """An IBAN grouped by four, as it is printed."""
    return " ".join(iban[start : start + 4] for start in range(0, len(iban), 4))


Siren = Annotated[str, AfterValidator(check_siren)]
Siret = Annotated[str, AfterValidator(check_siret)]
VatNumber = Annotated[str, BeforeValidator(compact), AfterValidator(check_vat_number)]
Iban = Annotated[str, BeforeValidator(compact), AfterValidator(check_iban)]
Bic = Annotated[str, BeforeValidator(compact), AfterValidator(check_bic)]
Text = Annotated[str, Field(min_length=1, max_length=300)]


class Mentions(BaseModel):
    """What French law requires an invoice between professionals to say about payment."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    late_payment: Annotated[str, Field(min_length=1, max_length=600)]  # L441-10
    recovery_indemnity: Annotated[str, Field(min_length=1, max_length=600)]  # D441-5: 40 €
    early_payment_discount: Annotated[str, Field(min_length=1, max_length=600)]  # L441-9


class Seller(BaseModel):
    """Gigalis as its documents name it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(min_length=1, max_length=200)]
    legal_form: Annotated[str, Field(min_length=1, max_length=100)]
    siren: Siren
    siret: Siret
    vat_number: VatNumber
    address: Text
    postcode: Annotated[str, Field(pattern=r"^[0-9A-Z -]{2,10}$")]
    city: Annotated[str, Field(min_length=1, max_length=100)]
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
    email: EmailStr
    phone: Annotated[str, Field(pattern=r"^\+?[0-9 .]{6,20}$")]
    iban: Iban
    bic: Bic
    mentions: Mentions

    @model_validator(mode="after")
    def _identifiers_agree(self) -> Self:
        if not self.siret.startswith(self.siren):
            raise ValueError(f"siret: {self.siret} is not an establishment of SIREN {self.siren}")
        if self.vat_number != vat_number_of(self.siren):
            raise ValueError(
                f"vat_number: the VAT number of SIREN {self.siren} is {vat_number_of(self.siren)}"
            )
        return self


def load_seller(path: Path) -> Seller:
    """The seller in ``path``; InvalidInput naming every problem, by line and field."""
    if not path.is_file():
        raise InvalidInput.of("path", "no such file", str(path))
    document = read_yaml(path, path.name)
    if not isinstance(document, Located):
        raise InvalidInput.of("seller", "must be a mapping of the seller's fields", path.name)
    try:
        seller = Seller.model_validate(document)
    except ValidationError as error:
        problems = list(dict.fromkeys(_problem(document, item) for item in error.errors()))
        count = len(problems)
        summary = str(problems[0]) if count == 1 else f"{count} problems; the first: {problems[0]}"
        raise InvalidInput(summary, problems) from None
    logger.info("seller %s: %s, SIRET %s", path, seller.name, seller.siret)
    return seller


def _problem(document: Located, error: Any) -> FieldProblem:
    if error["loc"]:
        return problem_at(document, error)
    # A check across fields names its field at the start of its message.
    field, _, reason = str(error["msg"]).removeprefix("Value error, ").partition(": ")
    return FieldProblem(field, reason, document.where(field if field in document else None))


def seller_path(path: Path | None = None) -> Path:
    """``path``, else GIGALIS_SELLER_FILE once the settings know it, else the checkout's file."""
    if path is not None:
        return path
    configured = getattr(get_settings(), "seller_file", None)
    return Path(configured) if configured else REPOSITORY_SELLER


@lru_cache(maxsize=4)
def cached_seller(path: Path) -> Seller:
    """``load_seller(path)``, read once per process (a refused file is read again each time)."""
    return load_seller(path)


def default_seller(path: Path | None = None) -> Seller:
    """The seller of ``path``, else of the configured file, else of ``billing/seller.yaml``."""
    return cached_seller(seller_path(path))
