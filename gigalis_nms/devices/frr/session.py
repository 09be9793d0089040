"""Load, compare, commit, confirm and roll back a router's configuration document.

The cycle, in the order a commit runs it:

1. prepare: the running document (kernel section + FRR's running configuration) is saved in
   the state folder as the commit's snapshot, with the ``ip`` batch that would undo the
   kernel change, a copy of the startup configuration and the candidate;
2. with ``revert_in``: the timer is armed on the router *before anything changes*, so that
   a change that cuts the management session still comes undone;
3. kernel: the difference between intended and actual links runs as one ``ip -batch``;
4. FRR: a replace runs ``frr-reload.py --reload``, a merge ``vtysh -f``;
5. check: the links must now be the intended ones and FRR's diff between the candidate and
   its running configuration empty (both tools exit 0 on some of FRR's refusals);
6. on any failure both halves are put back from the snapshot and CommitError says why;
7. startup: ``write memory`` and the kernel section saved as ``kernel.conf``, and the
   snapshot kept for ``rollback`` — or, with ``revert_in``, nothing until confirmation.

Everything runs with stock tools on the router, so the cycle works the same over SSH.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from napalm.base.exceptions import (
    CommandErrorException,
    CommandTimeoutException,
    CommitError,
    ConnectionClosedException,
    MergeConfigException,
    NapalmException,
    ReplaceConfigException,
)

from gigalis_nms.devices.frr import commands
from gigalis_nms.devices.frr.document import (
    ConfigDocument,
    DocumentError,
    Section,
    parse_document,
    render_document,
)
from gigalis_nms.devices.frr.frrconfig import (
    clean_reload_diff,
    frr_rejected,
    interface_stanzas,
    lines_still_to_add,
    one_line,
    renumber_vtysh_errors,
)
from gigalis_nms.devices.frr.kernel import (
    KernelObjects,
    KernelSectionError,
    KernelState,
    Port,
    check_references,
    diff_kernel_sections,
    expected_objects,
    parse_kernel_intent,
    parse_kernel_section,
    render_batch,
    render_kernel_section,
    routable_addresses,
)
from gigalis_nms.devices.frr.kernel_access import RouterKernel
from gigalis_nms.devices.frr.options import VlanMode
from gigalis_nms.devices.frr.parsers import parse_links, strip_running_config_header
from gigalis_nms.devices.frr.revert import render_revert_script
from gigalis_nms.devices.frr.router import Router, StateFiles
from gigalis_nms.devices.frr.vlan_emulation import KernelChange, projected_state

log = logging.getLogger(__name__)

# What the transports raise when the router stops answering: after a change, most likely
# because the change cut the management path.
SESSION_LOST = (CommandTimeoutException, ConnectionClosedException)


@dataclass(frozen=True)
class Candidate:
    """A loaded document, checked, waiting for compare or commit."""

    replace: bool
    text: str
    kernel: KernelObjects | None
    frr: Section | None


@dataclass(frozen=True)
class CommitPlan:
    """What a commit will do, worked out before it touches anything."""

    before: KernelObjects  # the managed links as they were: what a failure restores
    after: KernelObjects  # and as they must be once the commit is applied
    forward: KernelChange  # the kernel change: its ip batch, and tc's for emulated VLANs
    undo: KernelChange = field(default_factory=KernelChange)  # what the revert timer runs
    frr_file: str | None = None  # the FRR configuration to apply, if any
    added: set[str] = field(default_factory=set)  # interface stanzas the commit adds
    gone: set[str] = field(default_factory=set)  # and those a replace drops


class ApplyFailed(Exception):
    """One step of applying a configuration failed; the message says which and why."""


class ConfigSession:
    def __init__(self, router: Router, files: StateFiles, vlan_mode: VlanMode = "auto") -> None:
        self.router = router
        self.files = files
        self.kernel = RouterKernel(router, files.directory, vlan_mode)
        self.candidate: Candidate | None = None

    @property
    def _name(self) -> str:
        return self.router.name

    @property
    def _startup(self) -> str:
        return commands.startup_config_path(self.router.pathspace)

    # --- reading ----------------------------------------------------------------------------

    def kernel_state(self) -> KernelState:
        return self.kernel.state()

    def routable_addresses(self) -> dict[str, list[str]]:
        text = self.router.check_kernel_dump(commands.IP_ADDRESSES)
        try:
            return routable_addresses(parse_links(text))
        except (ValueError, KeyError) as error:
            raise CommandErrorException(f"{self._name}: ip addr: {error}") from error

    def running_frr(self) -> str:
        return strip_running_config_header(self.router.vtysh("show running-config"))

    def running_document(self) -> str:
        kernel = render_kernel_section(self.kernel_state().objects)
        return render_document(kernel, self.running_frr())

    def startup_document(self) -> str:
        kernel = self.router.read_file(self.files.kernel_startup)
        frr = self.router.read_file(self._startup)
        return render_document(kernel, frr)

    # --- candidate --------------------------------------------------------------------------

    def load(self, text: str, *, replace: bool) -> None:
        """Check a candidate without changing the router; refused with the line and reason."""
        self.candidate = None
        refused = ReplaceConfigException if replace else MergeConfigException
        try:
            document = parse_document(text)
            kernel = self._checked_kernel(document, replace=replace)
        except (DocumentError, KernelSectionError) as error:
            raise refused(f"{self._name}: candidate refused: {error}") from error
        if document.kernel is None and document.frr is None:
            raise refused(f"{self._name}: candidate refused: it holds no configuration line")
        if document.frr is not None:
            self._check_frr(document.frr, refused)
        self.candidate = Candidate(replace, text, kernel, document.frr)

    def _checked_kernel(self, document: ConfigDocument, *, replace: bool) -> KernelObjects | None:
        if document.kernel is None:
            return None
        intent = parse_kernel_intent(document.kernel.text, document.kernel.first_line)
        ports = any(isinstance(obj, Port) for obj in intent.objects.values())
        addresses = self.routable_addresses() if ports else {}
        check_references(intent, self.kernel_state(), replace=replace, addresses=addresses)
        return intent.objects

    def _check_frr(self, section: Section, refused: type[NapalmException]) -> None:
        # vtysh -C parses against the full command tree without touching a daemon.
        self.router.make_state_dir(self.files)
        self.router.write_file(self.files.candidate_frr, section.text)
        result = self.router.run(
            commands.vtysh_check_file(self.router.pathspace, self.files.candidate_frr)
        )
        if not result.ok:
            reasons = renumber_vtysh_errors(result.output, section.first_line)
            raise refused(f"{self._name}: FRR refuses the candidate: {reasons}")

    def discard(self) -> None:
        self.candidate = None
        self.router.run(["rm", "-f", self.files.candidate_frr, self.files.merged_frr])

    def compare(self) -> str:
        """What a commit would change: for the kernel, the line diff of the running and the
        resulting section; for FRR, the lines frr-reload would delete and add."""
        candidate = self.candidate
        if candidate is None:
            return ""
        parts = []
        if candidate.kernel is not None:
            state = self.kernel_state()
            expected = expected_objects(state.objects, candidate.kernel, replace=candidate.replace)
            running, wanted = render_kernel_section(state.objects), render_kernel_section(expected)
            diff = diff_kernel_sections(running, wanted)
            if diff:
                parts.append(f"! section: kernel\n{diff}")
        if candidate.frr is not None:
            diff = self._frr_diff(candidate)
            if diff:
                parts.append(f"! section: frr\n{diff}")
        return "".join(parts)

    def _frr_diff(self, candidate: Candidate) -> str:
        assert candidate.frr is not None
        self.router.write_file(self.files.candidate_frr, candidate.frr.text)
        target = self.files.candidate_frr
        if not candidate.replace:
            # A merge keeps the running configuration: diff running-plus-candidate against it.
            target = self.files.merged_frr
            self.router.write_file(target, self.running_frr() + candidate.frr.text)
        result = self.router.run(commands.frr_reload(self.router.pathspace, target, apply=False))
        self.router.raise_if_frr_down(result)
        if not result.ok:
            raise CommandErrorException(self.router.failure(result))
        return clean_reload_diff(result.stdout)

    # --- commit -----------------------------------------------------------------------------

    def has_pending(self) -> bool:
        """True from a commit with revert_in until its confirmation, or until its timer has
        finished putting the snapshot back: a commit half reverted is not settled."""
        pending, reverting = self.files.pending, self.files.reverting
        return self.router.run(["test", "-e", pending, "-o", "-e", reverting]).ok

    def commit(self, message: str, revert_in: int | None) -> None:
        candidate = self._committable(revert_in)
        plan = self._prepare(candidate)
        armed_at = None
        if revert_in is not None:
            filters = bool(plan.undo.filters_before or plan.undo.filters_after)
            armed_at = self._arm_revert_timer(message, revert_in, plan.added, filters)
        try:
            first_line = candidate.frr.first_line if candidate.frr else 1
            self._apply(plan, replace=candidate.replace, frr_first_line=first_line)
            self._check_applied(candidate, plan.after)
        except ApplyFailed as failure:
            log.warning("%s: commit failed: %s", self._name, failure)
            outcome = self._undo_failed_commit(plan, revert_in)
            raise CommitError(f"{self._name}: commit failed: {failure}; {outcome}") from failure
        except SESSION_LOST as lost:
            raise self._session_lost(lost, revert_in, armed_at) from lost
        mode = "replace" if candidate.replace else "merge"
        if revert_in is None:
            try:
                self._keep_snapshot_for_rollback()
                self._save_startup()
            except SESSION_LOST as lost:
                raise self._session_lost(lost, None, None) from lost
            log.info("%s: committed (%s): %s", self._name, mode, message)
        else:
            log.info("%s: committed (%s), reverts unless confirmed: %s", self._name, mode, message)
        self.candidate = None

    def _committable(self, revert_in: int | None) -> Candidate:
        if revert_in is not None and revert_in < 1:
            raise CommitError(f"{self._name}: revert_in must be at least 1 second")
        if self.has_pending():
            raise CommitError(
                f"{self._name}: a commit is waiting for confirmation; confirm or roll it back"
                " before committing again"
            )
        if self.candidate is None:
            raise CommitError(f"{self._name}: no candidate loaded; nothing to commit")
        return self.candidate

    def _prepare(self, candidate: Candidate) -> CommitPlan:
        """Write every file the commit, its undoing and its revert timer need, and work out
        both ways: the change and its undoing. Nothing on the router changes yet."""
        state, running_frr = self._save_snapshot()
        after = state.objects
        if candidate.kernel is not None:
            after = expected_objects(state.objects, candidate.kernel, replace=candidate.replace)
        forward = self.kernel.plan(state, after)
        undo = self.kernel.plan(projected_state(state, after, forward), state.objects)
        self._write_revert_kernel(undo)
        plan = CommitPlan(state.objects, after, forward, undo)
        if candidate.frr is None:
            return plan
        self.router.write_file(self.files.candidate_frr, candidate.frr.text)
        running, wanted = interface_stanzas(running_frr), interface_stanzas(candidate.frr.text)
        return dataclasses.replace(
            plan,
            frr_file=self.files.candidate_frr,
            added=wanted - running,
            gone=running - wanted if candidate.replace else set(),
        )

    def _write_revert_kernel(self, undo: KernelChange) -> None:
        """The kernel half of the timer's way back: its ip batch, and for emulated VLAN links
        its tc batches and the eBPF objects they load (the timer runs without a session)."""
        self.router.write_file(self.files.revert_batch, render_batch(undo.links))
        if undo.filters_before or undo.filters_after:
            self.kernel.write_objects([undo])
            self.router.write_file(
                self.files.revert_filters_before, render_batch(undo.filters_before)
            )
            self.router.write_file(
                self.files.revert_filters_after, render_batch(undo.filters_after)
            )

    def _save_snapshot(self) -> tuple[KernelState, str]:
        """The running document as this commit's snapshot. It replaces the rollback snapshot
        only once the commit has succeeded (and been confirmed, with revert_in): a failed
        commit must not change what ``rollback`` goes back to."""
        # Shortcoming: nothing serialises two sessions committing to one router; the folder
        # holds one snapshot, so the second commit's rollback would keep the first's change.
        self.router.make_state_dir(self.files)
        state = self.kernel_state()
        frr = self.running_frr()
        kernel = render_kernel_section(state.objects)
        self.router.write_file(self.files.before_commit, render_document(kernel, frr))
        self.router.write_file(self.files.before_commit_frr, frr)
        self._back_up_startup()
        return state, frr

    def _back_up_startup(self) -> None:
        """The startup configuration as it is, put back after each frr-reload (which saves
        what it applies) and by the revert timer."""
        if self.router.run(["test", "-e", self._startup]).ok:
            self.router.copy_file(self._startup, self.files.startup_before_commit)
        else:
            self.router.check(["rm", "-f", self.files.startup_before_commit])

    def _arm_revert_timer(
        self, message: str, revert_in: int, forget: set[str], filters: bool
    ) -> datetime:
        """Start the timer before the change: once applied, the change may leave no session
        to start it with. Returns when it was armed (this machine's clock). ``filters``: its
        way back has tc batches (emulated VLAN links)."""
        armed_at = datetime.now(UTC)
        now = armed_at.isoformat(timespec="seconds")
        pathspace = self.router.pathspace
        script = render_revert_script(self.files, pathspace, revert_in, forget, filters=filters)
        self.router.write_file(self.files.revert_script, script)
        self.router.write_file(
            self.files.pending, f"armed {now}, reverts in {revert_in} s: {message}\n"
        )
        result = self.router.run(["sh", self.files.revert_script, "arm"])
        if not result.ok:
            self.router.run(["rm", "-f", self.files.pending])
            reason = one_line(result.output) or f"exit {result.exit_code}"
            raise CommitError(
                f"{self._name}: commit not applied: the revert timer did not start: {reason}"
            )
        log.info("%s: revert timer armed: %s s", self._name, revert_in)
        return armed_at

    def _apply(self, plan: CommitPlan, *, replace: bool, frr_first_line: int = 1) -> None:
        """Kernel first (FRR's configuration may name the new links), then FRR, then the
        interface stanzas the target no longer has (``plan.gone``)."""
        if plan.forward:
            problem = self.kernel.apply(plan.forward)
            if problem is not None:
                raise ApplyFailed(f"kernel: {problem}")
        if plan.frr_file is not None:
            pathspace = self.router.pathspace
            argv = (
                commands.frr_reload_keeping_startup(
                    pathspace,
                    plan.frr_file,
                    backup=self.files.startup_before_commit,
                    startup=self._startup,
                )
                if replace
                else commands.vtysh_apply_file(pathspace, plan.frr_file)
            )
            result = self.router.run(argv)
            self.router.raise_if_frr_down(result)
            if not result.ok or frr_rejected(result.output):
                output = (
                    result.output
                    if replace
                    else renumber_vtysh_errors(result.output, frr_first_line)
                )
                raise ApplyFailed(f"FRR: {one_line(output) or f'exit {result.exit_code}'}")
        self._forget(plan.gone)

    def _check_applied(self, candidate: Candidate, after: KernelObjects) -> None:
        """The router must now run the candidate: the links of its kernel section, and an
        empty diff between its FRR section and FRR's running configuration — the diff
        compare_config shows. vtysh -f and frr-reload --reload exit 0 on some of FRR's
        refusals; this check catches those and any other silent difference."""
        if candidate.kernel is not None:
            missing = self.kernel.plan(self.kernel_state(), after)
            if missing:
                raise ApplyFailed(
                    "kernel: the links differ from the intent once applied; still to do: "
                    + "; ".join(missing.lines())
                )
        if candidate.frr is not None:
            diff = self._frr_diff(candidate)
            # Shortcoming: a "no …" line of a merge is not checked, as it never shows in
            # the running configuration; a deletion FRR ignored without a word goes unseen.
            left = diff if candidate.replace else lines_still_to_add(diff)
            if left:
                raise ApplyFailed(
                    "FRR: its running configuration differs from the candidate once applied"
                    " (it refused part of it, or prints it otherwise: write lines as"
                    f" show running-config does): {one_line(left)}"
                )

    def _forget(self, stanzas: set[str]) -> None:
        """frr-reload never sends ``no interface`` (FRR refuses it for a live link), so a
        replace that drops a link's stanza leaves zebra keeping an empty one for the link
        the kernel just deleted. Once the link is gone, ``no interface`` is accepted; for a
        link still there it is refused, harmlessly."""
        for stanza in sorted(stanzas):
            self.router.run(commands.vtysh_forget_interface(self.router.pathspace, stanza))

    def _undo_failed_commit(self, plan: CommitPlan, revert_in: int | None) -> str:
        """Put the snapshot back after a failed commit; says how that went. With revert_in,
        the timer stays armed while restoring, in case the restore loses the session too."""
        try:
            if revert_in is not None and not self._pending_exists():
                return (
                    "its revert timer fired before the commit was checked (applying it, or a"
                    " session it cut, took longer than revert_in) and puts the previous"
                    f" configuration back (see {self.files.revert_log})"
                )
            outcome = self._restore(plan)
            if revert_in is not None and not self._claim_pending():
                outcome += " (its revert timer fired meanwhile, and restores it as well)"
            return outcome
        except SESSION_LOST as lost:
            self.router.transport.close()
            if revert_in is not None:
                return (
                    f"then the session was lost while restoring ({lost}); the revert timer"
                    " puts the previous configuration back"
                )
            return (
                f"then the session was lost while restoring ({lost}); the router may be left"
                " half changed: reconnect and check"
            )

    def _restore(self, plan: CommitPlan) -> str:
        """Both halves back to the snapshot; says how that went."""
        problems = []
        if plan.frr_file is not None:
            result = self.router.run(
                commands.frr_reload_keeping_startup(
                    self.router.pathspace,
                    self.files.before_commit_frr,
                    backup=self.files.startup_before_commit,
                    startup=self._startup,
                )
            )
            if not result.ok or frr_rejected(result.output):
                problems.append(f"FRR: {one_line(result.output) or f'exit {result.exit_code}'}")
        change = self.kernel.plan(self.kernel_state(), plan.before)
        if change:
            # force: undo as much as possible even if one line fails.
            problem = self.kernel.apply(change, force=True)
            if problem is not None:
                problems.append(f"kernel: {problem}")
        self._forget(plan.added)
        if problems:
            return f"restoring the previous configuration failed too: {'; '.join(problems)}"
        return "the previous configuration was restored"

    def _session_lost(
        self, lost: Exception, revert_in: int | None, armed_at: datetime | None
    ) -> CommitError:
        """The router stopped answering once the change was under way. The session is
        closed: a transport that timed out would make every later call wait as long."""
        log.warning("%s: lost the session during a commit: %s", self._name, lost)
        self.router.transport.close()
        if revert_in is not None and armed_at is not None:
            back = armed_at + timedelta(seconds=revert_in)
            return CommitError(
                f"{self._name}: lost the session during the commit ({lost}); the revert timer"
                f" puts the previous configuration back by itself, {revert_in} s after it was"
                f" armed (by {back.isoformat(timespec='seconds')}), unless the commit is"
                " confirmed: reconnect to check"
            )
        return CommitError(
            f"{self._name}: lost the session during the commit ({lost}); the change may be"
            " applied in part and is not saved: reconnect, check, and roll back if needed"
            " (commit with revert_in a change that may cut the management path)"
        )

    def _keep_snapshot_for_rollback(self) -> None:
        self.router.copy_file(self.files.before_commit, self.files.rollback)

    def _save_startup(self) -> None:
        # Shortcoming: nothing on the router applies kernel.conf at boot; until a boot hook
        # exists, the router's own network configuration must create the same links.
        self.router.vtysh("write memory")
        kernel = render_kernel_section(self.kernel_state().objects)
        self.router.write_file(self.files.kernel_startup, kernel)

    def _pending_exists(self) -> bool:
        return self.router.run(["test", "-e", self.files.pending]).ok

    def _claim_pending(self) -> bool:
        """Take the pending commit away from the timer; False when the timer had it first.
        A rename is atomic: exactly one of the timer and the caller wins."""
        claimed = self.router.run(["mv", self.files.pending, f"{self.files.pending}.claimed"]).ok
        pid = self.router.read_file(self.files.revert_pid)
        if claimed and pid and pid.strip().isdigit():
            self.router.run(["kill", pid.strip()])
        self.router.run(["rm", "-f", f"{self.files.pending}.claimed", self.files.revert_pid])
        return claimed

    def confirm(self) -> None:
        if not self._claim_pending():
            raise CommitError(
                f"{self._name}: no commit is waiting for confirmation (it may have been"
                " reverted by its timer already)"
            )
        self._keep_snapshot_for_rollback()
        self._save_startup()
        log.info("%s: commit confirmed", self._name)

    # --- rollback ---------------------------------------------------------------------------

    def rollback(self) -> None:
        """Back to the document the router ran before the last commit, through the same apply
        path: before the pending commit if there is one (which is cancelled), else before the
        last commit that succeeded."""
        if self.router.run(["test", "-e", self.files.reverting]).ok:
            raise CommitError(
                f"{self._name}: the revert timer is putting the previous configuration back"
                " right now; wait until has_pending_commit() is false"
            )
        pending = self._pending_exists()
        path = self.files.before_commit if pending else self.files.rollback
        snapshot = self.router.read_file(path)
        if snapshot is None:
            raise CommitError(
                f"{self._name}: nothing to roll back to: no commit was made through this driver"
                f" ({path} does not exist)"
            )
        if pending and not self._claim_pending():
            raise CommitError(
                f"{self._name}: the revert timer fired while rolling back; it puts the"
                " previous configuration back itself"
            )
        target = self._rollback_target(snapshot)
        try:
            self._apply(target.plan, replace=True)
            self._check_applied(target.candidate, target.plan.after)
        except ApplyFailed as failure:
            raise CommitError(f"{self._name}: rollback failed: {failure}") from failure
        if not pending:
            self._save_startup()
        log.info("%s: rolled back to the configuration before the last commit", self._name)

    def _rollback_target(self, snapshot: str) -> _RollbackTarget:
        """The snapshot as a replace candidate, and the plan that applies it."""
        document = parse_document(snapshot)
        self.router.make_state_dir(self.files)
        self._back_up_startup()
        state = self.kernel_state()
        kernel = parse_kernel_section(document.kernel.text) if document.kernel else None
        after = state.objects if kernel is None else kernel
        plan = CommitPlan(state.objects, after, self.kernel.plan(state, after))
        if document.frr is not None:
            self.router.write_file(self.files.rollback_frr, document.frr.text)
            running = interface_stanzas(self.running_frr())
            gone = running - interface_stanzas(document.frr.text)
            plan = dataclasses.replace(plan, frr_file=self.files.rollback_frr, gone=gone)
        return _RollbackTarget(Candidate(True, snapshot, kernel, document.frr), plan)


@dataclass(frozen=True)
class _RollbackTarget:
    candidate: Candidate
    plan: CommitPlan
