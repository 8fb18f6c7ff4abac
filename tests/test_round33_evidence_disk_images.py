"""Round 33: disk images (``resources/evidence/formats.py``).

clamd reads a disk image's partitions as the bytes lie and does not follow a FAT, NTFS or ext file system to a
file stored in pieces: a FAT12 volume (built here byte by byte, as ``mkfs.fat`` would) holding EICAR in two
clusters out of order comes back OK, behind an MBR or a GPT partition table, in a VHD or bare; the library stored it
as a plain binary file. Disk images are quarantined now, as ISO images and DMGs already were: send the files."""

from __future__ import annotations

import struct

import pytest

from resources.evidence.containers import problem
from tests.evidence.clamav import EICAR
from tests.evidence.files import make_png
from tests.evidence.library import make_library
from tests.test_round32_evidence_carriers import zipped

SECTOR = 512


FILE = b"#" * (SECTOR - 34) + EICAR  # 546 bytes: two clusters, EICAR across the boundary


def fat12(name: bytes = b"README  TXT", data: bytes = FILE) -> bytes:
    """A 64-sector FAT12 volume whose one file is ``data`` (one or two clusters), its second cluster first on disk."""
    boot = bytearray(SECTOR)
    boot[0:3], boot[3:11] = b"\xeb\x3c\x90", b"MSDOS5.0"
    boot[11:36] = struct.pack("<HBHBHHBHHHII", SECTOR, 1, 1, 1, 16, 64, 0xF8, 1, 32, 2, 0, 0)
    boot[36:62] = struct.pack("<BBBI11s8s", 0x80, 0, 0x29, 0x1234, b"EVIDENCE   ", b"FAT12   ")
    boot[510:512] = b"\x55\xaa"
    fat = bytearray(SECTOR)
    fat[0:3] = b"\xf8\xff\xff"  # clusters 0 and 1 reserved
    clusters = {2: 0, 3: 0xFFF, 4: 3}  # the file: cluster 4, then 3 (end); cluster 2 unused
    for n, value in clusters.items():
        at = n * 3 // 2
        pair = int.from_bytes(fat[at:at + 2], "little")
        pair = (pair & 0x000F) | (value << 4) if n % 2 else (pair & 0xF000) | value
        fat[at:at + 2] = pair.to_bytes(2, "little")
    root = bytearray(SECTOR)
    root[0:32] = name + struct.pack("<BBBHHHHHHHI", 0x20, 0, 0, 0, 0, 0, 0, 0, 0x5A21, 4, len(data))
    data_area = bytearray(SECTOR * 61)  # cluster n at sector 3 + n - 2
    data_area[SECTOR * 2:SECTOR * 2 + min(len(data), SECTOR)] = data[:SECTOR]  # cluster 4
    data_area[SECTOR:SECTOR + len(data[SECTOR:2 * SECTOR])] = data[SECTOR:2 * SECTOR]  # cluster 3
    return bytes(boot + fat + root + data_area)


def mbr(volume: bytes, kind: int = 0x01) -> bytes:
    table = bytearray(SECTOR)
    table[446:462] = struct.pack("<B3sB3sII", 0x80, b"\0\x02\0", kind, b"\xfe\xff\xff", 1, len(volume) // SECTOR)
    table[510:512] = b"\x55\xaa"
    return bytes(table) + volume


def gpt(volume: bytes) -> bytes:
    protective = bytearray(mbr(b"", 0xEE)[:SECTOR])
    protective[458:462] = struct.pack("<I", 34 + len(volume) // SECTOR)
    header = bytearray(SECTOR)
    header[0:24] = b"EFI PART" + struct.pack("<IIII", 0x10000, 92, 0, 0)
    entries = bytearray(SECTOR * 32)
    entries[0:56] = bytes.fromhex("a2a0d0ebe5b9334487c068b6b72699c7") + b"\x11" * 16 + struct.pack("<QQQ", 34, 33 + len(
        volume) // SECTOR, 0)
    return bytes(protective + header + entries) + volume


def vhd(volume: bytes) -> bytes:
    footer = bytearray(SECTOR)
    footer[0:16] = b"conectix" + struct.pack(">II", 2, 0x10000)
    return volume + bytes(footer)


IMAGES = {
    "mbr-fat12": mbr(fat12()),
    "gpt-fat12": gpt(fat12()),
    "fat12-volume": fat12(),
    "vhd-fixed": vhd(mbr(fat12())),
    "vhdx": b"vhdxfile" + b"\0" * 65528 + fat12(),
    "mbr-in-a-zip": zipped({"disk.img": mbr(fat12())}),
}


def read_fat12(volume: bytes) -> bytes:
    """The first file of a FAT12 volume, read as a FAT driver does: the BPB, the root entry, the cluster chain."""
    per_sector, per_cluster, reserved, fats, roots = struct.unpack_from("<HBHBH", volume, 11)
    fat_sectors = struct.unpack_from("<H", volume, 22)[0]
    fat_at, root_at = reserved * per_sector, (reserved + fats * fat_sectors) * per_sector
    data_at = root_at + roots * 32
    cluster, size = struct.unpack_from("<HI", volume, root_at + 26)
    out = b""
    while cluster < 0xFF8:
        at = data_at + (cluster - 2) * per_cluster * per_sector
        out += volume[at:at + per_cluster * per_sector]
        pair = int.from_bytes(volume[fat_at + cluster * 3 // 2:fat_at + cluster * 3 // 2 + 2], "little")
        cluster = pair >> 4 if cluster % 2 else pair & 0xFFF
    return out[:size]


def test_the_fat_volume_is_real():
    """A FAT driver reads EICAR whole by following cluster 4 -> 3; it is never whole on the disk."""
    volume = fat12()
    assert read_fat12(volume) == FILE and EICAR in FILE and EICAR not in volume


@pytest.mark.parametrize("name", list(IMAGES))
def test_disk_images_are_quarantined(tmp_path, clamd, name):
    content = IMAGES[name]
    assert clamd.scan(content).clean  # the scanner's blind spot, for real
    lib = make_library(tmp_path, clamd)
    out = lib.ingest(content, "disk.img", "s3")
    assert out.status == "quarantined", (out.status, out.reason)
    assert "image" in out.reason and "the library cannot open" in out.reason, out.reason
    assert list(lib.store.list()) == []


def test_files_that_resemble_images_are_stored(tmp_path, clamd):
    boot_like = bytearray(b"\x07" * 1024)
    boot_like[510:512] = b"\x55\xaa"  # the boot signature, but no partition entry that could be one
    cases = {
        "dump.bin": bytes(boot_like),
        "notes.txt": b"conectix vhdxfile EFI PART KDMV are words in this note\n" * 40,
        "shot.png": make_png(64, 64),
        "plain.zip": zipped({"a.txt": b"x" * 2000}),
    }
    lib = make_library(tmp_path, clamd)
    for name, content in cases.items():
        out = lib.ingest(content, name, "s3")
        assert out.status == "stored", (name, out.reason)
        assert problem(content, 1 << 30) is None
