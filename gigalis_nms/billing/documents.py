"""Invoices and credit notes as documents: HTML from ``billing/templates``, printed by
WeasyPrint as PDF/A-3b, carrying their Factur-X (EN 16931) XML as the embedded invoice.

An issued document never changes, so its PDF is rendered once and stored
(``billing_document_pdf``): asked again, it is the same bytes. A draft is rendered each time
it is asked for and never stored, since the next run may change it. Rendering is slow (about
half a second a document), so :func:`render_issued` renders the month's issued documents in
worker processes; two renderings of one document, by two runs at once, store the first.

WeasyPrint fetches only the files of the templates folder: a document's text comes from
operators and finance, and a URL in it must not make the billing host call anywhere.

>>> euros(Decimal("1234.5")).replace(THIN_SPACE, " ").replace(NO_BREAK_SPACE, " ")
'1 234,50 €'
>>> vat_percent(Decimal("0.2000")), vat_percent(Decimal("0.055"))
('20\\xa0%', '5,5\\xa0%')
"""

from __future__ import annotations

import hashlib
import logging
import math
import mimetypes
import multiprocessing
import os
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

import jinja2
import sqlalchemy as sa
from facturx import generate_from_binary  # type: ignore[import-untyped]  # ships no types
from pydantic import BaseModel
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from weasyprint import HTML  # type: ignore[import-untyped]  # ships no type information
from weasyprint.urls import URLFetcher, URLFetcherResponse  # type: ignore[import-untyped]

from gigalis_nms.billing.facturx import (
    check_document,
    credit_note_reference,
    document_reference,
    due_date,
    facturx_xml,
    issue_date,
    line_name,
    quantity_text,
)
from gigalis_nms.billing.models import (
    BillingDocument,
    BillingDocumentPdf,
    BillingLine,
    DocumentKind,
    DocumentState,
)
from gigalis_nms.billing.money import cents, paris_day
from gigalis_nms.billing.seller import Seller, default_seller, format_iban
from gigalis_nms.db import make_engine, session_scope
from gigalis_nms.db.listing import insert_unless_present
from gigalis_nms.db.types import table_of, utcnow
from gigalis_nms.errors import GigalisError, InvalidInput
from gigalis_nms.monitoring.report import parse_month

logger = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parents[2] / "billing" / "templates"
TEMPLATE = "invoice.html"
TITLES = {DocumentKind.INVOICE: "Facture", DocumentKind.CREDIT_NOTE: "Avoir"}
UNITS = {"DAY": ("jour", "jours"), "MON": ("mois", "mois"), "C62": ("", "")}
# What the template may ask of a buyer snapshot; any it lacks reads as unknown.
BUYER_FIELDS: dict[str, object] = dict.fromkeys(
    (
        "name",
        "siren",
        "siret",
        "vat_number",
        "address",
        "postcode",
        "city",
        "country",
        "email",
        "public_buyer",
        "chorus_service_code",
        "commitment_number",
    )
)
THIN_SPACE = "\u202f"  # French typography groups thousands with a narrow no-break space
NO_BREAK_SPACE = "\u00a0"  # and keeps € and % with their number
PDF = table_of(BillingDocumentPdf)
# WeasyPrint does not promise to be thread-safe (Pango, fontconfig, shared caches), and the
# API renders in its thread pool: one document at a time per process. Many documents are
# rendered in parallel by processes instead (render_issued).
PRINTING = threading.Lock()
MAX_BATCH = 16  # documents a worker renders per task: fewer round trips, bounded memory
LINES_PER_WORKER = 1000  # below this many lines each, more processes cost more than they save


# --- HTML -------------------------------------------------------------------------------------


def euros(amount: Decimal) -> str:
    """An amount as French invoices print it: 1 234,56 €."""
    grouped = f"{cents(amount):,.2f}"
    return grouped.replace(",", THIN_SPACE).replace(".", ",") + f"{NO_BREAK_SPACE}€"


def vat_percent(rate: Decimal) -> str:
    """A 0-1 VAT rate as a French percentage: 20 %, 5,5 %."""
    text = f"{(rate * 100).normalize():f}".replace(".", ",")
    return f"{text}{NO_BREAK_SPACE}%"


def french_day(day: date) -> str:
    return f"{day:%d/%m/%Y}"


def french_quantity(quantity: Decimal) -> str:
    return quantity_text(quantity).replace(".", ",")


def unit_name(code: str, quantity: Decimal = Decimal(2)) -> str:
    singular, plural = UNITS.get(code, (code, code))
    return singular if quantity <= 1 else plural


@dataclass(frozen=True)
class LineView:
    """A line as the template shows it."""

    position: int
    name: str
    period_start: date | None
    period_end: date | None
    unit_price: Decimal
    quantity: Decimal
    basis: Decimal
    unit: str
    amount: Decimal


def render_html(
    document: BillingDocument,
    lines: Sequence[BillingLine],
    seller: Seller,
    *,
    today: date | None = None,
) -> str:
    """The document as HTML, in French, from ``billing/templates/invoice.html``. InvalidInput
    when the document is not consistent (see :func:`facturx.check_document`)."""
    check_document(document, lines)
    issued = issue_date(document, today)
    invoice = document.kind is DocumentKind.INVOICE
    reference_sentence = (
        credit_note_reference(document) if not invoice and document.invoice_number else None
    )
    return (
        _environment(TEMPLATES)
        .get_template(TEMPLATE)
        .render(
            document=document,
            lines=[_line_view(line) for line in lines],
            seller=seller,
            buyer={**BUYER_FIELDS, **document.buyer},
            title=TITLES[document.kind],
            reference=document_reference(document),
            draft=document.state is DocumentState.DRAFT,
            invoice=invoice,
            issued=issued,
            due=due_date(document, issued),
            reference_sentence=reference_sentence,
            iban=format_iban(seller.iban),
        )
    )


def _line_view(line: BillingLine) -> LineView:
    return LineView(
        position=line.position,
        name=line_name(line),
        period_start=line.period_start,
        period_end=line.period_end,
        unit_price=line.unit_price,
        quantity=line.quantity,
        basis=line.basis,
        unit=line.unit,
        amount=line.amount,
    )


@lru_cache(maxsize=2)
def _environment(folder: Path) -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder),
        autoescape=True,  # buyers' names and addresses are typed by people
        undefined=jinja2.StrictUndefined,  # a misspelt variable fails instead of vanishing
        keep_trailing_newline=True,
    )
    environment.filters.update(
        euros=euros, percent=vat_percent, day=french_day, quantity=french_quantity, unit=unit_name
    )
    return environment


# --- PDF --------------------------------------------------------------------------------------


class TemplateFetcher(URLFetcher):
    """WeasyPrint's fetcher for a document: the files of one folder, and nothing else.

    Any other URL (http, https, ftp, data, a file elsewhere, a link out of the folder) is
    refused and logged; WeasyPrint then renders without it."""

    def __init__(self, folder: Path = TEMPLATES) -> None:
        super().__init__()
        self.folder = folder.resolve()

    def fetch(self, url: str, headers: Any = None) -> Any:
        path = self.local_path(url)
        if path is None:
            logger.warning("document: refused to fetch %s (only files of %s)", url, self.folder)
            raise ValueError(f"refused: {url} is not a file of {self.folder}")
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": content_type})

    def local_path(self, url: str) -> Path | None:
        """The file of the folder that ``url`` names, if it names one."""
        parts = urlsplit(url)
        if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
            return None
        path = Path(url2pathname(parts.path)).resolve()  # resolved: no way out by .. or link
        return path if path.is_relative_to(self.folder) and path.is_file() else None


def render_pdf(
    document: BillingDocument,
    lines: Sequence[BillingLine],
    seller: Seller,
    *,
    today: date | None = None,
) -> bytes:
    """The document as PDF/A-3b with its Factur-X XML embedded (checked against the XSD)."""
    today = today or paris_day(utcnow())
    xml = facturx_xml(document, lines, seller, today=today)
    html = render_html(document, lines, seller, today=today)
    with PRINTING:
        printed = HTML(
            string=html, base_url=TEMPLATES.as_uri() + "/", url_fetcher=TemplateFetcher()
        ).write_pdf(pdf_variant="pdf/a-3b")
    reference = document_reference(document)
    title = f"{TITLES[document.kind]} {reference}"
    pdf: bytes = generate_from_binary(
        printed,
        xml,
        flavor="factur-x",
        level="en16931",
        check_xsd=True,
        pdf_metadata={
            "author": seller.name,
            "keywords": "Factur-X, EN 16931",
            "title": f"{seller.name} : {title}",
            "subject": f"{title} — {document.buyer.get('name')} — {document.month}",
        },
        lang="fr-FR",
    )
    return pdf


# --- Stored documents -------------------------------------------------------------------------


def document_lines(session: Session, document_id: int) -> list[BillingLine]:
    query = select(BillingLine).where(col(BillingLine.document_id) == document_id)
    return list(session.exec(query.order_by(col(BillingLine.position))).all())


def document_pdf(
    session: Session, document: BillingDocument, *, seller: Seller | None = None
) -> bytes:
    """The document's PDF. An issued document's is rendered on first request and stored,
    then always the stored bytes; a draft's is rendered each time and never stored. The
    session must be one that may write (the first request of an issued document stores)."""
    if document.id is None:
        raise InvalidInput.of("document", "not stored yet")
    if document.state is DocumentState.ISSUED:
        stored = _stored_pdf(session, document.id)
        if stored is not None:
            return stored
    pdf = render_pdf(document, document_lines(session, document.id), seller or default_seller())
    if document.state is not DocumentState.ISSUED:
        return pdf
    if store_pdfs(session.connection(), [(document.id, pdf)]):
        logger.info("document %s: PDF stored (%d bytes)", document.number, len(pdf))
    stored = _stored_pdf(session, document.id)  # another request may have stored it first
    assert stored is not None
    return stored


def _stored_pdf(session: Session, document_id: int) -> bytes | None:
    query = sa.select(PDF.c.pdf).where(PDF.c.document_id == document_id)
    found = session.connection().execute(query).scalar()
    return None if found is None else bytes(found)


def store_pdfs(connection: sa.Connection, rendered: Sequence[tuple[int, bytes]]) -> int:
    """Store PDFs, keeping any stored first by another run; how many were stored."""
    if not rendered:
        return 0
    rows = [
        {
            "document_id": document_id,
            "pdf": pdf,
            "sha256": hashlib.sha256(pdf).hexdigest(),
            "rendered_at": utcnow(),
        }
        for document_id, pdf in rendered
    ]
    statement = insert_unless_present(connection, PDF, ["document_id"])
    return len(connection.execute(statement.returning(PDF.c.document_id), rows).all())


# --- Rendering a month in parallel ------------------------------------------------------------


class RenderFailure(BaseModel):
    document: str
    error: str


class RenderReport(BaseModel):
    """What :func:`render_issued` did: documents rendered and stored, and how long it took."""

    month: str | None
    documents: int  # issued documents that had no PDF
    stored: int  # stored by this run (fewer when a concurrent run stored some first)
    workers: int  # processes that rendered (1: the caller itself; 0: nothing to render)
    seconds: float  # the whole run, wall clock
    seconds_per_document_mean: float | None  # rendering one document, in a worker
    seconds_per_document_max: float | None
    failed: list[RenderFailure] = []


@dataclass(frozen=True)
class Rendered:
    document_id: int
    pdf: bytes
    seconds: float


@dataclass(frozen=True)
class BatchResult:
    rendered: list[Rendered]
    failed: list[RenderFailure]


def render_issued(
    engine: Engine,
    *,
    month: str | None = None,
    workers: int | None = None,
    seller: Seller | None = None,
) -> RenderReport:
    """Render and store the PDF of every issued document (of ``month``, YYYY-MM) that has
    none, in ``workers`` processes (default: one per CPU). Renders nothing the second time;
    a document that cannot be rendered is reported and the others go on.

    The workers are spawned: a script that calls this must do so under
    ``if __name__ == "__main__":``, which each worker's import of the script skips."""
    if month is not None:
        parse_month(month, "month")
    if workers is not None and workers < 1:
        raise InvalidInput.of("workers", "at least one worker")
    started = time.perf_counter()
    with session_scope(engine, read_only=True) as session:
        ids = unrendered_documents(session, month)
        lines = _line_count(session, month)
    wanted = workers or _default_workers(lines)
    batches = _batches(ids, wanted)
    used = min(wanted, len(batches))

    stored = 0
    timings: list[float] = []
    failed: list[RenderFailure] = []
    for result in _render_batches(engine, batches, seller or default_seller(), used):
        with session_scope(engine, actor="system:billing-render") as session:
            stored += store_pdfs(
                session.connection(), [(item.document_id, item.pdf) for item in result.rendered]
            )
        timings.extend(item.seconds for item in result.rendered)
        failed.extend(result.failed)
    report = RenderReport(
        month=month,
        documents=len(ids),
        stored=stored,
        workers=used,
        seconds=round(time.perf_counter() - started, 3),
        seconds_per_document_mean=round(sum(timings) / len(timings), 3) if timings else None,
        seconds_per_document_max=round(max(timings), 3) if timings else None,
        failed=failed,
    )
    logger.info(
        "billing: %d of %d PDFs stored in %.1f s by %d workers, %d failed",
        stored,
        len(ids),
        report.seconds,
        used,
        len(failed),
    )
    return report


def unrendered_documents(session: Session, month: str | None = None) -> list[int]:
    """Ids of the issued documents (of ``month``) without a stored PDF, oldest first."""
    return list(session.connection().execute(_unrendered(month)).scalars())


def _unrendered(month: str | None) -> sa.Select[Any]:
    document = table_of(BillingDocument)
    query = (
        sa.select(document.c.id)
        .where(document.c.state == DocumentState.ISSUED)
        .where(~sa.exists().where(PDF.c.document_id == document.c.id))
        .order_by(document.c.id)
    )
    if month is not None:
        query = query.where(document.c.month == month)
    return query


def _default_workers(lines: int) -> int:
    """One process per CPU, but no more than one per LINES_PER_WORKER lines to render: a
    spawned worker takes seconds to import WeasyPrint, as long as a few hundred lines take
    to render (on two CPUs, 39 short invoices took 7 s in one process and 16 s in two; 40
    invoices of 600 lines, 167 s in one and 92 s in two)."""
    return max(1, min(os.cpu_count() or 1, lines // LINES_PER_WORKER))


def _line_count(session: Session, month: str | None) -> int:
    """How many lines the documents to render hold: what rendering time follows."""
    line = table_of(BillingLine)
    query = sa.select(sa.func.count()).where(line.c.document_id.in_(_unrendered(month)))
    return int(session.connection().execute(query).scalar_one())


def _batches(ids: Sequence[int], workers: int) -> list[list[int]]:
    """About two batches per worker, so that a slow batch does not leave the others idle."""
    size = min(MAX_BATCH, max(1, math.ceil(len(ids) / (2 * workers))))
    return [list(ids[start : start + size]) for start in range(0, len(ids), size)]


def _render_batches(
    engine: Engine, batches: list[list[int]], seller: Seller, workers: int
) -> Iterator[BatchResult]:
    if workers <= 1:  # no process to start for one worker: render here
        for batch in batches:
            yield render_documents(engine, batch, seller)
        return
    url = engine.url.render_as_string(hide_password=False)
    # Spawned, not forked: the caller may hold threads (the API's workers) and connections
    # that a forked child would inherit in an unknown state.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = [pool.submit(_render_in_worker, url, batch, seller) for batch in batches]
        for future in as_completed(futures):
            yield future.result()


def _render_in_worker(database_url: str, document_ids: list[int], seller: Seller) -> BatchResult:
    """A worker process's task: read its documents itself, render them, return the bytes."""
    engine = make_engine(database_url)
    try:
        return render_documents(engine, document_ids, seller)
    finally:
        engine.dispose()


def render_documents(engine: Engine, document_ids: Sequence[int], seller: Seller) -> BatchResult:
    """Render these documents' PDFs without storing them; a document refused (inconsistent)
    is reported, not raised, so that the others are rendered."""
    with session_scope(engine, read_only=True) as session:
        documents = session.exec(
            select(BillingDocument).where(col(BillingDocument.id).in_(document_ids))
        ).all()
        lines: dict[int, list[BillingLine]] = {}
        for line in session.exec(
            select(BillingLine)
            .where(col(BillingLine.document_id).in_(document_ids))
            .order_by(col(BillingLine.document_id), col(BillingLine.position))
        ):
            lines.setdefault(line.document_id, []).append(line)

    rendered, failed = [], []
    for document in sorted(documents, key=lambda found: found.id or 0):
        assert document.id is not None
        started = time.perf_counter()
        try:
            pdf = render_pdf(document, lines.get(document.id, []), seller)
        except GigalisError as error:
            logger.warning("document %s: not rendered: %s", document.number, error.message)
            failed.append(RenderFailure(document=document_reference(document), error=error.message))
            continue
        except ValueError as error:  # e.g. lxml: text that XML cannot hold
            logger.exception("document %s: not rendered", document.number)
            failed.append(RenderFailure(document=document_reference(document), error=str(error)))
            continue
        rendered.append(Rendered(document.id, pdf, time.perf_counter() - started))
    return BatchResult(rendered, failed)
