"""The NAPALM driver for Linux routers running FRR: ``napalm.get_network_driver("frr")``."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from napalm.base import NetworkDriver, models
from napalm.base.exceptions import (
    CommandErrorException,
    ConnectionException,
    MergeConfigException,
    ReplaceConfigException,
)

from gigalis_nms.devices.frr import commands, parsers
from gigalis_nms.devices.frr.frrconfig import sanitize
from gigalis_nms.devices.frr.options import DriverOptions, parse_optional_args
from gigalis_nms.devices.frr.router import Router, StateFiles
from gigalis_nms.devices.frr.session import ConfigSession
from gigalis_nms.devices.frr.transport import (
    NetnsTransport,
    SshTransport,
    SudoTransport,
    Transport,
)

log = logging.getLogger(__name__)

T = TypeVar("T")
_RETRIEVABLE = ("all", "running", "startup", "candidate")


def make_transport(
    hostname: str, username: str, password: str, timeout: int, options: DriverOptions
) -> Transport:
    transport: Transport
    if options.transport == "netns":
        assert options.netns is not None  # checked by parse_optional_args
        transport = NetnsTransport(options.netns, options.uts_file, timeout)
    else:
        transport = SshTransport(
            hostname,
            username,
            password=password,
            key_file=options.key_file,
            known_hosts_file=options.known_hosts_file,
            port=options.port,
            timeout=timeout,
        )
    return SudoTransport(transport) if options.sudo else transport


# The NAPALM getters this driver implements; NAPALM's others raise NotImplementedError.
# It has one getter more, ``get_isis_neighbors``, for the backbone's IGP.
GETTERS = (
    "get_facts",
    "get_interfaces",
    "get_interfaces_ip",
    "get_interfaces_counters",
    "get_bgp_neighbors",
    "get_lldp_neighbors",
    "get_config",
    "is_alive",
)


class FrrDriver(NetworkDriver):
    """NAPALM driver for a Linux router whose routing is FRR and whose links are iproute2's.

    ``optional_args``: ``transport`` ("ssh" or "netns"), ``key_file``, ``known_hosts_file``,
    ``port``, ``sudo``, ``pathspace``, ``state_dir``, ``lldpd_socket``, ``netns``,
    ``uts_file``, ``vlan_mode``; see the package documentation.
    """

    def __init__(
        self,
        hostname: str,
        username: str,
        password: str,
        timeout: int = 60,
        optional_args: dict[str, Any] | None = None,
    ) -> None:
        self.hostname = hostname
        self.username = username
        self.password = password
        self.timeout = timeout
        self.options = parse_optional_args(optional_args)
        self.platform = "frr"
        self.files = StateFiles(self.options.state_dir)
        self._router: Router | None = None
        self._session: ConfigSession | None = None
        self._version_text = ""  # `show version` as read when the session opened

    # --- connection -------------------------------------------------------------------------

    def make_transport(self) -> Transport:
        """The transport ``open`` uses; the unit tests override it to replay recordings."""
        return make_transport(
            self.hostname, self.username, self.password, self.timeout, self.options
        )

    def open(self) -> None:
        transport = self.make_transport()
        try:
            transport.open()
        except ConnectionException as error:
            raise type(error)(f"{self.hostname}: {error}") from error
        router = Router(self.hostname, transport, self.options.pathspace)
        try:
            # vtysh runs no command at all, not even this one, when no FRR daemon answers.
            # The answer is kept for get_facts: a vtysh start is the costliest command a
            # getter runs, and the version does not change while a session is open.
            self._version_text = router.vtysh("show version")
        except Exception:
            transport.close()
            raise
        self._router = router
        self._session = ConfigSession(router, self.files, self.options.vlan_mode)
        log.info("%s: connected over %s", self.hostname, self.options.transport)

    def close(self) -> None:
        if self._router is not None:
            self._router.transport.close()
        self._router = None
        self._session = None

    def is_alive(self) -> models.AliveDict:
        return {"is_alive": self._router is not None and self._router.transport.is_alive()}

    @property
    def router(self) -> Router:
        if self._router is None:
            raise ConnectionException(f"{self.hostname}: not connected; call open() first")
        return self._router

    @property
    def session(self) -> ConfigSession:
        if self._session is None:
            raise ConnectionException(f"{self.hostname}: not connected; call open() first")
        return self._session

    def _parse(self, what: str, parse: Callable[[], T]) -> T:
        """Run a parser; output it cannot read is the router's answer to a command, so it is
        reported as that command's error, naming the router."""
        try:
            return parse()
        except (ValueError, KeyError, TypeError) as error:
            raise CommandErrorException(
                f"{self.hostname}: cannot read {what}: {error!r}"
            ) from error

    # --- getters ----------------------------------------------------------------------------

    def get_facts(self) -> models.FactsDict:
        router = self.router
        version_text = self._version_text
        uptime_text = router.check(commands.READ_UPTIME)
        nodename = router.check(["uname", "-n"]).strip()
        machine_id = router.run(commands.READ_MACHINE_ID)
        product = router.run(commands.READ_PRODUCT_NAME)
        links_text = router.check_kernel_dump(commands.IP_LINKS_WITH_STATS)

        os_version, hostname = self._parse(
            "show version", lambda: parsers.parse_show_version(version_text)
        )
        return {
            "vendor": "FRRouting",
            "os_version": os_version,
            "hostname": hostname,
            "fqdn": parsers.fqdn_of(hostname, nodename),
            "uptime": self._parse("/proc/uptime", lambda: parsers.parse_uptime(uptime_text)),
            "serial_number": machine_id.stdout.strip() if machine_id.ok else "unknown",
            "model": product.stdout.strip() if product.ok and product.stdout.strip() else "Linux",
            "interface_list": self._parse(
                "ip link", lambda: parsers.interface_names(parsers.parse_links(links_text))
            ),
        }

    def get_interfaces(self) -> dict[str, models.InterfaceDict]:
        router = self.router
        links = self._parse(
            "ip link",
            lambda: parsers.parse_links(router.check_kernel_dump(commands.IP_LINKS_WITH_STATS)),
        )
        descriptions_text = router.vtysh("show interface json")
        speeds_text = router.run(commands.read_link_speeds(parsers.interface_names(links))).stdout
        return self._parse(
            "interfaces",
            lambda: parsers.interfaces_from_links(
                links,
                parsers.parse_frr_descriptions(descriptions_text),
                parsers.parse_link_speeds(speeds_text),
            ),
        )

    def get_interfaces_counters(self) -> dict[str, models.InterfaceCounterDict]:
        text = self.router.check_kernel_dump(commands.IP_LINKS_WITH_STATS)
        return self._parse(
            "ip -s link", lambda: parsers.counters_from_links(parsers.parse_links(text))
        )

    def get_interfaces_ip(self) -> dict[str, models.InterfacesIPDict]:
        text = self.router.check_kernel_dump(commands.IP_ADDRESSES)
        return self._parse("ip addr", lambda: parsers.parse_interfaces_ip(text))

    def get_bgp_neighbors(self) -> dict[str, models.BGPStateNeighborsPerVRFDict]:
        summary = self.router.vtysh("show bgp vrf all summary json")
        neighbors = self.router.vtysh("show bgp vrf all neighbors json")
        return self._parse("BGP", lambda: parsers.parse_bgp_neighbors(summary, neighbors))

    def get_lldp_neighbors(self) -> dict[str, list[models.LLDPNeighborDict]]:
        text = self.router.check(commands.lldp_neighbors(self.options.lldpd_socket))
        return self._parse("lldpcli", lambda: parsers.parse_lldp_neighbors(text))

    def get_isis_neighbors(self) -> dict[str, list[parsers.IsisNeighbor]]:
        """IS-IS adjacencies by local interface (an extra getter: NAPALM has none for IGPs;
        Nornir's ``napalm_get`` calls it as the getter ``isis_neighbors``)."""
        text = self.router.vtysh("show isis neighbor json")
        return self._parse("IS-IS", lambda: parsers.parse_isis_neighbors(text))

    def get_config(
        self,
        retrieve: str = "all",
        full: bool = False,
        sanitized: bool = False,
        format: str = "text",
    ) -> models.ConfigDict:
        """The configuration documents (kernel section + FRR section).

        ``full`` changes nothing: FRR has no "show running-config all" that would print
        defaults, so a default is never visible in any of the three documents.
        """
        if retrieve not in _RETRIEVABLE:
            raise ValueError(f"retrieve: {retrieve!r} is not one of {', '.join(_RETRIEVABLE)}")
        if format != "text":
            raise ValueError(f"format: {format!r}: this driver returns text only")
        session = self.session
        config: models.ConfigDict = {"running": "", "startup": "", "candidate": ""}
        if retrieve in ("all", "running"):
            config["running"] = session.running_document()
        if retrieve in ("all", "startup"):
            config["startup"] = session.startup_document()
        if retrieve in ("all", "candidate") and session.candidate is not None:
            config["candidate"] = session.candidate.text
        if sanitized:
            config = {
                "running": sanitize(config["running"]),
                "startup": sanitize(config["startup"]),
                "candidate": sanitize(config["candidate"]),
            }
        return config

    def cli(self, commands: list[str], encoding: str = "text") -> dict[str, str | dict[str, Any]]:
        """Each command run by vtysh, as typed at its prompt."""
        if encoding != "text":
            raise NotImplementedError(f"{self.hostname}: cli encoding {encoding!r}: text only")
        return {command: self.router.vtysh(command) for command in commands}

    # --- configuration ----------------------------------------------------------------------

    def _read_candidate(
        self, filename: str | None, config: str | None, refused: type[Exception]
    ) -> str:
        if filename is not None:
            try:
                return Path(filename).read_text()
            except OSError as error:
                raise refused(f"{self.hostname}: cannot read {filename}: {error}") from error
        if config is None:
            raise refused(f"{self.hostname}: give a filename or a config")
        return config

    def load_merge_candidate(self, filename: str | None = None, config: str | None = None) -> None:
        text = self._read_candidate(filename, config, MergeConfigException)
        self.session.load(text, replace=False)

    def load_replace_candidate(
        self, filename: str | None = None, config: str | None = None
    ) -> None:
        text = self._read_candidate(filename, config, ReplaceConfigException)
        self.session.load(text, replace=True)

    def compare_config(self) -> str:
        return self.session.compare()

    def commit_config(self, message: str = "", revert_in: int | None = None) -> None:
        self.session.commit(message, revert_in)

    def confirm_commit(self) -> None:
        self.session.confirm()

    def has_pending_commit(self) -> bool:
        return self.session.has_pending()

    def discard_config(self) -> None:
        self.session.discard()

    def rollback(self) -> None:
        self.session.rollback()
