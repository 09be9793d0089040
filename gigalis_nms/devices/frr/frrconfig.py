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
