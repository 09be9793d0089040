"""The timer that undoes an unconfirmed commit, written as a shell script for the router.

A commit with ``revert_in`` must come undone even if the management session that made it is
lost, which is the very case it protects against (a change that cut the route to the NMS).
So the timer runs on the router, detached from the session, using only tools every router
has: sh, sleep, setsid, ip and FRR's frr-reload.py; and it is armed before the change is
applied, with every file it needs already written, so that nothing after the change has to
reach the router for it to come back.
"""

from __future__ import annotations

from collections.abc import Iterable
from shlex import quote

from gigalis_nms.devices.frr import commands
from gigalis_nms.devices.frr.router import StateFiles


def render_revert_script(
    files: StateFiles,
    pathspace: str | None,
    delay: int,
    forget: Iterable[str] = (),
    *,
    filters: bool = False,
) -> str:
    """``sh revert.sh arm`` starts the timer in its own session and returns once it has
    written its pid; a confirmation renames the pending marker away and kills that pid. The
    delay counts from then: before the change is applied. ``forget`` names the interface
    stanzas the commit adds, which frr-reload leaves behind empty once their links are gone
    (see ``session.ConfigSession._forget``). ``filters``: the kernel's way back also has tc
    batches around its ip batch (emulated VLAN links, see ``vlan_emulation``)."""
    reload_argv = commands.frr_reload(pathspace, files.before_commit_frr, apply=True)
    startup = commands.startup_config_path(pathspace)
    forget_lines = "".join(
        f"    {_shell(commands.vtysh_forget_interface(pathspace, stanza))} || true\n"
        for stanza in sorted(forget)
    )
    q = {
        "pending": quote(files.pending),
        "claimed": quote(files.reverting),
        "pid": quote(files.revert_pid),
        "log": quote(files.revert_log),
        "batch": quote(files.revert_batch),
        "backup": quote(files.startup_before_commit),
        "startup": quote(startup),
    }
    kernel = f"""    if [ -s {q["batch"]} ]; then
        ip -force -batch {q["batch"]}
    fi
"""
    if filters:
        before, after = quote(files.revert_filters_before), quote(files.revert_filters_after)
        kernel = (
            f"    if [ -s {before} ]; then\n        tc -force -batch {before}\n    fi\n"
            f"{kernel}"
            f"    if [ -s {after} ]; then\n        tc -force -batch {after}\n    fi\n"
        )
    return f"""#!/bin/sh
# Written by the Gigalis NMS FRR driver for one commit. If that commit is not confirmed
# within {delay} seconds, put back the configuration the router ran before it.
set -u
umask 077  # the log and the pid file sit with the snapshots, which hold FRR's secrets
case "${{1:-}}" in
arm)
    rm -f {q["pid"]}
    setsid sh "$0" wait </dev/null >>{q["log"]} 2>&1 &
    # Return only once the timer has written its pid, so that a confirmation can stop it.
    tries=0
    while [ ! -s {q["pid"]} ] && [ "$tries" -lt 100 ]; do
        sleep 0.1
        tries=$((tries + 1))
    done
    [ -s {q["pid"]} ]
    ;;
wait)
    echo $$ >{q["pid"]}
    trap 'kill "$sleeper" 2>/dev/null; exit 0' TERM
    sleep {delay} &
    sleeper=$!
    wait "$sleeper"
    # Claim the commit by renaming its marker: a rename is atomic, so either this timer or a
    # confirmation wins, never both. Once reverting, a late TERM must not stop half-way.
    mv {q["pending"]} {q["claimed"]} 2>/dev/null || exit 0
    trap '' TERM
    echo "$(date -Is) commit not confirmed within {delay} s: reverting"
    {_shell(reload_argv)}
{kernel}{forget_lines}    # frr-reload ran "write" (for any file but /etc/frr/frr.conf, with or
    # without --overwrite). The snapshot is what ran, not what was saved: put startup back.
    if [ -e {q["backup"]} ]; then
        cp {q["backup"]} {q["startup"]}
    fi
    rm -f {q["claimed"]} {q["pid"]}
    echo "$(date -Is) reverted"
    ;;
*)
    echo "usage: $0 arm" >&2
    exit 2
    ;;
esac
"""


def _shell(argv: list[str]) -> str:
    return " ".join(quote(word) for word in argv)
