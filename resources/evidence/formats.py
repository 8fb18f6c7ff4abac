"""Archive and encoding formats clamd unpacks that ``filetype`` does not name and the library cannot open
(round 32): a cpio archive holding a bzip2 file with a second stream (which clamd does not read) came back OK
from clamd and was stored as a plain binary file; so would anything clamd skips inside an ARJ, LHA, ISO 9660
or UDF image, XAR, CHM, TNEF (``winmail.dat``), SZDD/KWAJ, BinHex, EGG, ALZ or DMG; and (round 33) a disk image
(an MBR or GPT partition table, a FAT/exFAT/NTFS/ext volume, VHD, VHDX, VMDK, QCOW). ``containers.kind``
names them, and they are quarantined as the other formats the library cannot open are (7z, RAR, CAB ...):
send the files as a zip or tar, or each on its own.

Each check reads a header's fixed fields, not only its magic, so that a text file starting ``070701`` (a
date, a code) or a binary file that happens to begin with two bytes of a magic is not taken for one.
[unc] the exact header checks clamd applies; these follow the formats' own specifications."""

from __future__ import annotations

import re

HEX = re.compile(rb"[0-9A-Fa-f]{104}")
OCTAL = re.compile(rb"[0-7]{70}")


def _cpio(data: bytes) -> bool:
    if data[:6] in (b"070701", b"070702"):  # newc / crc: 13 eight-digit hex fields, then the name
        if HEX.fullmatch(data[6:110]) is None:
            return False
        namesize = int(data[94:102], 16)
        return 0 < namesize <= 4096 and data[110 + namesize - 1:110 + namesize] == b"\0"
    if data[:6] == b"070707":  # odc: octal fields
        if OCTAL.fullmatch(data[6:76]) is None:
            return False
        namesize = int(data[59:65], 8)
        return 0 < namesize <= 4096 and data[76 + namesize - 1:76 + namesize] == b"\0"
    for order in ("little", "big"):  # the old binary format: 13 two-byte fields
        if int.from_bytes(data[:2], order) == 0o070707 and len(data) >= 26:
            namesize = int.from_bytes(data[20:22], order)
            if 0 < namesize <= 4096 and data[26 + namesize - 1:26 + namesize] == b"\0":
                return True
    return False


def _arj(data: bytes) -> bool:
    size = int.from_bytes(data[2:4], "little")
    return data[:2] == b"\x60\xea" and 0 < size <= 2600 and len(data) >= 4 + size and data[10:11] == b"\x02"


def _lha(data: bytes) -> bool:
    return data[2:5] == b"-lh" and data[6:7] == b"-" and data[5:6] in b"01234567ds" and len(data) >= 21


def _mbr(data: bytes) -> bool:
    """A master boot record's partition table: the boot signature and at least one partition entry that is
    plausible (boot flag 0 or 0x80 in all four, a type, a start past the MBR and a length)."""
    if len(data) < 512 or data[510:512] != b"\x55\xaa":
        return False
    entries = [data[446 + 16 * i:462 + 16 * i] for i in range(4)]
    used = [e for e in entries if e[4] != 0]
    return bool(used) and all(e[0] in (0, 0x80) for e in entries) and all(
        int.from_bytes(e[8:12], "little") > 0 and int.from_bytes(e[12:16], "little") > 0 for e in used)


def _volume(data: bytes) -> bool:
    """A file system image with no partition table: FAT, exFAT, NTFS (their boot sector) or ext2/3/4."""
    if data[510:512] == b"\x55\xaa" and (data[3:11] in (b"NTFS    ", b"EXFAT   ") or (
            data[:1] in (b"\xeb", b"\xe9") and (data[54:62] in (b"FAT12   ", b"FAT16   ", b"FAT     ")
                                                or data[82:90] == b"FAT32   "))):
        return True
    return data[1080:1082] == b"\x53\xef" and int.from_bytes(data[1048:1052], "little") <= 6 \
        and data[1082:1084] in (b"\x01\x00", b"\x02\x00", b"\x04\x00")  # magic, block size, state


CHECKS = (
    ("cpio", _cpio),
    ("ARJ", _arj),
    ("LHA/LZH", _lha),
    ("XAR", lambda d: d[:4] == b"xar!" and int.from_bytes(d[4:6], "big") >= 28),
    ("CHM", lambda d: d[:4] == b"ITSF" and int.from_bytes(d[4:8], "little") in (2, 3)),
    ("TNEF (winmail.dat)", lambda d: d[:4] == b"\x78\x9f\x3e\x22"),
    ("SZDD", lambda d: d[:8] == b"SZDD\x88\xf0\x27\x33"),
    ("KWAJ", lambda d: d[:8] == b"KWAJ\x88\xf0\x27\xd1"),
    ("EGG", lambda d: d[:4] == b"EGGA"),
    ("ALZ", lambda d: d[:4] == b"ALZ\x01"),
    ("BinHex", lambda d: b"(This file must be converted with BinHex" in d[:2048]),
    # disk images (round 33): clamd reads a partition's bytes as they lie and does not follow a FAT, NTFS or ext
    # file system to a file stored in pieces (EICAR in two clusters out of order: OK) [unc: clamd 1.4 opens HFS+
    # only]; VHD/VHDX/VMDK/QCOW2 images also store blocks out of order, or compressed
    ("GPT disk image", lambda d: b"EFI PART\0\0\1\0" in (d[512:524], d[4096:4108])),
    ("MBR disk image", _mbr),
    ("file system image", _volume),
    ("VHD disk image", lambda d: d[:8] == b"conectix" and d[12:16] == b"\0\1\0\0"),
    ("VHDX disk image", lambda d: d[:8] == b"vhdxfile"),
    ("VMDK disk image", lambda d: d[:4] == b"KDMV" and int.from_bytes(d[4:8], "little") in (1, 2, 3)),
    ("QCOW disk image", lambda d: d[:4] == b"QFI\xfb" and int.from_bytes(d[4:8], "big") in (1, 2, 3)),
)


def unopened(content: bytes) -> str | None:
    """The name of a format clamd unpacks and the library cannot open, from ``content`` (a whole file, or a
    member's first bytes: a disc image or a DMG is known only from a whole file), or None."""
    for name, check in CHECKS:
        if check(content):
            return name
    for at in (0x8001, 0x8801, 0x9001):  # a disc image's volume descriptors
        if (content[at:at + 5] in (b"CD001", b"BEA01", b"NSR02", b"NSR03") and content[at - 1] in (0, 1, 2, 3, 0xFF)
                and content[at + 5:at + 6] == b"\x01"):  # with its descriptor type and version bytes
            return "ISO 9660 / UDF disc image"
    if len(content) >= 512 and content[-512:-508] == b"koly" and content[-508:-504] == b"\0\0\0\x04":
        return "DMG disk image"
    if len(content) >= 512 and content[-512:-504] == b"conectix" and content[-500:-496] == b"\0\1\0\0":
        return "VHD disk image"  # a fixed VHD: the raw disk, then its footer
    return None
