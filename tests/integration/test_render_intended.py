"""Intended configurations from the real inventory (inventory/ loaded into each database):
every template renders for every router, which circuits a router carries, the lab's routers
as the lab built them, and `gigalis provision base`."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select
from typer.testing import CliRunner

from gigalis_nms.cli import app
from gigalis_nms.db import session_scope
from gigalis_nms.devices.frr.document import parse_document
from gigalis_nms.devices.frr.kernel import parse_kernel_section
from gigalis_nms.errors import InvalidInput, NotFound
from gigalis_nms.inventory.enums import CircuitStatus, ServiceType
from gigalis_nms.inventory.loader import load_inventory
from gigalis_nms.inventory.models import Circuit
from gigalis_nms.lab.network import read_network
from gigalis_nms.lab.plan import plan_lab
from gigalis_nms.provisioning.base import BaseConfigs, lab_base_configs, production_base_configs
from gigalis_nms.provisioning.context import CustomerSide, ElineEnd, circuit_eline, eline_ends
from gigalis_nms.provisioning.models import FIRST_VNI, CircuitDesign, PathMetric
from gigalis_nms.provisioning.render import intended_configs, render_base, render_service
from gigalis_nms.settings import get_settings
from tests.conftest import ROOT

runner = CliRunner()


@pytest.fixture
def network(engine: Engine) -> Engine:
    load_inventory(engine, ROOT / "inventory", actor="test:render")
    return engine


def design(engine: Engine, *refs: str) -> dict[str, int]:
    """A design for each circuit named (every E-Line when none), VNIs in reference order;
    circuit ids by reference."""
    with session_scope(engine, actor="test:render") as session:
        query = select(Circuit).where(Circuit.service_type == ServiceType.ETHERNET_ELINE)
        circuits = sorted(session.exec(query), key=lambda circuit: circuit.ref)
        ids = {}
        for number, circuit in enumerate(circuits):
            assert circuit.id is not None
            ids[circuit.ref] = circuit.id
            if not refs or circuit.ref in refs:
                session.add(
                    CircuitDesign(
                        circuit_id=circuit.id,
                        vni=FIRST_VNI + 1 + number,
                        metric=PathMetric.IGP,
                        designed_by="test:render",
                    )
                )
    return ids


def set_status(engine: Engine, ref: str, status: CircuitStatus) -> None:
    with session_scope(engine, actor="test:render") as session:
        circuit = session.exec(select(Circuit).where(Circuit.ref == ref)).one()
        circuit.status = status


def intended(
    engine: Engine,
    hostnames: list[str] | None = None,
    *,
    include: Collection[int] = (),
    exclude: Collection[int] = (),
) -> dict[str, str]:
    with session_scope(engine, read_only=True) as session:
        base = production_base_configs(session)
        return intended_configs(session, hostnames, base=base, include=include, exclude=exclude)


def kernel_links(
    engine: Engine, hostname: str, *, include: Collection[int] = (), exclude: Collection[int] = ()
) -> set[str]:
    """The names of the links in a router's intended kernel section."""
    config = intended(engine, [hostname], include=include, exclude=exclude)[hostname]
    kernel = parse_document(config).kernel
    assert kernel is not None
    return set(parse_kernel_section(kernel.text))


def production(engine: Engine) -> BaseConfigs:
    with session_scope(engine, read_only=True) as session:
        return production_base_configs(session)


def test_every_template_renders_for_every_router_of_the_inventory(network: Engine) -> None:
    """Base, port-based and VLAN-based E-Line on each router's first customer port, and the
    whole intended configuration with every E-Line of the inventory designed."""
    base = production(network)
    assert len(base.routers) == 45
    assert {router.platform for router in base.routers.values()} == {
        "frr", "junos", "eos", "iosxr",
    }  # fmt: skip
    for router in base.routers.values():
        assert router.hostname in render_base(router.platform, router.config)
        port = next(i.name for i in router.config.interfaces if not i.backbone)
        for vlan in (None, 3000):
            end = ElineEnd(
                router.hostname, "GIG-ETH-009999", "Opérateur Alpha", FIRST_VNI,
                (CustomerSide("a", port, vlan),), base.loopbacks[router.hostname],
                ("192.0.2.99",), 100, None,
            )  # fmt: skip
            assert "GIG-ETH-009999 Operateur Alpha" in render_service(router.platform, end)

    design(network)
    configs = intended(network)
    assert sorted(configs) == sorted(base.routers)
    assert "GIG-ETH-000002" in configs["nte2-cr1"]  # Junos end
    assert "vxlan vlan 102 vni 10002" in configs["lmn1-cr1"]  # EOS end
    assert "bridge-domain GIG-ETH-000001" in configs["ang1-cr1"]  # IOS XR end
    nte1 = parse_document(configs["nte1-cr1"])
    assert nte1.kernel is not None
    assert "link eth10.1101 type vlan link eth10 id 1101 master br10001 mtu 1500" in (
        nte1.kernel.text
    )


def test_only_designed_circuits_being_provisioned_or_active_are_rendered(network: Engine) -> None:
    # The inventory's circuits have no design: configured by hand, not Gigalis's to render.
    assert kernel_links(network, "nte1-cr1") == set()

    ids = design(network, "GIG-ETH-000001", "GIG-ETH-000004")
    set_status(network, "GIG-ETH-000004", CircuitStatus.DESIGNED)
    assert kernel_links(network, "nte1-cr1") == {"br10001", "eth10.1101", "vx10001"}
    provisioning = kernel_links(network, "nte1-cr1", include=[ids["GIG-ETH-000004"]])
    assert provisioning == {"br10001", "eth10.1101", "vx10001", "br10004", "eth11.1201", "vx10004"}
    assert kernel_links(network, "nte1-cr1", exclude=[ids["GIG-ETH-000001"]]) == set()
    set_status(network, "GIG-ETH-000001", CircuitStatus.SUSPENDED)
    assert kernel_links(network, "nte1-cr1") == set()


def test_transit_routers_get_nothing(network: Engine) -> None:
    design(network, "GIG-ETH-000001")  # nte1-cr1 to ang1-cr1 through NTE2
    with_circuit = intended(network, ["nte2-cr1", "nte2-cr2", "ang1-cr1"])
    base = production(network)
    for transit in ("nte2-cr1", "nte2-cr2"):
        router = base.router(transit)
        assert with_circuit[transit] == render_base(router.platform, router.config)
    assert "GIG-ETH-000001" in with_circuit["ang1-cr1"]


def test_circuits_asked_for_must_be_renderable(network: Engine) -> None:
    ids = design(network, "GIG-ETH-000001")
    with session_scope(network, read_only=True) as session:
        circuits = {c.ref: c for c in session.exec(select(Circuit))}
    wavelength = next(c for c in circuits.values() if c.service_type == ServiceType.WAVELENGTH)
    undesigned = circuits["GIG-ETH-000002"]
    with pytest.raises(NotFound, match="circuit: no circuit with id 999999"):
        intended(network, ["nte1-cr1"], include=[999999])
    with pytest.raises(InvalidInput, match="GIG-ETH-000002 has no design yet"):
        intended(network, ["nte1-cr1"], include=[undesigned.id])
    with pytest.raises(InvalidInput, match="no template for wavelength"):
        intended(network, ["nte1-cr1"], include=[wavelength.id])
    # Excluded, a circuit is not looked for.
    intended(network, ["nte1-cr1"], include=[ids["GIG-ETH-000001"]], exclude=[undesigned.id])


def test_a_circuit_read_as_the_templates_need_it(network: Engine) -> None:
    ids = design(network, "GIG-ETH-000001")
    base = production(network)
    with session_scope(network, read_only=True) as session:
        eline = circuit_eline(session, ids["GIG-ETH-000001"])
        with pytest.raises(InvalidInput, match="GIG-ETH-000002 has no design yet"):
            circuit_eline(session, ids["GIG-ETH-000002"])
    assert (eline.operator, eline.vni, eline.bandwidth_mbps) == (
        "Orange Wholesale France", 10001, 10000,
    )  # fmt: skip
    a, z = eline_ends(eline, base.loopbacks)
    assert (a.hostname, a.sides, a.remote_loopbacks) == (
        "nte1-cr1", (CustomerSide("a", "eth10", 1101),), (base.loopbacks["ang1-cr1"],),
    )  # fmt: skip
    assert (z.hostname, z.sides, z.loopback) == (
        "ang1-cr1", (CustomerSide("z", "TenGigE0/0/2/0", 1101),), base.loopbacks["ang1-cr1"],
    )  # fmt: skip


def test_unknown_routers_are_all_named(network: Engine) -> None:
    with pytest.raises(NotFound) as refused:
        intended(network, ["nte1-cr1", "xxx1-cr1", "yyy1-cr1"])
    assert [(p.field, p.reason) for p in refused.value.problems] == [
        ("device", "no router 'xxx1-cr1' in the inventory"),
        ("device", "no router 'yyy1-cr1' in the inventory"),
    ]


def test_a_fresh_lab_runs_exactly_its_intended_configuration(
    network: Engine, tmp_path: Path
) -> None:
    """What `lab up` writes to frr.conf (lab/frr.py) is the FRR section of each lab router's
    intended document, and its kernel section is empty: a fresh lab shows no drift."""
    plan = plan_lab(read_network(network), None, tmp_path)
    with session_scope(network, read_only=True) as session:
        base = lab_base_configs(session, plan.state)
        configs = intended_configs(session, base=base)
    assert sorted(configs) == sorted(router.lab.hostname for router in plan.routers)
    for router in plan.routers:
        document = parse_document(configs[router.lab.hostname])
        assert document.kernel is not None
        assert document.kernel.text == ""
        assert document.frr is not None
        assert document.frr.text == render_base("frr", router.config)


def test_lab_routers_carry_circuits_under_linux_names(network: Engine, tmp_path: Path) -> None:
    """Stand-ins for other platforms run FRR in the lab, their ports renamed."""
    design(network, "GIG-ETH-000007")  # nte2-cr1 ge-1/0/0 (Junos) to lry1-cr1 eth12
    plan = plan_lab(read_network(network), ["NTE2", "LRY1"], tmp_path)
    with session_scope(network, read_only=True) as session:
        configs = intended_configs(session, base=lab_base_configs(session, plan.state))
    nte2 = parse_document(configs["nte2-cr1"])
    assert nte2.kernel is not None
    assert "link ge-1-0-0.1301 type vlan link ge-1-0-0 id 1301" in nte2.kernel.text
    assert configs["lry1-cr1"].startswith("! section: kernel\n")


# --- gigalis provision base ----------------------------------------------------------------


@pytest.fixture
def configured(
    monkeypatch: pytest.MonkeyPatch, network: Engine, database_url: str, tmp_path: Path
) -> Iterator[Engine]:
    monkeypatch.setenv("GIGALIS_DATABASE_URL", database_url)
    monkeypatch.setenv("GIGALIS_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("GIGALIS_TEMPLATES_DIR", raising=False)
    get_settings.cache_clear()
    yield network
    get_settings.cache_clear()


def test_provision_base_prints_every_router_with_a_header(configured: Engine) -> None:
    result = runner.invoke(app, ["provision", "base"])
    assert result.exit_code == 0, result.output
    headers = [line for line in result.output.splitlines() if line.startswith("==> ")]
    assert len(headers) == 45
    assert "==> nte2-cr1 (junos) <==" in headers
    base = production(configured)
    nte1 = base.router("nte1-cr1")
    assert f"==> nte1-cr1 (frr) <==\n{render_base('frr', nte1.config)}" in result.output


def test_provision_base_writes_one_file_per_router(configured: Engine, tmp_path: Path) -> None:
    folder = tmp_path / "configs"
    result = runner.invoke(
        app,
        ["provision", "base", "--platform", "iosxr", "--device", "ang1-cr2", "--output-dir",
         str(folder)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Wrote 1 configurations" in result.output
    assert [path.name for path in folder.iterdir()] == ["ang1-cr2.conf"]
    assert (folder / "ang1-cr2.conf").read_text().startswith("hostname ang1-cr2\n")
    only = runner.invoke(app, ["provision", "base", "--platform", "eos"])
    assert [line for line in only.output.splitlines() if line.startswith("==> ")] == [
        "==> lmn1-cr1 (eos) <==",
        "==> lmn1-cr2 (eos) <==",
    ]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--device", "xxx1-cr1", "--device", "nte1-cr1"], "device: no router 'xxx1-cr1'"),
        (["--platform", "sros"], "platform: no router runs 'sros'"),
        (["--device", "nte2-cr1", "--platform", "frr"], "platform: nte2-cr1 runs junos, not frr"),
        (["--templates", "/nonexistent/templates"], "templates: /nonexistent/templates is not"),
    ],
)
def test_provision_base_refuses_bad_input(
    configured: Engine, arguments: list[str], message: str
) -> None:
    result = runner.invoke(app, ["provision", "base", *arguments])
    assert result.exit_code == 1
    assert message in result.output
    assert "==>" not in result.output
