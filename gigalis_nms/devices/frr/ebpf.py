"""Just enough eBPF to tag and untag 802.1Q frames, and the ELF object ``tc`` loads it from.

A kernel built without 802.1Q (``CONFIG_VLAN_8021Q``) has no VLAN links, but it has the
``clsact`` hook, the ``bpf`` classifier and its helpers ``bpf_skb_vlan_pop`` and
``bpf_skb_vlan_push``: ``vlan_emulation`` builds a sub-interface from those. Its two programs
are a dozen instructions each, assembled here, so that neither this machine nor the router
needs a compiler: the router only needs iproute2's ``tc`` built with libbpf, which reads the
ELF object written by :func:`vlan_object`.

Both programs run in ``cls_bpf``'s classic mode: they say "match" or "no match", and the
filter's action (``mirred`` redirect) moves a matching frame. They carry no interface
index, only the VLAN ID, so an object serves every port for that VLAN.

The object is little-endian (x86-64, arm64): a router of the other byte order would refuse it.
"""

from __future__ import annotations

import dataclasses
import struct
from collections.abc import Sequence
from dataclasses import dataclass

# struct __sk_buff, include/uapi/linux/bpf.h: each field a __u32.
SKB_VLAN_PRESENT = 20
SKB_VLAN_TCI = 24
SKB_VLAN_PROTO = 28
# Helper numbers, the FN(...) list of include/uapi/linux/bpf.h.
SKB_VLAN_PUSH = 18
SKB_VLAN_POP = 19
# __sk_buff.vlan_proto holds the __be16 ethertype as it is in memory: 802.1Q's 0x8100 reads
# 0x0081 on a little-endian CPU; the push helper takes it in the same byte order.
C_TAG_PROTO = 0x0081
VID_MASK = 0x0FFF
# What a cls_bpf program returns in classic mode: -1 runs the filter's actions with its
# default class, 0 passes the frame on to the next filter.
MATCH = -1
NO_MATCH = 0

# Registers: r0 holds results, r1-r5 a call's arguments (r1 starts as the context).
R0, R1, R2, R3 = 0, 1, 2, 3

# Opcodes: class | operation | source.
_LDX_MEM_W = 0x61  # BPF_LDX | BPF_MEM | BPF_W
_ALU64_MOV_K = 0xB7  # BPF_ALU64 | BPF_MOV | BPF_K
_ALU64_AND_K = 0x57  # BPF_ALU64 | BPF_AND | BPF_K
_JMP_JEQ_K = 0x15  # BPF_JMP | BPF_JEQ | BPF_K
_JMP_JNE_K = 0x55  # BPF_JMP | BPF_JNE | BPF_K
_JMP_CALL = 0x85  # BPF_JMP | BPF_CALL
_JMP_EXIT = 0x95  # BPF_JMP | BPF_EXIT

RECEIVE_SECTION = "vlan_rx"
SEND_SECTION = "vlan_tx"
LICENSE = "AGPL-3.0-or-later"  # no helper used here is reserved to GPL programs


@dataclass(frozen=True)
class Instruction:
    """One 8-byte eBPF instruction; a jump names its target label until assembled."""

    opcode: int
    dst: int = 0
    src: int = 0
    offset: int = 0
    immediate: int = 0
    target: str | None = None

    def encode(self) -> bytes:
        """
        >>> exit_().encode().hex()
        '9500000000000000'
        >>> mov(R0, MATCH).encode().hex()
        'b7000000ffffffff'
        """
        registers = self.src << 4 | self.dst
        return struct.pack("<BBhi", self.opcode, registers, self.offset, self.immediate)


@dataclass(frozen=True)
class Label:
    name: str


Line = Instruction | Label


def mov(dst: int, immediate: int) -> Instruction:
    return Instruction(_ALU64_MOV_K, dst, immediate=immediate)


def load_word(dst: int, src: int, offset: int) -> Instruction:
    return Instruction(_LDX_MEM_W, dst, src, offset=offset)


def and_(dst: int, immediate: int) -> Instruction:
    return Instruction(_ALU64_AND_K, dst, immediate=immediate)


def jump_if_equal(dst: int, immediate: int, target: str) -> Instruction:
    return Instruction(_JMP_JEQ_K, dst, immediate=immediate, target=target)


def jump_unless_equal(dst: int, immediate: int, target: str) -> Instruction:
    return Instruction(_JMP_JNE_K, dst, immediate=immediate, target=target)


def call(helper: int) -> Instruction:
    return Instruction(_JMP_CALL, immediate=helper)


def exit_() -> Instruction:
    return Instruction(_JMP_EXIT)


def assemble(lines: Sequence[Line]) -> bytes:
    """The program's bytes, each jump's label turned into its offset (counted in instructions
    from the next one).

    >>> assemble([jump_if_equal(R2, 0, "out"), mov(R0, 1), Label("out"), exit_()]).hex()
    '1502010000000000b7000000010000009500000000000000'
    """
    positions: dict[str, int] = {}
    count = 0
    for line in lines:
        if isinstance(line, Label):
            positions[line.name] = count
        else:
            count += 1
    code = bytearray()
    index = 0
    for line in lines:
        if isinstance(line, Label):
            continue
        code += _resolved(line, positions, index).encode()
        index += 1
    return bytes(code)


def _resolved(instruction: Instruction, positions: dict[str, int], index: int) -> Instruction:
    if instruction.target is None:
        return instruction
    if instruction.target not in positions:
        raise ValueError(f"jump to an unknown label {instruction.target!r}")
    offset = positions[instruction.target] - index - 1
    return dataclasses.replace(instruction, offset=offset, target=None)


def _check_vlan_id(vlan_id: int) -> None:
    if not 1 <= vlan_id <= 4094:
        raise ValueError(f"VLAN ID {vlan_id} is not between 1 and 4094")


def receive_program(vlan_id: int) -> list[Line]:
    """On the parent's ingress: a frame tagged 802.1Q ``vlan_id`` (priority bits ignored, as
    Linux's VLAN links do) loses its tag and matches; any other frame does not match and goes
    on as if the filter were not there. The kernel has already moved the tag out of the frame
    into the packet's metadata, which is what the program reads and the helper clears."""
    _check_vlan_id(vlan_id)
    return [
        load_word(R2, R1, SKB_VLAN_PRESENT),
        jump_if_equal(R2, 0, "other"),
        load_word(R2, R1, SKB_VLAN_PROTO),
        jump_unless_equal(R2, C_TAG_PROTO, "other"),  # an 802.1ad S-tag is not ours
        load_word(R2, R1, SKB_VLAN_TCI),
        and_(R2, VID_MASK),
        jump_unless_equal(R2, vlan_id, "other"),
        call(SKB_VLAN_POP),  # r1 still holds the context
        jump_unless_equal(R0, 0, "other"),  # untagging failed: leave the frame to the kernel
        mov(R0, MATCH),
        exit_(),
        Label("other"),
        mov(R0, NO_MATCH),
        exit_(),
    ]


def send_program(vlan_id: int) -> list[Line]:
    """On the hidden end's ingress (what the sub-interface sends): tag with ``vlan_id``,
    priority 0, and match. A frame that could not be tagged does not match, and ends in the
    hidden end's stack, which has no address: it never leaves untagged."""
    _check_vlan_id(vlan_id)
    return [
        mov(R2, C_TAG_PROTO),
        mov(R3, vlan_id),
        call(SKB_VLAN_PUSH),
        jump_unless_equal(R0, 0, "failed"),
        mov(R0, MATCH),
        exit_(),
        Label("failed"),
        mov(R0, NO_MATCH),
        exit_(),
    ]


@dataclass(frozen=True)
class Program:
    section: str  # what `tc … bpf obj FILE sec SECTION` names
    name: str  # its symbol: the program's name in the kernel (15 bytes at most)
    code: bytes


def vlan_object(vlan_id: int) -> bytes:
    """The ELF object holding both programs of one VLAN ID."""
    return elf_object(
        [
            Program(RECEIVE_SECTION, "gigalis_vlan_rx", assemble(receive_program(vlan_id))),
            Program(SEND_SECTION, "gigalis_vlan_tx", assemble(send_program(vlan_id))),
        ],
        LICENSE,
    )


# --- the ELF object -----------------------------------------------------------------------------

_EM_BPF = 247
_ET_REL = 1
_SHT_PROGBITS, _SHT_SYMTAB, _SHT_STRTAB = 1, 2, 3
_SHF_WRITE, _SHF_ALLOC, _SHF_EXECINSTR = 0x1, 0x2, 0x4
_STB_GLOBAL, _STT_FUNC = 1, 2
_EHDR_SIZE = 64
_SHDR_SIZE = 64
_SYM_SIZE = 24


@dataclass
class _Section:
    name: str
    kind: int
    flags: int
    data: bytes
    link: int = 0
    info: int = 0
    align: int = 1
    entry_size: int = 0


def _string_table(names: Sequence[str]) -> tuple[bytes, dict[str, int]]:
    table, offsets = bytearray(b"\0"), {}
    for name in names:
        if name not in offsets:
            offsets[name] = len(table)
            table += name.encode() + b"\0"
    return bytes(table), offsets


def elf_object(programs: Sequence[Program], license: str) -> bytes:
    """A relocatable ELF64 object for the BPF machine, as a compiler would leave it: one
    executable section per program, a ``license`` section, and a symbol table with one global
    function symbol per program (libbpf finds programs by their symbols). Sections: the
    programs, then license, .symtab, .strtab, .shstrtab."""
    for program in programs:
        if len(program.name.encode()) > 15:
            raise ValueError(f"program name {program.name!r} is longer than 15 bytes")
    strtab, symbol_names = _string_table([program.name for program in programs])
    symbols = bytes(_SYM_SIZE)  # symbol 0 is the null symbol
    for index, program in enumerate(programs, start=1):
        info = _STB_GLOBAL << 4 | _STT_FUNC
        name = symbol_names[program.name]
        symbols += struct.pack("<IBBHQQ", name, info, 0, index, 0, len(program.code))

    first_after_programs = len(programs) + 1
    sections = [
        _Section(p.section, _SHT_PROGBITS, _SHF_ALLOC | _SHF_EXECINSTR, p.code, align=8)
        for p in programs
    ]
    sections += [
        _Section("license", _SHT_PROGBITS, _SHF_ALLOC | _SHF_WRITE, license.encode() + b"\0"),
        # link: the string table of its names; info: the first global symbol.
        _Section(
            ".symtab",
            _SHT_SYMTAB,
            0,
            symbols,
            link=first_after_programs + 2,
            info=1,
            align=8,
            entry_size=_SYM_SIZE,
        ),
        _Section(".strtab", _SHT_STRTAB, 0, strtab),
    ]
    shstrtab, section_names = _string_table([s.name for s in sections] + [".shstrtab"])
    sections.append(_Section(".shstrtab", _SHT_STRTAB, 0, shstrtab))
    return _layout(sections, section_names)


def _layout(sections: list[_Section], names: dict[str, int]) -> bytes:
    """Header, then each section's data at its alignment, then the section header table."""
    body = bytearray()
    headers = bytearray(_SHDR_SIZE)  # section 0 is the null section
    for section in sections:
        body += bytes(-(_EHDR_SIZE + len(body)) % section.align)
        offset = _EHDR_SIZE + len(body)
        body += section.data
        headers += struct.pack(
            "<IIQQQQIIQQ",
            names[section.name],
            section.kind,
            section.flags,
            0,
            offset,
            len(section.data),
            section.link,
            section.info,
            section.align,
            section.entry_size,
        )
    body += bytes(-(_EHDR_SIZE + len(body)) % 8)
    identity = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)  # 64-bit, little-endian, v1, SysV
    header = identity + struct.pack(
        "<HHIQQQIHHHHHH",
        _ET_REL,
        _EM_BPF,
        1,  # version
        0,  # entry
        0,  # program headers: none
        _EHDR_SIZE + len(body),
        0,  # flags
        _EHDR_SIZE,
        0,
        0,
        _SHDR_SIZE,
        len(sections) + 1,
        len(sections),  # .shstrtab is last
    )
    return header + bytes(body) + bytes(headers)
