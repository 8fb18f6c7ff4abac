"""Google Drive store helpers: the check of a file already at a content address (kept and flagged when it
holds other bytes, never replaced), the pick among several copies, and retry-safe resumable chunks."""

from __future__ import annotations

import hashlib
import io
from typing import Any

from googleapiclient.http import MediaIoBaseUpload

from resources.evidence.base import occupied


class _Differs(Exception):
    """A download stopped at its first byte that is not the content's."""


class RawChunks(MediaIoBaseUpload):
    """A resumable upload whose chunks are sent as bytes: googleapiclient sends a stream's chunk as a slice of
    the stream, read to its end by the first try, so a chunk retried after a 5xx went out as its headers
    (``Content-Length`` 8 MiB) and no body, and the upload hung until the socket timed out."""

    def has_stream(self) -> bool:
        return False


def oldest(files: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The copy that is the object when there are several (two workers stored the same evidence at once):
    the oldest, then the lowest id, so every worker picks the same one."""
    return min(files, key=lambda f: (f.get("createdTime") or "", str(f.get("id")))) if files else None


def holds(store, f: dict[str, Any], sha: str, content: bytes) -> None:
    """Raise ``ContentMismatch`` when the file found at the content address (its ``appProperties`` sha256) holds
    other bytes: its size, then its md5Checksum, else (no checksum listed) its bytes read back in chunks and
    compared as they come. It is never deleted or replaced here: bytes that no longer match their recorded hash
    may be tampering, kept for review as the S3 store keeps its object (``base.occupied``); the library flags
    it (``security_alert``) and the file waits as pending until it is removed."""
    where = f"Google Drive file {f.get('id')} in folder {store.folder}"
    size, md5 = f.get("size"), f.get("md5Checksum")
    size = int(size) if size is not None else None  # Drive leaves size out for some files: then not compared
    if size is not None and size != len(content):
        raise occupied(sha, None, size, where)
    if md5 is not None:
        if md5 != hashlib.md5(content).hexdigest():
            raise occupied(sha, None, size, f"{where} (md5Checksum {md5})")
        return
    if content and first_difference(store, f["id"], content) is not None:
        raise occupied(sha, None, size, where)


class _Compare(io.RawIOBase):
    """A download sink that compares what it is given with ``content`` and stops at the first difference."""

    def __init__(self, content: bytes):
        super().__init__()
        self.content, self.offset, self.differs = memoryview(content), 0, None

    def writable(self) -> bool:
        return True

    def write(self, chunk) -> int:
        chunk = bytes(chunk)
        if self.content[self.offset:self.offset + len(chunk)] != chunk:
            self.differs = self.offset
            raise _Differs
        self.offset += len(chunk)
        return len(chunk)


def first_difference(store, file_id: str, content: bytes) -> int | None:
    """The file's bytes downloaded in chunks and compared with ``content`` as they come (one chunk held at a
    time, stopped at the first difference): None when they are the content."""
    from googleapiclient.http import MediaIoBaseDownload

    from resources.evidence.gdrive import ALL_DRIVES, CHUNK, RETRIES, drive_error

    sink = _Compare(content)
    downloader = MediaIoBaseDownload(sink, store.service.files().get_media(fileId=file_id, **ALL_DRIVES),
                                     chunksize=CHUNK)
    try:
        done = False
        while not done:
            _, done = downloader.next_chunk(num_retries=RETRIES)
    except _Differs:
        return sink.differs
    except Exception as exc:
        raise drive_error(exc, "download (checking the file at the address)", store.folder, store.who) from None
    return None if sink.offset == len(content) else sink.offset
