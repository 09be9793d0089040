"""Text handling for FRR's own configuration: secrets, vtysh's errors, frr-reload's diff."""

from __future__ import annotations

import re

REMOVED = "<removed>"

# Each pattern keeps the command and hides the secret that follows it.
_SECRETS = [
    re.compile(pattern, re.MULTILINE)
    for pattern in (
        r"^(\s*(?:enable\s+)?password\s+(?:\d\s+)?)\S+",
        r"^(\s*neighbor\s+\S+\s+password\s+)\S+",
        r"^(\s*(?:area|domain)-password\s+(?:clear|md5)\s+)\S+",
        r"^(\s*isis\s+password\s+(?:clear|md5)\s+)\S+",
        r"^(\s*ip\s+ospf\s+authentication-key\s+)\S+",
        r"^(\s*ip\s+ospf\s+message-digest-key\s+\d+\s+md5\s+)\S+",
        r"^(\s*ipv6\s+ospf6\s+authentication\s+key-id\s+\d+\s+hash-algo\s+\S+\s+key\s+)\S+",
        r"^(\s*ip\s+rip\s+authentication\s+string\s+)\S+",
        r"^(\s*key-string\s+)\S+",
    )
]
_VTYSH_LINE = re.compile(r"\bline (\d+):")
# What FRR prints when it rejects configuration. vtysh -f and frr-reload.py --reload exit 0
# on "% Configuration failed." (a northbound validation error: a YANG "must" condition, an
# IS-IS system ID that would change), so their output has to be read.
_FRR_REJECTS = re.compile(
    r"^(?:line \d+: )?% ?(?:Configuration failed|Unknown command|Ambiguous command"
    r"|Command incomplete)",
    re.MULTILINE,
)


def sanitize(text: str) -> str:
    """The configuration with passwords and keys replaced by ``<removed>``.

    >>> print(sanitize(" neighbor 192.0.2.2 password s3cret\\n isis password md5 k3y\\n"), end="")
     neighbor 192.0.2.2 password <removed>
     isis password md5 <removed>
    """
    for pattern in _SECRETS:
        text = pattern.sub(rf"\g<1>{REMOVED}", text)
    return text


def renumber_vtysh_errors(message: str, first_line: int) -> str:
    """vtysh numbers lines within the file it was given; the user wrote a whole document, in
    which the FRR section starts at ``first_line``.

    >>> renumber_vtysh_errors("line 3: % Unknown command[25]:  bogus", first_line=5)
    'line 7: % Unknown command[25]:  bogus'
    """
    return _VTYSH_LINE.sub(lambda match: f"line {int(match[1]) + first_line - 1}:", message)


def frr_rejected(output: str) -> bool:
    """True when FRR's output says it refused some of the configuration it was given.

    >>> frr_rejected("% Configuration failed.\\n\\nError type: validation\\n")
    True
    >>> frr_rejected("")
    False
    """
    return _FRR_REJECTS.search(output) is not None


def one_line(text: str) -> str:
    """A multi-line message on one line, so that a report over many routers keeps one line
    per router.

    >>> one_line("% Configuration failed.\\n\\nError type: validation\\n")
    '% Configuration failed. / Error type: validation'
    """
    return " / ".join(line.strip() for line in text.splitlines() if line.strip())


def clean_reload_diff(text: str) -> str:
    """frr-reload's ``--test`` output, without the blank lines around it; empty when FRR's
    configuration would not change."""
    stripped = text.strip("\n")
    return f"{stripped}\n" if stripped.strip() else ""


def interface_stanzas(text: str) -> set[str]:
    """The ``interface …`` stanzas a configuration opens, as their header arguments.

    >>> sorted(interface_stanzas("interface eth1\\n ip address 192.0.2.1/31\\nexit\\n"
    ...                          "interface br7 vrf blue\\nexit\\n"))
    ['br7 vrf blue', 'eth1']
    """
    return {
        line.removeprefix("interface ").strip()
        for line in text.splitlines()
        if line.startswith("interface ")
    }


def lines_still_to_add(reload_test_output: str) -> str:
    """The entries under frr-reload's "Lines To Add", but those that delete (``no …``).

    Checking a merge, running-plus-candidate is compared with running: every line of the
    candidate that FRR took is in running, so it adds nothing; a ``no …`` line never shows
    in running, so it always would, and is left out. Each entry starts at an unindented
    line (its context), its last line is the command.

    >>> print(lines_still_to_add(
    ...     "\\nLines To Add\\n============\\nrouter isis CORE\\n metric-style narrow\\n"
    ...     "router isis CORE\\n no net 49.0001.0000.0000.0009.00\\nno ip prefix-list OLD\\n"
    ... ), end="")
    router isis CORE
     metric-style narrow
    """
    _, found, added = reload_test_output.partition("Lines To Add\n============\n")
    if not found:
        return ""
    entries: list[list[str]] = []
    for line in added.splitlines():
        if not line.strip():
            continue
        if not line.startswith(" ") or not entries:
            entries.append([])
        entries[-1].append(line)
    kept = [entry for entry in entries if not entry[-1].lstrip().startswith("no ")]
    return "".join(f"{line}\n" for entry in kept for line in entry)
