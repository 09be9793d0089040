"""Document numbers: one continuous, chronological series per kind, without gaps.

French law wants invoice numbers unique, continuous and chronological. A number is taken
only when a document is issued, in the transaction that issues it, by incrementing the
series' counter row: on PostgreSQL that update locks the row until the transaction ends, so
two runs issuing at the same time take turns; on SQLite the write lock does the same. A
transaction that fails rolls its increment back with it, so no number is ever lost.

Numbers read ``FAC-0000042`` (invoices) and ``AVO-0000007`` (avoirs, credit notes).
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlmodel import Session

from gigalis_nms.billing.models import BillingDocument, DocumentCounter, DocumentKind
from gigalis_nms.db.listing import insert_unless_present
from gigalis_nms.db.types import table_of
from gigalis_nms.errors import Conflict

PREFIXES = {DocumentKind.INVOICE: "FAC", DocumentKind.CREDIT_NOTE: "AVO"}
COUNTER = table_of(DocumentCounter)
DOCUMENT = table_of(BillingDocument)


def document_number(kind: DocumentKind, sequence: int) -> str:
    """The printed number of the ``sequence``-th document of a series.

    >>> document_number(DocumentKind.INVOICE, 42)
    'FAC-0000042'
    """
    return f"{PREFIXES[kind]}-{sequence:07d}"


def take_number(session: Session, kind: DocumentKind, issue_date: date) -> int:
    """The next number of ``kind``'s series, held until the transaction ends.

    Refused if the series' last document is dated after ``issue_date``: numbers must follow
    the dates (a clock set back would break the chronology)."""
    connection = session.connection()
    sequence = _increment(connection, kind)
    if sequence is None:  # the series' first document: create its counter, once
        _create_counter(connection, kind)
        sequence = _increment(connection, kind)
    assert sequence is not None
    latest = connection.execute(
        sa.select(sa.func.max(DOCUMENT.c.issue_date)).where(
            DOCUMENT.c.kind == kind, DOCUMENT.c.sequence.is_not(None)
        )
    ).scalar()
    if latest is not None and latest > issue_date:
        raise Conflict.of(
            "issue_date",
            f"the last {kind.value.replace('_', ' ')} is dated {latest}, after {issue_date}: "
            "numbers must follow the dates; check the system clock",
        )
    return int(sequence)


def _increment(connection: sa.Connection, kind: DocumentKind) -> int | None:
    statement = (
        sa.update(COUNTER)
        .where(COUNTER.c.series == kind.value)
        .values(last_number=COUNTER.c.last_number + 1)
        .returning(COUNTER.c.last_number)
    )
    value = connection.execute(statement).scalar()
    return None if value is None else int(value)


def _create_counter(connection: sa.Connection, kind: DocumentKind) -> None:
    """The counter row at 0; a concurrent creation is not an error (both then increment)."""
    insert = insert_unless_present(connection, COUNTER, ["series"])
    connection.execute(insert.values(series=kind.value, last_number=0))
