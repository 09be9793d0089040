"""Pricing a subscription from what the database said of a circuit, without a database: the
order's prices, the catalogue's, the contract's terms, and the reasons a circuit is left
unpriced."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import networkx as nx
import pytest

from gigalis_nms.billing.models import Subscription, SubscriptionSource
from gigalis_nms.billing.subscriptions import (
    CircuitView,
    OrderedTerms,
    PricingFacts,
    price_subscription,
)
from gigalis_nms.catalogue.loader import REPOSITORY_CATALOGUE, load_catalogue
from gigalis_nms.catalogue.models import Catalogue
from gigalis_nms.inventory.enums import ServiceType

JANUARY_31 = date(2026, 1, 31)


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue(REPOSITORY_CATALOGUE)


def circuit(
    service: ServiceType, bandwidth: int | None = None, *, z: int | None = 2
) -> CircuitView:
    return CircuitView(7, "GIG-XX-000007", 3, service, bandwidth, 1, z)


def facts(
    ordered: OrderedTerms | None = None,
    *,
    insee: str = "44109",
    strands: int | None = None,
    graph: nx.Graph | None = None,
) -> PricingFacts:
    return PricingFacts(
        ordered={7: ordered} if ordered is not None else {},
        sites={1: ("NTE1", insee), 2: ("ANG1", "49007")},
        strand_cables={7: strands} if strands is not None else {},
        graph=graph,
    )


def priced(result: dict[str, Any] | str) -> Subscription:
    assert not isinstance(result, str), result
    return Subscription(**result)


def test_an_order_sets_the_prices_and_the_catalogue_the_terms(catalogue: Catalogue) -> None:
    ordered = OrderedTerms(41, "eline-1g", Decimal("1000.00"), Decimal("550.00"), None)

    made = priced(
        price_subscription(
            catalogue, circuit(ServiceType.ETHERNET_ELINE, 1000), facts(ordered), on=JANUARY_31
        )
    )

    # The item's (negotiated) prices, not the list's 1,200 and 600.
    assert (made.monthly_fee, made.one_time_fee) == (Decimal("550.00"), Decimal("1000.00"))
    assert (made.source, made.order_item_id) == (SubscriptionSource.ORDER, 41)
    # 36 months from 31 January: the last day of January 2029.
    assert (made.contract_start, made.commitment_end) == (JANUARY_31, date(2029, 1, 31))
    assert made.departement == "44"


def test_an_iru_cheaper_than_its_fas_bills_no_right_of_use(catalogue: Catalogue) -> None:
    # Quoted under an older catalogue whose FAS was lower than today's 1,500 €.
    ordered = OrderedTerms(9, "dark-fibre-iru", Decimal("1200.00"), Decimal("10.00"), 800)

    made = priced(
        price_subscription(
            catalogue, circuit(ServiceType.DARK_FIBRE), facts(ordered), on=JANUARY_31
        )
    )

    assert (made.one_time_fee, made.iru_price) == (Decimal("1200.00"), Decimal("0.00"))
    assert made.distance_m == 800
    assert made.schedule_end == date(2046, 1, 31)


def test_a_withdrawn_offer_keeps_its_price_without_commitment(catalogue: Catalogue) -> None:
    ordered = OrderedTerms(5, "eline-2g-2019", Decimal("0.00"), Decimal("800.00"), None)

    made = priced(
        price_subscription(
            catalogue, circuit(ServiceType.ETHERNET_ELINE, 2000), facts(ordered), on=JANUARY_31
        )
    )

    assert (made.offer_id, made.offer_kind, made.monthly_fee) == (
        "eline-2g-2019",
        "ethernet",
        Decimal("800.00"),
    )
    assert (made.commitment_end, made.early_termination_percent) == (None, Decimal("0"))


def test_an_overseas_site_names_its_three_digit_departement(catalogue: Catalogue) -> None:
    made = priced(
        price_subscription(
            catalogue, circuit(ServiceType.ETHERNET_ELINE, 100), facts(insee="97411"), on=JANUARY_31
        )
    )
    assert made.departement == "974"
    assert (made.offer_id, made.source) == ("eline-100m", SubscriptionSource.CATALOGUE)


def test_dark_fibre_without_strands_is_priced_by_its_shortest_route(
    catalogue: Catalogue,
) -> None:
    graph = nx.Graph()
    graph.add_edge("NTE1", "MID1", length_m=3000)
    graph.add_edge("MID1", "ANG1", length_m=4000)
    graph.add_edge("NTE1", "ANG1", length_m=9000)  # longer than through MID1

    made = priced(
        price_subscription(
            catalogue, circuit(ServiceType.DARK_FIBRE), facts(graph=graph), on=JANUARY_31
        )
    )

    assert made.distance_m == 7000
    assert made.monthly_fee == Decimal("665.00")  # 7 km at 95 €/km


@pytest.mark.parametrize(
    ("view", "given", "reason"),
    [
        (
            circuit(ServiceType.WAVELENGTH, 1000),
            facts(),
            "no wavelength offer of 1000 Mb/s in the catalogue",
        ),
        (
            circuit(ServiceType.DARK_FIBRE),
            facts(graph=nx.Graph()),
            "holds no strand, and no active cable route joins NTE1 and ANG1",
        ),
        (
            circuit(ServiceType.DARK_FIBRE, z=None),
            facts(),
            "a dark fibre without a Z end has no length to price",
        ),
        (
            circuit(ServiceType.ETHERNET_ELINE, 1000),
            facts(OrderedTerms(8, "eline-1g", None, None, None)),
            "order item 8 carries no price",
        ),
    ],
)
def test_what_cannot_be_priced_says_why(
    catalogue: Catalogue, view: CircuitView, given: PricingFacts, reason: str
) -> None:
    assert price_subscription(catalogue, view, given, on=JANUARY_31) == reason


def test_hosting_needs_a_hosting_offer(catalogue: Catalogue) -> None:
    without = catalogue.model_copy(
        update={"offers": [offer for offer in catalogue.offers if offer.kind != "hosting"]}
    )
    view = circuit(ServiceType.HOSTING, z=None)

    assert price_subscription(without, view, facts(), on=JANUARY_31) == (
        "no hosting offer in the catalogue"
    )
    assert priced(price_subscription(catalogue, view, facts(), on=JANUARY_31)).offer_kind == (
        "hosting"
    )
