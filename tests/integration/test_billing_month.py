"""The monthly run over a scripted March 2026 (31 days), on both databases, against figures
worked out by hand.

Operator "Opérateur Mars" (catalogue 2026.1, VAT 20 %):

- GIG-ETH-000101, eline-1g (600.00 a month, FAS 1,200.00), activated on 10 March: 22 days,
  600 × 22 / 31 = 425.806… → 425.81, and its FAS 1,200.00.
- GIG-ETH-000102, eline-100m (350.00, 36-month commitment), activated on 15 January 2026 and
  terminated on 20 March: 20 days, 350 × 20 / 31 = 225.806… → 225.81. Its commitment runs to
  14 January 2029 (ends on the 15th): still due, 11 days of March (350 × 11 / 31), April 2026
  to December 2028 (33 months × 350 = 11,550) and 14 days of January 2029 (350 × 14 / 31):
  11,832.258… → early-termination fee at 100 %: 11,832.26.
- GIG-ETH-000103, eline-100m since 1 February, upgraded to eline-1g from 16 March by a modify
  order (quoted 600.00 a month and 1,200.00 one-time): 15 days at 350 (169.354… → 169.35),
  16 days at 600 (309.677… → 309.68), and the upgrade's one-time 1,200.00.
- GIG-DF-000104, dark-fibre-iru over 12.5 km signed on 5 March: FAS 1,500.00, right of use
  12.5 × 1,800 = 22,500.00, maintenance 45 × 12.5 / 12 = 46.875 → 46.88 a month, 27 days:
  46.88 × 27 / 31 = 40.830… → 40.83.
- GIG-ETH-000105, eline-10g (1,500.00, premium: GTR 4 h 24/7, 10 % per started hour), in
  service all month: 1,500.00; down 6 h 30 on 12 March, 2 h 30 beyond the GTR: 3 started
  hours, a 30 % penalty, 450.00, credited by a credit note.

Invoice: 40,903.74 net, VAT 8,180.748 → 8,180.75, 49,084.49 gross.
Credit note: 450.00 net, 90.00 VAT, 540.00 gross.
"""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import facturx
import pytest
import sqlalchemy as sa
from lxml import etree
from pypdf import PdfReader
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from gigalis_nms.billing import subscriptions as subscriptions_module
from gigalis_nms.billing.documents import document_pdf
from gigalis_nms.billing.models import (
    BillingAccount,
    BillingDocument,
    BillingDocumentPdf,
    BillingLine,
    DocumentKind,
    DocumentState,
    LineKind,
)
from gigalis_nms.billing.run import Action, RunReport, issue_month, run_month
from gigalis_nms.catalogue.loader import REPOSITORY_CATALOGUE, load_catalogue
from gigalis_nms.catalogue.models import Catalogue
from gigalis_nms.db import session_scope
from gigalis_nms.errors import InvalidInput
from gigalis_nms.inventory import service
from gigalis_nms.inventory.enums import CircuitStatus, ServiceType
from gigalis_nms.inventory.models import Circuit, CircuitUpdate
from gigalis_nms.monitoring.models import FailingKind, Incident, IncidentCircuit, SlaResult
from gigalis_nms.monitoring.sla import OutageCause
from gigalis_nms.ordering.models import (
    ItemAction,
    ItemState,
    OrderState,
    ProductOrder,
    ProductOrderItem,
)
from tests.integration import builders

APRIL_2ND = date(2026, 4, 2)  # the day March is billed
SIREN = "732829320"


@dataclass(frozen=True)
class March:
    operator: int
    circuits: dict[str, int]


class Clock:
    """Billing's today, moved by the test as the scripted months go by."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.today = date(2026, 1, 1)
        monkeypatch.setattr(subscriptions_module, "billing_today", lambda: self.today)


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue(REPOSITORY_CATALOGUE)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


def utc(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def build_march(
    engine: Engine, clock: Clock, name: str = "Opérateur Mars", first: int = 101
) -> March:
    """The operator and its five circuits, each brought to its state on its own day."""
    with session_scope(engine, actor="test:billing") as session:
        operator = builders.organisation(session, name, siren=SIREN if first == 101 else None)
        site, far = _site(session, "NTE1"), _site(session, "ANG1")
        operator_id, site_id, far_id = _id(operator), _id(site), _id(far)
        # Where its invoices go: a French invoice names the buyer's address.
        session.add(
            BillingAccount(
                operator_id=operator_id,
                address="1 rue de la Loire",
                postcode="44000",
                city="Nantes",
            )
        )

    refs = {
        "eline": f"GIG-ETH-{first:06d}",
        "terminated": f"GIG-ETH-{first + 1:06d}",
        "upgraded": f"GIG-ETH-{first + 2:06d}",
        "iru": f"GIG-DF-{first + 3:06d}",
        "premium": f"GIG-ETH-{first + 4:06d}",
    }
    ids: dict[str, int] = {}
    plan = [
        ("terminated", ServiceType.ETHERNET_ELINE, 100, "eline-100m", "900.00", "350.00"),
        ("upgraded", ServiceType.ETHERNET_ELINE, 100, "eline-100m", "900.00", "350.00"),
        ("premium", ServiceType.ETHERNET_ELINE, 10000, "eline-10g", "2500.00", "1500.00"),
        ("eline", ServiceType.ETHERNET_ELINE, 1000, "eline-1g", "1200.00", "600.00"),
        ("iru", ServiceType.DARK_FIBRE, None, "dark-fibre-iru", "24000.00", "46.88"),
    ]
    with session_scope(engine, actor="test:billing") as session:
        for key, kind, bandwidth, offer, one_time, monthly in plan:
            circuit = Circuit(
                ref=refs[key],
                operator_id=operator_id,
                service_type=kind,
                a_site_id=site_id,
                bandwidth_mbps=bandwidth,
                z_site_id=far_id if kind is ServiceType.DARK_FIBRE else None,
                status=CircuitStatus.RESERVED,
                created_at=utc(1, 5),
                updated_at=utc(1, 5),
            )
            session.add(circuit)
            session.flush()
            assert circuit.id is not None
            ids[key] = circuit.id
            _item(session, operator_id, circuit.id, ItemAction.ADD, offer, one_time, monthly)

    # 15 January: the E-Line to be terminated goes live; 1 February: two more.
    _activate(engine, clock, date(2026, 1, 15), ids["terminated"])
    _activate(engine, clock, date(2026, 2, 1), ids["upgraded"], ids["premium"])
    # 5 March: the IRU is delivered by field work, through the inventory's lifecycle.
    clock.today = date(2026, 3, 5)
    with session_scope(engine, actor="test:billing") as session:
        for status in (CircuitStatus.DESIGNED, CircuitStatus.PROVISIONING, CircuitStatus.ACTIVE):
            service.update_object(
                session, service.CIRCUITS, ids["iru"], CircuitUpdate(status=status)
            )
    _activate(engine, clock, date(2026, 3, 10), ids["eline"])
    # 16 March: the upgrade's modify item completes.
    clock.today = date(2026, 3, 16)
    with session_scope(engine, actor="test:billing") as session:
        item = _item(
            session,
            operator_id,
            ids["upgraded"],
            ItemAction.MODIFY,
            "eline-1g",
            "1200.00",
            "600.00",
            state=ItemState.IN_PROGRESS,
            bandwidth=1000,
        )
        item.state = ItemState.COMPLETED
        session.add(item)
    # 20 March: terminated inside its commitment.
    clock.today = date(2026, 3, 20)
    with session_scope(engine, actor="test:billing") as session:
        circuit = session.get(Circuit, ids["terminated"])
        assert circuit is not None
        circuit.status = CircuitStatus.TERMINATED
        session.add(circuit)
    # 12 March 08:00–14:30 Paris (07:00–13:30 UTC): the premium circuit is down 6 h 30.
    with session_scope(engine, actor="test:billing") as session:
        incident = Incident(
            opened_at=utc(3, 12, 7),
            closed_at=utc(3, 12, 13, 30),
            failing_kind=FailingKind.LINK,
            failing_id=1,
            failing="link NTE1-ANG1",
            cause=OutageCause.UNPLANNED,
        )
        session.add(incident)
        session.flush()
        assert incident.id is not None
        session.add(
            IncidentCircuit(
                incident_id=incident.id,
                circuit_id=ids["premium"],
                started_at=utc(3, 12, 7),
                ended_at=utc(3, 12, 13, 30),
            )
        )
    clock.today = APRIL_2ND
    return March(operator_id, {refs[key]: ids[key] for key in refs})


def _site(session: Session, code: str) -> builders.Site:
    found = session.exec(select(builders.Site).where(col(builders.Site.code) == code)).first()
    return found or builders.site(session, code)


def _activate(engine: Engine, clock: Clock, day: date, *circuit_ids: int) -> None:
    """The circuits go live on ``day``. E-Lines are switched on by provisioning jobs, which
    set the status on the circuit object; done here the same way, without routers."""
    clock.today = day
    with session_scope(engine, actor="test:billing") as session:
        for circuit_id in circuit_ids:
            circuit = session.get(Circuit, circuit_id)
            assert circuit is not None
            circuit.status = CircuitStatus.ACTIVE
            session.add(circuit)


def _id(row: Any) -> int:
    assert row.id is not None
    return int(row.id)


def _item(
    session: Session,
    operator_id: int,
    circuit_id: int,
    action: ItemAction,
    offer: str,
    *prices: str,
    state: ItemState = ItemState.COMPLETED,
    bandwidth: int | None = None,
) -> ProductOrderItem:
    order = ProductOrder(operator_id=operator_id, state=OrderState.IN_PROGRESS, created_by="test")
    session.add(order)
    session.flush()
    assert order.id is not None
    item = ProductOrderItem(
        order_id=order.id,
        item_id="1",
        action=action,
        offering_id=offer,
        state=state,
        circuit_id=circuit_id,
        bandwidth_mbps=bandwidth,
        one_time_price=Decimal(prices[0]),
        recurring_price=Decimal(prices[1]),
    )
    session.add(item)
    session.flush()
    return item


def run(engine: Engine, *args: Any, **kwargs: Any) -> RunReport:
    """A run in a transaction of its own, as the command line makes it."""
    with session_scope(engine, actor="test:finance") as session:
        return run_month(session, *args, **kwargs)


def issue(engine: Engine, *args: Any, **kwargs: Any) -> RunReport:
    with session_scope(engine, actor="test:finance") as session:
        return issue_month(session, *args, **kwargs)


def documents_of(engine: Engine, operator_id: int) -> dict[DocumentKind, BillingDocument]:
    with session_scope(engine, read_only=True) as session:
        found = session.exec(
            select(BillingDocument).where(col(BillingDocument.operator_id) == operator_id)
        ).all()
    return {document.kind: document for document in found}


def lines_of(engine: Engine, document_id: int | None) -> list[tuple[str | None, LineKind, Decimal]]:
    with session_scope(engine, read_only=True) as session:
        found = session.exec(
            select(BillingLine)
            .where(col(BillingLine.document_id) == document_id)
            .order_by(col(BillingLine.position))
        ).all()
    return [(line.circuit_ref, line.kind, line.amount) for line in found]


def money(text: str) -> Decimal:
    return Decimal(text)


def test_march_invoice_and_credit_note_match_the_hand_computed_figures(
    engine: Engine, catalogue: Catalogue, clock: Clock
) -> None:
    march = build_march(engine, clock)

    report = run(engine, catalogue, 2026, 3, issue=True, actor="test:finance")

    assert [run.error for run in report.operators] == [None]
    documents = documents_of(engine, march.operator)
    invoice, credit = documents[DocumentKind.INVOICE], documents[DocumentKind.CREDIT_NOTE]
    assert lines_of(engine, invoice.id) == [
        ("GIG-DF-000104", LineKind.ONE_TIME_FEE, money("1500.00")),
        ("GIG-DF-000104", LineKind.IRU, money("22500.00")),
        ("GIG-DF-000104", LineKind.RECURRING, money("40.83")),
        ("GIG-ETH-000101", LineKind.ONE_TIME_FEE, money("1200.00")),
        ("GIG-ETH-000101", LineKind.RECURRING, money("425.81")),
        ("GIG-ETH-000102", LineKind.RECURRING, money("225.81")),
        ("GIG-ETH-000102", LineKind.EARLY_TERMINATION, money("11832.26")),
        ("GIG-ETH-000103", LineKind.RECURRING, money("169.35")),
        ("GIG-ETH-000103", LineKind.ONE_TIME_FEE, money("1200.00")),
        ("GIG-ETH-000103", LineKind.RECURRING, money("309.68")),
        ("GIG-ETH-000105", LineKind.RECURRING, money("1500.00")),
    ]
    assert (invoice.total_net, invoice.total_vat, invoice.total_gross) == (
        money("40903.74"),
        money("8180.75"),
        money("49084.49"),
    )
    assert lines_of(engine, credit.id) == [("GIG-ETH-000105", LineKind.SLA_CREDIT, money("450.00"))]
    assert (credit.total_net, credit.total_vat, credit.total_gross) == (
        money("450.00"),
        money("90.00"),
        money("540.00"),
    )
    # Numbered, dated, the credit note referring to its invoice and month.
    assert invoice.state is DocumentState.ISSUED
    assert credit.state is DocumentState.ISSUED
    assert (invoice.number, credit.number) == ("FAC-0000001", "AVO-0000001")
    assert (invoice.issue_date, invoice.due_date) == (APRIL_2ND, date(2026, 5, 2))
    assert (credit.invoice_id, credit.invoice_number) == (invoice.id, "FAC-0000001")
    assert credit.month == invoice.month == "2026-03"
    assert (invoice.period_start, invoice.period_end) == (date(2026, 3, 1), date(2026, 3, 31))
    # The month's SLA results are billed, so frozen.
    with session_scope(engine, read_only=True) as session:
        results = session.exec(
            select(SlaResult).where(col(SlaResult.operator_id) == march.operator)
        ).all()
    assert results
    assert all(result.billed_at is not None for result in results)


def test_a_second_run_adds_nothing_and_keeps_every_number(
    engine: Engine, catalogue: Catalogue, clock: Clock
) -> None:
    march = build_march(engine, clock)
    run(engine, catalogue, 2026, 3, issue=True)
    before = documents_of(engine, march.operator)

    again = run(engine, catalogue, 2026, 3, issue=True)

    assert {o.action for o in again.operators[0].documents} == {Action.UNCHANGED}
    after = documents_of(engine, march.operator)
    assert {k: (d.id, d.number, d.fingerprint, d.total_gross) for k, d in after.items()} == {
        k: (d.id, d.number, d.fingerprint, d.total_gross) for k, d in before.items()
    }
    with session_scope(engine, read_only=True) as session:
        counters = session.execute(sa.text("SELECT series, last_number FROM document_counter"))
        assert dict(counters.all()) == {"invoice": 1, "credit_note": 1}


def test_a_draft_is_computed_again_until_issued_and_then_never_changes(
    engine: Engine, catalogue: Catalogue, clock: Clock
) -> None:
    march = build_march(engine, clock)
    first = run(engine, catalogue, 2026, 3)
    drafts = documents_of(engine, march.operator)
    assert {o.action for o in first.operators[0].documents} == {Action.CREATED}
    assert all(d.state is DocumentState.DRAFT and d.number is None for d in drafts.values())

    # A late correction: the upgrade was in fact quoted 590.00 a month.
    with session_scope(engine) as session:
        session.execute(
            sa.text(
                "UPDATE subscription SET monthly_fee = 590.00 WHERE monthly_fee = 600.00 "
                "AND circuit_ref = 'GIG-ETH-000103'"
            )
        )
    second = run(engine, catalogue, 2026, 3)
    invoice = documents_of(engine, march.operator)[DocumentKind.INVOICE]
    assert second.operators[0].documents[0].action is Action.REGENERATED
    assert invoice.id == drafts[DocumentKind.INVOICE].id
    assert invoice.total_net == money("40903.74") - money("309.68") + money("304.52")

    issued = issue(engine, 2026, 3)
    assert [o.number for o in issued.operators[0].documents] == ["FAC-0000001", "AVO-0000001"]
    with session_scope(engine) as session:
        session.execute(sa.text("UPDATE subscription SET monthly_fee = 1.00"))
    third = run(engine, catalogue, 2026, 3)
    assert third.operators[0].documents[0].action is Action.DIFFERS
    assert documents_of(engine, march.operator)[DocumentKind.INVOICE].total_net == invoice.total_net


def test_concurrent_runs_for_two_operators_number_without_gaps(
    engine: Engine, catalogue: Catalogue, clock: Clock
) -> None:
    first = build_march(engine, clock)
    second = build_march(engine, clock, "Opérateur Avril", first=201)
    with session_scope(engine) as session:
        session.execute(
            sa.text("UPDATE organisation SET siren = '356000000' WHERE id = :id"),
            {"id": second.operator},
        )
    errors: list[BaseException] = []

    def bill(operator_id: int) -> None:
        try:
            run(engine, catalogue, 2026, 3, operator_ids=[operator_id], issue=True)
        except BaseException as error:  # reported by the test, not lost in the thread
            errors.append(error)

    threads = [threading.Thread(target=bill, args=(o.operator,)) for o in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    with session_scope(engine, read_only=True) as session:
        issued = session.exec(
            select(BillingDocument.kind, BillingDocument.sequence, BillingDocument.issue_date)
        ).all()
    for kind in DocumentKind:
        assert sorted(seq for k, seq, _ in issued if k is kind) == [1, 2]


def test_a_month_not_over_is_refused_and_changes_nothing(
    engine: Engine, catalogue: Catalogue, clock: Clock
) -> None:
    march = build_march(engine, clock)
    clock.today = date(2026, 3, 31)
    with pytest.raises(InvalidInput, match="month: 2026-03 is not over"):
        run(engine, catalogue, 2026, 3, issue=True)
    assert documents_of(engine, march.operator) == {}


def test_an_operator_without_siren_is_billed_as_draft_but_not_issued(
    engine: Engine, catalogue: Catalogue, clock: Clock
) -> None:
    march = build_march(engine, clock, "Opérateur Sans Siren", first=301)

    report = run(engine, catalogue, 2026, 3, issue=True)

    assert report.operators[0].error is not None
    assert "buyer.siren" in report.operators[0].error
    assert documents_of(engine, march.operator) == {}  # the operator's transaction rolled back


def test_the_months_documents_are_pdfs_carrying_valid_factur_x(
    engine: Engine, catalogue: Catalogue, clock: Clock
) -> None:
    march = build_march(engine, clock)
    run(engine, catalogue, 2026, 3, issue=True)
    documents = documents_of(engine, march.operator)

    for kind, type_code, total in (
        (DocumentKind.INVOICE, "380", "49084.49"),
        (DocumentKind.CREDIT_NOTE, "381", "540.00"),
    ):
        with session_scope(engine, actor="test:finance") as session:
            pdf = document_pdf(session, documents[kind])
        assert pdf.startswith(b"%PDF-")
        text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
        assert documents[kind].number in text
        _, xml = facturx.get_facturx_xml_from_pdf(pdf, check_xsd=True)
        assert facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931")
        tree = etree.fromstring(xml)
        assert _xpath(tree, "//rsm:ExchangedDocument/ram:TypeCode") == type_code
        assert _xpath(tree, "//ram:GrandTotalAmount") == total
        assert _xpath(
            tree,
            "//ram:ApplicableHeaderTradeSettlement/ram:BillingSpecifiedPeriod/ram:StartDateTime/udt:DateTimeString",
        ) == ("20260301")
        assert _xpath(tree, "//ram:BuyerTradeParty/ram:SpecifiedLegalOrganization/ram:ID") == SIREN
    credit_xml = facturx.get_facturx_xml_from_pdf(
        _stored_pdf(engine, documents[DocumentKind.CREDIT_NOTE].id), check_xsd=False
    )[1]
    reference = _xpath(
        etree.fromstring(credit_xml), "//ram:InvoiceReferencedDocument/ram:IssuerAssignedID"
    )
    assert reference == "FAC-0000001"


NAMESPACES = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
}


def _xpath(tree: Any, path: str) -> str:
    found = tree.xpath(path, namespaces=NAMESPACES)
    assert len(found) == 1, path
    return str(found[0].text)


def _stored_pdf(engine: Engine, document_id: int | None) -> bytes:
    with session_scope(engine, read_only=True) as session:
        stored = session.get(BillingDocumentPdf, document_id)
    assert stored is not None  # issued: stored when first asked for
    return stored.pdf


def test_issuing_needs_the_buyers_address_and_takes_the_account_as_it_is_then(
    engine: Engine, catalogue: Catalogue, clock: Clock
) -> None:
    march = build_march(engine, clock)
    with session_scope(engine) as session:
        session.execute(sa.text("UPDATE billing_account SET address = NULL"))
    refused = run(engine, catalogue, 2026, 3, issue=True)
    error = refused.operators[0].error
    assert error is not None
    assert "buyer.address" in error
    assert documents_of(engine, march.operator) == {}

    run(engine, catalogue, 2026, 3)  # drafts, to a buyer without address
    with session_scope(engine) as session:
        session.execute(sa.text("UPDATE billing_account SET address = '2 quai Ceineray'"))
    issue(engine, 2026, 3)
    invoice = documents_of(engine, march.operator)[DocumentKind.INVOICE]
    assert invoice.number == "FAC-0000001"
    assert invoice.buyer["address"] == "2 quai Ceineray"


def test_a_never_ordered_circuit_is_credited_at_its_list_price(
    engine: Engine, catalogue: Catalogue, clock: Clock
) -> None:
    """A circuit of the inventory files has no order: billing bills it at the list fee of
    the offer that matches it, and its SLA penalties are owed at that fee too."""
    march = build_march(engine, clock)
    with session_scope(engine, actor="test:billing") as session:
        circuit = Circuit(
            ref="GIG-ETH-000106",
            operator_id=march.operator,
            service_type=ServiceType.ETHERNET_ELINE,
            a_site_id=_site(session, "NTE1").id,
            bandwidth_mbps=10000,
            status=CircuitStatus.ACTIVE,
            in_service_since=date(2025, 6, 1),
        )
        session.add(circuit)
        session.flush()
        incident = session.exec(select(Incident)).one()
        session.add(
            IncidentCircuit(
                incident_id=_id(incident),
                circuit_id=_id(circuit),
                started_at=utc(3, 12, 7),
                ended_at=utc(3, 12, 13, 30),
            )
        )

    run(engine, catalogue, 2026, 3, issue=True)

    documents = documents_of(engine, march.operator)
    assert lines_of(engine, documents[DocumentKind.CREDIT_NOTE].id) == [
        ("GIG-ETH-000105", LineKind.SLA_CREDIT, money("450.00")),
        ("GIG-ETH-000106", LineKind.SLA_CREDIT, money("450.00")),  # 30 % of 1,500.00
    ]
    assert ("GIG-ETH-000106", LineKind.RECURRING, money("1500.00")) in lines_of(
        engine, documents[DocumentKind.INVOICE].id
    )


def test_a_circuit_recorded_after_its_month_was_issued_is_billed_as_a_regularisation(
    engine: Engine, catalogue: Catalogue, clock: Clock
) -> None:
    """Found in service on 10 March only after March was invoiced: April's invoice carries
    its March days and its FAS as régularisations, once."""
    march = build_march(engine, clock)
    run(engine, catalogue, 2026, 3, issue=True)
    clock.today = date(2026, 4, 20)
    with session_scope(engine, actor="test:noc") as session:
        late = Circuit(
            ref="GIG-ETH-000107",
            operator_id=march.operator,
            service_type=ServiceType.ETHERNET_ELINE,
            a_site_id=_site(session, "NTE1").id,
            bandwidth_mbps=1000,  # eline-1g at list price: 600.00 a month, FAS 1,200.00
            status=CircuitStatus.ACTIVE,
            in_service_since=date(2026, 3, 10),
        )
        session.add(late)

    clock.today = date(2026, 5, 2)
    again = run(engine, catalogue, 2026, 3)
    assert again.operators[0].documents[0].action is Action.DIFFERS  # March stays as issued
    run(engine, catalogue, 2026, 4, issue=True)

    with session_scope(engine, read_only=True) as session:
        april = session.exec(
            select(BillingDocument).where(
                col(BillingDocument.month) == "2026-04",
                col(BillingDocument.kind) == DocumentKind.INVOICE,
            )
        ).one()
        lines = session.exec(
            select(BillingLine)
            .where(col(BillingLine.document_id) == april.id)
            .where(col(BillingLine.circuit_ref) == "GIG-ETH-000107")
            .order_by(col(BillingLine.position))
        ).all()
    assert [
        (line.kind, line.amount, line.description.startswith("Régularisation")) for line in lines
    ] == [
        (LineKind.RECURRING, money("600.00"), False),  # April
        (LineKind.ONE_TIME_FEE, money("1200.00"), True),
        (LineKind.RECURRING, money("425.81"), True),  # 10–31 March: 600 × 22 / 31
    ]
    assert (lines[2].period_start, lines[2].period_end) == (date(2026, 3, 10), date(2026, 3, 31))

    clock.today = date(2026, 6, 2)
    run(engine, catalogue, 2026, 5, issue=True)
    with session_scope(engine, read_only=True) as session:
        may = session.exec(
            select(BillingLine)
            .join(BillingDocument, col(BillingDocument.id) == col(BillingLine.document_id))
            .where(col(BillingDocument.month) == "2026-05")
            .where(col(BillingLine.circuit_ref) == "GIG-ETH-000107")
        ).all()
    assert [(line.amount, line.description.startswith("Régularisation")) for line in may] == [
        (money("600.00"), False)  # nothing billed twice
    ]
