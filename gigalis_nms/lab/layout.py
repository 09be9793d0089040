"""Where the lab keeps its files: one runtime folder (``/run/gigalis-lab`` by default), so that
``lab down`` removes everything by removing it.

```
<runtime>/state.json                  the lab and its build record (state.py)
<runtime>/uts/<hostname>              each router's UTS namespace, bind-mounted
<runtime>/ssh/                        lab host key, lab client key, authorized_keys, known_hosts
<runtime>/routers/<hostname>/         sshd_config, sshd.pid, sshd.log, lldpd.conf, lldpd.socket,
                                      lldpd.log, home/ (the SSH user's home as sshd sees it),
                                      and state/ (the NAPALM driver's device folder)
```

``lab down`` removes only these entries, then the folder if nothing else is in it: a
runtime folder given by mistake (``--runtime-dir ~/work``) loses nothing of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# Everything the lab puts in its runtime folder; state.tmp is the state file being replaced.
LAB_ENTRIES = ("state.json", "state.tmp", "uts", "ssh", "routers")


@dataclass(frozen=True)
class RuntimeLayout:
    root: Path

    def lab_entries(self) -> list[Path]:
        """The lab's own files and folders that exist in the runtime folder."""
        return [self.root / name for name in LAB_ENTRIES if (self.root / name).exists()]

    @property
    def uts_dir(self) -> Path:
        return self.root / "uts"

    @property
    def ssh_dir(self) -> Path:
        return self.root / "ssh"

    @property
    def host_key(self) -> Path:
        return self.ssh_dir / "host_ed25519_key"

    @property
    def client_key(self) -> Path:
        return self.ssh_dir / "lab_ed25519"

    @property
    def authorized_keys(self) -> Path:
        return self.ssh_dir / "authorized_keys"

    @property
    def known_hosts(self) -> Path:
        return self.ssh_dir / "known_hosts"

    def uts_file(self, hostname: str) -> Path:
        return self.uts_dir / hostname

    def router_dir(self, hostname: str) -> Path:
        return self.root / "routers" / hostname

    def device_state_dir(self, hostname: str) -> Path:
        return self.router_dir(hostname) / "state"

    def router_home(self, hostname: str) -> Path:
        """The SSH user's home as the router's sshd sees it (see sshd.with_router_home)."""
        return self.router_dir(hostname) / "home"

    def sshd_config(self, hostname: str) -> Path:
        return self.router_dir(hostname) / "sshd_config"

    def sshd_pid(self, hostname: str) -> Path:
        return self.router_dir(hostname) / "sshd.pid"

    def sshd_log(self, hostname: str) -> Path:
        return self.daemon_log(hostname, "sshd")

    def lldpd_config(self, hostname: str) -> Path:
        return self.router_dir(hostname) / "lldpd.conf"

    def lldpd_socket(self, hostname: str) -> Path:
        return self.router_dir(hostname) / "lldpd.socket"

    def lldpd_log(self, hostname: str) -> Path:
        return self.daemon_log(hostname, "lldpd")

    def daemon_log(self, hostname: str, daemon: str) -> Path:
        return self.router_dir(hostname) / f"{daemon}.log"
