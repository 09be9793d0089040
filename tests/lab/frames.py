"""Frames caught on interfaces inside namespaces, to prove where Ethernet traffic goes: a
sender puts marked broadcast frames on one interface, listeners on others report the VLAN tag
of every marked frame they received. Python's packet sockets stand in for tcpdump, which the
lab machines do not have."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from dataclasses import dataclass

FRAMES = 20
IN = ["ip", "netns", "exec"]


def in_ns(namespace: str, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*IN, namespace, *argv], capture_output=True, text=True, check=True)


# Run inside a namespace: prints "ready", then, after `seconds`, the VLAN tag (or null) of each
# frame received on the interface that holds the marker. The tag is looked for where the kernel
# puts it (the packet's metadata, PACKET_AUXDATA) and in the frame's bytes.
LISTENER = """
import json, select, socket, struct, sys, time
interface, marker, seconds = sys.argv[1], sys.argv[2].encode(), float(sys.argv[3])
SOL_PACKET, PACKET_AUXDATA, TP_STATUS_VLAN_VALID = 263, 8, 0x10
sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
sock.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
sock.bind((interface, 0))
print("ready", flush=True)
tags, deadline = [], time.monotonic() + seconds
while (left := deadline - time.monotonic()) > 0:
    if not select.select([sock], [], [], left)[0]:
        break
    data, ancillary, _, address = sock.recvmsg(65535, socket.CMSG_SPACE(20))
    if address[2] == socket.PACKET_OUTGOING or marker not in data:
        continue
    tag = None
    for level, kind, value in ancillary:
        if (level, kind) == (SOL_PACKET, PACKET_AUXDATA):
            status, _, _, _, _, tci, _ = struct.unpack("IIIHHHH", value[:20])
            if status & TP_STATUS_VLAN_VALID:
                tag = tci & 0x0FFF
    if data[12:14] == b"\\x81\\x00":
        tag = int.from_bytes(data[14:16], "big") & 0x0FFF
    tags.append(tag)
print(json.dumps(tags), flush=True)
"""

# Sends `count` broadcast frames holding the marker, tagged with `vlan` unless it is 0.
SENDER = """
import socket, struct, sys
interface, marker = sys.argv[1], sys.argv[2].encode()
vlan, count = int(sys.argv[3]), int(sys.argv[4])
tag = struct.pack("!HH", 0x8100, vlan) if vlan else b""
addresses = b"\\xff" * 6 + b"\\x02\\x00\\x00\\x00\\x00\\x01"  # broadcast, from a local MAC
frame = addresses + tag + b"\\x88\\xb5" + marker.ljust(46, b".")  # IEEE's local ethertype
sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
sock.bind((interface, 0))
for _ in range(count):
    sock.send(frame)
"""


@dataclass(frozen=True)
class Tap:
    namespace: str
    interface: str


def frames_seen(taps: dict[str, Tap], sender: Tap, vlan: int) -> dict[str, list[int | None]]:
    """Send FRAMES frames out of ``sender`` (tagged ``vlan``, untagged for 0) and say, for each
    tap, the tag of every one of them it received."""
    marker = f"gigalis-{uuid.uuid4().hex[:12]}"
    listeners = {
        name: subprocess.Popen(
            [*IN, tap.namespace, sys.executable, "-c", LISTENER, tap.interface, marker, "1.5"],
            stdout=subprocess.PIPE,
            text=True,
        )
        for name, tap in taps.items()
    }
    try:
        for listener in listeners.values():
            assert listener.stdout is not None
            assert listener.stdout.readline().strip() == "ready"
        in_ns(
            sender.namespace,
            sys.executable,
            "-c",
            SENDER,
            sender.interface,
            marker,
            str(vlan),
            str(FRAMES),
        )
        seen = {}
        for name, listener in listeners.items():
            out, _ = listener.communicate(timeout=10)
            seen[name] = json.loads(out.strip().splitlines()[-1])
        return seen
    finally:
        for listener in listeners.values():
            if listener.poll() is None:
                listener.kill()
                listener.wait()
