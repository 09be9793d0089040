"""Checks on what people type into the monitoring records: free text shown to operators and
on the NOC's terminals, and instants that the calendar arithmetic can hold."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime

from gigalis_nms.errors import FieldProblem

# Instants the SLA calendar works with: far enough from datetime's limits that a month's
# bounds and a conversion to any time zone stay representable.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def text_problem(text: str, field: str) -> FieldProblem | None:
    """Refuses control and format characters (escape sequences, right-to-left overrides) in
    text that a terminal or a web page will show; line breaks and tabs are allowed.

    >>> text_problem("line card swap\\nrack 3", "reason") is None
    True
    >>> str(text_problem("\\x1b[31mred", "reason"))
    'reason: contains a control character (U+001B)'
    >>> str(text_problem("abc\\u202edef", "comment"))
    'comment: contains a control character (U+202E)'
    """
    for character in text:
        if character in "\n\t":
            continue
        if unicodedata.category(character) in ("Cc", "Cf"):
            return FieldProblem(field, f"contains a control character (U+{ord(character):04X})")
    return None


def instant_problem(moment: datetime, field: str) -> FieldProblem | None:
    """
    >>> str(instant_problem(datetime(9999, 12, 31, tzinfo=UTC), "since"))
    'since: outside the years 2000 to 2099'
    """
    if moment.tzinfo is None:
        return FieldProblem(field, "needs a timezone (a UTC offset such as +01:00 or Z)")
    try:
        outside = not EARLIEST <= moment.astimezone(UTC) < LATEST
    except OverflowError:
        outside = True
    if outside:
        return FieldProblem(field, "outside the years 2000 to 2099")
    return None
