"""PDF documents on both databases: rendered, read back, their Factur-X XML extracted and
validated, stored once for an issued document and never for a draft, a month rendered in
worker processes, and `gigalis billing pdf|render`.

The documents are rows written here directly (the monthly run is not needed to print one):
Opérateur A's invoices FAC-0000001 to FAC-0000004 for July to October 2026, each an Ethernet
line from the 10th (600.00 × 22/31 = 425.81 in October; the same figures are used for every
month) and a set-up fee of 500.00: net 925.81, VAT 185.16, total 1,110.97; the credit note
AVO-0000001 of October for an SLA penalty of 180.00 (total 216.00) correcting FAC-0000004;
and a draft invoice for November.
"""

from __future__ import annotations

import hashlib
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO
from pathlib import Path

import facturx
import pypdf
import pytest
import typer
from lxml import etree
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from typer.testing import CliRunner
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

from gigalis_nms.billing import documents
from gigalis_nms.billing.document_cli import register
from gigalis_nms.billing.documents import (
    TEMPLATES,
    TemplateFetcher,
    document_pdf,
    render_documents,
    render_issued,
    store_pdfs,
)
from gigalis_nms.billing.facturx import NAMESPACES
from gigalis_nms.billing.models import (
    BillingDocument,
    BillingDocumentPdf,
    BillingLine,
    DocumentKind,
    DocumentState,
    LineKind,
)
from gigalis_nms.billing.seller import default_seller
from gigalis_nms.db import session_scope
from gigalis_nms.errors import InvalidInput
from tests.integration import builders

MONTHS = ["2026-07", "2026-08", "2026-09", "2026-10"]
ISSUED = 5  # four invoices and a credit note


@dataclass(frozen=True)
class Billed:
    invoices: list[int]  # ids, July to October
    credit_note: int
    draft: int


def add_document(
    session: Session,
    operator_id: int,
    month: str,
    *,
    kind: DocumentKind = DocumentKind.INVOICE,
    number: str | None = None,
    invoice: BillingDocument | None = None,
) -> BillingDocument:
    year, month_number = (int(part) for part in month.split("-"))
    first = date(year, month_number, 1)
    last = date(year, month_number, 31 if month_number in (7, 8, 10) else 30)
    invoiced = kind is DocumentKind.INVOICE
    net, vat, gross = ("925.81", "185.16", "1110.97") if invoiced else ("180.00", "36.00", "216.00")
    issued = date(year, month_number, 28) if number else None
    due = issued + timedelta(days=30) if issued and invoiced else None
    document = BillingDocument(
        kind=kind,
        state=DocumentState.ISSUED if number else DocumentState.DRAFT,
        sequence=int(number[-7:]) if number else None,
        number=number,
        operator_id=operator_id,
        month=month,
        period_start=first,
        period_end=last,
        issue_date=issued,
        due_date=due,
        invoice_id=invoice.id if invoice else None,
        invoice_number=invoice.number if invoice else None,
        invoice_issue_date=invoice.issue_date if invoice else None,
        vat_rate=Decimal("0.2000"),
        total_net=Decimal(net),
        total_vat=Decimal(vat),
        total_gross=Decimal(gross),
        catalogue_version="2026.1",
        buyer={
            "operator_id": operator_id,
            "name": "Opérateur A",
            "siren": "123456782",
            "siret": "12345678200010",
            "vat_number": "FR08123456782",
            "address": "3 quai de la Fosse",
            "postcode": "44000",
            "city": "Nantes",
            "country": "FR",
            "email": None,
            "payment_days": 30,
            "public_buyer": False,
            "chorus_service_code": None,
            "commitment_number": None,
        },
        fingerprint="0" * 64,
    )
    session.add(document)
    session.flush()
    assert document.id is not None
    if invoiced:
        session.add_all(
            [
                BillingLine(
                    document_id=document.id,
                    position=1,
                    kind=LineKind.RECURRING,
                    circuit_ref="GIG-ETH-000001",
                    offer_id="eline-100m",
                    description=f"Ethernet 100 Mbit/s — GIG-ETH-000001 — {month}",
                    period_start=date(year, month_number, 10),
                    period_end=last,
                    unit_price=Decimal("600.00"),
                    quantity=Decimal("22"),
                    basis=Decimal("31"),
                    unit="DAY",
                    amount=Decimal("425.81"),
                ),
                BillingLine(
                    document_id=document.id,
                    position=2,
                    kind=LineKind.ONE_TIME_FEE,
                    circuit_ref="GIG-ETH-000001",
                    description="Frais d'accès au service",
                    unit_price=Decimal("500.00"),
                    quantity=Decimal("1"),
                    basis=Decimal("1"),
                    unit="C62",
                    amount=Decimal("500.00"),
                ),
            ]
        )
    else:
        session.add(
            BillingLine(
                document_id=document.id,
                position=1,
                kind=LineKind.SLA_CREDIT,
                circuit_ref="GIG-ETH-000001",
                description="Pénalité SLA : GTR dépassée de 5 h 30",
                unit_price=Decimal("180.00"),
                quantity=Decimal("1"),
                basis=Decimal("1"),
                unit="C62",
                amount=Decimal("180.00"),
            )
        )
    session.flush()
    return document


@pytest.fixture
def billed(engine: Engine) -> Billed:
    with session_scope(engine, actor=builders.ACTOR) as session:
        operator = builders.organisation(session, "Opérateur A", siren="123456782")
        assert operator.id is not None
        invoices = [
            add_document(session, operator.id, month, number=f"FAC-{index:07d}")
            for index, month in enumerate(MONTHS, start=1)
        ]
        credit_note = add_document(
            session,
            operator.id,
            "2026-10",
            kind=DocumentKind.CREDIT_NOTE,
            number="AVO-0000001",
            invoice=invoices[-1],
        )
        draft = add_document(session, operator.id, "2026-11")
        return Billed(
            invoices=[_id(invoice) for invoice in invoices],
            credit_note=_id(credit_note),
            draft=_id(draft),
        )


def _id(document: BillingDocument) -> int:
    assert document.id is not None
    return document.id


def pdf_of(engine: Engine, document_id: int) -> bytes:
    with session_scope(engine) as session:
        document = session.get(BillingDocument, document_id)
        assert document is not None
        return document_pdf(session, document)


def stored(engine: Engine) -> dict[int, bytes]:
    with session_scope(engine, read_only=True) as session:
        rows = session.exec(select(BillingDocumentPdf)).all()
        return {row.document_id: row.pdf for row in rows}


def pdf_text(pdf: bytes) -> str:
    """The PDF's text on one line, French typography's spaces in numbers made plain."""
    reader = pypdf.PdfReader(BytesIO(pdf))
    text = " ".join(page.extract_text() for page in reader.pages)
    return " ".join(text.replace("\u202f", " ").replace("\u00a0", " ").split())


def embedded_xml(pdf: bytes) -> etree._Element:
    """The Factur-X XML of a PDF, checked against the XSD as it is extracted."""
    name, xml = facturx.get_facturx_xml_from_pdf(pdf, check_xsd=True)
    assert name == "factur-x.xml"
    assert facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931")
    return etree.fromstring(xml)


def xml_value(root: etree._Element, path: str) -> str:
    found = root.xpath(f"{path}/text()", namespaces=NAMESPACES)
    assert len(found) == 1, found
    return str(found[0])


DOCUMENT_ID = "/rsm:CrossIndustryInvoice/rsm:ExchangedDocument/ram:ID"
TYPE_CODE = "/rsm:CrossIndustryInvoice/rsm:ExchangedDocument/ram:TypeCode"
GRAND_TOTAL = "//ram:SpecifiedTradeSettlementHeaderMonetarySummation/ram:GrandTotalAmount"


# --- One document -----------------------------------------------------------------------------


def test_an_issued_invoice_prints_and_carries_its_valid_xml(engine: Engine, billed: Billed) -> None:
    pdf = pdf_of(engine, billed.invoices[-1])

    assert pdf.startswith(b"%PDF-")
    text = pdf_text(pdf)
    assert "Facture N° FAC-0000004" in text
    assert "Opérateur A" in text
    assert "Période de service du 01/10/2026 au 31/10/2026" in text
    assert "Échéance 27/11/2026" in text
    assert "Total HT 925,81 €" in text
    assert "TVA 20 % 185,16 €" in text
    assert "Total TTC 1 110,97 €" in text
    assert "BROUILLON" not in text

    root = embedded_xml(pdf)
    assert xml_value(root, DOCUMENT_ID) == "FAC-0000004"
    assert xml_value(root, TYPE_CODE) == "380"
    assert xml_value(root, GRAND_TOTAL) == "1110.97"

    reader = pypdf.PdfReader(BytesIO(pdf))
    metadata = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode()
    assert "pdfaid:part>3<" in metadata  # PDF/A-3, as Factur-X requires
    assert "pdfaid:conformance>B<" in metadata
    assert reader.trailer["/Root"]["/OutputIntents"]


def test_an_issued_document_is_stored_once_and_the_same_after(
    engine: Engine, billed: Billed
) -> None:
    first = pdf_of(engine, billed.credit_note)
    assert list(stored(engine)) == [billed.credit_note]

    again = pdf_of(engine, billed.credit_note)
    assert again == first
    assert stored(engine) == {billed.credit_note: first}
    with session_scope(engine, read_only=True) as session:
        row = session.get(BillingDocumentPdf, billed.credit_note)
        assert row is not None
        assert row.sha256 == hashlib.sha256(first).hexdigest()

    text = pdf_text(first)
    assert "Avoir N° AVO-0000001" in text
    assert "Avoir relatif à la facture N° FAC-0000004 du 28/10/2026." in text
    root = embedded_xml(first)
    assert xml_value(root, TYPE_CODE) == "381"
    assert xml_value(root, "//ram:InvoiceReferencedDocument/ram:IssuerAssignedID") == (
        "FAC-0000004"
    )


def test_a_draft_is_rendered_marked_and_never_stored(engine: Engine, billed: Billed) -> None:
    pdf = pdf_of(engine, billed.draft)

    assert "BROUILLON — sans valeur" in pdf_text(pdf)
    assert xml_value(embedded_xml(pdf), DOCUMENT_ID) == f"BROUILLON-{billed.draft}"
    assert stored(engine) == {}


def test_a_pdf_stored_first_is_kept(engine: Engine, billed: Billed) -> None:
    """Two renderings of one document (two runs at once): the first stored stays."""
    target = billed.invoices[0]
    rendered = render_documents(engine, [target], default_seller())
    assert [item.document_id for item in rendered.rendered] == [target]
    assert rendered.failed == []

    with session_scope(engine) as session:
        assert store_pdfs(session.connection(), [(target, b"%PDF-first")]) == 1
    with session_scope(engine) as session:
        assert store_pdfs(session.connection(), [(target, rendered.rendered[0].pdf)]) == 0
    assert stored(engine) == {target: b"%PDF-first"}
    assert pdf_of(engine, target) == b"%PDF-first"  # stored: never rendered again


# --- A month in parallel ----------------------------------------------------------------------


def test_issued_documents_are_rendered_in_parallel_once(
    engine: Engine, billed: Billed, monkeypatch: pytest.MonkeyPatch
) -> None:
    def not_here(*_: object) -> None:
        raise AssertionError("rendered in the calling process, not in a worker")

    # Workers are new processes, which import the module unpatched.
    monkeypatch.setattr(documents, "render_documents", not_here)
    report = render_issued(engine, workers=2)

    assert (report.documents, report.stored, report.workers) == (ISSUED, ISSUED, 2)
    assert report.failed == []
    assert report.seconds_per_document_mean is not None
    assert report.seconds_per_document_max is not None
    assert 0 < report.seconds_per_document_mean <= report.seconds_per_document_max
    assert report.seconds >= report.seconds_per_document_max

    pdfs = stored(engine)
    assert sorted(pdfs) == sorted([*billed.invoices, billed.credit_note])  # not the draft
    with session_scope(engine, read_only=True) as session:
        numbers = {
            document.id: document.number for document in session.exec(select(BillingDocument)).all()
        }
    for document_id, pdf in pdfs.items():  # each PDF is its own document's
        assert xml_value(embedded_xml(pdf), DOCUMENT_ID) == numbers[document_id]

    again = render_issued(engine, workers=2)
    assert (again.documents, again.stored, again.workers) == (0, 0, 0)
    assert stored(engine) == pdfs


def test_a_month_is_rendered_alone_and_the_rest_later(engine: Engine, billed: Billed) -> None:
    october = render_issued(engine, month="2026-10", workers=1)
    assert (october.documents, october.stored, october.workers) == (2, 2, 1)
    assert sorted(stored(engine)) == sorted([billed.invoices[-1], billed.credit_note])

    rest = render_issued(engine, workers=1)
    assert (rest.documents, rest.stored) == (3, 3)
    assert len(stored(engine)) == ISSUED


def test_a_document_that_cannot_be_rendered_is_reported(engine: Engine, billed: Billed) -> None:
    with session_scope(engine) as session:
        broken = session.get(BillingDocument, billed.invoices[0])
        assert broken is not None
        broken.total_net = Decimal("925.80")  # no longer its lines' sum
        session.add(broken)

    report = render_issued(engine, workers=1)

    assert (report.documents, report.stored) == (ISSUED, ISSUED - 1)
    assert [failure.document for failure in report.failed] == ["FAC-0000001"]
    assert "total_net" in report.failed[0].error
    assert billed.invoices[0] not in stored(engine)


def test_render_refuses_bad_arguments(engine: Engine, billed: Billed) -> None:
    with pytest.raises(InvalidInput) as month:
        render_issued(engine, month="2026-13")
    assert month.value.problems[0].field == "month"
    with pytest.raises(InvalidInput) as workers:
        render_issued(engine, workers=0)
    assert workers.value.problems[0].field == "workers"
    assert stored(engine) == {}


# --- Command line -----------------------------------------------------------------------------


@pytest.fixture
def app() -> typer.Typer:
    """A `billing` group holding only the document commands, as `gigalis billing` will."""
    group = typer.Typer()

    @group.callback()
    def billing() -> None:
        """Billing."""

    register(group)
    return group


def test_the_pdf_command_writes_the_stored_pdf(
    runner: CliRunner, app: typer.Typer, engine: Engine, billed: Billed, tmp_path: Path
) -> None:
    target = tmp_path / "facture.pdf"
    result = runner.invoke(app, ["pdf", "FAC-0000002", "--out", str(target)])
    assert result.exit_code == 0, result.output
    assert "issued" in result.stdout
    assert target.read_bytes() == stored(engine)[billed.invoices[1]]

    by_id = runner.invoke(app, ["pdf", str(billed.draft), "--out", str(tmp_path)])
    assert by_id.exit_code == 0, by_id.output
    draft = tmp_path / f"BROUILLON-{billed.draft}.pdf"
    assert "BROUILLON" in pdf_text(draft.read_bytes())
    assert billed.draft not in stored(engine)


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        (["pdf", "FAC-9999999"], "document:"),
        (["render", "--month", "2026-13"], "--month:"),
        (["render", "--workers", "0"], "--workers:"),
    ],
)
def test_the_commands_refuse_bad_input(
    runner: CliRunner, app: typer.Typer, billed: Billed, arguments: list[str], named: str
) -> None:
    result = runner.invoke(app, arguments)
    assert result.exit_code == 1
    assert named in result.stderr


def test_the_render_command_reports_what_it_did(
    runner: CliRunner, app: typer.Typer, engine: Engine, billed: Billed
) -> None:
    table = runner.invoke(app, ["render", "--month", "2026-10", "--workers", "1"])
    assert table.exit_code == 0, table.output
    assert "PDFs of 2026-10" in table.stdout
    assert len(stored(engine)) == 2

    as_json = runner.invoke(app, ["render", "--workers", "2", "--format", "json"])
    assert as_json.exit_code == 0, as_json.output
    assert '"documents": 3' in as_json.stdout
    assert '"stored": 3' in as_json.stdout
    assert len(stored(engine)) == ISSUED


def test_the_render_command_fails_when_a_document_fails(
    runner: CliRunner, app: typer.Typer, engine: Engine, billed: Billed
) -> None:
    with session_scope(engine) as session:
        line = session.exec(
            select(BillingLine).where(col(BillingLine.document_id) == billed.credit_note)
        ).one()
        line.amount = Decimal("179.99")
        session.add(line)
    result = runner.invoke(app, ["render", "--workers", "1"])
    assert result.exit_code == 1
    assert "error: AVO-0000001:" in result.stderr
    assert len(stored(engine)) == ISSUED - 1


# --- Nothing fetched from outside -------------------------------------------------------------


class DirectFetcher(URLFetcher):
    """Fetches any URL, bypassing any proxy of the environment so that the loopback server
    is what answers."""

    def fetch(self, url: str, headers: object = None) -> URLFetcherResponse:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(url, timeout=5) as response:
            content_type = response.headers.get_content_type()
            return URLFetcherResponse(url, response.read(), {"Content-Type": content_type})


class CountingHandler(BaseHTTPRequestHandler):
    requests: list[str]

    def do_GET(self) -> None:
        self.requests.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "text/css")
        self.end_headers()
        self.wfile.write(b"body { color: red }")

    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture
def loopback_server() -> Iterator[tuple[str, list[str]]]:
    """An HTTP server on loopback that records what it is asked for."""
    seen: list[str] = []
    handler = type("Handler", (CountingHandler,), {"requests": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()
    thread.join()


def test_rendering_fetches_nothing_outside_the_templates(
    loopback_server: tuple[str, list[str]], tmp_path: Path
) -> None:
    url, seen = loopback_server
    secret = tmp_path / "secret.css"
    secret.write_text("body { color: red }")
    html = (
        f'<link rel="stylesheet" href="{url}/style.css">'
        f'<link rel="stylesheet" href="{secret.as_uri()}">'
        '<link rel="stylesheet" href="../seller.yaml">'
        f'<img src="{url}/logo.png"><p>text</p>'
    )
    pdf = HTML(
        string=html, base_url=TEMPLATES.as_uri() + "/", url_fetcher=TemplateFetcher()
    ).write_pdf()
    assert pdf.startswith(b"%PDF-")
    assert seen == []

    fetcher = TemplateFetcher()
    assert (
        fetcher.local_path((TEMPLATES / "invoice.css").as_uri())
        == (TEMPLATES / "invoice.css").resolve()
    )
    for refused in (
        f"{url}/style.css",
        secret.as_uri(),
        (TEMPLATES / ".." / "seller.yaml").as_uri(),
        "data:text/css,body{}",
    ):
        assert fetcher.local_path(refused) is None
        with pytest.raises(ValueError, match="refused"):
            fetcher.fetch(refused)
    assert seen == []

    # The control: a fetcher that fetches is called for both, and the server sees them.
    HTML(string=html, base_url=TEMPLATES.as_uri() + "/", url_fetcher=DirectFetcher()).write_pdf()
    assert sorted(seen) == ["/logo.png", "/style.css"]
