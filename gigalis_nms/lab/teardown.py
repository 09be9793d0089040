"""``lab down``: remove everything a lab made, whether its build finished, failed or was
interrupted, and report what was removed.

What to remove comes from two sources: the state file (the processes the lab started, by
pid, and the namespaces it planned) and a search by the lab's prefix (``gl-`` namespaces
and FRR pathspaces, the gl-mgmt bridge, the runtime folder), which finds what an
interrupted build created before it could record it. Processes are only ever stopped by
pid: the ones the lab recorded, FRR's through its own pid files, and whatever still runs
inside one of the lab's own namespaces.
"""

from __future__ import annotations

import json
import logging
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from gigalis_nms.lab.frr import pathspace_folders, stop_frr
from gigalis_nms.lab.layout import RuntimeLayout
from gigalis_nms.lab.names import LAB_PREFIX, MANAGEMENT_BRIDGE, MANAGEMENT_VETH_PREFIX
from gigalis_nms.lab.state import DEFAULT_RUNTIME_DIR, LabRecord, read_record
from gigalis_nms.lab.system import (
    FRR_RUN_ROOT,
    SYSTEM_DIR_USERS,
    ip_batch,
    mounts_under,
    namespace_pids,
    network_namespaces,
    one_operation_at_a_time,
    processes_running,
    root_links,
    start_time_of,
    stop_processes,
    tool,
    unmount,
)

log = logging.getLogger(__name__)


@dataclass
class Teardown:
    """What ``lab down`` found and removed."""

    processes: list[str] = field(default_factory=list)
    frr_instances: list[str] = field(default_factory=list)
    namespaces: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    folders: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def found_nothing(self) -> bool:
        return not (
            self.processes or self.frr_instances or self.namespaces or self.links or self.folders
        )


def lab_down(runtime_dir: Path = DEFAULT_RUNTIME_DIR) -> Teardown:
    """Take the lab down; safe to run when nothing is up, and to run twice."""
    with one_operation_at_a_time():
        return take_down(runtime_dir)


def take_down(runtime_dir: Path) -> Teardown:
    """``lab_down`` for a caller that already holds the operation lock."""
    report = Teardown()
    record = _readable_record(runtime_dir, report)
    _stop_recorded_processes(record, report)
    namespaces = lab_namespaces(record)
    _stop_frr_instances(namespaces, report)
    _stop_processes_inside(namespaces, report)
    _delete_namespaces(namespaces, report)
    _delete_root_links(report)
    _remove_frr_folders(report)
    _remove_runtime_dir(runtime_dir, report)
    _remove_system_dirs(record, report)
    log.info("lab down: %s", report)
    return report


def find_leftovers(runtime_dir: Path = DEFAULT_RUNTIME_DIR) -> list[str]:
    """What is left on this machine of a lab, by prefix: ``lab up`` refuses to build over it."""
    leftovers = [name for name in network_namespaces() if name.startswith(LAB_PREFIX)]
    leftovers += [name for name in root_links() if _is_lab_link(name)]
    leftovers += [str(folder) for folder in pathspace_folders(LAB_PREFIX)]
    leftovers += [str(entry) for entry in RuntimeLayout(runtime_dir).lab_entries()]
    return leftovers


def describe_leftovers(leftovers: list[str]) -> str:
    """A short mention of what is left of a lab, for messages: the count and a few names."""
    shown = ", ".join(leftovers[:3])
    more = f" and {len(leftovers) - 3} more" if len(leftovers) > 3 else ""
    return f"{shown}{more}"


def lab_namespaces(record: LabRecord | None) -> list[str]:
    planned = []
    if record is not None:
        planned = [router.netns for router in record.state.routers]
        planned += [cpe.namespace for cpe in record.state.cpes]
    present = [name for name in network_namespaces() if name.startswith(LAB_PREFIX)]
    return sorted(set(planned) | set(present))


def _readable_record(runtime_dir: Path, report: Teardown) -> LabRecord | None:
    try:
        return read_record(runtime_dir)
    except (ValueError, KeyError, TypeError, json.JSONDecodeError) as error:
        report.problems.append(f"{runtime_dir}/state.json unreadable ({error}): searched by prefix")
        return None


def _stop_recorded_processes(record: LabRecord | None, report: Teardown) -> None:
    processes = record.processes if record else ()
    stopped = set(stop_processes([(p.pid, p.start_time) for p in processes]))
    report.processes += [
        f"{p.role} of {p.router} (pid {p.pid})" for p in processes if p.pid in stopped
    ]


def _stop_frr_instances(namespaces: list[str], report: Teardown) -> None:
    pathspaces = sorted(set(namespaces) | {folder.name for folder in pathspace_folders(LAB_PREFIX)})
    running = [pathspace for pathspace in pathspaces if _frr_runs(pathspace)]
    # All at once: each instance takes seconds to stop, mostly waiting for its daemons.
    with ThreadPoolExecutor(max_workers=max(1, len(running))) as pool:
        stopped = list(pool.map(stop_frr, running))
    report.frr_instances += running
    report.problems += [
        f"FRR {name} did not stop cleanly"
        for name, done in zip(running, stopped, strict=True)
        if not done
    ]


def _frr_runs(pathspace: str) -> bool:
    """Whether any daemon of the instance still runs, by FRR's pid files."""
    for pid_file in (FRR_RUN_ROOT / pathspace).glob("*.pid"):
        try:
            if start_time_of(int(pid_file.read_text().strip())) is not None:
                return True
        except (OSError, ValueError):
            continue
    return False


def _stop_processes_inside(namespaces: list[str], report: Teardown) -> None:
    """Whatever still runs in a lab namespace was started by the lab (a daemon whose pid an
    interrupted build never recorded, an FRR daemon whose pid file was lost)."""
    present = set(network_namespaces())
    found = {
        pid: netns for netns in namespaces if netns in present for pid in namespace_pids(netns)
    }
    for pid in stop_processes([(pid, None) for pid in found]):
        report.processes.append(f"pid {pid} left running in {found[pid]}")


def _delete_namespaces(namespaces: list[str], report: Teardown) -> None:
    existing = set(network_namespaces())
    present = [name for name in namespaces if name in existing]
    ip_batch([f"netns del {name}" for name in present], force=True)
    report.namespaces += present
    remaining = set(present) & set(network_namespaces())
    report.problems += [f"namespace {name} could not be deleted" for name in sorted(remaining)]


def _is_lab_link(name: str) -> bool:
    return name == MANAGEMENT_BRIDGE or name.startswith(MANAGEMENT_VETH_PREFIX)


def _delete_root_links(report: Teardown) -> None:
    """The bridge and the root ends of the management veths. Deleting a namespace deletes
    the veths with an end inside it, but the kernel does it in the background: some may
    still be listed here."""
    links = [name for name in root_links() if _is_lab_link(name)]
    ip_batch([f"link del {name}" for name in links], force=True)
    report.links += links


def _remove_frr_folders(report: Teardown) -> None:
    for folder in pathspace_folders(LAB_PREFIX):
        shutil.rmtree(folder, ignore_errors=True)
        report.folders.append(str(folder))


def _remove_runtime_dir(runtime_dir: Path, report: Teardown) -> None:
    """Unmount the UTS namespace files and their private bind mount, remove the lab's own
    entries, then the folder if nothing else is in it."""
    entries = RuntimeLayout(runtime_dir).lab_entries()
    if not entries:
        return
    for point in mounts_under(runtime_dir):
        unmount(point)
    for entry in entries:
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        report.folders.append(str(entry))
    left = [entry for entry in entries if entry.exists()]
    report.problems += [f"{entry} could not be removed" for entry in left]
    try:
        runtime_dir.rmdir()
    except OSError:
        log.info("%s left in place: it holds files the lab did not make", runtime_dir)


def _remove_system_dirs(record: LabRecord | None, report: Teardown) -> None:
    """/run/sshd and /run/lldpd, if this lab made them and no sshd or lldpd on the machine
    (another lab's, the system's) still needs them."""
    for folder in record.created_system_dirs if record else ():
        program = SYSTEM_DIR_USERS.get(folder)
        if program is None or not Path(folder).exists():
            continue
        if processes_running(tool(program)):
            log.info("%s left in place: another %s still runs", folder, program)
            continue
        shutil.rmtree(folder, ignore_errors=True)
        report.folders.append(folder)
