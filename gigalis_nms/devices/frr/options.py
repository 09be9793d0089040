"""The driver's ``optional_args``, checked once, into one typed record."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

DEFAULT_STATE_DIR = "/var/lib/gigalis-frr"

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
    options = DriverOptions(**given)
    _check(options)
    return options


def _check(options: DriverOptions) -> None:
    if options.transport not in ("ssh", "netns"):
        raise ValueError(
            f"optional_args: transport: {options.transport!r} is neither 'ssh' nor 'netns'"
        )
    if options.transport == "netns" and not options.netns:
        raise ValueError("optional_args: netns: required with transport 'netns'")
    if not isinstance(options.port, int) or not 0 < options.port < 65536:
        raise ValueError(f"optional_args: port: {options.port!r} is not a TCP port")
    if not options.state_dir.startswith("/"):
        raise ValueError(f"optional_args: state_dir: {options.state_dir!r} is not absolute")
