"""NAPALM driver for Linux routers running FRR (``napalm.get_network_driver("frr")``).

What a router's configuration is
    A Linux + FRR router is configured in two places: the kernel holds the links a service
    needs (the bridge and VXLAN tunnel of an Ethernet circuit, a VLAN sub-interface), FRR
    holds the routing. The driver treats both as one *configuration document*::

        ! section: kernel
        link br100 type bridge
        link vx100 type vxlan id 100 local 192.0.2.1 remote 192.0.2.2 nolearning master br100
        port eth3 master br100
        ! section: frr
        frr version 8.4.4
        ...

    A text without markers is FRR configuration only, so a plain ``frr.conf`` is a valid
    candidate. The kernel section is a declarative intended state, one object per line (see
    :mod:`.kernel`); the driver manages links of kind bridge, vlan and vxlan and the master
    of physical ports, and nothing else. A section absent from a candidate is left alone.

The configuration cycle
    ``load_*_candidate`` checks the document (kernel lines with their line numbers,
    references against the router's links, FRR syntax with ``vtysh -C``) and refuses it
    with MergeConfigException / ReplaceConfigException before anything changes.
    ``compare_config`` shows the kernel line diff and the lines frr-reload would delete and
    add. ``commit_config`` snapshots the running document, applies the kernel difference
    with one ``ip -batch`` then FRR (``frr-reload.py --reload`` for a replace, ``vtysh -f``
    for a merge), checks that the router now runs the candidate (FRR's tools exit 0 on some
    of its refusals), restores the snapshot on failure, and saves startup (``write memory``
    and ``kernel.conf``). With ``revert_in`` a timer script is armed on the router before
    anything changes, so that a change that cuts the management session still comes
    undone; nothing is saved unless ``confirm_commit`` comes first. ``rollback`` applies the
    snapshot of the pending commit, or of the last commit that succeeded, through the same
    path. See :mod:`.session`.

Reaching the router
    ``transport="ssh"`` (production): paramiko exec channels, one command each, strict host
    key checking. ``transport="netns"`` (the lab): ``ip netns exec NETNS [nsenter --uts=F]``
    on this machine. Only stock tools run on the router (iproute2, vtysh, frr-reload.py,
    lldpcli, coreutils): nothing of ours is installed there.

Modules: ``transport`` (how commands run), ``commands`` (which commands), ``parsers``
(outputs → NAPALM payloads, pure), ``kernel`` (the kernel section: parse, read, diff, plan),
``document`` (sections), ``frrconfig`` (secrets, vtysh errors, frr-reload output),
``session`` (the configuration cycle), ``revert`` (the timer script), ``driver``.
"""

from gigalis_nms.devices.frr.driver import FrrDriver

__all__ = ["FrrDriver"]
