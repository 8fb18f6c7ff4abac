"""Downloads (``files.get`` / ``revisions.get`` with ``alt=media``) and their ``Range`` header, as HTTP
(RFC 9110) and Google's download servers answer it:

- ``bytes=a-b``, ``bytes=a-`` and the suffix form ``bytes=-n`` (the last n bytes) are 206 with
  ``Content-Range: bytes a-b/total``;
- a range starting past the end is 416 ``requestedRangeNotSatisfiable`` with ``Content-Range: bytes */total``,
  so any ``bytes=a-b`` / ``bytes=a-`` on an empty file is 416 with ``bytes */0``, as Drive answers
  googleapiclient's ``MediaIoBaseDownload`` (google-api-python-client issues #241 and #638, which made the
  client take that 416 as the end of a zero-byte download); a suffix range of an empty file is 200 [unc];
- a header that is not a single valid byte range (several ranges, ``bytes=5-2``, garbage) is ignored:
  200 with the whole content, as HTTP allows."""

from __future__ import annotations

import re

from sandbox.core.http import Response
from sandbox.core.numbers import ascii_int
from sandbox.gdrive.errors import drive_error

RANGE = re.compile(r"\s*bytes\s*=\s*([0-9]*)\s*-\s*([0-9]*)\s*\Z", re.I)


def download(data: bytes, mime: str, range_header: str) -> Response:
    total = len(data)
    m = RANGE.match(range_header or "")
    if m is None or m.group(1) == m.group(2) == "":
        return Response(200, data, mime)
    # ascii_int saturates: a bound of 5,000 digits was int()'s ValueError, a 500 [round 27]
    first = ascii_int(m.group(1)) if m.group(1) else None
    last = ascii_int(m.group(2)) if m.group(2) else None
    if not total:  # nothing to serve: a valid a-b / a- range is unsatisfiable
        return Response(200, data, mime) if first is None or (last is not None and last < first) else _unsatisfiable(0)
    if first is None:  # the last n bytes
        if last == 0:
            return _unsatisfiable(total)
        start, end = max(0, total - (last or 0)), total - 1
    else:
        start, end = first, min(last if last is not None else total - 1, total - 1)
        if last is not None and last < start:
            return Response(200, data, mime)
        if start >= total:
            return _unsatisfiable(total)
    return Response(206, data[start:end + 1], mime, [("Content-Range", f"bytes {start}-{end}/{total}")])


def _unsatisfiable(total: int) -> Response:
    return drive_error(416, "requestedRangeNotSatisfiable", "Request range not satisfiable",
                       [("Content-Range", f"bytes */{total}")])
