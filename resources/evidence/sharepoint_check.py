"""Is the file already at a SharePoint content address the content? Cheaply when the store can tell, by
reading it back when it cannot, and never by holding that file whole.

Graph publishes one hash of a SharePoint file, ``file.hashes.quickXorHash``: a mismatch proves other
bytes, but a match proves little (the hash is linear, so other bytes of the same size and hash are easy
to make). So when a file is stored, the store records in its ``EvidenceMetadata`` column what Graph
reported for it right after the upload was checked (``RECORD``: size, quickXorHash and ``cTag``, the tag
Graph changes whenever the content changes, not when only its columns do). A later put of the same
content takes the file as stored without downloading it when its size, quickXorHash and cTag are still
the recorded ones, the hash is the content's and the last write to the file (``lastModifiedBy``) was
this app's own (the record is only a column: anyone who may edit the library may rewrite it); any
other case (no record: a file stored before this, or whose columns were not written; a new cTag: the
content was written since; another's write: a person's or another app's) reads it back through its
pre-authenticated ``@microsoft.graph.downloadUrl`` as a stream, compared with the content chunk by chunk
and abandoned at the first difference or the first byte too many.
"""

from __future__ import annotations

import base64
import os
import ssl
from typing import Any

RECORD = "projectx:content"  # key in the EvidenceMetadata JSON; clean_metadata never makes a ':' in a key
WIDTH, SHIFT = 160, 11
MASK = (1 << WIDTH) - 1
WINDOW = WIDTH * 6554  # ~1 MiB, a whole number of 160-byte blocks
READ_CHUNK = 1024 * 1024


def _fold(block: bytes) -> int:
    """XOR of the 160-byte blocks of ``block`` (its length a multiple of 160), halving it at C speed."""
    n = len(block) // WIDTH
    while n > 1:
        if n % 2:
            block, n = block + bytes(WIDTH), n + 1
        half = n // 2 * WIDTH
        block = (int.from_bytes(block[:half], "little") ^ int.from_bytes(block[half:], "little")).to_bytes(
            half, "little")
        n //= 2
    return int.from_bytes(block, "little") if block else 0


def quick_xor_hash(data: bytes) -> str:
    """Microsoft's QuickXorHash (base64), as Graph reports it for OneDrive for Business and SharePoint files:
    byte ``i`` XORed into a circular 160-bit register at bit ``11 * i``, the length XORed into the last 8
    bytes. Bytes 160 apart land on the same bit, so the data is folded to 160 bytes first."""
    view, folded = memoryview(data), 0
    for start in range(0, len(data), WINDOW):
        part = bytes(view[start:start + WINDOW])
        folded ^= _fold(part + bytes(-len(part) % WIDTH))
    register = 0
    for index, byte in enumerate(folded.to_bytes(WIDTH, "little")):
        if byte:
            shift = (index * SHIFT) % WIDTH
            register ^= ((byte << shift) | (byte >> (WIDTH - shift))) & MASK
    out = bytearray(register.to_bytes(WIDTH // 8, "little"))
    for i, b in enumerate(len(data).to_bytes(8, "little")):
        out[WIDTH // 8 - 8 + i] ^= b
    return base64.b64encode(bytes(out)).decode("ascii")


def facts(item: Any) -> tuple[int, str | None, str | None]:
    """(size, quickXorHash, cTag) of a drive item as Graph shows it (None: not given)."""
    hashes = getattr(getattr(item, "file", None), "hashes", None)
    return int(item.size or 0), getattr(hashes, "quick_xor_hash", None) or None, item.c_tag or None


def record(item: Any) -> str:
    """What to keep in the file's metadata column once its upload is checked."""
    size, qx, ctag = facts(item)
    return f"{size} {qx or '-'} {ctag or '-'}"


def last_writer(item: Any) -> str | None:
    """The client id of the app whose write to the item (content or columns) was last; None: a person's."""
    app = getattr(getattr(item, "last_modified_by", None), "application", None)
    return str(app.id) if app is not None and app.id else None


def written_by(item: Any, client_id: str) -> bool:
    """Whether the last write to the item was the app ``client_id``'s. Graph lists app ids as lower-case GUIDs
    and Entra ID takes ``CLIENT_ID`` in any case, so they are compared case-insensitively."""
    writer = last_writer(item)
    return bool(writer and client_id) and writer.strip().lower() == client_id.strip().lower()


def unchanged(item: Any, recorded: str | None, content: bytes, qx: str, client_id: str) -> bool:
    """Whether the item is still what the store checked and recorded for ``content`` (``qx``: its hash): its
    own size and quickXorHash as Graph lists them are the content's, its cTag the recorded one, and the last
    write to it was this app's (``client_id``). The record lives in a column any editor of the library can
    write, so without that last test someone who put other bytes of the same size and quickXorHash there
    (the hash is linear: easy to make) and copied the new cTag into the record would pass; Graph sets
    ``lastModifiedBy`` itself, and a column write by anyone else sets it to them [unc: SharePoint's Editor]."""
    size, item_qx, ctag = facts(item)
    return bool(recorded) and size == len(content) and item_qx == qx and ctag is not None and \
        recorded == f"{size} {qx} {ctag}" and written_by(item, client_id)


def tls_verify() -> Any:
    ca = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("SSL_CERT_FILE")
    return ssl.create_default_context(cafile=ca) if ca else True


async def first_difference(url: str, content: bytes) -> int | None:
    """Stream the file at ``url`` (a pre-authenticated download URL: no Authorization header) and compare it
    with ``content``: None when they are the same bytes, else the offset of the first byte that differs (or
    of the first byte past either's end). At most one chunk of the file is held at a time."""
    import httpx
    from kiota_abstractions.api_error import APIError

    view = memoryview(content)
    async with httpx.AsyncClient(verify=tls_verify(), timeout=httpx.Timeout(120, connect=10),
                                 follow_redirects=True) as client, client.stream("GET", url) as resp:
        if resp.status_code >= 400:
            raise APIError(f"download answered {resp.status_code}", resp.status_code, dict(resp.headers))
        offset = 0
        async for chunk in resp.aiter_bytes(READ_CHUNK):
            mine = view[offset:offset + len(chunk)]
            if mine != chunk:
                if len(mine) < len(chunk) and mine == chunk[:len(mine)]:
                    return len(content)  # longer than the content
                return offset + next(i for i, (a, b) in enumerate(zip(mine, chunk, strict=False)) if a != b)
            offset += len(chunk)
    return None if offset == len(content) else offset
