"""The Factur-X XML of an invoice or credit note: a UN/CEFACT Cross Industry Invoice (D16B) of
the EN 16931 profile, as embedded in the PDF and read by the buyer's software or Chorus Pro.

What the XML must say, by EN 16931 business term (BT):

- BT-1 the number (a draft, which has none: ``BROUILLON-<id>``), BT-2 the issue date (a
  draft: today), BT-3 380 for an invoice, 381 for a credit note, whose amounts are positive;
- BT-73/74 the service month, always: French law wants the date of the service on the
  invoice, and a credit note says which month it corrects;
- BT-25/26 the invoice a credit note corrects, once that invoice is numbered;
- BT-23 S1, the French reform's frame for an invoice of services;
- the seller by SIREN (scheme 0002), SIRET (0009) and VAT number; the buyer by SIREN (0002)
  and SIRET when known, or for a public buyer by SIRET (0009) with the Chorus Pro service
  code (BT-10) and legal commitment number (BT-13), which Chorus Pro needs to route and
  accept the invoice;
- the French mentions on late payment as notes with their subject codes (PMD, PMT, AAB);
- one VAT breakdown, category S, on the document's total: the run rounds VAT once, on the
  total, which is what EN 16931 checks (BR-S-09).

The CII schema is order-sensitive: every element is appended in the order of the Factur-X
EN 16931 XSD (``ReusableAggregateBusinessInformationEntity_100``). The amounts a document
states are checked against its lines before any XML is written, so that an inconsistent
document is refused here rather than by the buyer.

>>> amount_text(Decimal("1234.5")), percent_text(Decimal("0.2000"))
('1234.50', '20.00')
>>> quantity_text(Decimal("22.0000")), quantity_text(Decimal("100")), quantity_text(Decimal("0.5"))
('22', '100', '0.5')
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal

from lxml import etree  # type: ignore[import-untyped]  # lxml ships no type information

from gigalis_nms.billing.models import BillingDocument, BillingLine, DocumentKind, DocumentState
from gigalis_nms.billing.money import cents, paris_day
from gigalis_nms.billing.seller import Seller
from gigalis_nms.db.types import utcnow
from gigalis_nms.errors import FieldProblem, InvalidInput

NAMESPACES = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "qdt": "urn:un:unece:uncefact:data:standard:QualifiedDataType:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
}
EN16931_GUIDELINE = "urn:cen.eu:en16931:2017"
# BT-23, the French "cadre de facturation" of the 2026 e-invoicing reform (BR-FR-08): S1, an
# invoice for services, to be paid.
SERVICES = "S1"
DATE_FORMAT = "102"  # UNTDID 2379: CCYYMMDD
SIREN_SCHEME = "0002"  # ISO 6523 ICD of the SIRENE register: SIREN
SIRET_SCHEME = "0009"  # and SIRET
VAT_SCHEME = "VA"
EMAIL_SCHEME = "EM"
SEPA_CREDIT_TRANSFER = "58"  # UNTDID 4461
STANDARD_RATE = "S"  # UNCL 5305: VAT at the standard rate
# UNTDID 4451 subject codes of the French mentions (French CTC rules, BR-FR-05).
LATE_PAYMENT_NOTE = "PMD"
RECOVERY_INDEMNITY_NOTE = "PMT"
DISCOUNT_NOTE = "AAB"
DEFAULT_PAYMENT_DAYS = 30
QUANTITY_STEP = Decimal("0.0001")


def facturx_xml(
    document: BillingDocument,
    lines: Sequence[BillingLine],
    seller: Seller,
    *,
    today: date | None = None,
) -> bytes:
    """The Factur-X (EN 16931) XML of ``document``, UTF-8. InvalidInput, naming the field,
    when the document lacks what the XML must state or its totals disagree with its lines.
    ``today`` dates a draft (default: today in Paris)."""
    check_document(document, lines)
    issued = issue_date(document, today)
    root = _element("rsm:CrossIndustryInvoice", nsmap=NAMESPACES)
    context = _sub(root, "rsm:ExchangedDocumentContext")
    _sub(_sub(context, "ram:BusinessProcessSpecifiedDocumentContextParameter"), "ram:ID", SERVICES)
    _sub(
        _sub(context, "ram:GuidelineSpecifiedDocumentContextParameter"), "ram:ID", EN16931_GUIDELINE
    )
    _exchanged_document(root, document, seller, issued)

    transaction = _sub(root, "rsm:SupplyChainTradeTransaction")
    for line in lines:
        _line_item(transaction, document, line)
    _agreement(transaction, document, seller)
    _sub(transaction, "ram:ApplicableHeaderTradeDelivery")  # the period below says when
    _settlement(transaction, document, seller, issued)
    xml: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return xml


# --- What a document must hold ----------------------------------------------------------------


def document_reference(document: BillingDocument) -> str:
    """The document's number; a draft, which has none yet, is ``BROUILLON-<id>``."""
    return document.number or f"BROUILLON-{document.id}"


def issue_date(document: BillingDocument, today: date | None = None) -> date:
    """The issue date; a draft is dated the day it is shown."""
    return document.issue_date or today or paris_day(utcnow())


def credit_note_reference(document: BillingDocument) -> str:
    """The sentence that ties a credit note to the invoice it corrects."""
    text = f"Avoir relatif à la facture N° {document.invoice_number}"
    if document.invoice_issue_date is not None:
        text += f" du {document.invoice_issue_date:%d/%m/%Y}"
    return f"{text}."


def due_date(document: BillingDocument, issued: date) -> date | None:
    """When an invoice is payable: the stored date, or a draft's issue date plus the buyer's
    payment days. A credit note is not paid, it is deducted: it has none."""
    if document.kind is not DocumentKind.INVOICE:
        return None
    if document.due_date is not None:
        return document.due_date
    days = document.buyer.get("payment_days")  # 0: payable on receipt
    return issued + timedelta(days=DEFAULT_PAYMENT_DAYS if days is None else int(days))


def document_problems(
    document: BillingDocument, lines: Sequence[BillingLine]
) -> list[FieldProblem]:
    """What keeps ``document`` from being shown: a missing period or buyer, no line, or totals
    that its lines do not add up to."""
    problems = []
    if document.period_start is None or document.period_end is None:
        problems.append(FieldProblem("period", "the service period (BT-73/74) is required"))
    elif document.period_start > document.period_end:
        problems.append(FieldProblem("period", "the service period ends before it starts"))
    if not str(document.buyer.get("name") or "").strip():
        problems.append(FieldProblem("buyer.name", "the buyer has no name"))
    if document.state is DocumentState.ISSUED and not document.number:
        problems.append(FieldProblem("number", "an issued document has a number"))
    if not lines:
        problems.append(FieldProblem("lines", "a document has at least one line"))
    problems.extend(problem for line in lines for problem in _line_problems(line))
    problems.extend(_total_problems(document, lines))
    return problems


def check_document(document: BillingDocument, lines: Sequence[BillingLine]) -> None:
    problems = document_problems(document, lines)
    if problems:
        what = f"{document.kind.value.replace('_', ' ')} {document_reference(document)}"
        raise InvalidInput(f"{what}: {problems[0]}", problems)


def _line_problems(line: BillingLine) -> list[FieldProblem]:
    field = f"lines.{line.position}"
    if line.unit_price < 0 or line.quantity < 0:
        # EN 16931 BR-27: no negative price; a credit is a credit note's positive line.
        return [FieldProblem(field, "price and quantity may not be negative")]
    if line.basis <= 0:
        return [FieldProblem(f"{field}.basis", "the price's base quantity must be positive")]
    if line.amount != cents(line.unit_price * line.quantity / line.basis):
        return [FieldProblem(f"{field}.amount", "is not unit price × quantity / basis")]
    return []


def _total_problems(document: BillingDocument, lines: Sequence[BillingLine]) -> list[FieldProblem]:
    problems = []
    lines_total = sum((line.amount for line in lines), Decimal("0.00"))
    if document.total_net != lines_total:
        problems.append(
            FieldProblem("total_net", f"{document.total_net} is not the lines' sum {lines_total}")
        )
    if document.total_net < 0:
        # A 381 states positive amounts; a negative invoice would be a credit note.
        problems.append(FieldProblem("total_net", "may not be negative"))
    vat = cents(document.total_net * document.vat_rate)
    if document.total_vat != vat:
        problems.append(FieldProblem("total_vat", f"{document.total_vat} is not {vat}"))
    if document.total_gross != document.total_net + document.total_vat:
        problems.append(FieldProblem("total_gross", "is not total_net + total_vat"))
    return problems


# --- Header -----------------------------------------------------------------------------------


def _exchanged_document(
    root: etree._Element, document: BillingDocument, seller: Seller, issued: date
) -> None:
    header = _sub(root, "rsm:ExchangedDocument")
    _sub(header, "ram:ID", document_reference(document))
    _sub(header, "ram:TypeCode", document.kind.type_code)
    _date(header, "ram:IssueDateTime", issued)
    if document.state is DocumentState.DRAFT:
        _note(header, "BROUILLON — sans valeur : document non émis, sans numéro.")
    if document.kind is DocumentKind.CREDIT_NOTE and document.invoice_number:
        _note(header, credit_note_reference(document))
    _note(header, seller.mentions.late_payment, LATE_PAYMENT_NOTE)
    _note(header, seller.mentions.recovery_indemnity, RECOVERY_INDEMNITY_NOTE)
    _note(header, seller.mentions.early_payment_discount, DISCOUNT_NOTE)


def _agreement(transaction: etree._Element, document: BillingDocument, seller: Seller) -> None:
    buyer = document.buyer
    public = bool(buyer.get("public_buyer"))
    agreement = _sub(transaction, "ram:ApplicableHeaderTradeAgreement")
    if public and buyer.get("chorus_service_code"):
        _sub(agreement, "ram:BuyerReference", buyer["chorus_service_code"])  # BT-10
    _seller_party(agreement, seller)
    _buyer_party(agreement, document)
    if public and buyer.get("commitment_number"):
        order = _sub(agreement, "ram:BuyerOrderReferencedDocument")  # BT-13
        _sub(order, "ram:IssuerAssignedID", buyer["commitment_number"])


def _seller_party(agreement: etree._Element, seller: Seller) -> None:
    party = _sub(agreement, "ram:SellerTradeParty")
    # The establishment by SIRET (BT-29), the company by SIREN (BT-30): the French rules of
    # the reform want both, and the SIRET within the SIREN (BR-FR-09, BR-FR-10).
    _sub(party, "ram:GlobalID", seller.siret, schemeID=SIRET_SCHEME)
    _sub(party, "ram:Name", seller.name)
    _sub(party, "ram:Description", seller.legal_form)  # BT-33, additional legal information
    legal = _sub(party, "ram:SpecifiedLegalOrganization")
    _sub(legal, "ram:ID", seller.siren, schemeID=SIREN_SCHEME)
    _address(party, seller.postcode, seller.address, seller.city, seller.country)
    _sub(
        _sub(party, "ram:URIUniversalCommunication"),
        "ram:URIID",
        seller.email,
        schemeID=EMAIL_SCHEME,
    )
    _sub(
        _sub(party, "ram:SpecifiedTaxRegistration"),
        "ram:ID",
        seller.vat_number,
        schemeID=VAT_SCHEME,
    )


def _buyer_party(agreement: etree._Element, document: BillingDocument) -> None:
    buyer = document.buyer
    party = _sub(agreement, "ram:BuyerTradeParty")
    identifier = _buyer_identifier(buyer)
    if buyer.get("siret") and identifier is not None and identifier[1] == SIREN_SCHEME:
        _sub(party, "ram:GlobalID", buyer["siret"], schemeID=SIRET_SCHEME)  # BT-46
    _sub(party, "ram:Name", buyer["name"])
    if identifier is not None:
        legal = _sub(party, "ram:SpecifiedLegalOrganization")
        _sub(legal, "ram:ID", identifier[0], schemeID=identifier[1])
    # EN 16931 wants the buyer's address (BR-10) with its country (BR-11), even when the
    # billing account gives no more than the country.
    _address(party, buyer.get("postcode"), buyer.get("address"), buyer.get("city"), _country(buyer))
    if buyer.get("email"):
        communication = _sub(party, "ram:URIUniversalCommunication")
        _sub(communication, "ram:URIID", buyer["email"], schemeID=EMAIL_SCHEME)
    if buyer.get("vat_number"):
        registration = _sub(party, "ram:SpecifiedTaxRegistration")
        _sub(registration, "ram:ID", buyer["vat_number"], schemeID=VAT_SCHEME)


def _buyer_identifier(buyer: dict[str, object]) -> tuple[str, str] | None:
    """A public buyer by its SIRET, which Chorus Pro routes on; others by SIREN."""
    if buyer.get("public_buyer") and buyer.get("siret"):
        return str(buyer["siret"]), SIRET_SCHEME
    if buyer.get("siren"):
        return str(buyer["siren"]), SIREN_SCHEME
    if buyer.get("siret"):
        return str(buyer["siret"]), SIRET_SCHEME
    return None


def _country(buyer: dict[str, object]) -> str:
    return str(buyer.get("country") or "FR")


def _settlement(
    transaction: etree._Element, document: BillingDocument, seller: Seller, issued: date
) -> None:
    settlement = _sub(transaction, "ram:ApplicableHeaderTradeSettlement")
    _sub(settlement, "ram:PaymentReference", document_reference(document))  # BT-83
    _sub(settlement, "ram:InvoiceCurrencyCode", document.currency)
    if document.kind is DocumentKind.INVOICE:
        means = _sub(settlement, "ram:SpecifiedTradeSettlementPaymentMeans")
        _sub(means, "ram:TypeCode", SEPA_CREDIT_TRANSFER)
        _sub(_sub(means, "ram:PayeePartyCreditorFinancialAccount"), "ram:IBANID", seller.iban)
        institution = _sub(means, "ram:PayeeSpecifiedCreditorFinancialInstitution")
        _sub(institution, "ram:BICID", seller.bic)

    tax = _sub(settlement, "ram:ApplicableTradeTax")
    _sub(tax, "ram:CalculatedAmount", amount_text(document.total_vat))
    _sub(tax, "ram:TypeCode", "VAT")
    _sub(tax, "ram:BasisAmount", amount_text(document.total_net))
    _sub(tax, "ram:CategoryCode", STANDARD_RATE)
    _sub(tax, "ram:RateApplicablePercent", percent_text(document.vat_rate))
    _period(settlement, document.period_start, document.period_end)
    _payment_terms(settlement, document, issued)

    totals = _sub(settlement, "ram:SpecifiedTradeSettlementHeaderMonetarySummation")
    _sub(totals, "ram:LineTotalAmount", amount_text(document.total_net))
    _sub(totals, "ram:TaxBasisTotalAmount", amount_text(document.total_net))
    _sub(
        totals, "ram:TaxTotalAmount", amount_text(document.total_vat), currencyID=document.currency
    )
    _sub(totals, "ram:GrandTotalAmount", amount_text(document.total_gross))
    _sub(totals, "ram:DuePayableAmount", amount_text(document.total_gross))
    if document.kind is DocumentKind.CREDIT_NOTE and document.invoice_number:
        invoice = _sub(settlement, "ram:InvoiceReferencedDocument")  # BT-25/26
        _sub(invoice, "ram:IssuerAssignedID", document.invoice_number)
        if document.invoice_issue_date is not None:
            _date(invoice, "ram:FormattedIssueDateTime", document.invoice_issue_date, "qdt")


def _payment_terms(settlement: etree._Element, document: BillingDocument, issued: date) -> None:
    """BT-20 and BT-9: EN 16931 wants one of them whenever an amount is due (BR-CO-25)."""
    terms = _sub(settlement, "ram:SpecifiedTradePaymentTerms")
    due = due_date(document, issued)
    if due is None:
        _sub(terms, "ram:Description", "Avoir à déduire du prochain règlement.")
        return
    _sub(terms, "ram:Description", f"Paiement par virement au plus tard le {due:%d/%m/%Y}.")
    _date(terms, "ram:DueDateDateTime", due)


# --- Lines ------------------------------------------------------------------------------------


def line_name(line: BillingLine) -> str:
    """BT-153: the line's description, with its circuit's reference when it lacks it."""
    if line.circuit_ref and line.circuit_ref not in line.description:
        return f"{line.circuit_ref} — {line.description}"
    return line.description


def _line_item(transaction: etree._Element, document: BillingDocument, line: BillingLine) -> None:
    item = _sub(transaction, "ram:IncludedSupplyChainTradeLineItem")
    _sub(_sub(item, "ram:AssociatedDocumentLineDocument"), "ram:LineID", str(line.position))
    product = _sub(item, "ram:SpecifiedTradeProduct")
    if line.offer_id:
        _sub(product, "ram:SellerAssignedID", line.offer_id)  # BT-155
    _sub(product, "ram:Name", line_name(line))

    # BT-146 over BT-149: a prorated month is the monthly fee for as many days as the month
    # has, and the quantity billed is the days of service.
    price = _sub(_sub(item, "ram:SpecifiedLineTradeAgreement"), "ram:NetPriceProductTradePrice")
    _sub(price, "ram:ChargeAmount", amount_text(line.unit_price))
    _sub(price, "ram:BasisQuantity", quantity_text(line.basis), unitCode=line.unit)
    delivery = _sub(item, "ram:SpecifiedLineTradeDelivery")
    _sub(delivery, "ram:BilledQuantity", quantity_text(line.quantity), unitCode=line.unit)

    settlement = _sub(item, "ram:SpecifiedLineTradeSettlement")
    tax = _sub(settlement, "ram:ApplicableTradeTax")
    _sub(tax, "ram:TypeCode", "VAT")
    _sub(tax, "ram:CategoryCode", STANDARD_RATE)
    _sub(tax, "ram:RateApplicablePercent", percent_text(document.vat_rate))
    if line.period_start is not None and line.period_end is not None:
        _period(settlement, line.period_start, line.period_end)  # BT-134/135
    totals = _sub(settlement, "ram:SpecifiedTradeSettlementLineMonetarySummation")
    _sub(totals, "ram:LineTotalAmount", amount_text(line.amount))


# --- Values -----------------------------------------------------------------------------------


def amount_text(amount: Decimal) -> str:
    """An amount as the XML writes it: two decimals, a point, no grouping."""
    return f"{cents(amount):f}"


def quantity_text(quantity: Decimal) -> str:
    """A quantity with at most four decimals, trailing zeros dropped."""
    return f"{quantity.quantize(QUANTITY_STEP).normalize():f}"


def percent_text(rate: Decimal) -> str:
    """A 0-1 rate as a percentage with two decimals: 0.2000 is 20.00."""
    return f"{cents(rate * 100):f}"


def _period(parent: etree._Element, start: date, end: date) -> None:
    period = _sub(parent, "ram:BillingSpecifiedPeriod")
    _date(period, "ram:StartDateTime", start)
    _date(period, "ram:EndDateTime", end)


def _address(
    party: etree._Element,
    postcode: str | None,
    line: str | None,
    city: str | None,
    country: str,
) -> None:
    address = _sub(party, "ram:PostalTradeAddress")
    if postcode:
        _sub(address, "ram:PostcodeCode", postcode)
    if line:
        _sub(address, "ram:LineOne", line)
    if city:
        _sub(address, "ram:CityName", city)
    _sub(address, "ram:CountryID", country)


def _date(parent: etree._Element, tag: str, day: date, prefix: str = "udt") -> None:
    _sub(_sub(parent, tag), f"{prefix}:DateTimeString", f"{day:%Y%m%d}", format=DATE_FORMAT)


def _note(header: etree._Element, text: str, subject: str | None = None) -> None:
    note = _sub(header, "ram:IncludedNote")
    _sub(note, "ram:Content", text)
    if subject is not None:
        _sub(note, "ram:SubjectCode", subject)


def _qualified(tag: str) -> str:
    prefix, _, name = tag.partition(":")
    return f"{{{NAMESPACES[prefix]}}}{name}"


def _element(tag: str, **options: object) -> etree._Element:
    return etree.Element(_qualified(tag), **options)


def _sub(
    parent: etree._Element, tag: str, text: str | None = None, **attributes: str
) -> etree._Element:
    child = etree.SubElement(parent, _qualified(tag), attributes)
    if text is not None:
        child.text = text
    return child
