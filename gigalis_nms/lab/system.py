"""The lab's few dealings with the operating system: running commands, finding the tools,
namespaces, mounts and the processes the lab started.

Commands are always argument lists, never a shell line: names come from the inventory, and
a hostname is not allowed to become a shell command.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import pwd
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from gigalis_nms.errors import FieldProblem
from gigalis_nms.lab.errors import LabCommandFailed, LabUnavailable
from gigalis_nms.lab.state import StartedProcess

log = logging.getLogger(__name__)

FRRINIT = "/usr/lib/frr/frrinit.sh"
FRR_CONFIG_ROOT = Path("/etc/frr")
FRR_RUN_ROOT = Path("/var/run/frr")
TUN_DEVICE = Path("/dev/net/tun")
# System folders: sshd's privilege-separation chroot and lldpd's chroot, shared by every
# sshd and lldpd on the machine.
SSHD_PRIVSEP_DIR = Path("/run/sshd")
LLDPD_CHROOT = Path("/run/lldpd")
SYSTEM_DIR_USERS = {str(SSHD_PRIVSEP_DIR): "sshd", str(LLDPD_CHROOT): "lldpd"}
# Held by every `lab up` and `lab down` while it runs. An empty file, left in place: removing
# a lock file lets two processes lock two different files.
OPERATION_LOCK = Path("/run/lock/gigalis-lab.lock")
SYSTEM_PATH = ("/usr/sbin", "/sbin", "/usr/bin", "/bin")
COMMAND_TIMEOUT = 60.0


@dataclass(frozen=True)
class Tool:
    command: str
    package: str  # Debian package that brings it


TOOLS = (
    Tool("ip", "iproute2"),
    Tool("nsenter", "util-linux"),
    Tool("unshare", "util-linux"),
    Tool("mount", "mount"),
    Tool("sh", "dash"),
    Tool("umount", "mount"),
    Tool("hostname", "hostname"),
    Tool("vtysh", "frr"),
    Tool("sshd", "openssh-server"),
    Tool("ssh-keygen", "openssh-client"),
    Tool("lldpd", "lldpd"),
    Tool("lldpcli", "lldpd"),
)
SERVICE_ACCOUNTS = (("frr", "frr"), ("_lldpd", "lldpd"), ("sshd", "openssh-server"))


def _which(command: str) -> str | None:
    """/usr/sbin is searched even when PATH lacks it, as it does for many users but root."""
    return shutil.which(command, path=os.pathsep.join([os.environ.get("PATH", ""), *SYSTEM_PATH]))


def tool(command: str) -> str:
    """Absolute path of a system command."""
    found = _which(command)
    if found is None:
        raise LabUnavailable.of("packages", f"command {command!r} not found")
    return found


def missing_prerequisites() -> list[FieldProblem]:
    """Everything this machine lacks to run the lab, each with the package that brings it."""
    problems = []
    if os.geteuid() != 0:
        problems.append(FieldProblem("user", "the lab needs root (namespaces, mounts, FRR)"))
    for needed in TOOLS:
        if _which(needed.command) is None:
            problems.append(
                FieldProblem("packages", f"{needed.command} missing: install {needed.package}")
            )
    if not os.access(FRRINIT, os.X_OK):
        problems.append(FieldProblem("packages", f"{FRRINIT} missing: install frr"))
    for account, package in SERVICE_ACCOUNTS:
        try:
            pwd.getpwnam(account)
        except KeyError:
            problems.append(FieldProblem("packages", f"user {account} missing: install {package}"))
    if not TUN_DEVICE.exists():
        problems.append(FieldProblem("kernel", f"{TUN_DEVICE} missing: spare ports are TAPs"))
    return problems


def require_root() -> None:
    if os.geteuid() != 0:
        raise LabUnavailable.of("user", "the lab needs root (namespaces, mounts, FRR)")


def require_prerequisites() -> None:
    problems = missing_prerequisites()
    if problems:
        raise LabUnavailable(f"this machine cannot run the lab: {problems[0]}", problems)


@contextmanager
def one_operation_at_a_time() -> Iterator[None]:
    """Wait for any other `lab up` or `lab down` on this machine to finish: run at once, each
    would remove what the other creates and orphan processes in deleted namespaces."""
    OPERATION_LOCK.parent.mkdir(parents=True, exist_ok=True)
    with OPERATION_LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def run(
    args: Sequence[str],
    *,
    input_text: str | None = None,
    check: bool = True,
    timeout: float = COMMAND_TIMEOUT,
) -> subprocess.CompletedProcess[str]:
    """Run a command and return its output; a failure names the command and its stderr."""
    try:
        result = subprocess.run(
            list(args),
            input=input_text,
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        raise LabCommandFailed.of(
            "command", f"{_shown(args)}: no answer in {timeout:g} s"
        ) from None
    if check and result.returncode != 0:
        error = (result.stderr or result.stdout).strip().splitlines()
        # `ip -batch` ends with "Command failed -:N" after the line that says why.
        reason = "; ".join(error[-2:]) if error else f"exit status {result.returncode}"
        raise LabCommandFailed.of("command", f"{_shown(args)}: {reason}")
    return result


def _shown(args: Sequence[str]) -> str:
    return " ".join(args)


def ip_batch(commands: Sequence[str], netns: str | None = None, *, force: bool = False) -> None:
    """Many ``ip`` commands in one process (``ip -batch``): one fork instead of hundreds.
    ``force`` carries on past failing lines, for teardown."""
    if not commands:
        return
    args = [tool("ip")]
    if netns:
        args += ["-n", netns]
    if force:
        args.append("-force")
    run([*args, "-batch", "-"], input_text="\n".join(commands) + "\n", check=not force)


def in_router(netns: str, uts_file: str, command: Sequence[str]) -> list[str]:
    """``command`` as run inside a router: its network namespace (``ip netns exec`` also
    mounts that namespace's /sys) and its UTS namespace, so it sees the router's hostname."""
    return [tool("ip"), "netns", "exec", netns, tool("nsenter"), f"--uts={uts_file}", *command]


def network_namespaces() -> list[str]:
    result = run([tool("ip"), "-json", "netns", "list"])
    return [entry["name"] for entry in json.loads(result.stdout or "[]")]


def root_links() -> list[str]:
    result = run([tool("ip"), "-json", "link", "show"])
    return [entry["ifname"] for entry in json.loads(result.stdout or "[]")]


def namespace_pids(netns: str) -> list[int]:
    result = run([tool("ip"), "netns", "pids", netns], check=False)
    return [int(word) for word in result.stdout.split()]


def mounts_under(folder: Path) -> list[Path]:
    """Mount points at or below ``folder``, deepest first (the order to unmount them)."""
    prefix = str(folder)
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].replace("\\040", " ")
        if point == prefix or point.startswith(prefix + "/"):
            points.append(Path(point))
    return sorted(set(points), key=lambda point: len(point.parts), reverse=True)


def unmount(point: Path) -> None:
    if run([tool("umount"), str(point)], check=False).returncode != 0:
        run([tool("umount"), "--lazy", str(point)])


# --- processes the lab started ----------------------------------------------------------------


def start_time_of(pid: int) -> int | None:
    """The kernel's start tick of ``pid`` (field 22 of /proc/<pid>/stat), None if it is gone
    or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its last ')'.
    fields = stat[stat.rindex(")") + 2 :].split()
    state, start_time = fields[0], fields[19]
    return None if state in {"Z", "X"} else int(start_time)


def is_running(process: StartedProcess) -> bool:
    return start_time_of(process.pid) == process.start_time


def stop_processes(processes: Sequence[tuple[int, int | None]], timeout: float = 3.0) -> list[int]:
    """Stop processes by (pid, start time): TERM to all, then KILL to those still running
    after ``timeout``. With a start time, a pid the kernel has since given to another
    process is left alone; None accepts whatever runs under that pid. Returns the pids
    that were running."""
    running = {}
    for pid, start_time in processes:
        current = start_time_of(pid)
        if current is not None and start_time in (None, current):
            running[pid] = current
        _reap(pid)
    for pid in running:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    remaining = dict(running)
    while True:
        for pid in list(remaining):
            _reap(pid)
            if start_time_of(pid) != remaining[pid]:
                del remaining[pid]
        if not remaining:
            return list(running)
        if time.monotonic() > deadline:
            log.warning("pids %s did not stop on SIGTERM; killing them", sorted(remaining))
            for pid in remaining:
                _signal(pid, signal.SIGKILL)
            deadline = float("inf")
        time.sleep(0.05)


def _signal(pid: int, number: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):  # it may have ended on its own meanwhile
        os.kill(pid, number)


def start_daemon(role: str, router: str, args: Sequence[str], log_file: Path) -> StartedProcess:
    """Start a daemon that stays in the foreground, in a session of its own (a Ctrl-C at the
    terminal that ran ``lab up`` does not reach it), its output appended to ``log_file``."""
    with log_file.open("ab") as output:
        child = subprocess.Popen(
            list(args),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    start_time = start_time_of(child.pid)
    if start_time is None:
        child.wait()
        raise LabCommandFailed.of("command", f"{_shown(args)}: exited at once; see {log_file}")
    # Popen would warn when garbage-collected while its child still runs; the lab, not this
    # object, owns the process from now on, and stops it by pid.
    child.returncode = 0
    return StartedProcess(role, router, child.pid, start_time)


def _reap(pid: int) -> None:
    """Collect the exit status of our own child, so that it does not linger as a zombie."""
    with contextlib.suppress(ChildProcessError):  # not our child: its parent collects it
        os.waitpid(pid, os.WNOHANG)


def processes_running(executable: str) -> list[int]:
    """Pids of every process whose program is ``executable``, whoever started them: used
    only to decide whether a shared system folder is still needed, never to stop anything."""
    program = os.path.realpath(executable)
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.path.realpath(entry / "exe") == program:
                pids.append(int(entry.name))
        except OSError:
            continue
    return pids
