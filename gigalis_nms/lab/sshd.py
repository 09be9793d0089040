"""The management plane: one sshd per router, listening on its management address only,
with one lab host key and one lab client key made at each ``lab up``.

Clients check hosts strictly against the lab's known_hosts file, as they would against
production routers; the keys die with the lab (they live in the runtime folder).
"""

from __future__ import annotations

import pwd
from pathlib import Path

from gigalis_nms.lab.layout import RuntimeLayout
from gigalis_nms.lab.state import LabRouter, StartedProcess
from gigalis_nms.lab.system import in_router, run, start_daemon, tool


def make_keys(layout: RuntimeLayout) -> None:
    """The lab's host key (shared by every router's sshd) and its client key pair."""
    layout.ssh_dir.mkdir(mode=0o700, exist_ok=True)
    for key, comment in ((layout.host_key, "gigalis-lab-host"), (layout.client_key, "gigalis-lab")):
        run([tool("ssh-keygen"), "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(key)])
    public_key = Path(f"{layout.client_key}.pub").read_text()
    layout.authorized_keys.write_text(public_key)
    layout.authorized_keys.chmod(0o600)


def write_known_hosts(layout: RuntimeLayout, routers: list[LabRouter]) -> None:
    key_type, key = Path(f"{layout.host_key}.pub").read_text().split()[:2]
    lines = [f"{router.management_address} {key_type} {key}\n" for router in routers]
    layout.known_hosts.write_text("".join(lines))


def sshd_config(layout: RuntimeLayout, router: LabRouter) -> str:
    return "\n".join(
        [
            f"# sshd of the lab router {router.hostname}; written by `gigalis lab up`.",
            f"ListenAddress {router.management_address}",
            f"HostKey {layout.host_key}",
            f"PidFile {layout.sshd_pid(router.hostname)}",
            f"AuthorizedKeysFile {layout.authorized_keys}",
            "PermitRootLogin prohibit-password",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            # PAM would open a login session on this machine for every lab connection.
            "UsePAM no",
            "Subsystem sftp internal-sftp",
            "",
        ]
    )


def with_router_home(home: Path, user: str, command: list[str]) -> list[str]:
    """``command`` in a mount namespace of its own where ``user``'s home is ``home``.

    The lab's routers share this machine's files, and bash sources ~/.bashrc for every
    command run over SSH: the host's shell set-up (here pyenv's, 100 ms a command) would
    run on every router at every command. A router gets an empty home of its own instead,
    as a production router has, and the host's files are left as they are."""
    host_home = pwd.getpwnam(user).pw_dir
    remount = 'mount --bind "$1" "$2" && shift 2 && exec "$@"'
    return [
        *(tool("unshare"), "--mount", "--propagation", "private", "--"),
        *(tool("sh"), "-c", remount, "sh", str(home), host_home, *command),
    ]


def start_sshd(layout: RuntimeLayout, router: LabRouter, user: str) -> StartedProcess:
    config = layout.sshd_config(router.hostname)
    config.write_text(sshd_config(layout, router))
    home = layout.router_home(router.hostname)
    home.mkdir(mode=0o700, exist_ok=True)
    log_file = layout.sshd_log(router.hostname)
    sshd = [tool("sshd"), "-D", "-f", str(config), "-E", str(log_file)]
    command = in_router(router.netns, router.uts_file, with_router_home(home, user, sshd))
    return start_daemon("sshd", router.hostname, command, log_file)


def sshd_listening(layout: RuntimeLayout, router: LabRouter) -> bool:
    """sshd writes its pid file once its socket listens."""
    return layout.sshd_pid(router.hostname).exists()
