"""Record a router's answers to every getter, for the replay tests.

Run as root next to FRR routers in network namespaces (a lab, or any scratch routers)::

    .venv/bin/python -m tests.unit.devices.frr.record r1 --netns glx-r1 \\
        --uts-file /run/glx/r1.uts --pathspace glx-r1 --lldpd-socket /run/glx/r1.lldpd.socket

It opens the driver over the netns transport, calls every getter and ``get_config``, and
writes what the router printed to ``recorded/<name>/``. A router whose FRR is stopped is
recorded too: the recording then holds the failed ``open``.
"""

from __future__ import annotations

import argparse
import contextlib
from typing import Any

from napalm.base.exceptions import ConnectionException

from gigalis_nms.devices.frr.driver import GETTERS, FrrDriver
from gigalis_nms.devices.frr.transport import Transport
from tests.unit.devices.frr.replay import RECORDED, RecordingTransport


class RecordingDriver(FrrDriver):
    recorder: RecordingTransport

    def make_transport(self) -> Transport:
        self.recorder = RecordingTransport(super().make_transport())
        return self.recorder


def record(name: str, optional_args: dict[str, Any]) -> None:
    driver = RecordingDriver(name, "root", "", optional_args=optional_args)
    try:
        driver.open()
    except ConnectionException as error:
        print(f"{name}: open failed, recorded as such: {error}")
    else:
        for getter in GETTERS:
            getattr(driver, getter)()
        # Kernel state alone, as the configuration cycle reads it.
        with contextlib.suppress(Exception):
            driver.session.kernel_state()
        driver.close()
    driver.recorder.save(RECORDED / name, name, optional_args)
    print(f"{name}: {len(driver.recorder.results)} commands recorded")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name")
    parser.add_argument("--netns", required=True)
    parser.add_argument("--uts-file")
    parser.add_argument("--pathspace")
    parser.add_argument("--lldpd-socket")
    parser.add_argument("--state-dir", default="/var/lib/gigalis-frr")
    arguments = parser.parse_args()
    optional_args = {
        "transport": "netns",
        "netns": arguments.netns,
        "uts_file": arguments.uts_file,
        "pathspace": arguments.pathspace,
        "lldpd_socket": arguments.lldpd_socket,
        "state_dir": arguments.state_dir,
    }
    record(arguments.name, optional_args)


if __name__ == "__main__":
    main()
