"""Round 34 review of the evidence checks (``resources/evidence/``).

1. A fault of the machine was any ``OSError`` with an errno, but a seek of a spooled zip (over 8 MiB, on disk) to
   an offset the zip chose raises ``OSError(EINVAL)``: such a zip waited, pending, forever. Only disk full, quota,
   open files, memory and I/O errors are the machine's now; and a file pending for faults more than
   ``MAX_FAULTS`` times is quarantined.
"""

from __future__ import annotations

import errno
import io
import struct
import zipfile

from resources.evidence import containers, library
from resources.evidence.containers import problem
from tests.evidence.library import make_library
from tests.test_round32_evidence_carriers import zipped


def negative_offset_zip(size: int = 9 * 1024 * 1024) -> bytes:
    """A zip (over the 8 MiB spool, so on disk) whose directory says its files start 100 bytes before byte 0."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("minutes.txt", b"m" * size)
    data = bytearray(buf.getvalue())
    end = data.rindex(b"PK\x05\x06")
    offset = struct.unpack_from("<I", data, end + 16)[0]
    struct.pack_into("<I", data, end + 16, offset + 100)  # the central directory 100 bytes "later"
    return bytes(data)


def test_a_zip_seeking_before_its_start_is_corrupt_not_a_machine_fault():
    outer = zipped({"bundle.zip": negative_offset_zip()}, method=zipfile.ZIP_STORED)
    found = problem(outer, 1 << 31)
    assert found is not None and not found.pending, found
    assert "does not open" in found.reason and "retried" not in found.reason, found.reason


def test_only_the_machines_errnos_are_its_faults():
    assert containers.machine_fault(OSError(errno.ENOSPC, "full")) and containers.machine_fault(MemoryError())
    for code in (errno.EINVAL, errno.ESPIPE, errno.EFBIG):
        assert not containers.machine_fault(OSError(code, "from the file")), code


def test_a_file_that_faults_every_time_is_quarantined_at_last(tmp_path, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(containers.carriers, "walk", full)
    lib = make_library(tmp_path, None, require_scan=False)
    content = b"{\\rtf1 minutes\\par}"
    assert lib.ingest(content, "minutes.rtf", "email").status == "pending"
    for _ in range(library.MAX_FAULTS - 1):
        assert [o.status for o in lib.retry_pending()] == ["pending"]
    (last,) = lib.retry_pending()
    assert last.status == "quarantined" and f"failed so {library.MAX_FAULTS} times" in last.reason, last.reason
    assert "fix the machine" in last.reason and lib.retry_pending() == []
