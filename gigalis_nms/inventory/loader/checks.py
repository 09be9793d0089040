"""Checks that need more than one record: references, and the resources records hold.

A reference resolves against the files when the files describe that kind of object, and
against the database otherwise (a folder holding only circuits may name sites already
loaded). Every check that the database would also enforce is made here first, so that the
user reads ``circuits.yaml:88: a.vlan: VLAN 101 on nte1-pe1:eth10 is also held by
GIG-ETH-000004 (circuits.yaml:40)`` rather than a constraint name.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from gigalis_nms.errors import FieldProblem
from gigalis_nms.inventory.enums import CableOwnership, CircuitStatus, OrganisationKind
from gigalis_nms.inventory.loader.existing import ExistingState
from gigalis_nms.inventory.loader.source import Located
from gigalis_nms.inventory.loader.state import DesiredState, Row
from gigalis_nms.inventory.rules import circuit_shape_problems

# The API names a circuit's far end z_site_id; the files name it z.
YAML_FIELDS = {"z_site_id": "z"}


@dataclass
class Resolver:
    """Looks objects up in the files or, for kinds the files leave out, in the database."""

    desired: DesiredState
    existing: ExistingState

    def rows(self, kind: str) -> dict[Any, Row]:
        if kind in self.desired.kinds:
            return self.desired.rows[kind]
        return self.existing.rows[kind]

    def get(self, kind: str, key: Any) -> Row | None:
        return self.rows(kind).get(key)


class Checker:
    def __init__(self, desired: DesiredState, existing: ExistingState) -> None:
        self.desired = desired
        self.resolve = Resolver(desired, existing)
        self.problems: list[FieldProblem] = []
        # (cable, strand) → who holds it, for strands held twice across links and circuits
        self.strand_holders: dict[tuple[str, int], str] = {}
        # interface → the backbone link it ends; no customer VLAN may ride such a port
        self.backbone_ports = {
            row[end]: code for code, row in self.resolve.rows("links").items() for end in "az"
        }

    def problem(self, record: Located, field: str, reason: str, key: str | None = None) -> None:
        self.problems.append(FieldProblem(field, reason, record.where(key or field)))

    def record(self, kind: str, key: Any) -> Located:
        return self.desired.where[(kind, key)]

    def run(self) -> list[FieldProblem]:
        for kind, check in (
            ("devices", self.check_device),
            ("cables", self.check_cable),
            ("links", self.check_link),
            ("circuits", self.check_circuit),
        ):
            for key, row in self.desired.rows[kind].items():
                check(self.record(kind, key), row)
        if "circuits" in self.desired.kinds:
            self.check_link_capacity()
        if "devices" in self.desired.kinds:
            self.check_management_addresses_unique()
        return self.problems

    def known(
        self, record: Located, field: str, kind: str, key: Any, *, at: str | None = None
    ) -> Row | None:
        if key is None:
            return None
        row = self.resolve.get(kind, key)
        if row is None:
            self.problem(record, field, f"unknown {kind[:-1]} {key!r}", at)
        return row

    # --- devices and cables ---------------------------------------------------------------

    def check_device(self, record: Located, row: Row) -> None:
        self.known(record, "site", "sites", row["site"])

    def check_management_addresses_unique(self) -> None:
        """One router per management address, as the service checks it."""
        holders: dict[str, str] = {}
        for hostname, row in self.desired.rows["devices"].items():
            address = row.get("management_address")
            if address is None:
                continue
            other = holders.setdefault(address, hostname)
            if other != hostname:
                record = self.record("devices", hostname)
                self.problem(record, "management_address", f"{other} already has {address}")

    def check_cable(self, record: Located, row: Row) -> None:
        self.known(record, "a_site", "sites", row["a_site"])
        self.known(record, "z_site", "sites", row["z_site"])
        self.known(record, "owner", "organisations", row["owner"])
        if row["a_site"] == row["z_site"]:
            self.problem(record, "z_site", "a cable joins two different sites")
        is_iru = row["ownership"] == CableOwnership.IRU
        if is_iru and row["iru_end_date"] is None:
            self.problem(record, "iru_end_date", "required when ownership is iru", "ownership")
        if not is_iru and row["iru_end_date"] is not None:
            self.problem(record, "iru_end_date", "only an IRU has an end date")
        beyond = [n for n in row["faulty_strands"] if n > row["fibre_count"]]
        if beyond:
            self.problem(record, "faulty_strands", f"strand {beyond[0]} is beyond the fibre count")

    # --- strands held by links and circuits ----------------------------------------------

    def check_strands(self, record: Located, field: str, holder: str, route: Any) -> list[Row]:
        """Checks each step's cable and strands; returns the cables in route order."""
        cables = []
        for cable_code, numbers in route:
            cable = self.known(record, field, "cables", cable_code)
            if cable is None:
                continue
            cables.append(cable)
            for number in numbers:
                self.check_strand(record, field, holder, cable, number)
        return cables

    def check_strand(
        self, record: Located, field: str, holder: str, cable: Row, number: int
    ) -> None:
        code = cable["code"]
        if number > cable["fibre_count"]:
            self.problem(record, field, f"cable {code} has only {cable['fibre_count']} strands")
        elif number in cable["faulty_strands"]:
            self.problem(record, field, f"strand {number} of {code} is faulty")
        other = self.strand_holders.setdefault((code, number), holder)
        if other != holder:
            self.problem(record, field, f"strand {number} of {code} is also held by {other}")

    def walk(
        self,
        record: Located,
        field: str,
        start: str | None,
        spans: list[tuple[str, str]],
        end: str | None,
    ) -> None:
        """Checks that spans (pairs of sites) lead from ``start`` to ``end`` in order."""
        here = start
        for a_site, z_site in spans:
            if here == a_site:
                here = z_site
            elif here == z_site:
                here = a_site
            else:
                self.problem(
                    record,
                    field,
                    f"the route is broken at {here}: next hop joins {a_site} and {z_site}",
                )
                return
        if here != end:
            target = end or "the other end's site"
            self.problem(record, field, f"the route ends at {here}, not at {target}")

    # --- links ----------------------------------------------------------------------------

    def interface_site(self, key: str | None) -> str | None:
        if key is None:
            return None
        interface = self.resolve.get("interfaces", key)
        device = self.resolve.get("devices", interface["device"]) if interface else None
        return device["site"] if device else None

    def check_link(self, record: Located, row: Row) -> None:
        a = self.known(record, "a", "interfaces", row["a"])
        z = self.known(record, "z", "interfaces", row["z"])
        if row["a"] == row["z"]:
            self.problem(record, "z", "a link joins two different interfaces")
        holder = f"link {row['code']}"
        cables = self.check_strands(record, "route", holder, row["route"])
        if a is None or z is None or len(cables) != len(row["route"]):
            return
        spans = [(cable["a_site"], cable["z_site"]) for cable in cables]
        self.walk(
            record, "route", self.interface_site(row["a"]), spans, self.interface_site(row["z"])
        )

    def check_interfaces_used_once(self) -> None:
        used: dict[str, str] = {}
        for code, row in self.desired.rows["links"].items():
            for end in ("a", "z"):
                other = used.setdefault(row[end], code)
                if other != code:
                    self.problem(
                        self.record("links", code), end, f"{row[end]} already ends link {other}"
                    )

    # --- circuits -------------------------------------------------------------------------

    def check_circuit(self, record: Located, row: Row) -> None:
        operator = self.known(record, "operator", "organisations", row["operator"])
        if operator is not None and operator["kind"] != OrganisationKind.OPERATOR:
            self.problem(
                record, "operator", f"{row['operator']} is a {operator['kind']}, not an operator"
            )
        self.check_service_shape(record, row)
        for end in ("a", "z"):
            self.check_endpoint(record, row, end)
        if row["status"] == CircuitStatus.TERMINATED and (row["path"] or row["strands"]):
            self.problem(record, "status", "a terminated circuit holds no path and no strands")
        self.check_strands(record, "strands", f"circuit {row['ref']}", row["strands"])
        self.check_path(record, row)

    def check_service_shape(self, record: Located, row: Row) -> None:
        problems = circuit_shape_problems(
            ref=row["ref"],
            service_type=row["service_type"],
            bandwidth_mbps=row["bandwidth_mbps"],
            has_z_end=row["z_site"] is not None,
            holds_strands=bool(row["strands"]),
        )
        for problem in problems:
            field = YAML_FIELDS.get(problem.field, problem.field)
            self.problem(
                record, field, problem.reason, field if field in record else "service_type"
            )

    def check_endpoint(self, record: Located, row: Row, end: str) -> None:
        endpoint = record.get(end)
        where = endpoint if isinstance(endpoint, Located) else record
        site, interface = row[f"{end}_site"], row[f"{end}_interface"]
        self.known(where, f"{end}.site", "sites", site, at="site")
        if self.known(where, f"{end}.interface", "interfaces", interface, at="interface") is None:
            return
        if self.interface_site(interface) != site:
            self.problem(
                where, f"{end}.interface", f"{interface} is not at site {site}", "interface"
            )
        link = self.backbone_ports.get(interface)
        if link is not None and row[f"{end}_vlan"] is not None:
            reason = f"{interface} ends backbone link {link}; use a customer port"
            self.problem(where, f"{end}.interface", reason, "interface")

    def check_path(self, record: Located, row: Row) -> None:
        ordered = record.get("path") or []
        links = [self.known(record, "path", "links", code) for code in ordered]
        if row["bandwidth_mbps"] is None or None in links or not links:
            return
        spans = []
        for link in links:
            assert link is not None
            spans.append((self.interface_site(link["a"]), self.interface_site(link["z"])))
        hops = [(a, z) for a, z in spans if a != z]  # links inside a site do not move the circuit
        self.walk(record, "path", row["a_site"], hops, row["z_site"])  # type: ignore[arg-type]

    def check_link_capacity(self) -> None:
        held: dict[str, int] = defaultdict(int)
        for row in self.desired.rows["circuits"].values():
            if row["bandwidth_mbps"] is not None:
                for code in row["path"]:
                    held[code] += row["bandwidth_mbps"]
        for code, total in sorted(held.items()):
            link = self.resolve.get("links", code)
            if link is not None and total > link["capacity_mbps"]:
                where = self.desired.where.get(("links", code))
                reason = f"circuits hold {total} Mb/s on link {code}, more than its capacity"
                location = where.where("capacity_mbps") if where else f"link {code}"
                self.problems.append(FieldProblem("capacity_mbps", reason, location))

    def check_vlans(self) -> None:
        held: dict[tuple[str, int], str] = {}
        for ref, row in self.desired.rows["circuits"].items():
            if row["status"] == CircuitStatus.TERMINATED:
                continue
            for end in ("a", "z"):
                interface, vlan = row[f"{end}_interface"], row[f"{end}_vlan"]
                if interface is None or vlan is None:
                    continue
                other = held.setdefault((interface, vlan), ref)
                if other != ref:
                    record = self.record("circuits", ref)
                    endpoint = record.get(end)
                    where = endpoint if isinstance(endpoint, Located) else record
                    self.problem(
                        where,
                        f"{end}.vlan",
                        f"VLAN {vlan} on {interface} is also held by {other}",
                        "vlan",
                    )


def check_references(desired: DesiredState, existing: ExistingState) -> list[FieldProblem]:
    checker = Checker(desired, existing)
    checker.run()
    checker.check_interfaces_used_once()
    if "circuits" in desired.kinds:
        checker.check_vlans()
    return checker.problems
