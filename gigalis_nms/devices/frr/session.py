"""Load, compare, commit, confirm and roll back a router's configuration document.

The cycle, in the order a commit runs it:

1. snapshot: the running document (kernel section + FRR's running configuration) is saved
   in the state folder, with the ``ip`` batch that would undo the kernel change;
2. kernel: the difference between intended and actual links runs as one ``ip -batch``;
3. FRR: a replace runs ``frr-reload.py --reload``, a merge ``vtysh -f``;
4. on any failure both halves are put back from the snapshot and CommitError says why;
5. startup: ``write memory`` and the kernel section saved as ``kernel.conf`` — or, with
   ``revert_in``, nothing saved and a timer armed on the router instead.

Everything runs with stock tools on the router, so the cycle works the same over SSH.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from napalm.base.exceptions import (
    CommandErrorException,
    CommitError,
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
    interface_stanzas,
    renumber_vtysh_errors,
)
from gigalis_nms.devices.frr.kernel import (
    KernelObjects,
    KernelSectionError,
    KernelState,
    check_references,
    diff_kernel_sections,
    expected_objects,
    parse_kernel_section,
    parse_kernel_state,
    plan_kernel_changes,
    render_batch,
    render_kernel_section,
)
from gigalis_nms.devices.frr.parsers import parse_links, strip_running_config_header
from gigalis_nms.devices.frr.revert import render_revert_script
from gigalis_nms.devices.frr.router import Router, StateFiles

log = logging.getLogger(__name__)


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
    forward: list[str]  # the ip batch of the change
    frr_file: str | None = None  # the FRR configuration to apply, if any
    added: set[str] = field(default_factory=set)  # interface stanzas the commit adds
    gone: set[str] = field(default_factory=set)  # and those a replace drops


class ApplyFailed(Exception):
    """One step of applying a configuration failed; the message says which and why."""


class ConfigSession:
    def __init__(self, router: Router, files: StateFiles) -> None:
        self.router = router
        self.files = files
        self.candidate: Candidate | None = None

    @property
    def _name(self) -> str:
        return self.router.name

    # --- reading ----------------------------------------------------------------------------

    def kernel_state(self) -> KernelState:
        text = self.router.check_kernel_dump(commands.IP_LINKS)
        try:
            return parse_kernel_state(parse_links(text))
        except (ValueError, KeyError) as error:
            raise CommandErrorException(f"{self._name}: ip link: {error}") from error

    def running_frr(self) -> str:
        return strip_running_config_header(self.router.vtysh("show running-config"))

    def running_document(self) -> str:
        kernel = render_kernel_section(self.kernel_state().objects)
        return render_document(kernel, self.running_frr())

    def startup_document(self) -> str:
        kernel = self.router.read_file(self.files.kernel_startup)
        frr = self.router.read_file(commands.startup_config_path(self.router.pathspace))
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
        kernel = parse_kernel_section(document.kernel.text, document.kernel.first_line)
        check_references(kernel, self.kernel_state(), replace=replace)
        return kernel

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
        try:
            self._apply(plan.forward, plan.frr_file, replace=candidate.replace, forget=plan.gone)
        except ApplyFailed as failure:
            restored = self._restore(plan.before, forget=plan.added)
            raise CommitError(f"{self._name}: commit failed: {failure}; {restored}") from failure
        mode = "replace" if candidate.replace else "merge"
        log.info("%s: committed (%s): %s", self._name, mode, message)
        if revert_in is not None:
            self._arm_revert_timer(message, revert_in, forget=plan.added)
        else:
            self._save_startup()
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
        """Snapshot the router, and work out both ways: the change and its undoing."""
        state, running_frr = self._save_snapshot()
        after = state.objects
        if candidate.kernel is not None:
            after = expected_objects(state.objects, candidate.kernel, replace=candidate.replace)
        undo = plan_kernel_changes(after, state.objects)
        self.router.write_file(self.files.revert_batch, render_batch(undo))
        plan = CommitPlan(state.objects, plan_kernel_changes(state.objects, after))
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

    def _save_snapshot(self) -> tuple[KernelState, str]:
        # Shortcoming: nothing serialises two sessions committing to one router; the folder
        # holds one snapshot, so the second commit's rollback would keep the first's change.
        self.router.make_state_dir(self.files)
        state = self.kernel_state()
        frr = self.running_frr()
        kernel = render_kernel_section(state.objects)
        self.router.write_file(self.files.rollback, render_document(kernel, frr))
        self.router.write_file(self.files.rollback_frr, frr)
        # frr-reload --reload saves what it applies; this copy keeps the startup
        # configuration as it was when a commit is not to be saved (revert_in, failure).
        startup = commands.startup_config_path(self.router.pathspace)
        if self.router.run(["test", "-e", startup]).ok:
            self.router.check(["cp", "-p", startup, self.files.startup_before_commit])
        else:
            self.router.check(["rm", "-f", self.files.startup_before_commit])
        return state, frr

    def _apply(
        self, batch: list[str], frr_file: str | None, *, replace: bool, forget: set[str]
    ) -> None:
        """Kernel first (FRR's configuration may name the new links), then FRR, then the
        interface stanzas the target no longer has (``forget``)."""
        if batch:
            result = self.router.run(commands.IP_BATCH_FROM_STDIN, stdin=render_batch(batch))
            if not result.ok:
                raise ApplyFailed(f"kernel: ip -batch: {result.output}")
        if frr_file is not None:
            pathspace = self.router.pathspace
            argv = (
                commands.frr_reload(pathspace, frr_file, apply=True)
                if replace
                else commands.vtysh_apply_file(pathspace, frr_file)
            )
            result = self.router.run(argv)
            self.router.raise_if_frr_down(result)
            if not result.ok:
                raise ApplyFailed(f"FRR: {result.output or f'exit {result.exit_code}'}")
        self._forget(forget)

    def _forget(self, stanzas: set[str]) -> None:
        """frr-reload never sends ``no interface`` (FRR refuses it for a live link), so a
        replace that drops a link's stanza leaves zebra keeping an empty one for the link
        the kernel just deleted. Once the link is gone, ``no interface`` is accepted; for a
        link still there it is refused, harmlessly."""
        for stanza in sorted(stanzas):
            self.router.run(commands.vtysh_forget_interface(self.router.pathspace, stanza))

    def _restore(self, objects: KernelObjects, *, forget: set[str]) -> str:
        """Put the snapshot back after a failed commit; says how that went."""
        problems = []
        result = self.router.run(
            commands.frr_reload(self.router.pathspace, self.files.rollback_frr, apply=True)
        )
        if not result.ok:
            problems.append(f"FRR: {result.output}")
        batch = plan_kernel_changes(self.kernel_state().objects, objects)
        if batch:
            # -force: undo as much as possible even if one line fails.
            result = self.router.run(["ip", "-force", "-batch", "-"], stdin=render_batch(batch))
            if not result.ok:
                problems.append(f"kernel: {result.output}")
        self._forget(forget)
        self._restore_startup()
        if problems:
            return f"restoring the previous configuration failed too: {'; '.join(problems)}"
        return "the previous configuration was restored"

    def _restore_startup(self) -> None:
        startup = commands.startup_config_path(self.router.pathspace)
        if self.router.run(["test", "-e", self.files.startup_before_commit]).ok:
            self.router.check(["cp", self.files.startup_before_commit, startup])

    def _save_startup(self) -> None:
        # Shortcoming: nothing on the router applies kernel.conf at boot; until a boot hook
        # exists, the router's own network configuration must create the same links.
        self.router.vtysh("write memory")
        kernel = render_kernel_section(self.kernel_state().objects)
        self.router.write_file(self.files.kernel_startup, kernel)

    def _arm_revert_timer(self, message: str, revert_in: int, *, forget: set[str]) -> None:
        self._restore_startup()
        now = datetime.now(UTC).isoformat(timespec="seconds")
        self.router.write_file(
            self.files.pending, f"committed {now}, reverts in {revert_in} s: {message}\n"
        )
        script = render_revert_script(self.files, self.router.pathspace, revert_in, forget)
        self.router.write_file(self.files.revert_script, script)
        self.router.check(["sh", self.files.revert_script, "arm"])
        log.info("%s: commit reverts in %s s unless confirmed", self._name, revert_in)

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
        self._save_startup()
        log.info("%s: commit confirmed", self._name)

    # --- rollback ---------------------------------------------------------------------------

    def rollback(self) -> None:
        """Back to the document saved before the last commit, through the same apply path."""
        snapshot = self.router.read_file(self.files.rollback)
        if snapshot is None:
            raise CommitError(
                f"{self._name}: nothing to roll back to: no commit was made through this driver"
                f" ({self.files.rollback} does not exist)"
            )
        was_pending = self.has_pending() and self._claim_pending()
        document = parse_document(snapshot)
        objects = parse_kernel_section(document.kernel.text) if document.kernel else {}
        frr_file, gone_stanzas = None, set[str]()
        if document.frr is not None:
            frr_file = self.files.rollback_frr
            self.router.write_file(frr_file, document.frr.text)
            running = interface_stanzas(self.running_frr())
            gone_stanzas = running - interface_stanzas(document.frr.text)
        batch = plan_kernel_changes(self.kernel_state().objects, objects)
        try:
            self._apply(batch, frr_file, replace=True, forget=gone_stanzas)
        except ApplyFailed as failure:
            raise CommitError(f"{self._name}: rollback failed: {failure}") from failure
        if was_pending:
            self._restore_startup()
        else:
            self._save_startup()
        log.info("%s: rolled back to the configuration before the last commit", self._name)
