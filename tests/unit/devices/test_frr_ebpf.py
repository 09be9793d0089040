"""The eBPF programs of the VLAN emulation, run on a small interpreter of the few instructions
they use, and the ELF object that carries them, read back field by field."""

from __future__ import annotations

import itertools
import struct
from dataclasses import dataclass, field
from typing import Any

import pytest

from gigalis_nms.devices.frr import ebpf
from gigalis_nms.devices.frr.ebpf import (
    Label,
    Program,
    assemble,
    elf_object,
    exit_,
    jump_if_equal,
    mov,
    receive_program,
    send_program,
    vlan_object,
)

C_TAG = 0x0081  # 0x8100 as a little-endian CPU reads the __be16
S_TAG = 0xA888  # 0x88a8, likewise


@dataclass
class Packet:
    """The fields of struct __sk_buff the programs read, and what the helpers did to it."""

    vlan_present: int = 0
    vlan_tci: int = 0
    vlan_proto: int = 0
    helper_result: int = 0  # what the helpers return: 0, or a negative errno
    calls: list[tuple[str, int, int]] = field(default_factory=list)

    def load(self, offset: int) -> int:
        fields = {
            ebpf.SKB_VLAN_PRESENT: self.vlan_present,
            ebpf.SKB_VLAN_TCI: self.vlan_tci,
            ebpf.SKB_VLAN_PROTO: self.vlan_proto,
        }
        return fields[offset]

    def call(self, helper: int, r2: int, r3: int) -> int:
        if helper == ebpf.SKB_VLAN_POP:
            self.calls.append(("pop", 0, 0))
            if self.helper_result == 0:
                self.vlan_present = self.vlan_tci = self.vlan_proto = 0
        elif helper == ebpf.SKB_VLAN_PUSH:
            self.calls.append(("push", r2, r3))
        else:
            raise AssertionError(f"unexpected helper {helper}")
        return self.helper_result


CONTEXT = object()


def run(code: bytes, packet: Packet) -> int:
    """Runs the instructions the programs use; anything else is a test failure."""
    registers: list[object] = [None] * 11
    registers[1] = CONTEXT
    position = 0

    def value(register: int) -> int:
        held = registers[register]
        assert isinstance(held, int), f"r{register} read before it was set"
        return held

    for _ in range(100):
        opcode, packed, offset, immediate = struct.unpack_from("<BBhi", code, position * 8)
        dst, src = packed & 0x0F, packed >> 4
        position += 1
        if opcode == 0x61:  # ldxw dst, [src + offset]
            assert registers[src] is CONTEXT, "a load from something else than the context"
            registers[dst] = packet.load(offset)
        elif opcode == 0xB7:
            registers[dst] = immediate
        elif opcode == 0x57:
            registers[dst] = value(dst) & immediate
        elif opcode in (0x15, 0x55):
            if (value(dst) == immediate) == (opcode == 0x15):
                position += offset
        elif opcode == 0x85:
            assert registers[1] is CONTEXT, "a helper called without the context in r1"
            r2 = registers[2] if isinstance(registers[2], int) else 0
            r3 = registers[3] if isinstance(registers[3], int) else 0
            registers[0] = packet.call(immediate, r2, r3)
            registers[1:6] = [None] * 5  # a call clobbers r1-r5
        elif opcode == 0x95:
            return value(0)
        else:
            raise AssertionError(f"unexpected opcode {opcode:#x}")
    raise AssertionError("the program does not end")


# --- the programs -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("packet", "result", "popped"),
    [
        (Packet(1, 100, C_TAG), ebpf.MATCH, True),
        (Packet(1, 0xA000 | 100, C_TAG), ebpf.MATCH, True),  # priority bits are ignored
        (Packet(1, 200, C_TAG), ebpf.NO_MATCH, False),  # another VLAN
        (Packet(0, 0, 0), ebpf.NO_MATCH, False),  # untagged
        (Packet(1, 100, S_TAG), ebpf.NO_MATCH, False),  # an 802.1ad tag is not 802.1Q's
        (Packet(1, 0, C_TAG), ebpf.NO_MATCH, False),  # priority-tagged: VLAN 0
    ],
    ids=["tagged", "priority-bits", "other-vlan", "untagged", "s-tag", "vlan-0"],
)
def test_the_receiving_program_untags_its_vlan_only(
    packet: Packet, result: int, popped: bool
) -> None:
    assert run(assemble(receive_program(100)), packet) == result
    assert packet.calls == ([("pop", 0, 0)] if popped else [])
    if popped:
        assert packet.vlan_present == 0


def test_a_frame_that_cannot_be_untagged_is_left_to_the_kernel() -> None:
    packet = Packet(1, 100, C_TAG, helper_result=-12)

    assert run(assemble(receive_program(100)), packet) == ebpf.NO_MATCH


def test_the_sending_program_tags_every_frame_with_its_vlan() -> None:
    packet = Packet()

    assert run(assemble(send_program(4094)), packet) == ebpf.MATCH
    assert packet.calls == [("push", C_TAG, 4094)]


def test_a_frame_that_cannot_be_tagged_does_not_match_so_it_never_leaves_untagged() -> None:
    packet = Packet(helper_result=-12)

    assert run(assemble(send_program(7)), packet) == ebpf.NO_MATCH


@pytest.mark.parametrize("vlan_id", [0, 4095])
def test_a_vlan_id_out_of_range_is_refused(vlan_id: int) -> None:
    with pytest.raises(ValueError, match="not between 1 and 4094"):
        receive_program(vlan_id)
    with pytest.raises(ValueError, match="not between 1 and 4094"):
        send_program(vlan_id)


def test_jumps_are_counted_from_the_next_instruction() -> None:
    code = assemble([jump_if_equal(2, 0, "end"), mov(0, 1), mov(0, 2), Label("end"), exit_()])

    assert struct.unpack_from("<BBhi", code, 0) == (0x15, 0x02, 2, 0)
    assert len(code) == 4 * 8


def test_a_jump_to_an_unknown_label_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown label 'nowhere'"):
        assemble([jump_if_equal(2, 0, "nowhere"), exit_()])


# --- the ELF object ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Section:
    name: str
    kind: int
    flags: int
    data: bytes
    link: int
    info: int
    align: int
    entry_size: int


def read_elf(data: bytes) -> tuple[tuple[Any, ...], list[Section]]:
    header = struct.unpack_from("<16sHHIQQQIHHHHHH", data)
    shoff, shnum, shstrndx = header[6], header[12], header[13]
    raw = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + 64 * i) for i in range(shnum)]
    names_at = raw[shstrndx][4]

    def name(offset: int) -> str:
        start = names_at + offset
        return data[start : data.index(b"\0", start)].decode()

    sections = [
        Section(name(r[0]), r[1], r[2], data[r[4] : r[4] + r[5]], r[6], r[7], r[8], r[9])
        for r in raw
    ]
    return header, sections


def test_the_object_is_a_relocatable_little_endian_bpf_object() -> None:
    header, sections = read_elf(vlan_object(100))

    identity = header[0]
    assert identity[:4] == b"\x7fELF"
    assert identity[4:7] == bytes([2, 1, 1])  # 64-bit, little-endian, version 1
    assert header[1:3] == (1, 247)  # ET_REL, EM_BPF
    assert header[6] % 8 == 0  # the section headers are aligned
    assert [section.name for section in sections] == [
        "",
        ebpf.RECEIVE_SECTION,
        ebpf.SEND_SECTION,
        "license",
        ".symtab",
        ".strtab",
        ".shstrtab",
    ]


def test_each_program_is_an_executable_section_with_a_global_function_symbol() -> None:
    _, sections = read_elf(vlan_object(100))
    symtab, strtab = sections[4], sections[5]

    assert sections[1].data == assemble(receive_program(100))
    assert sections[2].data == assemble(send_program(100))
    assert all(section.flags == 0x6 and section.align == 8 for section in sections[1:3])
    assert (symtab.kind, symtab.link, symtab.info, symtab.entry_size) == (2, 5, 1, 24)
    symbols = [struct.unpack_from("<IBBHQQ", symtab.data, 24 * i) for i in range(3)]
    assert symbols[0] == (0, 0, 0, 0, 0, 0)
    for index, (name, info, _, section, value, size) in enumerate(symbols[1:], start=1):
        assert strtab.data[name:].split(b"\0")[0] in (b"gigalis_vlan_rx", b"gigalis_vlan_tx")
        assert (info, section, value, size) == (0x12, index, 0, len(sections[index].data))
    assert sections[3].data == b"AGPL-3.0-or-later\0"


def test_sections_do_not_overlap() -> None:
    data = vlan_object(4094)
    header, _ = read_elf(data)
    shoff, shnum = header[6], header[12]
    spans = sorted(
        (offset, offset + size)
        for _, _, _, _, offset, size, *_ in (
            struct.unpack_from("<IIQQQQIIQQ", data, shoff + 64 * i) for i in range(1, shnum)
        )
    )
    assert all(end <= start for (_, end), (start, _) in itertools.pairwise(spans))
    assert spans[-1][1] <= shoff
    assert len(data) == shoff + 64 * shnum


def test_a_program_name_longer_than_the_kernel_keeps_is_refused() -> None:
    with pytest.raises(ValueError, match="longer than 15 bytes"):
        elf_object([Program("sec", "a_name_of_16_chr", b"")], "GPL")
