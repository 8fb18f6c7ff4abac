"""What a SharePoint file's ``file`` facet carries: its ``mimeType`` (from the name's extension, as
SharePoint assigns it) and ``hashes.quickXorHash``, the only hash OneDrive for Business and SharePoint
publish: each byte XORed into a circular 160-bit register at bit ``11 * index``, the byte count XORed
into the last 64 bits, the 20 bytes little-endian, base64."""

from __future__ import annotations

import base64
import mimetypes

WIDTH, SHIFT = 160, 11
MASK = (1 << WIDTH) - 1
MIME = {".md": "text/markdown", ".csv": "text/csv", ".json": "application/json", ".log": "text/plain",
        ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation"}


def quick_xor_hash(data: bytes) -> str:
    # bytes 160 apart land on the same bit (160 * 11 is a multiple of 160): fold them first, 160 at a time
    folded = 0
    for start in range(0, len(data), WIDTH):
        folded ^= int.from_bytes(data[start:start + WIDTH], "little")
    column = folded.to_bytes(WIDTH, "little")
    register = 0
    for index, byte in enumerate(column):
        if byte:
            shift = (index * SHIFT) % WIDTH
            register ^= ((byte << shift) | (byte >> (WIDTH - shift))) & MASK
    out = bytearray(register.to_bytes(WIDTH // 8, "little"))
    for i, b in enumerate(len(data).to_bytes(8, "little")):
        out[WIDTH // 8 - 8 + i] ^= b
    return base64.b64encode(bytes(out)).decode("ascii")


def mime_type(name: str) -> str:
    ext = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return MIME.get(ext) or mimetypes.guess_type("x" + ext)[0] or "application/octet-stream"
