"""CRC32C (Castagnoli) and CRC64NVME in pure Python, for the checksums S3 takes and botocore sends when it has its CRT
extra (``x-amz-checksum-crc32c`` / ``-crc64nvme``). moto computes them only with the ``crc32c`` package / ``awscrt``
installed; without, it silently computed CRC32 and labelled it CRC32C, or CRC64NVME (4 bytes where 8 belong): for
CopyObject with ChecksumAlgorithm and a multipart upload's composite or full-object checksum, which botocore with its
CRT extra then refuses on GET (FlexibleChecksumError).

Small bodies: slicing-by-8 over 64-bit words (3-4 MB/s in CPython); from 64 KiB on, 1 KiB lanes computed side by
side with ``bytes.translate`` and big-integer XOR. ``install()`` makes moto's
``compute_checksum`` use these where its optional libraries are missing."""

from __future__ import annotations

import base64
import struct

CRC32C_POLY = 0x82F63B78  # reflected 0x1EDC6F41
CRC64NVME_POLY = 0x9A6C9329AC4BC9B5  # reflected 0xAD93D23594C93659


def _tables(poly: int, width: int) -> list[list[int]]:
    mask = (1 << width) - 1
    first = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
        first.append(crc)
    tables = [first]
    for _ in range(7):
        prev = tables[-1]
        tables.append([(prev[n] >> 8) ^ first[prev[n] & 0xFF] for n in range(256)])
    assert all(v <= mask for t in tables for v in t)
    return tables


_T32 = _tables(CRC32C_POLY, 32)
_T64 = _tables(CRC64NVME_POLY, 64)


def _update(data: bytes, crc: int, tables: list[list[int]]) -> int:
    t0, t1, t2, t3, t4, t5, t6, t7 = tables
    whole = len(data) - len(data) % 8
    for (word,) in struct.iter_unpack("<Q", memoryview(data)[:whole]):
        word ^= crc
        crc = (t7[word & 0xFF] ^ t6[(word >> 8) & 0xFF] ^ t5[(word >> 16) & 0xFF] ^ t4[(word >> 24) & 0xFF]
               ^ t3[(word >> 32) & 0xFF] ^ t2[(word >> 40) & 0xFF] ^ t1[(word >> 48) & 0xFF] ^ t0[word >> 56])
    for byte in data[whole:]:
        crc = (crc >> 8) ^ t0[(crc ^ byte) & 0xFF]
    return crc


LANE = 1024  # bytes per lane in ``_lanes``
_SHIFTS: dict[int, list[list[int]]] = {}  # width -> byte tables of "LANE zero bytes more" on a register


def _shift_tables(width: int, tables: list[list[int]]) -> list[list[int]]:
    """The register after LANE more zero bytes is linear in the register: by byte position, a table of it."""
    if width not in _SHIFTS:
        t0, basis = tables[0], []
        for bit in range(width):
            crc = 1 << bit
            for _ in range(LANE):
                crc = (crc >> 8) ^ t0[crc & 0xFF]
            basis.append(crc)
        shifts = []
        for position in range(width // 8):
            row = [0] * 256
            for value in range(1, 256):
                low = value & -value
                row[value] = row[value ^ low] ^ basis[8 * position + low.bit_length() - 1]
            shifts.append(row)
        _SHIFTS[width] = shifts
    return _SHIFTS[width]


def _lanes(data: bytes, width: int, tables: list[list[int]]) -> tuple[int, int]:
    """(register, bytes consumed): the raw CRC (register from 0) of the first LANE * n bytes, computed on n lanes at
    once, a byte per lane per step, the tables applied by ``bytes.translate`` and the XORs on big integers (C speed);
    then the lanes' CRCs joined: raw(A + B) = shift(raw(A), len(B)) ^ raw(B)."""
    size = width // 8
    count = len(data) // LANE
    t0 = tables[0]
    byte_tables = [bytes((t0[v] >> (8 * k)) & 0xFF for v in range(256)) for k in range(size)]
    planes = [0] * size  # byte k of every lane's register, lane i at byte i (little-endian integers)
    for step in range(LANE):
        index = (planes[0] ^ int.from_bytes(data[step:count * LANE:LANE], "little")).to_bytes(count, "little")
        looked = [int.from_bytes(index.translate(table), "little") for table in byte_tables]
        planes = [(planes[k + 1] if k + 1 < size else 0) ^ looked[k] for k in range(size)]
    joined = bytearray(count * size)
    for k in range(size):
        joined[k::size] = planes[k].to_bytes(count, "little")
    shifts = _shift_tables(width, tables)
    crc = 0
    for (lane,) in struct.iter_unpack("<Q" if size == 8 else "<I", joined):
        shifted = 0
        for position in range(size):
            shifted ^= shifts[position][(crc >> (8 * position)) & 0xFF]
        crc = shifted ^ lane
    return crc, count * LANE


def _crc(data: bytes, width: int, tables: list[list[int]]) -> int:
    mask = (1 << width) - 1
    size = width // 8
    if len(data) < 64 * LANE:
        return _update(bytes(data), mask, tables) ^ mask
    folded = bytearray(data)  # a register starting all ones = a register from 0 over the first bytes XOR ones
    for n in range(size):
        folded[n] ^= 0xFF
    crc, done = _lanes(bytes(folded), width, tables)
    return _update(bytes(folded[done:]), crc, tables) ^ mask


def crc32c(data: bytes) -> int:
    return _crc(data, 32, _T32)


def crc64nvme(data: bytes) -> int:
    return _crc(data, 64, _T64)


def digest(algorithm: str, data: bytes) -> bytes | None:
    """The raw checksum of ``data`` for ``CRC32C`` / ``CRC64NVME`` (any case), or None for another algorithm."""
    name = algorithm.upper()
    if name == "CRC32C":
        return crc32c(data).to_bytes(4, "big")
    if name == "CRC64NVME":
        return crc64nvme(data).to_bytes(8, "big")
    return None


def _has(module: str) -> bool:
    try:
        __import__(module)
    except Exception:
        return False
    return True


def install() -> None:
    """moto's ``compute_checksum`` (in ``moto.s3.utils`` and the modules that imported it) computes CRC32C /
    CRC64NVME here when its optional library is missing. Idempotent."""
    from moto.s3 import models, responses, utils

    original = utils.compute_checksum
    if getattr(original, "_sandbox", False):
        return
    native = {"CRC32C": _has("crc32c"), "CRC64NVME": _has("awscrt")}

    def compute_checksum(body: bytes, algorithm: str, encode_base64: bool = True) -> bytes:
        raw = None if native.get(str(algorithm).upper(), True) else digest(algorithm, body)
        if raw is None:
            return original(body, algorithm, encode_base64=encode_base64)
        return base64.b64encode(raw) if encode_base64 else raw

    compute_checksum._sandbox = True  # type: ignore[attr-defined]
    for module in (utils, models, responses):
        if getattr(module, "compute_checksum", None) is original:
            module.compute_checksum = compute_checksum
