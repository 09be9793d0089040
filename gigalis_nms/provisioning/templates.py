"""Where the configuration templates are and how they render:
``provisioning/templates/<platform>/base.j2`` for a router's base configuration and
``<platform>/<service>.j2`` for one router's part of a circuit.

The templates are kept outside the code, where the people who maintain configurations edit
them. They are found, in order: in the folder given (``gigalis provision base --templates``
or ``GIGALIS_TEMPLATES_DIR``), in the repository checkout the code runs from, or in a copy
installed inside this package (which no wheel ships yet). A variable a template misspells
fails the rendering instead of vanishing from the configuration.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path

import jinja2

from gigalis_nms.errors import GigalisError, InvalidInput
from gigalis_nms.provisioning.baseconfig import BaseConfig
from gigalis_nms.provisioning.context import CustomerSide, ElineEnd, plain_text

REPOSITORY_TEMPLATES = Path(__file__).resolve().parents[2] / "provisioning" / "templates"
PACKAGED_TEMPLATES = Path(__file__).resolve().parent / "templates"
BASE = "base"
_IFNAME_MAX = 15  # bytes: the kernel's IFNAMSIZ less its NUL


class TemplateFailed(GigalisError):
    """A template could not be read or rendered; the message names the template."""

    code = "template_failed"


def template_folder(folder: Path | None = None) -> Path:
    """The folder of templates: ``folder`` when given, else the repository's or the package's."""
    if folder is not None:
        if not folder.is_dir():
            raise InvalidInput.of("templates", f"{folder} is not a folder")
        return folder
    for candidate in (REPOSITORY_TEMPLATES, PACKAGED_TEMPLATES):
        if candidate.is_dir():
            return candidate
    raise InvalidInput.of("templates", "no template folder beside the code: name one (--templates)")


def platforms(folder: Path | None = None) -> tuple[str, ...]:
    """The platforms the templates cover: the folders holding a base.j2."""
    root = template_folder(folder)
    return tuple(sorted(p.name for p in root.iterdir() if (p / f"{BASE}.j2").is_file()))


@lru_cache(maxsize=8)
def _environment(folder: Path) -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder),
        undefined=jinja2.StrictUndefined,  # a misspelt variable fails instead of vanishing
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,  # router configuration, not HTML
    )
    environment.filters.update(
        plain=plain_text,
        quoted=junos_string,
        address=interface_address,
        netmask=interface_netmask,
        vlan_link=linux_vlan_link,
    )
    return environment


def render_base(platform: str, config: BaseConfig, *, templates: Path | None = None) -> str:
    """The base configuration of one router, in ``platform``'s syntax."""
    return _render(platform, BASE, templates, router=config)


def render_service(platform: str, end: ElineEnd, *, templates: Path | None = None) -> str:
    """One router's part of one circuit, in ``platform``'s syntax, on its own: what a merge
    onto the router's base would add. Ports in ``end`` carry the router's own names."""
    return _render(platform, end.SERVICE, templates, end=end)


def _render(platform: str, name: str, templates: Path | None, **context: object) -> str:
    folder = template_folder(templates)
    path = f"{platform}/{name}.j2"
    if not (folder / platform / f"{BASE}.j2").is_file():
        known = ", ".join(platforms(folder)) or "none"
        raise InvalidInput.of(
            "platform", f"no templates for {platform!r} in {folder} (known: {known})"
        )
    try:
        template = _environment(folder.resolve()).get_template(path)
    except jinja2.TemplateNotFound:
        raise InvalidInput.of("platform", f"{platform} has no {name} template ({path})") from None
    except jinja2.TemplateSyntaxError as error:
        raise TemplateFailed.of("template", f"{path} line {error.lineno}: {error}") from None
    try:
        return template.render(**context)
    except (jinja2.TemplateError, ValueError, TypeError) as error:
        if isinstance(error, GigalisError):
            raise
        raise TemplateFailed.of("template", f"{path}: {error}") from error


# --- filters ---------------------------------------------------------------------------------


def junos_string(text: str) -> str:
    """A Junos configuration string, always quoted.

    >>> print(junos_string('NNI "ORNG"'))
    "NNI \\"ORNG\\""
    """
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def interface_address(address: str) -> str:
    """The address of an interface's ``address/length``.

    >>> interface_address("203.0.113.0/31")
    '203.0.113.0'
    """
    return str(ipaddress.ip_interface(address).ip)


def interface_netmask(address: str) -> str:
    """The netmask of an interface's ``address/length``, for platforms that want one.

    >>> interface_netmask("203.0.113.0/31")
    '255.255.255.254'
    """
    return str(ipaddress.ip_interface(address).netmask)


def linux_vlan_link(side: CustomerSide, vni: int) -> str:
    """The Linux VLAN link of a VLAN-based side: ``<port>.<vlan>`` when the kernel takes that
    name (15 bytes), else ``vl<vni><end>``, unique too since a VNI is one circuit's.

    >>> linux_vlan_link(CustomerSide("a", "eth10", 1101), 10001)
    'eth10.1101'
    >>> linux_vlan_link(CustomerSide("z", "enp129s0f1np1", 1101), 10001)
    'vl10001z'
    """
    name = f"{side.port}.{side.vlan}"
    return name if len(name.encode()) <= _IFNAME_MAX else f"vl{vni}{side.end}"
