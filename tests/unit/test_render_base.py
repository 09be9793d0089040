"""Base configurations from the inventory files, without a database: the production plan
agrees with the lab's, every platform's base template renders for every router, and the
templates are found, or refused with the field named."""

from __future__ import annotations

import doctest
from dataclasses import replace
from pathlib import Path
from types import ModuleType

import pytest

from gigalis_nms.errors import InvalidInput
from gigalis_nms.lab.plan import plan_lab
from gigalis_nms.provisioning import context, templates
from gigalis_nms.provisioning.baseconfig import plan_base_configs
from gigalis_nms.provisioning.context import CustomerSide, ElineEnd
from gigalis_nms.provisioning.templates import (
    REPOSITORY_TEMPLATES,
    TemplateFailed,
    platforms,
    render_base,
    render_service,
    template_folder,
)
from tests.unit.test_lab_plan import NETWORK, RUNTIME

PRODUCTION = plan_base_configs(NETWORK)
PLATFORM_OF = {router.hostname: router.platform for router in NETWORK.routers}


def test_every_router_is_planned_once() -> None:
    assert sorted(PRODUCTION) == sorted(PLATFORM_OF)
    assert len(PRODUCTION) == 45
    loopbacks = [config.loopback_ipv4 for config in PRODUCTION.values()]
    assert len(set(loopbacks)) == len(loopbacks)


def test_production_plan_is_the_whole_network_lab_under_inventory_names() -> None:
    """The lab of every site builds what production renders, ports renamed for Linux."""
    lab = plan_lab(NETWORK, ["all"], RUNTIME)
    for planned in lab.routers:
        names = planned.lab.port_names
        production = PRODUCTION[planned.lab.hostname]
        renamed = tuple(
            replace(interface, name=names[interface.name]) for interface in production.interfaces
        )
        assert replace(production, interfaces=renamed) == planned.config, planned.lab.hostname


def test_frr_routers_render_in_production_as_the_lab_renders_them() -> None:
    lab = plan_lab(NETWORK, ["all"], RUNTIME)
    for planned in lab.routers:
        if planned.lab.platform == "frr":
            production = render_base("frr", PRODUCTION[planned.lab.hostname])
            assert production == render_base("frr", planned.config)


@pytest.mark.parametrize("hostname", sorted(PLATFORM_OF))
def test_every_router_renders_on_its_platform(hostname: str) -> None:
    platform = PLATFORM_OF[hostname]
    config = PRODUCTION[hostname]
    text = render_base(platform, config)
    assert hostname in text
    assert config.loopback_ipv4 in text
    for interface in config.interfaces:
        assert interface.name in text


def test_the_platforms_with_templates() -> None:
    assert platforms() == ("eos", "frr", "iosxr", "junos")
    assert template_folder() == REPOSITORY_TEMPLATES


def test_an_unknown_platform_is_refused_with_the_known_ones() -> None:
    with pytest.raises(InvalidInput) as refused:
        render_base("sros", PRODUCTION["nte1-cr1"])
    assert refused.value.problems[0].field == "platform"
    assert "known: eos, frr, iosxr, junos" in str(refused.value)


def test_a_missing_template_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"templates: .* is not a folder"):
        render_base("frr", PRODUCTION["nte1-cr1"], templates=tmp_path / "none")


def test_templates_are_read_from_the_folder_given(tmp_path: Path) -> None:
    (tmp_path / "lab").mkdir()
    (tmp_path / "lab" / "base.j2").write_text("hostname {{ router.hostname }}\n")
    assert render_base("lab", PRODUCTION["nte1-cr1"], templates=tmp_path) == "hostname nte1-cr1\n"
    with pytest.raises(InvalidInput, match="lab has no eline template"):
        render_service("lab", _end(), templates=tmp_path)


def test_a_misspelt_variable_fails_and_names_its_template(tmp_path: Path) -> None:
    (tmp_path / "lab").mkdir()
    (tmp_path / "lab" / "base.j2").write_text("hostname {{ router.host_name }}\n")
    with pytest.raises(TemplateFailed, match=r"lab/base\.j2: .*host_name"):
        render_base("lab", PRODUCTION["nte1-cr1"], templates=tmp_path)


def test_a_template_syntax_error_names_its_line(tmp_path: Path) -> None:
    (tmp_path / "lab").mkdir()
    (tmp_path / "lab" / "base.j2").write_text("hostname\n{% if %}\n")
    with pytest.raises(TemplateFailed, match=r"lab/base\.j2 line 2"):
        render_base("lab", PRODUCTION["nte1-cr1"], templates=tmp_path)


def _end() -> ElineEnd:
    return ElineEnd(
        "nte1-cr1", "GIG-ETH-000101", "Orange", 10001, (CustomerSide("a", "eth10", None),),
        "192.0.2.35", ("192.0.2.2",), 1000, None,
    )  # fmt: skip


@pytest.mark.parametrize("module", [context, templates], ids=lambda module: module.__name__)
def test_docstring_examples(module: ModuleType) -> None:
    failures, tried = doctest.testmod(module)
    assert tried > 0
    assert failures == 0
