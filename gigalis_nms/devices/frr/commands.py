"""The command lines the driver runs on a router, built in one place.

Only stock tools appear here: iproute2, FRR's ``vtysh`` and ``frr-reload.py``, ``lldpcli`` and
coreutils. The driver installs nothing on the router, so the same commands work over SSH on a
production box and inside a lab namespace.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from shlex import quote

FRR_RELOAD = "/usr/lib/frr/frr-reload.py"
FRR_CONFIG_DIR = "/etc/frr"

IP_LINKS_WITH_STATS = ["ip", "-j", "-d", "-s", "link", "show"]
IP_LINKS = ["ip", "-j", "-d", "link", "show"]
IP_ADDRESSES = ["ip", "-j", "addr", "show"]
# Stops at the first failing line and says which: the caller restores and reports it.
IP_BATCH_FROM_STDIN = ["ip", "-batch", "-"]

READ_UPTIME = ["cat", "/proc/uptime"]
READ_MACHINE_ID = ["cat", "/etc/machine-id"]
READ_PRODUCT_NAME = ["cat", "/sys/class/dmi/id/product_name"]


# The state folder holds FRR's configuration, secrets included: what the driver writes there
# is created readable by its owner only, whatever the login shell's umask.
_PRIVATE = 'umask 077 && exec "$@"'


def private(argv: Sequence[str]) -> list[str]:
    """``argv`` run with umask 077, so that the files it creates are its owner's alone."""
    return ["sh", "-c", _PRIVATE, "sh", *argv]


def unwrap_private(argv: Sequence[str]) -> list[str]:
    """The command :func:`private` wrapped (for the test doubles that read commands)."""
    if list(argv[:4]) == ["sh", "-c", _PRIVATE, "sh"]:
        return list(argv[4:])
    return list(argv)


def make_private_dir(path: str) -> list[str]:
    """Create the folder, or take it back to 0700 if it exists (``mkdir -m`` would leave an
    existing folder's mode alone; ``install -d -m`` sets it either way)."""
    return ["install", "-d", "-m", "0700", path]


def _pathspace(pathspace: str | None) -> list[str]:
    return ["-N", pathspace] if pathspace else []


def vtysh(pathspace: str | None, command: str) -> list[str]:
    """``vtysh -N ps -c 'show …'``: one command, as one argument, whatever spaces it holds."""
    return ["vtysh", *_pathspace(pathspace), "-c", command]


def vtysh_forget_interface(pathspace: str | None, stanza: str) -> list[str]:
    """Drop zebra's record of an interface whose link is gone (see session._forget)."""
    return ["vtysh", *_pathspace(pathspace), "-c", "configure", "-c", f"no interface {stanza}"]


def vtysh_check_file(pathspace: str | None, path: str) -> list[str]:
    """Dry run: vtysh parses the file against its command tree and touches no daemon."""
    return ["vtysh", *_pathspace(pathspace), "-C", "-f", path]


def vtysh_apply_file(pathspace: str | None, path: str) -> list[str]:
    """Apply every line of the file on top of the running configuration (a merge)."""
    return ["vtysh", *_pathspace(pathspace), "-f", path]


def frr_reload(pathspace: str | None, path: str, *, apply: bool) -> list[str]:
    """FRR's own differ: ``--test`` prints the lines to delete and add, ``--reload`` runs them."""
    ps = ["--pathspace", pathspace] if pathspace else []
    return [FRR_RELOAD, *ps, "--reload" if apply else "--test", path]


def frr_reload_keeping_startup(
    pathspace: str | None, path: str, *, backup: str, startup: str
) -> list[str]:
    """``frr-reload.py --reload``, then the startup configuration put back as it was.

    frr-reload saves what it applied (it runs ``write`` whenever the file it is given is not
    ``/etc/frr/frr.conf``, with or without ``--overwrite``), but the driver saves only
    once a commit succeeds, and never an unconfirmed one. The copy back runs in the same
    command on the router, so that it is done even if the change cuts the management
    session. Without a ``backup`` (the router had no startup file), frr-reload's is kept.
    """
    script = (
        'status=0; "$@" || status=$?; '
        f"if [ -e {quote(backup)} ]; then cp {quote(backup)} {quote(startup)}; fi; "
        'exit "$status"'
    )
    return ["sh", "-c", script, "sh", *frr_reload(pathspace, path, apply=True)]


def startup_config_path(pathspace: str | None) -> str:
    """Where ``write memory`` saves this FRR instance's configuration."""
    if pathspace:
        return f"{FRR_CONFIG_DIR}/{pathspace}/frr.conf"
    return f"{FRR_CONFIG_DIR}/frr.conf"


def lldp_neighbors(socket: str | None) -> list[str]:
    # json0 keeps every value a list; plain json folds one-element lists into objects, so
    # its shape would change with the number of neighbours.
    socket_args = ["-u", socket] if socket else []
    return ["lldpcli", *socket_args, "-f", "json0", "show", "neighbors"]


def read_link_speeds(interfaces: Iterable[str]) -> list[str]:
    """One command for every interface's speed: ``grep -H`` prefixes each value with its file,
    and ``-s`` hides the files that cannot be read (loopback, bridges: no speed)."""
    return ["grep", "-Hs", "", *(f"/sys/class/net/{name}/speed" for name in interfaces)]
