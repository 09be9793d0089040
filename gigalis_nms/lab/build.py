"""``lab up``: build the planned lab on this machine, step by step, recording in the state
file what each step is about to create before it creates it.

Steps: the runtime folder and keys, the namespaces (network and UTS), the cabling, FRR in
every router (in parallel), sshd and lldpd in every router, then a wait for the IS-IS
adjacencies. A failure on the way takes down what was built (``clean_on_failure``); a lab
that is built but slow to converge is left up for inspection.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from time import monotonic, sleep

from sqlalchemy.engine import Engine

from gigalis_nms.errors import Conflict
from gigalis_nms.lab import wiring
from gigalis_nms.lab.errors import LabCommandFailed
from gigalis_nms.lab.frr import start_frr, write_frr_files
from gigalis_nms.lab.health import wait_for_adjacencies
from gigalis_nms.lab.layout import RuntimeLayout
from gigalis_nms.lab.lldpd import start_lldpd
from gigalis_nms.lab.network import read_network
from gigalis_nms.lab.plan import LabPlan, plan_lab
from gigalis_nms.lab.sshd import make_keys, sshd_listening, start_sshd, write_known_hosts
from gigalis_nms.lab.state import (
    DEFAULT_RUNTIME_DIR,
    BuildPhase,
    LabRecord,
    LabState,
    read_record,
    write_record,
)
from gigalis_nms.lab.system import (
    LLDPD_CHROOT,
    SSHD_PRIVSEP_DIR,
    ip_batch,
    is_running,
    one_operation_at_a_time,
    require_prerequisites,
    run,
    tool,
)
from gigalis_nms.lab.teardown import find_leftovers, lab_down, take_down

__all__ = ["lab_down", "lab_up"]

log = logging.getLogger(__name__)
DEFAULT_TIMEOUT = 60.0  # seconds for the IS-IS adjacencies to come up
PARALLEL_STARTS = 8
DAEMON_READY_TIMEOUT = 10.0

Progress = Callable[[str], None]


# /proc/sys/net shows the sysctls of the namespace the reading process is in.
FORWARDING_SYSCTLS = ("ipv4/ip_forward", "ipv6/conf/all/forwarding")


def lab_up(
    engine: Engine,
    sites: Sequence[str] | None,
    *,
    runtime_dir: Path = DEFAULT_RUNTIME_DIR,
    timeout: float = DEFAULT_TIMEOUT,
    progress: Progress | None = None,
    clean_on_failure: bool = True,
) -> LabState:
    """Build the lab of ``sites`` (None: the default lab, ["all"]: the whole network) from the
    inventory in ``engine``, and wait until IS-IS is up on every lab link.

    Idempotent: when the same lab is already up, nothing changes. A lab of other sites, or
    leftovers of one, must be taken down first (``lab_down``).
    """
    tell = progress or (lambda step: log.info("lab up: %s", step))
    require_prerequisites()
    plan = plan_lab(read_network(engine), sites, runtime_dir)
    with one_operation_at_a_time():
        return _build_or_reuse(plan, tell, timeout, clean_on_failure)


def _build_or_reuse(
    plan: LabPlan, tell: Progress, timeout: float, clean_on_failure: bool
) -> LabState:
    runtime_dir = Path(plan.state.runtime_dir)
    current = read_record(runtime_dir)
    if current is not None:
        return _already_up(current, plan, timeout)
    leftovers = find_leftovers(runtime_dir)
    if leftovers:
        more = f" and {len(leftovers) - 3} more" if len(leftovers) > 3 else ""
        shown = ", ".join(leftovers[:3]) + more
        raise Conflict.of("lab", f"leftovers of an earlier lab ({shown}): run `gigalis lab down`")
    try:
        LabBuild(plan, tell).run()
    except BaseException:
        if clean_on_failure:
            tell("the build failed: taking down what was built")
            take_down(runtime_dir)
        raise
    tell("waiting for IS-IS adjacencies")
    wait_for_adjacencies(plan.state, timeout)
    return plan.state


def _already_up(current: LabRecord, plan: LabPlan, timeout: float) -> LabState:
    if current.state.sites != plan.state.sites:
        raise Conflict.of(
            "sites",
            f"a lab of {','.join(current.state.sites)} is up; "
            "run `gigalis lab down` before building another",
        )
    if current.phase is not BuildPhase.RUNNING:
        raise Conflict.of("lab", "an earlier `lab up` did not finish: run `gigalis lab down`")
    wait_for_adjacencies(current.state, timeout)
    return current.state


class LabBuild:
    """One build: the plan, the record written as it goes, and one method per step."""

    def __init__(self, plan: LabPlan, tell: Progress) -> None:
        self.plan = plan
        self.tell = tell
        self.layout = RuntimeLayout(Path(plan.state.runtime_dir))
        self.record = LabRecord(plan.state, BuildPhase.BUILDING)

    def run(self) -> None:
        self.prepare_runtime_dir()
        self.create_namespaces()
        self.cable()
        self.start_frr()
        self.start_daemons()
        self.save(replace(self.record, phase=BuildPhase.RUNNING))

    def save(self, record: LabRecord) -> None:
        self.record = record
        write_record(record)

    def prepare_runtime_dir(self) -> None:
        self.tell("preparing the runtime folder and the lab's keys")
        # Root-owned and closed to others: sshd refuses an authorized_keys file below a
        # folder that others could write to.
        self.layout.root.mkdir(mode=0o755, parents=True, exist_ok=True)
        missing = [str(d) for d in (SSHD_PRIVSEP_DIR, LLDPD_CHROOT) if not d.exists()]
        self.save(replace(self.record, created_system_dirs=tuple(missing)))
        SSHD_PRIVSEP_DIR.mkdir(mode=0o755, exist_ok=True)  # lldpd makes its own
        for router in self.plan.state.routers:
            # Closed to others: the driver keeps configuration snapshots there, secrets
            # (IS-IS and BGP passwords) included.
            Path(router.device_state_dir).mkdir(mode=0o700, parents=True)
        make_keys(self.layout)
        write_known_hosts(self.layout, list(self.plan.state.routers))
        # A UTS namespace persists as a bind mount of its nsfs file, which the kernel only
        # allows on a private mount: hence the folder mounted onto itself, made private.
        uts_dir = str(self.layout.uts_dir)
        self.layout.uts_dir.mkdir()
        run([tool("mount"), "--bind", uts_dir, uts_dir])
        run([tool("mount"), "--make-private", uts_dir])

    def create_namespaces(self) -> None:
        self.tell(f"creating {len(self.plan.namespaces)} namespaces")
        ip_batch(wiring.namespace_lines(self.plan))
        for router in self.plan.state.routers:
            Path(router.uts_file).touch()
            run([tool("unshare"), f"--uts={router.uts_file}", tool("hostname"), router.hostname])
            enable_forwarding(router.netns)

    def cable(self) -> None:
        self.tell(f"cabling {len(self.plan.state.links)} backbone links and the CPEs")
        ip_batch(wiring.root_lines(self.plan))
        for router in self.plan.routers:
            ip_batch(wiring.router_lines(router), netns=router.lab.netns)
        inventory_names = {
            (router.lab.hostname, port.linux_name): port.inventory_name
            for router in self.plan.routers
            for port in router.ports
        }
        for cpe in self.plan.state.cpes:
            ip_batch(wiring.cpe_lines(cpe, inventory_names), netns=cpe.namespace)

    def start_frr(self) -> None:
        self.tell(f"starting FRR in {len(self.plan.routers)} routers")
        for router in self.plan.routers:
            write_frr_files(router)
        with ThreadPoolExecutor(max_workers=PARALLEL_STARTS) as pool:
            list(pool.map(start_frr, self.plan.state.routers))

    def start_daemons(self) -> None:
        self.tell("starting sshd and lldpd in every router")
        for router in self.plan.state.routers:
            self.save(
                self.record.with_process(start_sshd(self.layout, router, self.plan.state.ssh_user))
            )
            self.save(self.record.with_process(start_lldpd(self.layout, router)))
        self.wait_for_daemons()

    def wait_for_daemons(self) -> None:
        """Every sshd listening (its pid file written) and every lldpd answering on its
        socket; a daemon that died names its log."""
        deadline = monotonic() + DAEMON_READY_TIMEOUT
        while True:
            for process in self.record.processes:
                if not is_running(process):
                    log_file = self.layout.daemon_log(process.router, process.role)
                    raise LabCommandFailed.of(
                        process.role, f"{process.router}: exited; see {log_file}"
                    )
            waiting = [
                router.hostname
                for router in self.plan.state.routers
                if not sshd_listening(self.layout, router) or not Path(router.lldpd_socket).exists()
            ]
            if not waiting:
                return
            if monotonic() > deadline:
                late = ", ".join(waiting)
                raise LabCommandFailed.of(
                    "daemons", f"sshd or lldpd not ready in {DAEMON_READY_TIMEOUT:g} s on {late}"
                )
            sleep(0.1)


def enable_forwarding(netns: str) -> None:
    """Routers forward: a new namespace does not. Set on the host as on a production router,
    not by FRR's `ip forwarding`, which FRR never prints back (see frr/base.j2)."""
    script = " && ".join(f"echo 1 > /proc/sys/net/{key}" for key in FORWARDING_SYSCTLS)
    run([tool("ip"), "netns", "exec", netns, "sh", "-c", script])
