"""Inventory service functions: what the API and the command line call to read and change
organisations, sites, devices, interfaces, fibre cables, backbone links and circuits, and the
resources circuits hold (written in :mod:`gigalis_nms.inventory.holdings`, named here too).

Each function takes the caller's Session and leaves committing to it, so that one request or
one command is one transaction and a refusal leaves nothing written. Rules the database holds
(unique natural keys, a strand or a VLAN held once, a link's capacity) are left to it, because
only the database sees concurrent transactions; its refusals come back as :class:`Conflict`
errors that name the field. Rules spanning several fields or tables are checked here first,
so that bad input gets a clear :class:`InvalidInput` instead.

Every write runs inside a SAVEPOINT (:func:`gigalis_nms.db.integrity.write_or_conflict`):
when the database refuses it, the savepoint is rolled back and the transaction stays usable,
so the error can say *who* holds the VLAN or how much of the link is left, read after the
refusal.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

import sqlalchemy as sa
from pydantic import StringConstraints
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, col, select

from gigalis_nms.db.integrity import Violation, ViolationKind, write_or_conflict
from gigalis_nms.db.listing import (
    Filter,
    Listing,
    PageOfRows,
    column_of,
    either,
    exact,
    execute_core,
    fetch_page,
)
from gigalis_nms.db.metadata import metadata
from gigalis_nms.db.types import RowId, fits_row_id, table_of
from gigalis_nms.errors import Conflict, FieldProblem, InvalidInput, NotFound, with_article
from gigalis_nms.inventory.enums import (
    CIRCUIT_TRANSITIONS,
    CableOwnership,
    CircuitStatus,
    OrganisationKind,
)
from gigalis_nms.inventory.fibre import strand_rows
from gigalis_nms.inventory.holdings import (
    CircuitHolding,
    HoldingKind,
    HoldingRequest,
    describe_holding,
    hold,
    hold_bandwidth,
    hold_strand,
    hold_vlan,
    link_state,
    list_holdings,
    release_all_holdings,
    release_holding,
    release_vlan,
    resize_bandwidth,
)
from gigalis_nms.inventory.models import (
    BackboneLink,
    BackboneLinkCreate,
    BackboneLinkPublic,
    BackboneLinkUpdate,
    Circuit,
    CircuitCreate,
    CircuitPublic,
    CircuitUpdate,
    Device,
    DeviceCreate,
    DevicePublic,
    DeviceUpdate,
    FibreCable,
    FibreCableCreate,
    FibreCablePublic,
    FibreCableUpdate,
    FibreStrand,
    FibreStrandPublic,
    Interface,
    InterfaceCreate,
    InterfacePublic,
    InterfaceUpdate,
    Organisation,
    OrganisationCreate,
    OrganisationPublic,
    OrganisationUpdate,
    Site,
    SiteCreate,
    SitePublic,
    SiteUpdate,
    StrandHolding,
)
from gigalis_nms.inventory.rules import circuit_shape_problems

# The holdings live in a module of their own; they are named here too, so that every service
# function of the inventory can be reached from this module.
__all__ = [
    "CABLES",
    "CIRCUITS",
    "DEVICES",
    "INTERFACES",
    "LINKS",
    "ORGANISATIONS",
    "SITES",
    "SPECS",
    "STRANDS",
    "CircuitHolding",
    "EntitySpec",
    "HoldingKind",
    "HoldingRequest",
    "create_object",
    "delete_object",
    "describe_holding",
    "get_object",
    "hold",
    "hold_bandwidth",
    "hold_strand",
    "hold_vlan",
    "list_holdings",
    "list_objects",
    "list_strands",
    "release_all_holdings",
    "release_holding",
    "resize_bandwidth",
    "update_object",
]

logger = logging.getLogger(__name__)

Values = dict[str, Any]
CheckHook = Callable[[Session, Values, Any], None]  # (session, values after the change, current)
CreatedHook = Callable[[Session, Any], None]
UpdatedHook = Callable[[Session, Any, Values], None]  # (session, object, changed fields before)
Explainer = Callable[[Session, Values], FieldProblem]


def _accept(_session: Session, _values: Values, _current: Any) -> None:
    return None


def _nothing_created(_session: Session, _obj: Any) -> None:
    return None


def _nothing_updated(_session: Session, _obj: Any, _before: Values) -> None:
    return None


@dataclass(frozen=True, kw_only=True)
class EntitySpec(Listing):
    """One inventory entity, as data: its models, natural key and rules."""

    label: str  # how messages name one object: "site", "backbone link"
    create: type[SQLModel]
    update: type[SQLModel]
    natural_key: str  # the field people use to name an object (code, hostname, ref)
    check: CheckHook = _accept  # rules across fields and tables, before writing
    after_create: CreatedHook = _nothing_created
    after_update: UpdatedHook = _nothing_updated
    explain_check: Mapping[str, Explainer] = field(default_factory=dict)  # CHECK name → reason


# --- Generic reads and writes -------------------------------------------------------------


def list_objects(
    session: Session,
    listing: Listing,
    filters: Mapping[str, list[Any]],
    *,
    limit: int,
    offset: int,
    tenant: int | None = None,
) -> PageOfRows:
    """One page of objects matching typed ``filters``; ``tenant`` limits an operator to its own."""
    return fetch_page(session, listing, filters, limit=limit, offset=offset, tenant=tenant)


def get_object(
    session: Session, spec: EntitySpec, object_id: int, *, tenant: int | None = None
) -> Any:
    """The object, or NotFound, also when it belongs to another operator than ``tenant``."""
    obj = session.get(spec.table, object_id) if fits_row_id(object_id) else None
    hidden = (
        obj is not None
        and tenant is not None
        and spec.tenant_key is not None
        and getattr(obj, spec.tenant_key) != tenant
    )
    if obj is None or hidden:
        raise NotFound.of("id", f"no {spec.label} with id {object_id}")
    return obj


def create_object(session: Session, spec: EntitySpec, body: SQLModel) -> Any:
    """Create an object from its validated Create model, with everything it implies."""
    values = body.model_dump()
    _check_references(session, spec, values)
    spec.check(session, values, None)

    obj = spec.table(**values)
    write_or_conflict(
        session, lambda: session.add(obj), lambda v: _explain(session, spec, values, v)
    )
    spec.after_create(session, obj)
    logger.info("%s %s created", spec.label, values.get(spec.natural_key))
    return obj


def update_object(session: Session, spec: EntitySpec, object_id: int, body: SQLModel) -> Any:
    """Change only the fields the Update model was given (PATCH)."""
    obj = get_object(session, spec, object_id)
    current = {column.key: getattr(obj, column.key) for column in table_of(spec.table).c}
    sent = body.model_dump(exclude_unset=True)
    _refuse_nulls(spec, sent)
    changes = {name: value for name, value in sent.items() if current[name] != value}
    values = {**current, **changes}
    _check_references(session, spec, changes)
    spec.check(session, values, obj)

    before = {name: current[name] for name in changes}
    write_or_conflict(
        session, lambda: _assign(obj, changes), lambda v: _explain(session, spec, values, v)
    )
    spec.after_update(session, obj, before)
    if changes:
        logger.info("%s %s updated: %s", spec.label, current[spec.natural_key], sorted(changes))
    return obj


def delete_object(session: Session, spec: EntitySpec, object_id: int) -> None:
    """Delete an object; Conflict naming what still refers to it, if anything does."""
    obj = get_object(session, spec, object_id)
    name = getattr(obj, spec.natural_key)
    try:
        with session.begin_nested():
            session.delete(obj)
    except IntegrityError:
        referrers = _blocking_references(session, table_of(spec.table), [object_id])
        raise Conflict.of(
            "id", f"{spec.label} {name} is still referenced by {_count_phrase(referrers)}"
        ) from None
    logger.info("%s %s deleted", spec.label, name)


def _assign(obj: Any, changes: Values) -> None:
    for name, value in changes.items():
        setattr(obj, name, value)


TABLE_LABELS = {"api_token": "API token"}


def _label_of(table_name: str) -> str:
    """
    >>> _label_of("backbone_link"), _label_of("api_token")
    ('backbone link', 'API token')
    """
    return TABLE_LABELS.get(table_name) or table_name.replace("_", " ")


def _refuse_nulls(spec: EntitySpec, sent: Values) -> None:
    columns = table_of(spec.table).c
    for name, value in sent.items():
        if value is None and not columns[name].nullable:
            raise InvalidInput.of(name, "may not be null")


def _check_references(session: Session, spec: EntitySpec, values: Values) -> None:
    """Each id that points at another object must name one that exists."""
    for foreign_key in table_of(spec.table).foreign_keys:
        value = values.get(foreign_key.parent.name)
        if value is None:
            continue
        target = foreign_key.column
        # An id beyond the column's range names nothing; the database would fail on it.
        found = fits_row_id(value) and (
            execute_core(session, sa.select(target).where(target == value)).first() is not None
        )
        if not found:
            raise InvalidInput.of(
                foreign_key.parent.name, f"no {_label_of(target.table.name)} with id {value}"
            )


def _explain(
    session: Session, spec: EntitySpec, values: Values, violation: Violation
) -> FieldProblem:
    """The field and reason behind a refused write of one object."""
    explainer = spec.explain_check.get(violation.constraint or "")
    if violation.kind is ViolationKind.CHECK and explainer is not None:
        return explainer(session, values)
    if violation.kind is ViolationKind.UNIQUE and violation.columns:
        return _duplicate(spec, violation.columns, values)
    if violation.kind is ViolationKind.FOREIGN_KEY:
        return FieldProblem("id", "refers to an object that was deleted meanwhile")
    field_name = violation.columns[0] if violation.columns else spec.natural_key
    rule = violation.constraint or violation.kind
    return FieldProblem(field_name, f"refused by the database rule {rule}")


def _duplicate(spec: EntitySpec, columns: tuple[str, ...], values: Values) -> FieldProblem:
    *parents, field_name = columns
    value = values.get(field_name)
    if field_name != spec.natural_key:
        return FieldProblem(field_name, f"another {spec.label} already has {field_name} {value}")
    where = "".join(f" on {parent.removesuffix('_id')} {values.get(parent)}" for parent in parents)
    return FieldProblem(field_name, f"{spec.label} {value} already exists{where}")


def _blocking_references(session: Session, table: sa.Table, ids: Any) -> Counter[str]:
    """Rows that forbid deleting ``ids`` of ``table``, by table, following cascades down."""
    found: Counter[str] = Counter()
    for referring in metadata.tables.values():
        keys = [key for key in referring.foreign_keys if key.column.table is table]
        cascading = [key for key in keys if (key.ondelete or "").upper() == "CASCADE"]
        for key in cascading:
            # The children's own key: ``id`` mostly, the parent's id for one-to-one tables
            # (a device's last poll, a circuit's state).
            (child_key,) = referring.primary_key.columns
            children = sa.select(child_key).where(key.parent.in_(ids))
            found += _blocking_references(session, referring, children)
        blocking = [key.parent.in_(ids) for key in keys if key not in cascading]
        if blocking:
            counted = sa.select(sa.func.count()).select_from(referring).where(sa.or_(*blocking))
            found[referring.name] += execute_core(session, counted).scalar_one()
    return +found  # drops the tables that refer to nothing


def _count_phrase(counts: Mapping[str, int]) -> str:
    """
    >>> _count_phrase({"device": 2, "circuit": 1})
    '1 circuit, 2 devices'
    """
    if not counts:
        return "another object"
    return ", ".join(
        f"{count} {_label_of(name)}{'s' if count > 1 else ''}"
        for name, count in sorted(counts.items())
    )


# --- Rules of each entity -----------------------------------------------------------------


def _count(session: Session, statement: sa.Select[Any]) -> int:
    counted = statement.with_only_columns(sa.func.count(), maintain_column_froms=True)
    return int(execute_core(session, counted).scalar_one())


def _check_organisation(session: Session, values: Values, current: Any) -> None:
    leaves_operators = (
        current is not None
        and current.kind is OrganisationKind.OPERATOR
        and values["kind"] is not OrganisationKind.OPERATOR
    )
    if not leaves_operators:
        return
    circuits = _count(session, sa.select(Circuit).where(col(Circuit.operator_id) == current.id))
    if circuits:
        raise InvalidInput.of(
            "kind", f"{current.name} is the operator of {circuits} circuits; it stays an operator"
        )


def _circuits_on_device(session: Session, device_id: int) -> int:
    ports = sa.select(col(Interface.id)).where(col(Interface.device_id) == device_id)
    return _count(
        session,
        sa.select(Circuit).where(
            col(Circuit.status) != CircuitStatus.TERMINATED,
            sa.or_(col(Circuit.a_interface_id).in_(ports), col(Circuit.z_interface_id).in_(ports)),
        ),
    )


def _check_device(session: Session, values: Values, current: Any) -> None:
    _check_management_address(session, values["management_address"], current)
    if current is None or values["site_id"] == current.site_id:
        return
    circuits = _circuits_on_device(session, current.id)
    if circuits:
        raise InvalidInput.of(
            "site_id",
            f"{current.hostname} ends {circuits} circuits at its site; "
            "move or terminate them first",
        )


def _check_management_address(session: Session, address: str | None, current: Any) -> None:
    """One router per management address: provisioning and the poller reach a router by it,
    and a NetBox-built Nornir inventory would make two hosts of one router."""
    if address is None:
        return
    others = select(Device.hostname).where(col(Device.management_address) == address)
    if current is not None:
        others = others.where(col(Device.id) != current.id)
    holder = session.exec(others).first()
    if holder is not None:
        raise Conflict.of("management_address", f"{holder} already has {address}")


def _check_cable(_session: Session, values: Values, current: Any) -> None:
    if current is None and values["a_site_id"] == values["z_site_id"]:
        raise InvalidInput.of("z_site_id", "a cable joins two different sites")
    is_iru = values["ownership"] is CableOwnership.IRU
    if is_iru and values["iru_end_date"] is None:
        raise InvalidInput.of("iru_end_date", "required when the ownership is iru")
    if not is_iru and values["iru_end_date"] is not None:
        raise InvalidInput.of(
            "iru_end_date", f"only an IRU has an end date; this cable is {values['ownership']}"
        )


def _create_strands(session: Session, cable: Any) -> None:
    rows = strand_rows(cable.id, cable.fibre_count)
    session.connection().execute(sa.insert(table_of(FibreStrand)), rows)


def _check_link(session: Session, values: Values, current: Any) -> None:
    if current is not None:
        return  # the ends of a link do not change
    if values["a_interface_id"] == values["z_interface_id"]:
        raise InvalidInput.of("z_interface_id", "a link joins two different interfaces")
    for end in ("a_interface_id", "z_interface_id"):
        port = values[end]
        # The unique constraints cover each column alone; an interface used as the A end of
        # one link and the Z end of another is caught only here. Two concurrent creations on
        # PostgreSQL can both pass this check; the cost is a port carrying two links.
        other = session.exec(
            select(BackboneLink.code).where(
                sa.or_(
                    col(BackboneLink.a_interface_id) == port,
                    col(BackboneLink.z_interface_id) == port,
                )
            )
        ).first()
        if other is not None:
            raise Conflict.of(end, f"interface {port} already carries backbone link {other}")


def _explain_capacity_cut(session: Session, values: Values) -> FieldProblem:
    state = link_state(session, values["id"])
    return FieldProblem(
        "capacity_mbps",
        f"link {state.code} holds {state.held_mbps} Mb/s for circuits; "
        "its capacity cannot go below that",
    )


def _check_operator(session: Session, operator_id: int) -> None:
    organisation = session.get(Organisation, operator_id)
    if organisation is not None and organisation.kind is not OrganisationKind.OPERATOR:
        raise InvalidInput.of(
            "operator_id", f"{organisation.name} is a {organisation.kind}, not an operator"
        )


def _check_transition(old: CircuitStatus, new: CircuitStatus) -> None:
    if new == old or new in CIRCUIT_TRANSITIONS[old]:
        return
    allowed = ", ".join(sorted(CIRCUIT_TRANSITIONS[old])) or "nothing else (terminated is final)"
    raise InvalidInput.of(
        "status", f"{with_article(old)} circuit cannot become {new}; it can become {allowed}"
    )


def _check_still_open(circuit: Circuit, values: Values) -> None:
    if circuit.status is not CircuitStatus.TERMINATED:
        return
    for name, value in values.items():
        if name not in {"description", "updated_at"} and getattr(circuit, name) != value:
            raise InvalidInput.of(
                name, f"circuit {circuit.ref} is terminated; only its description can change"
            )


def _site_code(session: Session, site_id: int) -> str:
    return session.exec(select(Site.code).where(col(Site.id) == site_id)).one()


def _check_end(session: Session, values: Values, end: str) -> None:
    """A circuit end's port must be on a device at that end's site; its VLAN needs a port."""
    port_id, vlan, site_id = (
        values[f"{end}_{name}"] for name in ("interface_id", "vlan", "site_id")
    )
    if vlan is not None and port_id is None:
        raise InvalidInput.of(f"{end}_vlan", f"a VLAN needs {end}_interface_id")
    if port_id is None:
        return
    if site_id is None:
        raise InvalidInput.of(f"{end}_interface_id", f"an interface needs {end}_site_id")
    name, hostname, port_site_id = session.exec(
        select(Interface.name, Device.hostname, Device.site_id)
        .join(Device, col(Interface.device_id) == col(Device.id))
        .where(col(Interface.id) == port_id)
    ).one()
    if port_site_id != site_id:
        raise InvalidInput.of(
            f"{end}_interface_id",
            f"{hostname} {name} is at site {_site_code(session, port_site_id)}, "
            f"not at the {end} site {_site_code(session, site_id)}",
        )


def _holds_strands(session: Session, circuit: Any) -> bool:
    held = sa.select(StrandHolding).where(col(StrandHolding.circuit_id) == circuit.id)
    return _count(session, held) > 0


def _check_shape(session: Session, values: Values, current: Any) -> None:
    """The combination of service, ends and bandwidth, by the rule the loader applies too."""
    z_end = ("z_site_id", "z_interface_id", "z_vlan")
    problems = circuit_shape_problems(
        ref=values["ref"],
        service_type=values["service_type"],
        bandwidth_mbps=values["bandwidth_mbps"],
        has_z_end=any(values[name] is not None for name in z_end),
        holds_strands=current is not None and _holds_strands(session, current),
    )
    if problems:
        raise InvalidInput("; ".join(map(str, problems)), problems)


def _check_circuit(session: Session, values: Values, current: Any) -> None:
    if current is None:
        _check_operator(session, values["operator_id"])
        if values["status"] is CircuitStatus.TERMINATED:
            raise InvalidInput.of("status", "a new circuit cannot be terminated already")
    else:
        _check_still_open(current, values)
        _check_transition(current.status, values["status"])
    _check_shape(session, values, current)
    for end in ("a", "z"):
        _check_end(session, values, end)


def _hold_end_vlans(session: Session, circuit: Any, ends: Iterable[str] = ("a", "z")) -> None:
    for end in ends:
        port_id, vlan = getattr(circuit, f"{end}_interface_id"), getattr(circuit, f"{end}_vlan")
        if port_id is not None and vlan is not None:
            hold_vlan(session, circuit, port_id, vlan, field=f"{end}_vlan")


def _follow_circuit_changes(session: Session, circuit: Any, before: Values) -> None:
    """Make what a circuit holds follow its changes: terminating releases everything, a new
    port or VLAN at an end moves that end's VLAN holding, a new bandwidth changes every
    bandwidth holding (the database refuses more than a link has free)."""
    if "status" in before and circuit.status is CircuitStatus.TERMINATED:
        release_all_holdings(session, circuit)
        return
    for end in ("a", "z"):
        keys = (f"{end}_interface_id", f"{end}_vlan")
        if not any(key in before for key in keys):
            continue
        old_port, old_vlan = (before.get(key, getattr(circuit, key)) for key in keys)
        release_vlan(session, circuit, old_port, old_vlan)
        _hold_end_vlans(session, circuit, [end])
    if "bandwidth_mbps" in before:
        resize_bandwidth(session, circuit)


# --- Strands of a cable -------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class StrandListing(Listing):
    """A cable's strands, each with the circuit or link that holds it, in one query."""

    def statement(self) -> sa.Select[Any]:
        strand, holding = table_of(FibreStrand), table_of(StrandHolding)
        return sa.select(
            strand,
            holding.c.circuit_id.label("held_by_circuit_id"),
            holding.c.backbone_link_id.label("held_by_link_id"),
        ).select_from(strand.outerjoin(holding, holding.c.strand_id == strand.c.id))


def _held(values: list[bool]) -> sa.ColumnElement[bool]:
    holding = table_of(StrandHolding).c.id
    return sa.or_(*(holding.is_not(None) if held else holding.is_(None) for held in values))


STRANDS = StrandListing(
    table=FibreStrand,
    public=FibreStrandPublic,
    filters={
        "state": exact(FibreStrand, "state"),
        "tube": exact(FibreStrand, "tube"),
        "held": Filter(bool, _held, "true: strands something holds; false: free strands"),
    },
)


def list_strands(
    session: Session,
    cable_id: int,
    filters: Mapping[str, list[Any]],
    *,
    limit: int,
    offset: int,
) -> PageOfRows:
    """One page of a cable's strands with what holds each."""
    get_object(session, CABLES, cable_id)
    on_cable = column_of(FibreStrand, "cable_id") == cable_id
    return fetch_page(session, STRANDS, filters, limit=limit, offset=offset, extra=[on_cable])


# --- The entities -------------------------------------------------------------------------

Departement = Annotated[str, StringConstraints(pattern=r"^(\d{2,3}|2[AB])$")]


def _in_departements(values: list[str]) -> sa.ColumnElement[bool]:
    insee = column_of(Site, "insee_code")
    return sa.or_(*(insee.startswith(value) for value in values))


def _on_devices(values: list[int]) -> sa.ColumnElement[bool]:
    ports = sa.select(col(Interface.id)).where(col(Interface.device_id).in_(values))
    return sa.or_(
        col(BackboneLink.a_interface_id).in_(ports), col(BackboneLink.z_interface_id).in_(ports)
    )


ORGANISATIONS = EntitySpec(
    label="organisation",
    table=Organisation,
    public=OrganisationPublic,
    create=OrganisationCreate,
    update=OrganisationUpdate,
    natural_key="name",
    filters={name: exact(Organisation, name) for name in ("name", "kind", "siren", "arcep_code")},
    tenant_key="id",
    check=_check_organisation,
)
SITES = EntitySpec(
    label="site",
    table=Site,
    public=SitePublic,
    create=SiteCreate,
    update=SiteUpdate,
    natural_key="code",
    filters={
        **{name: exact(Site, name) for name in ("code", "kind", "status", "insee_code")},
        "departement": Filter(Departement, _in_departements, "département: 44, 49, 53, 72, 85…"),
    },
)
DEVICES = EntitySpec(
    label="device",
    table=Device,
    public=DevicePublic,
    create=DeviceCreate,
    update=DeviceUpdate,
    natural_key="hostname",
    filters={
        name: exact(Device, name) for name in ("site_id", "role", "platform", "status", "hostname")
    },
    check=_check_device,
)
INTERFACES = EntitySpec(
    label="interface",
    table=Interface,
    public=InterfacePublic,
    create=InterfaceCreate,
    update=InterfaceUpdate,
    natural_key="name",
    filters={name: exact(Interface, name) for name in ("device_id", "name", "enabled", "type")},
)
CABLES = EntitySpec(
    label="fibre cable",
    table=FibreCable,
    public=FibreCablePublic,
    create=FibreCableCreate,
    update=FibreCableUpdate,
    natural_key="code",
    filters={
        **{
            name: exact(FibreCable, name)
            for name in ("code", "a_site_id", "z_site_id", "owner_id", "ownership", "status")
        },
        "site_id": either(FibreCable, "a_site_id", "z_site_id", "cables with an end at the site"),
    },
    check=_check_cable,
    after_create=_create_strands,
)
LINKS = EntitySpec(
    label="backbone link",
    table=BackboneLink,
    public=BackboneLinkPublic,
    create=BackboneLinkCreate,
    update=BackboneLinkUpdate,
    natural_key="code",
    filters={
        "code": exact(BackboneLink, "code"),
        "status": exact(BackboneLink, "status"),
        "device_id": Filter(RowId, _on_devices, "links with an end on the device"),
    },
    check=_check_link,
    explain_check={"ck_backbone_link_capacity": _explain_capacity_cut},
)
CIRCUITS = EntitySpec(
    label="circuit",
    table=Circuit,
    public=CircuitPublic,
    create=CircuitCreate,
    update=CircuitUpdate,
    natural_key="ref",
    filters={
        **{
            name: exact(Circuit, name)
            for name in ("ref", "operator_id", "status", "service_type", "protected")
        },
        "site_id": either(Circuit, "a_site_id", "z_site_id", "circuits with an end at the site"),
    },
    tenant_key="operator_id",
    check=_check_circuit,
    after_create=_hold_end_vlans,
    after_update=_follow_circuit_changes,
)

SPECS: dict[str, EntitySpec] = {
    spec.label: spec
    for spec in (ORGANISATIONS, SITES, DEVICES, INTERFACES, CABLES, LINKS, CIRCUITS)
}
