"""Checks of French identifiers and network values, shared by the API and the loader."""

from __future__ import annotations

import ipaddress
import re

SITE_CODE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{1,31}$")
HOSTNAME = re.compile(
    r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$"
)
# A commune's code starts with its département: 01-19, 2A and 2B (Corsica, 20 before 1976),
# 21-95, then 971-976 overseas, followed by the commune's number in it.
INSEE_CODE = re.compile(r"^((0[1-9]|1\d|2[1-9AB]|[3-8]\d|9[0-5])\d{3}|97[1-6]\d{2})$")
CIRCUIT_REF = re.compile(r"^GIG-(DF|ETH|WAV|HST)-\d{6}$")


def luhn_valid(digits: str) -> bool:
    """Luhn checksum, which SIREN and SIRET numbers carry.

    >>> luhn_valid("732829320")
    True
    >>> luhn_valid("732829321")
    False
    """
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def check_siren(value: str) -> str:
    if not re.fullmatch(r"\d{9}", value):
        raise ValueError("a SIREN is exactly 9 digits")
    if not luhn_valid(value):
        raise ValueError("not a valid SIREN (its Luhn checksum fails)")
    return value


# La Poste's establishments share one SIREN and follow their own rule instead of Luhn: the
# sum of the SIRET's digits is a multiple of 5.
LA_POSTE_SIREN = "356000000"


def check_siret(value: str) -> str:
    """A SIRET: the SIREN and a five-digit establishment number, Luhn-checked (La Poste's by
    its own rule).

    >>> check_siret("73282932000074"), check_siret("35600000000001")
    ('73282932000074', '35600000000001')
    """
    if not re.fullmatch(r"\d{14}", value):
        raise ValueError("a SIRET is exactly 14 digits")
    if value.startswith(LA_POSTE_SIREN):
        if sum(int(digit) for digit in value) % 5:
            raise ValueError(
                "not a valid SIRET of La Poste (its digits must add up to a multiple of 5)"
            )
        return value
    if not luhn_valid(value):
        raise ValueError("not a valid SIRET (its Luhn checksum fails)")
    return value


def check_site_code(value: str) -> str:
    if not SITE_CODE.fullmatch(value):
        raise ValueError("2 to 32 characters among A-Z, 0-9, '-' and '_', starting with A-Z or 0-9")
    return value


def check_hostname(value: str) -> str:
    if len(value) > 253 or not HOSTNAME.fullmatch(value):
        raise ValueError("a lower-case DNS name (letters, digits, '-' and '.')")
    return value


def check_insee_code(value: str) -> str:
    """An INSEE commune code, whose département exists.

    >>> check_insee_code("44109"), check_insee_code("2A004"), check_insee_code("97411")
    ('44109', '2A004', '97411')
    >>> [code for code in ("99999", "20004", "2C004", "97701") if INSEE_CODE.fullmatch(code)]
    []
    """
    if not INSEE_CODE.fullmatch(value):
        raise ValueError(
            "an INSEE commune code is 5 characters starting with a département "
            "(01-19, 2A, 2B, 21-95, 971-976), e.g. 44109"
        )
    return value


def departement_of(insee_code: str) -> str:
    """The département a commune belongs to.

    >>> departement_of("44109"), departement_of("97411"), departement_of("2A004")
    ('44', '974', '2A')
    """
    return insee_code[:3] if insee_code.startswith("97") else insee_code[:2]


def check_ip_address(value: str) -> str:
    try:
        return str(ipaddress.ip_interface(value).ip)
    except ValueError:
        raise ValueError("not an IPv4 or IPv6 address") from None


def check_circuit_ref(value: str) -> str:
    if not CIRCUIT_REF.fullmatch(value):
        raise ValueError("a circuit reference looks like GIG-ETH-000123 (DF, ETH, WAV or HST)")
    return value


def check_vlan(value: int) -> int:
    if not 1 <= value <= 4094:
        raise ValueError("a VLAN id is between 1 and 4094")
    return value
