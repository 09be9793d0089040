"""From YAML records to the desired state of the inventory.

Each record is checked with the same models the API uses (``SiteCreate``…), so a value the
API refuses is refused here too, with the file and line added. References stay natural keys
(a site's code, ``hostname:interface``) until the diff resolves them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlmodel import SQLModel

from gigalis_nms.errors import FieldProblem, InvalidInput
from gigalis_nms.inventory.enums import CircuitStatus
from gigalis_nms.inventory.loader.source import Located, read_yaml, yaml_files
from gigalis_nms.inventory.models import (
    BackboneLinkCreate,
    CircuitCreate,
    DeviceCreate,
    FibreCableCreate,
    InterfaceCreate,
    OrganisationCreate,
    SiteCreate,
)

Row = dict[str, Any]
# The order in which kinds are created; deletion runs the other way.
KINDS = ("organisations", "sites", "devices", "interfaces", "cables", "links", "circuits")
FILE_KINDS = ("organisations", "sites", "devices", "cables", "links", "circuits")
KEY_FIELDS = {
    "organisations": "name",
    "sites": "code",
    "devices": "hostname",
    "interfaces": "name",
    "cables": "code",
    "links": "code",
    "circuits": "ref",
}


@dataclass
class DesiredState:
    """What the files say the inventory should be, keyed by natural key."""

    rows: dict[str, dict[Any, Row]] = field(default_factory=lambda: {k: {} for k in KINDS})
    where: dict[tuple[str, Any], Located] = field(default_factory=dict)
    kinds: set[str] = field(default_factory=set)  # kinds the files describe
    problems: list[FieldProblem] = field(default_factory=list)

    def add(self, kind: str, key: Any, row: Row, record: Located) -> None:
        if key in self.rows[kind]:
            first = self.where[(kind, key)]
            reason = f"{kind[:-1]} {key} is also defined at {first.where()}"
            self.problem(record, KEY_FIELDS[kind], reason)
            return
        self.rows[kind][key] = row
        self.where[(kind, key)] = record

    def problem(
        self, record: Located, key: str | None, reason: str, field: str | None = None
    ) -> None:
        """Note a problem at ``key``'s line; ``field`` names it when the key alone is vague."""
        self.problems.append(FieldProblem(field or key or "-", reason, record.where(key)))


def interface_key(hostname: str, name: str) -> str:
    """Interfaces are named ``hostname:interface`` wherever the files refer to one."""
    return f"{hostname}:{name}"


# --- checking one record against its API model -------------------------------------------

# Fields a record names by natural key instead of by id, with the placeholder id used while
# the rest of the record is checked by the API model.
REFERENCES: dict[str, dict[str, str]] = {
    "devices": {"site": "site_id"},
    "cables": {"a_site": "a_site_id", "z_site": "z_site_id", "owner": "owner_id"},
    "links": {"a": "a_interface_id", "z": "z_interface_id"},
    "circuits": {"operator": "operator_id"},
}
EXTRA_FIELDS = {
    "devices": {"interfaces"},
    "cables": {"faulty_strands"},
    "links": {"route"},
    "circuits": {"a", "z", "path", "strands"},
}
MODELS: dict[str, type[SQLModel]] = {
    "organisations": OrganisationCreate,
    "sites": SiteCreate,
    "devices": DeviceCreate,
    "interfaces": InterfaceCreate,
    "cables": FibreCableCreate,
    "links": BackboneLinkCreate,
    "circuits": CircuitCreate,
}
PLACEHOLDER_ID = 0


def check_record(state: DesiredState, kind: str, record: Any, parent: Located) -> Row | None:
    """The record's values as the API model normalises them, or None after noting problems."""
    if not isinstance(record, Located):
        state.problem(parent, None, f"each entry of {kind} must be a mapping of fields")
        return None
    model = MODELS[kind]
    references = REFERENCES.get(kind, {})
    id_fields = set(references.values())
    allowed = (
        (set(model.model_fields) - id_fields) | set(references) | EXTRA_FIELDS.get(kind, set())
    )
    if kind == "circuits":
        allowed -= {
            "a_site_id",
            "a_interface_id",
            "a_vlan",
            "z_site_id",
            "z_interface_id",
            "z_vlan",
        }
    if kind == "interfaces":
        allowed -= {"device_id"}
    unknown = sorted(set(record) - allowed)
    for name in unknown:
        state.problem(record, name, f"unknown field (allowed: {', '.join(sorted(allowed))})")
    values = {name: record[name] for name in record if name in model.model_fields}
    values.update(dict.fromkeys(id_fields, PLACEHOLDER_ID))
    if kind == "circuits":
        values["a_site_id"] = PLACEHOLDER_ID
    if kind == "interfaces":
        values["device_id"] = PLACEHOLDER_ID
    try:
        checked = model.model_validate(values)
    except ValidationError as error:
        for item in error.errors():
            _note_validation_error(state, record, item)
        return None
    if unknown:
        return None
    # Ids are the database's business; the files refer to objects by natural key.
    row = {name: value for name, value in checked.model_dump().items() if not name.endswith("_id")}
    for name in references:
        row[name] = _reference(state, record, name, required=True)
    return row


def _note_validation_error(state: DesiredState, record: Located, item: Any) -> None:
    location = [part for part in item["loc"] if part not in ("function-after",)]
    name = str(location[0]) if location else "-"
    target: Any = record
    line_record = record
    for part in location[:-1]:
        try:
            target = target[part]
        except (KeyError, IndexError, TypeError):
            break
        if isinstance(target, Located):
            line_record = target
    field_path = ".".join(str(part) for part in location) or name
    reason = str(item["msg"]).removeprefix("Value error, ")
    leaf = str(location[-1]) if location else None
    key = leaf if leaf in line_record else None
    state.problems.append(FieldProblem(field_path, reason, line_record.where(key)))


def _reference(
    state: DesiredState, record: Located, name: str, *, required: bool, prefix: str = ""
) -> str | None:
    value = record.get(name)
    if value is None:
        if required:
            state.problem(record, name, "required", prefix + name)
        return None
    if not isinstance(value, str | int) or isinstance(value, bool):
        reason = "must be the natural key of another object, as text"
        state.problem(record, name, reason, prefix + name)
        return None
    return str(value)


# --- one reader per kind ------------------------------------------------------------------


def _read_plain(
    state: DesiredState, kind: str, key_field: str, record: Any, parent: Located
) -> None:
    row = check_record(state, kind, record, parent)
    if row is not None:
        state.add(kind, row[key_field], row, record)


def _read_device(state: DesiredState, record: Any, parent: Located) -> None:
    row = check_record(state, "devices", record, parent)
    if row is None:
        return
    state.add("devices", row["hostname"], row, record)
    interfaces = record.get("interfaces", [])
    if not isinstance(interfaces, list):
        state.problem(record, "interfaces", "must be a list")
        return
    for entry in interfaces:
        interface = check_record(state, "interfaces", entry, record)
        if interface is not None:
            interface["device"] = row["hostname"]
            key = interface_key(row["hostname"], interface["name"])
            state.add("interfaces", key, interface, entry)


def _int_list(state: DesiredState, record: Located, name: str, value: Any) -> tuple[int, ...]:
    if not isinstance(value, list) or not all(
        isinstance(item, int) and not isinstance(item, bool) and item > 0 for item in value
    ):
        state.problem(record, name, "must be a list of strand numbers (positive integers)")
        return ()
    if len(set(value)) != len(value):
        state.problem(record, name, "a strand number is repeated")
    return tuple(value)


def _strand_route(state: DesiredState, record: Located, name: str) -> tuple[Any, ...]:
    """``[{cable: C, strands: [1, 2]}, …]`` as ``((C, (1, 2)), …)``."""
    value = record.get(name, [])
    if not isinstance(value, list):
        state.problem(record, name, "must be a list of {cable, strands}")
        return ()
    route = []
    for step in value:
        if not isinstance(step, Located) or set(step) != {"cable", "strands"}:
            where = step if isinstance(step, Located) else record
            state.problem(where, name, "each step is {cable: CODE, strands: [n, …]}")
            continue
        route.append((str(step["cable"]), _int_list(state, step, "strands", step["strands"])))
    return tuple(route)


def _read_cable(state: DesiredState, record: Any, parent: Located) -> None:
    row = check_record(state, "cables", record, parent)
    if row is None:
        return
    faulty = _int_list(state, record, "faulty_strands", record.get("faulty_strands", []))
    row["faulty_strands"] = tuple(sorted(faulty))
    state.add("cables", row["code"], row, record)


def _read_link(state: DesiredState, record: Any, parent: Located) -> None:
    row = check_record(state, "links", record, parent)
    if row is None:
        return
    row["route"] = _strand_route(state, record, "route")
    state.add("links", row["code"], row, record)


def _read_endpoint(state: DesiredState, record: Located, end: str, row: Row) -> None:
    value = record.get(end)
    for name in ("site", "interface", "vlan"):
        row[f"{end}_{name}"] = None
    if value is None:
        if end == "a":
            state.problem(record, end, "required: {site: CODE, interface: host:name, vlan: n}")
        return
    if not isinstance(value, Located):
        state.problem(record, end, "must be {site: CODE, interface: host:name, vlan: n}")
        return
    unknown = set(value) - {"site", "interface", "vlan"}
    if unknown:
        name = sorted(unknown)[0]
        state.problem(
            value, name, "unknown field (allowed: site, interface, vlan)", f"{end}.{name}"
        )
    row[f"{end}_site"] = _reference(state, value, "site", required=True, prefix=f"{end}.")
    row[f"{end}_interface"] = _reference(
        state, value, "interface", required=False, prefix=f"{end}."
    )
    vlan = value.get("vlan")
    if vlan is not None and (
        not isinstance(vlan, int) or isinstance(vlan, bool) or not 1 <= vlan <= 4094
    ):
        state.problem(value, "vlan", "a VLAN id is an integer between 1 and 4094", f"{end}.vlan")
    elif vlan is not None and row[f"{end}_interface"] is None:
        state.problem(value, "vlan", "a VLAN needs the interface it is on", f"{end}.vlan")
    else:
        row[f"{end}_vlan"] = vlan


def _read_circuit(state: DesiredState, record: Any, parent: Located) -> None:
    row = check_record(state, "circuits", record, parent)
    if row is None:
        return
    _read_endpoint(state, record, "a", row)
    _read_endpoint(state, record, "z", row)
    path = record.get("path", [])
    if not isinstance(path, list) or not all(isinstance(code, str) for code in path):
        state.problem(record, "path", "must be a list of backbone link codes")
        path = []
    row["path"] = tuple(sorted(path))  # the order is checked on the record, not compared
    row["strands"] = _strand_route(state, record, "strands")
    row["held_vlans"] = held_vlans(row)
    state.add("circuits", row["ref"], row, record)


def held_vlans(row: Row) -> tuple[tuple[str, int], ...]:
    """The VLANs a circuit's ends hold, compared with the database's vlan holdings so that a
    holding released or taken behind the files' back shows in the diff."""
    if row["status"] == CircuitStatus.TERMINATED:
        return ()
    return tuple(
        sorted(
            (row[f"{end}_interface"], row[f"{end}_vlan"])
            for end in ("a", "z")
            if row[f"{end}_interface"] is not None and row[f"{end}_vlan"] is not None
        )
    )


READERS: dict[str, Callable[[DesiredState, Any, Located], None]] = {
    "organisations": lambda state, record, parent: _read_plain(
        state, "organisations", "name", record, parent
    ),
    "sites": lambda state, record, parent: _read_plain(state, "sites", "code", record, parent),
    "devices": _read_device,
    "cables": _read_cable,
    "links": _read_link,
    "circuits": _read_circuit,
}


def read_inventory(path: Path, relative_to: Path | None = None) -> DesiredState:
    """Read every YAML file under ``path``; raise InvalidInput listing every problem."""
    state = DesiredState()
    for file in yaml_files(path):
        label = str(file.relative_to(relative_to)) if relative_to else str(file)
        _read_file(state, read_yaml(file, label), label)
    if state.problems:
        raise_problems(state.problems)
    return state


def _read_file(state: DesiredState, document: Any, label: str) -> None:
    if document is None:
        return
    if not isinstance(document, Located):
        raise InvalidInput.of(
            "-", f"the top level must map kinds ({', '.join(FILE_KINDS)}) to lists", label
        )
    for kind, records in document.items():
        if kind not in READERS:
            state.problem(document, kind, f"unknown kind (expected one of {', '.join(FILE_KINDS)})")
            continue
        if not isinstance(records, list):
            state.problem(document, kind, "must be a list")
            continue
        state.kinds.add(kind)
        if kind == "devices":
            state.kinds.add("interfaces")
        for record in records:
            READERS[kind](state, record, document)


def raise_problems(problems: Iterable[FieldProblem]) -> None:
    problems = list(dict.fromkeys(problems))  # one mistake can be found twice; say it once
    count = len(problems)
    summary = str(problems[0]) if count == 1 else f"{count} problems; the first: {problems[0]}"
    raise InvalidInput(summary, problems)
