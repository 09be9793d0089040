"""Checks of the identifiers a site needing THD may carry: UAI (schools), FINESS (health
establishments) and SIRET (any establishment). Each returns the value in its canonical form
or raises ValueError with the reason, so pydantic reports it against the field."""

from __future__ import annotations

import re

from gigalis_nms.inventory import validators
from gigalis_nms.inventory.validators import luhn_valid

# The UAI key letter: the 7 first characters as a number, modulo 23, over the alphabet
# without I, O and Q (which read as 1 and 0).
UAI_KEYS = "ABCDEFGHJKLMNPRSTUVWXYZ"


def uai_key(first_seven: str) -> str:
    """The key letter of a UAI (unité administrative immatriculée).

    >>> uai_key("0530007")
    'V'
    """
    return UAI_KEYS[int(first_seven) % 23]


def check_uai(value: str) -> str:
    """A UAI: 7 digits and its key letter, e.g. 0530007V (upper-cased).

    >>> check_uai("0530007v")
    '0530007V'
    """
    value = value.strip().upper()
    if not re.fullmatch(r"\d{7}[A-Z]", value):
        raise ValueError("a UAI is 7 digits and a letter, e.g. 0530007V")
    if uai_key(value[:7]) != value[7]:
        raise ValueError(f"not a valid UAI (its key letter should be {uai_key(value[:7])})")
    return value


def check_finess(value: str) -> str:
    """A FINESS number: 9 characters, the département (2A/2B for Corsica, read as 20) then
    7 digits, the last a Luhn key.

    >>> check_finess("440000289")
    '440000289'
    """
    value = value.strip().upper()
    if not re.fullmatch(r"(\d{2}|2A|2B)\d{7}", value):
        raise ValueError("a FINESS number is 9 characters: the département and 7 digits")
    if not luhn_valid(value.replace("2A", "20").replace("2B", "20")):
        raise ValueError("not a valid FINESS number (its Luhn key fails)")
    return value


def check_siret(value: str) -> str:
    """A SIRET as people write it (spaces dropped), checked as billing checks one.

    >>> check_siret("732 829 320 00074")
    '73282932000074'
    """
    return validators.check_siret(re.sub(r"\s", "", value))


def check_postcode(value: str) -> str:
    """A French postcode: 5 digits.

    >>> check_postcode("44000")
    '44000'
    """
    value = value.strip()
    if not re.fullmatch(r"\d{5}", value):
        raise ValueError("a French postcode is 5 digits")
    return value
