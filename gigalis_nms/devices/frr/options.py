"""The driver's ``optional_args``, checked once, into one typed record."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

DEFAULT_STATE_DIR = "/var/lib/gigalis-frr"
# How VLAN links are made: "native" (802.1Q), "emulated" (veth, tc and eBPF, for a kernel
# without 802.1Q), or "auto": the router's kernel is asked. See vlan_emulation.
VlanMode = Literal["auto", "native", "emulated"]
VLAN_MODES: tuple[VlanMode, ...] = ("auto", "native", "emulated")

# Nornir's NAPALM plugin passes ssh_config_file to every driver; an exec-channel transport has
# no use for OpenSSH's client configuration, so it is accepted and ignored.
_IGNORED = frozenset({"ssh_config_file"})


@dataclass(frozen=True)
class DriverOptions:
    """How to reach one router and where its FRR instance and driver files live."""

    transport: Literal["ssh", "netns"] = "ssh"
    port: int = 22
    key_file: str | None = None
    known_hosts_file: str | None = None
    sudo: bool = False
    netns: str | None = None
    uts_file: str | None = None
    pathspace: str | None = None
    state_dir: str = DEFAULT_STATE_DIR
    lldpd_socket: str | None = None
    vlan_mode: VlanMode = "auto"


def parse_optional_args(optional_args: Mapping[str, Any] | None) -> DriverOptions:
    """Check ``optional_args``; a misspelt key is refused rather than silently defaulted.

    >>> parse_optional_args({"transport": "netns", "netns": "r1"}).netns
    'r1'
    >>> parse_optional_args({"transprot": "ssh"})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: optional_args: unknown key 'transprot'; known: key_file, known_hosts_file, ...
    """
    given = {key: value for key, value in (optional_args or {}).items() if key not in _IGNORED}
    known = list(DriverOptions.__dataclass_fields__)
    for key in given:
        if key not in known:
            raise ValueError(
                f"optional_args: unknown key {key!r}; known: {', '.join(sorted(known))}"
            )
    for key, value in given.items():
        _check_type(key, value)
    options = DriverOptions(**given)
    _check(options)
    return options


# What each option must be. Checked, not coerced: in a YAML inventory, sudo: "false" is a
# string, and a string is true.
_FLAGS = frozenset({"sudo"})
_NUMBERS = frozenset({"port"})
_OPTIONAL_TEXTS = frozenset(
    {"key_file", "known_hosts_file", "netns", "uts_file", "pathspace", "lldpd_socket"}
)


def _check_type(key: str, value: object) -> None:
    """Refuse a value of the wrong type, naming the option.

    >>> _check_type("sudo", "yes")
    Traceback (most recent call last):
    ...
    ValueError: optional_args: sudo: 'yes' is not true or false (a bool)
    """
    if key in _FLAGS:
        right, kind = isinstance(value, bool), "true or false (a bool)"
    elif key in _NUMBERS:
        right, kind = isinstance(value, int) and not isinstance(value, bool), "an int"
    elif key in _OPTIONAL_TEXTS:
        right, kind = value is None or isinstance(value, str), "a string or None"
    else:
        right, kind = isinstance(value, str), "a string"
    if not right:
        raise ValueError(f"optional_args: {key}: {value!r} is not {kind}")


def _check(options: DriverOptions) -> None:
    if options.transport not in ("ssh", "netns"):
        raise ValueError(
            f"optional_args: transport: {options.transport!r} is neither 'ssh' nor 'netns'"
        )
    if options.transport == "netns" and not options.netns:
        raise ValueError("optional_args: netns: required with transport 'netns'")
    if not 0 < options.port < 65536:
        raise ValueError(f"optional_args: port: {options.port!r} is not a TCP port")
    if not options.state_dir.startswith("/"):
        raise ValueError(f"optional_args: state_dir: {options.state_dir!r} is not absolute")
    if options.vlan_mode not in VLAN_MODES:
        raise ValueError(
            f"optional_args: vlan_mode: {options.vlan_mode!r} is not one of {', '.join(VLAN_MODES)}"
        )
