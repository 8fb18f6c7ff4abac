"""Round 30: limits Drive puts on writes that the emulator took without a word.

- Custom file properties (``properties`` public, ``appProperties`` private), as Drive's "Add custom file properties"
  guide states them: at most 124 bytes for a property's key and value together (UTF-8), 30 public and 30 private
  properties per file, 100 in all. A write past one is 400 (the emulator stored any size, so a client that did not
  cut a long file name into an appProperty passed here and failed against Drive). [unc] Drive's reason and words;
  the counts are of the file's properties after the write (files.update merges, ``null`` removes).
- Resumable upload chunks (``check_chunk``): a ``Content-Range`` whose total differs from the one the session was
  given (``X-Upload-Content-Length`` or an earlier chunk's), a range that ends past the total, or a range whose
  length is not the body's: 400 (the emulator truncated the bytes, or took the new total). [unc] the words.
"""

from __future__ import annotations

from typing import Any

from sandbox.gdrive.errors import DriveError

PROPERTY_BYTES = 124
PER_VISIBILITY = 30
PER_FILE = 100


def _merged(mine: dict[str, str] | None, given: Any) -> dict[str, str]:
    out = dict(mine or {})
    for k, v in (given or {}).items() if isinstance(given, dict) else ():
        if v is None:
            out.pop(str(k), None)
        else:
            out[str(k)] = str(v)
    return out


def check_properties(meta: dict[str, Any], app: dict[str, str] | None = None,
                     public: dict[str, str] | None = None) -> None:
    """400 when ``meta``'s appProperties / properties, merged into the file's (``app``, ``public``), break a limit."""
    if not isinstance(meta, dict) or not (meta.get("appProperties") or meta.get("properties")):
        return
    total = 0
    for field, mine in (("appProperties", app), ("properties", public)):
        merged = _merged(mine, meta.get(field))
        for key, value in (meta.get(field) or {}).items() if isinstance(meta.get(field), dict) else ():
            size = len(str(key).encode("utf-8", "surrogatepass")) + len(
                str(value if value is not None else "").encode("utf-8", "surrogatepass"))
            if size > PROPERTY_BYTES:
                raise DriveError(400, "invalid", f"The size of a property's key plus value ({size} bytes) exceeds "
                                 f"the limit of {PROPERTY_BYTES} bytes.",
                                 location=f"file.{field}")
        if len(merged) > PER_VISIBILITY:
            raise DriveError(400, "invalid", f"A file can have at most {PER_VISIBILITY} {field}.",
                             location=f"file.{field}")
        total += len(merged)
    if total > PER_FILE:
        raise DriveError(400, "invalid", f"A file can have at most {PER_FILE} custom properties.",
                         location="file.properties")


def check_chunk(session: dict[str, Any], start: int | None, end: int | None, total: int | None, body: bytes) -> None:
    """A resumable chunk's ``Content-Range`` (``bytes start-end/total``; None where ``*``) against its session."""
    known = session.get("total")
    if total is not None and known is not None and total != known:
        raise DriveError(400, "badRequest", f"Invalid request. The Content-Range header's total ({total}) differs "
                         f"from the upload's size ({known}).")
    if start is None:
        return
    if end is None or end < start or end - start + 1 != len(body):
        raise DriveError(400, "badRequest", "Invalid request. The Content-Range header does not match the number "
                         f"of bytes sent ({len(body)}).")
    limit = total if total is not None else known
    if limit is not None and end >= limit:
        raise DriveError(400, "badRequest", f"Invalid request. The Content-Range header ends at byte {end}, past "
                         f"the upload's size ({limit}).")
