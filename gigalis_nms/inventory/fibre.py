"""Fibre strands: numbering, tubes and the French colour code.

A cable's strands are numbered from 1 and grouped in tubes of 12. Within a tube, and for the
tubes themselves, French networks use the 12-colour code below (the order of the
Orange/FT and Interop'Fibre rules), so a technician at a splice closure finds strand 17 as
the *bleu* fibre of the *bleu* tube.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from gigalis_nms.inventory.enums import StrandState

FIBRES_PER_TUBE = 12
COLOURS = (
    "rouge",
    "bleu",
    "vert",
    "jaune",
    "violet",
    "blanc",
    "orange",
    "gris",
    "marron",
    "noir",
    "turquoise",
    "rose",
)


def tube_of(number: int) -> int:
    """The tube that holds strand ``number``.

    >>> tube_of(1), tube_of(12), tube_of(13)
    (1, 1, 2)
    """
    return (number - 1) // FIBRES_PER_TUBE + 1


def colour_of(number: int) -> str:
    """The colour of strand ``number`` inside its tube.

    >>> colour_of(1), colour_of(14), colour_of(24)
    ('rouge', 'bleu', 'rose')
    """
    return COLOURS[(number - 1) % FIBRES_PER_TUBE]


def strand_rows(
    cable_id: int, fibre_count: int, faulty: Collection[int] = ()
) -> list[dict[str, Any]]:
    """Rows for the ``fibre_strand`` table describing every strand of one cable."""
    return [
        {
            "cable_id": cable_id,
            "number": number,
            "tube": tube_of(number),
            "colour": colour_of(number),
            "state": StrandState.FAULTY if number in faulty else StrandState.AVAILABLE,
        }
        for number in range(1, fibre_count + 1)
    ]
