"""The synthetic billing month of ``bench.billing``: operators with their billing accounts,
circuits in service with their order items and subscriptions, and the month's outages.

Everything is built in memory as rows, then written in bulk with Core (COPY on PostgreSQL)
in one transaction, ids explicit. The subscriptions are priced by billing's own
:func:`~gigalis_nms.billing.subscriptions.price_subscription` from the same facts it would
read (the circuit, its last order item, its site), so that they hold what the product itself
would have opened; dates, changes and terminations are then set as the subscription listener
would have set them on those days. The monthly run's own sync finds nothing to open, close
or report: the benchmark times billing, not a first synchronisation.

The mix, per circuit: most in service all month; some activated during the month (FAS);
some terminated during the month inside their commitment (early-termination fee); some
changed during the month by a modify order (two periods); a few dark-fibre IRUs, half of
them signed during the month (right of use). A tenth of the circuits were never ordered
(priced from the catalogue, no SLA terms). Some circuits in service all month have one to
three outages, a share of them long enough to breach their GTR: those give the SLA credits.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from bench.monitoring import History
from gigalis_nms.billing.accounts import vat_number_of
from gigalis_nms.billing.models import (
    BillingAccount,
    Subscription,
    SubscriptionEnd,
)
from gigalis_nms.billing.money import add_months, day_before, month_days
from gigalis_nms.billing.subscriptions import (
    CircuitView,
    OrderedTerms,
    PricingFacts,
    price_subscription,
)
from gigalis_nms.catalogue.models import Catalogue
from gigalis_nms.db.types import table_of
from gigalis_nms.inventory.enums import (
    SERVICE_REF_CODES,
    CircuitStatus,
    LifecycleStatus,
    OrganisationKind,
    ServiceType,
    SiteKind,
)
from gigalis_nms.inventory.tables import CIRCUIT, ORGANISATION, SITE
from gigalis_nms.monitoring.calendar import PARIS, month_bounds
from gigalis_nms.monitoring.models import FailingKind, Incident, IncidentCircuit
from gigalis_nms.monitoring.sla import OutageCause
from gigalis_nms.ordering.models import (
    ItemAction,
    ItemState,
    OrderState,
    ProductOrder,
    ProductOrderItem,
)
from gigalis_nms.ordering.pricing import ItemPrice, offer_price

Row = dict[str, Any]

OPERATORS = 20
PUBLIC_BUYERS = 2  # of the operators: public bodies, invoiced through Chorus Pro
# (code, name, INSEE code): a PoP in each of the five départements, two in some.
SITES = (
    ("NTE1", "Nantes", "44109"),
    ("STN1", "Saint-Nazaire", "44184"),
    ("ANG1", "Angers", "49007"),
    ("CHO1", "Cholet", "49099"),
    ("LAV1", "Laval", "53130"),
    ("MAY1", "Mayenne", "53147"),
    ("LMN1", "Le Mans", "72181"),
    ("FLE1", "La Flèche", "72154"),
    ("LRY1", "La Roche-sur-Yon", "85191"),
    ("SAB1", "Les Sables-d'Olonne", "85194"),
)
# What happens to a circuit during the month, with its share of the circuits.
RUNNING, ACTIVATED, TERMINATED, CHANGED, IRU = (
    "running",
    "activated",
    "terminated",
    "changed",
    "iru",
)
FATES = {RUNNING: 84, ACTIVATED: 6, TERMINATED: 3, CHANGED: 5, IRU: 2}
# Offers of circuits that are not IRUs, with their weight.
OFFERS = {
    "eline-100m": 34,
    "eline-1g": 25,
    "eline-10g": 12,
    "eline-100g": 1,
    "wavelength-10g": 6,
    "wavelength-100g": 1,
    "hosting-rack": 6,
    "hosting-half-rack": 5,
    "dark-fibre-lease": 10,
}
COMMITTED_OFFERS = ("eline-100m", "eline-1g", "eline-10g", "wavelength-10g", "dark-fibre-lease")
# A change: (from offer, to offer), weighted; upgrades mostly.
CHANGES = {
    ("eline-100m", "eline-1g"): 6,
    ("eline-1g", "eline-10g"): 2,
    ("eline-1g", "eline-100m"): 2,
}
SERVICES = {
    "ethernet": ServiceType.ETHERNET_ELINE,
    "wavelength": ServiceType.WAVELENGTH,
    "hosting": ServiceType.HOSTING,
    "dark_fibre_lease": ServiceType.DARK_FIBRE,
    "dark_fibre_iru": ServiceType.DARK_FIBRE,
}
UNORDERED_SHARE = 0.10  # of circuits running all month or activated: inventory-file circuits
IRU_SIGNED_SHARE = 0.5  # of the IRUs: signed during the month
FIBRE_METRES = (2_000, 60_000)
ITEMS_PER_ORDER = 50
OUTAGE_SHARE = 0.05  # of the circuits in service all month: one to three outages
LONG_OUTAGE_SHARE = 0.3  # of the outages: 6 to 30 hours, beyond any GTR
CIRCUITS_PER_INCIDENT = (1, 4)
CAUSES = {OutageCause.UNPLANNED: 85, OutageCause.CUSTOMER: 10, OutageCause.FORCE_MAJEURE: 5}


@dataclass
class BillingMonth:
    """The synthetic month: the rows to write, by table, and what they hold."""

    year: int
    month: int
    operators: int = 0
    history: History = field(default_factory=History)
    fates: Counter[str] = field(default_factory=Counter)
    subscriptions: int = 0
    subscriptions_in_month: int = 0
    outages: int = 0

    @property
    def label(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def circuits(self) -> int:
        return sum(self.fates.values())

    @property
    def billing_day(self) -> date:
        """The first day after the month: the run's ``today``."""
        return month_days(self.year, self.month)[1] + timedelta(days=1)

    def rows_of(self, table: sa.Table) -> list[Row]:
        return self.history.rows.get(table, [])


def luhn_completed(digits: str) -> str:
    """``digits`` followed by the check digit that makes them pass the Luhn test.

    >>> luhn_completed("73282932")
    '732829320'
    """
    total = 0
    for index, digit in enumerate(reversed(digits)):
        value = int(digit) * (2 if index % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return digits + str((10 - total % 10) % 10)


def synthetic_month(
    circuits: int, year: int, month: int, catalogue: Catalogue, seed: int
) -> BillingMonth:
    """``circuits`` circuits of ``OPERATORS`` operators and their month's history."""
    rng = random.Random(seed)
    operators = min(OPERATORS, max(PUBLIC_BUYERS + 1, circuits // 20))
    built = BillingMonth(year, month, operators)
    _operators(built, rng, operators)
    _sites(built)
    _Circuits(built, rng, catalogue, operators).build(circuits)
    _outages(built, rng)
    return built


# --- Organisations and sites ------------------------------------------------------------------


def _operators(built: BillingMonth, rng: random.Random, count: int) -> None:
    organisations, accounts = [], []
    for n in range(1, count + 1):
        public = n > count - PUBLIC_BUYERS
        siren = luhn_completed(f"{rng.randrange(10_000_000, 99_999_999)}")
        name = f"Département {n:02d}" if public else f"Opérateur {n:02d}"
        organisations.append(
            {
                "id": n,
                "name": name,
                "kind": OrganisationKind.MEMBER if public else OrganisationKind.OPERATOR,
                "siren": siren,
            }
        )
        _, city, insee = SITES[n % len(SITES)]
        accounts.append(
            {
                "id": n,
                "operator_id": n,
                "legal_name": f"{name} SAS" if not public else name,
                "siret": luhn_completed(f"{siren}{rng.randrange(1, 9999):04d}"),
                "vat_number": vat_number_of(siren),
                "address": f"{rng.randrange(1, 200)} rue de la République",
                "postcode": f"{insee[:2]}000",
                "city": city,
                "country": "FR",
                "email": f"facturation@operateur{n:02d}.example",
                "payment_days": 45 if public else 30,
                "public_buyer": public,
                "chorus_service_code": "SERVICE-FIN" if public else None,
                "commitment_number": f"EJ{rng.randrange(10**9, 10**10)}" if public else None,
            }
        )
    built.history.add(ORGANISATION, organisations)
    built.history.add(table_of(BillingAccount), accounts)


def _sites(built: BillingMonth) -> None:
    built.history.add(
        SITE,
        (
            {
                "id": n,
                "code": code,
                "name": f"PoP {name}",
                "kind": SiteKind.POP,
                "insee_code": insee,
                "latitude": 47.0,
                "longitude": -1.0,
                "status": LifecycleStatus.ACTIVE,
            }
            for n, (code, name, insee) in enumerate(SITES, start=1)
        ),
    )


# --- Circuits, orders, subscriptions ----------------------------------------------------------


def paris_moment(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=PARIS).astimezone(UTC)


class _Circuits:
    """Circuits with their order items and subscriptions, fate by fate."""

    def __init__(
        self, built: BillingMonth, rng: random.Random, catalogue: Catalogue, operators: int
    ) -> None:
        self._built, self._rng, self._catalogue = built, rng, catalogue
        self._operators = operators
        self._first, self._last = month_days(built.year, built.month)
        self._sites = {n: (code, insee) for n, (code, _, insee) in enumerate(SITES, start=1)}
        self.circuits: list[Row] = []
        self.orders: list[Row] = []
        self.items: list[Row] = []
        self.subscriptions: list[Row] = []
        self._open_orders: dict[int, tuple[int, int]] = {}  # operator → (order id, items)

    def build(self, count: int) -> None:
        fates = list(FATES)
        weights = list(FATES.values())
        for n in range(1, count + 1):
            fate = self._rng.choices(fates, weights)[0]
            self._built.fates[fate] += 1
            self._circuit(n, fate)
        history = self._built.history
        history.add(CIRCUIT, self.circuits)
        history.add(table_of(ProductOrder), self.orders)
        history.add(table_of(ProductOrderItem), self.items)
        history.add(table_of(Subscription), self.subscriptions)
        self._built.subscriptions = len(self.subscriptions)
        self._built.subscriptions_in_month = sum(
            1
            for row in self.subscriptions
            if row["start_date"] <= self._last
            and (row["end_date"] is None or row["end_date"] >= self._first)
        )

    def _circuit(self, n: int, fate: str) -> None:
        rng = self._rng
        offer_id = self._offer_of(fate)
        if fate == CHANGED:
            offer_id, changed_to = rng.choices(list(CHANGES), list(CHANGES.values()))[0]
        start = self._contract_start(fate, offer_id)
        offer = self._catalogue.offer(offer_id)
        assert offer is not None, f"offer {offer_id} is not in the catalogue"
        service = SERVICES[offer.kind]
        distance = rng.randrange(*FIBRE_METRES) if service is ServiceType.DARK_FIBRE else None
        site = rng.randrange(1, len(SITES) + 1)
        row = {
            "id": n,
            "ref": f"GIG-{SERVICE_REF_CODES[service]}-{n:06d}",
            "operator_id": rng.randrange(1, self._operators + 1),
            "service_type": service,
            "a_site_id": site,
            "z_site_id": site % len(SITES) + 1,
            "bandwidth_mbps": getattr(offer, "bandwidth_mbps", None),
            "status": CircuitStatus.ACTIVE,
            "in_service_since": start,
            "created_at": paris_moment(start, 10),
            "updated_at": paris_moment(start, 10),
        }
        ordered = fate in (CHANGED, IRU) or rng.random() >= UNORDERED_SHARE
        terms = self._order_item(row, offer_id, distance) if ordered else None
        values = self._priced(row, terms, distance, start)
        self.circuits.append(row)

        if fate == TERMINATED:
            ended = self._day_in_month(first=1)
            row["status"] = CircuitStatus.TERMINATED
            row["updated_at"] = paris_moment(ended, 17)
            values.update(end_date=ended, ended_by=SubscriptionEnd.TERMINATION)
        self.subscriptions.append(values)
        if fate == CHANGED:
            self._change(row, values, changed_to)

    def _offer_of(self, fate: str) -> str:
        if fate == IRU:
            return "dark-fibre-iru"
        offers = COMMITTED_OFFERS if fate == TERMINATED else list(OFFERS)
        return self._rng.choices(offers, [OFFERS[offer] for offer in offers])[0]

    def _contract_start(self, fate: str, offer_id: str) -> date:
        """The first day of the contract: during the month for a circuit activated (or an IRU
        signed) then; else before it, and inside the commitment for one terminated now."""
        rng = self._rng
        if fate == ACTIVATED or (fate == IRU and rng.random() < IRU_SIGNED_SHARE):
            return self._day_in_month(first=1)
        offer = self._catalogue.offer(offer_id)
        months = offer.commitment_months if offer is not None else 0
        back = rng.randrange(1, max(2, months - 1)) if fate == TERMINATED else rng.randrange(1, 60)
        return add_months(self._first, -back) + timedelta(days=rng.randrange(0, 28))

    def _day_in_month(self, first: int) -> date:
        """A day of the month from its ``first``+1-th day: never the first day, so that the
        period before it has at least one day."""
        return self._first + timedelta(days=self._rng.randrange(first, self._last.day))

    def _order_item(self, circuit: Row, offer_id: str, distance: int | None) -> OrderedTerms:
        """A completed ``add`` item under ``offer_id``, priced as ordering prices it."""
        offer = self._catalogue.offer(offer_id)
        assert offer is not None
        price = offer_price(offer, distance)
        item = self._item(circuit, offer_id, ItemAction.ADD, price)
        return OrderedTerms(item, offer_id, price.one_time, price.recurring, distance)

    def _item(
        self,
        circuit: Row,
        offer_id: str,
        action: ItemAction,
        price: ItemPrice,
        previous_mbps: int | None = None,
    ) -> int:
        operator = circuit["operator_id"]
        order, items = self._open_orders.get(operator, (0, ITEMS_PER_ORDER))
        if items >= ITEMS_PER_ORDER:
            order, items = len(self.orders) + 1, 0
            when = circuit["created_at"] - timedelta(days=30)
            self.orders.append(
                {
                    "id": order,
                    "operator_id": operator,
                    "state": OrderState.COMPLETED,
                    "created_by": "bench",
                    "created_at": when,
                    "updated_at": when,
                }
            )
        self._open_orders[operator] = (order, items + 1)
        number = len(self.items) + 1
        self.items.append(
            {
                "id": number,
                "order_id": order,
                "item_id": str(items + 1),
                "action": action,
                "offering_id": offer_id,
                "state": ItemState.COMPLETED,
                "circuit_id": circuit["id"],
                "circuit_ref": circuit["ref"],
                "bandwidth_mbps": circuit["bandwidth_mbps"],
                "previous_bandwidth_mbps": previous_mbps,
                "one_time_price": price.one_time,
                "recurring_price": price.recurring,
            }
        )
        return number

    def _priced(
        self, circuit: Row, terms: OrderedTerms | None, distance: int | None, start: date
    ) -> Row:
        """The subscription billing opens for ``circuit`` on ``start``."""
        view = CircuitView.of(_Record(circuit))
        facts = PricingFacts(
            ordered={circuit["id"]: terms} if terms is not None else {},
            sites=self._sites,
            strand_cables={circuit["id"]: distance} if distance is not None else {},
        )
        values = price_subscription(self._catalogue, view, facts, on=start)
        if isinstance(values, str):
            raise AssertionError(f"{circuit['ref']}: cannot be priced: {values}")
        values["id"] = len(self.subscriptions) + 1
        values["created_at"] = circuit["created_at"]
        return values

    def _change(self, circuit: Row, running: Row, offer_id: str) -> None:
        """A modify order completed during the month: the running period ends the day
        before, the next one starts that day under the new offer, in the same contract."""
        day = self._day_in_month(first=1)
        offer = self._catalogue.offer(offer_id)
        assert offer is not None
        price = offer_price(offer)
        previous = circuit["bandwidth_mbps"]
        circuit["bandwidth_mbps"] = getattr(offer, "bandwidth_mbps", None)
        circuit["updated_at"] = paris_moment(day, 9)
        item = self._item(circuit, offer_id, ItemAction.MODIFY, price, previous)
        running.update(end_date=day_before(day), ended_by=SubscriptionEnd.CHANGE)
        self.subscriptions.append(
            {
                **running,
                "id": len(self.subscriptions) + 1,
                "offer_id": offer_id,
                "offer_kind": offer.kind,
                "order_item_id": item,
                "bandwidth_mbps": circuit["bandwidth_mbps"],
                "monthly_fee": price.recurring,
                "one_time_fee": price.one_time,
                "start_date": day,
                "end_date": None,
                "ended_by": None,
                "replaces_id": running["id"],
                "created_at": circuit["updated_at"],
            }
        )


class _Record:
    """A circuit row read as attributes, as :meth:`CircuitView.of` reads an ORM object."""

    def __init__(self, row: Row) -> None:
        self.__dict__.update(row)


# --- Outages ----------------------------------------------------------------------------------


def _outages(built: BillingMonth, rng: random.Random) -> None:
    """One to three outages for ``OUTAGE_SHARE`` of the circuits in service all month,
    grouped one to four circuits per incident on a link."""
    start, end = month_bounds(built.year, built.month)
    first_day = month_days(built.year, built.month)[0]
    all_month = [
        row["id"]
        for row in built.rows_of(CIRCUIT)
        if row["status"] is CircuitStatus.ACTIVE and row["created_at"] < paris_moment(first_day, 0)
    ]
    chosen = rng.sample(all_month, int(len(all_month) * OUTAGE_SHARE))
    queue = [circuit for circuit in chosen for _ in range(rng.randint(1, 3))]
    rng.shuffle(queue)
    incidents: list[Row] = []
    outages: list[Row] = []
    span = (end - start).total_seconds()
    while queue:
        size = min(len(queue), rng.randint(*CIRCUITS_PER_INCIDENT))
        group = sorted({queue.pop() for _ in range(size)})
        if rng.random() < LONG_OUTAGE_SHARE:
            duration = rng.uniform(6 * 3600, 30 * 3600)
        else:
            duration = rng.expovariate(1 / 5400) + 300
        began = start + timedelta(seconds=rng.uniform(0, span - duration))
        ended = began + timedelta(seconds=duration)
        number = len(incidents) + 1
        link = rng.randrange(1, 500)
        first = len(outages)
        incidents.append(
            {
                "id": number,
                "opened_at": began,
                "closed_at": ended,
                "failing_kind": FailingKind.LINK,
                "failing_id": link,
                "failing": f"link BL-{link:05d}",
                "cause": rng.choices(list(CAUSES), list(CAUSES.values()))[0],
            }
        )
        outages.extend(
            {
                "id": first + index,
                "incident_id": number,
                "circuit_id": circuit,
                "started_at": began,
                "ended_at": ended,
            }
            for index, circuit in enumerate(group, start=1)
        )
    built.history.add(table_of(Incident), incidents)
    built.history.add(table_of(IncidentCircuit), outages)
    built.outages = len(outages)
