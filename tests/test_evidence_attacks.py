"""The Evidence Library attacked: hostile archives (EICAR packed, zip bombs, nesting, encryption, an
executable inside, formats nobody can open), a clamd that lies, stalls, trickles or hangs up, hostile
file names, damaged pending files, a crash mid-upload, and S3 keys and Drive/SharePoint items that
change or vanish under the ingestion. Real clamd with the shipped signatures, moto's S3 on loopback,
a fake clamd on a Unix socket for the answers a real one would not give."""

from __future__ import annotations

import bz2
import contextlib
import gzip
import io
import json
import lzma
import random
import socket
import struct
import tarfile
import threading
import time
import tracemalloc
import unicodedata
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import boto3
import pytest

from resources.evidence.base import content_address
from resources.evidence.containers import problem
from resources.evidence.s3 import S3Store
from resources.evidence.scan import ClamdScanner
from sandbox.aws import AwsFault
from tests.evidence.clamav import EICAR, MARKER
from tests.evidence.files import make_pdf
from tests.evidence.library import make_library

# -- helpers ---------------------------------------------------------------------------------------


def zipped(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED, encrypted: bool = False) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = method
            zf.writestr(info, data)
    raw = buf.getvalue()
    if encrypted:  # the "encrypted" flag in the local header and the central directory (as ZipCrypto sets it)
        raw = raw.replace(b"PK\x03\x04\x14\x00\x00\x00", b"PK\x03\x04\x14\x00\x01\x00")
        raw = raw.replace(b"PK\x01\x02\x14\x03\x14\x00\x00\x00", b"PK\x01\x02\x14\x03\x14\x00\x01\x00")
    return raw


def tarred(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def nested(levels: int, inner: bytes) -> bytes:
    for n in range(levels):
        inner = zipped({f"level{n}.zip": inner})
    return inner


def streamed_bomb(compress: Callable[[bytes], bytes], zeros: int, tail: bytes) -> bytes:
    return compress(b"\0" * zeros + tail)


def spreadsheet_export(rows: int = 15_000, repeat: int = 20, sheets: int = 2) -> tuple[bytes, int]:
    """An xlsx as an access-review export is: a zip of sheet XML (cells of shared-string indexes) that
    compresses ~6x. Defaults: ~17 MB, expanding to ~108 MiB in two sheets of ~54 MiB: past the size limit in
    all, within the test clamd's MaxScanSize (140M, the file counted too), each sheet within the size limit
    (one sheet past it is held: clamd skips a file that big inside an archive, round 31). Returns the zip and
    its expanded size."""
    rng = random.Random(7)
    block = "".join(f'<row r="{r}" spans="1:10">' + "".join(f'<c r="{col}{r}" t="s"><v>{rng.randrange(300)}</v></c>'
                                                            for col in "ABCDEFGHIJ") + "</row>"
                    for r in range(1, rows + 1)).encode()
    members = {"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>",
               **{f"xl/worksheets/sheet{n + 1}.xml": b"<worksheet><sheetData>" + block * (repeat // sheets) +
                  b"</sheetData></worksheet>" for n in range(sheets)}}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue(), sum(len(d) for d in members.values())


# -- archives: ClamAV reads them, but says OK for what it did not read --------------------------------


@pytest.mark.parametrize("content", [
    zipped({"report.txt": EICAR}),
    zipped({"a.zip": zipped({"b.zip": zipped({"eicar.txt": EICAR})})}),
    gzip.compress(EICAR), bz2.compress(EICAR), lzma.compress(EICAR),
    gzip.compress(tarred({"evidence/eicar.txt": EICAR})),
    zipped({"screenshot.bin": b"a" * 100 + MARKER}, zipfile.ZIP_STORED),
], ids=["zip", "zip-in-zip-in-zip", "gzip", "bzip2", "xz", "tar.gz", "marker-stored"])
def test_eicar_packed_is_found_and_quarantined_with_an_alert(tmp_path, clamd, content):
    """Held before: clamd unpacks these and finds the signature."""
    lib = make_library(tmp_path, clamd)
    out = lib.ingest(content, "evidence.pdf", "email")
    assert out.status == "quarantined" and out.reason.startswith("ClamAV found ProjectX.Test.")
    assert [a["kind"] for a in lib.ledger.rows("alerts")] == ["security_alert"]
    assert list(lib.store.list()) == []


def test_zip_bomb_with_eicar_past_the_scanners_limit_is_not_stored_as_clean(tmp_path, clamd):
    """clamd (MaxFileSize 120M here) answers OK for EICAR after 150 MB of zeros in a 150 KB zip: the
    library refuses what expands over 200 times its size past 100 MiB (a zip bomb, settled: quarantined),
    reading it as a stream and giving up there; the expansion budget (1 GiB by default) is not reached."""
    bomb = zipped({"zeros.bin": b"\0" * (150 * 1024 * 1024) + EICAR})
    assert len(bomb) < 200_000 and clamd.scan(bomb).clean  # the scanner's blind spot, for real
    lib = make_library(tmp_path, clamd)  # limits at their defaults (100 MiB, the expansion budget 1 GiB)
    started = time.monotonic()
    out = lib.ingest(bomb, "q3-access-review.zip", "slack")
    assert time.monotonic() - started < 15
    assert out.status == "quarantined" and out.metadata["scan_status"] == "clean"
    assert "expands to more than 104857600 bytes" in out.reason and "zip bomb" in out.reason
    assert list(lib.store.list()) == [] and (lib.quarantine_dir / out.sha256).read_bytes() == bomb


@pytest.mark.parametrize("compress", [gzip.compress, bz2.compress, lzma.compress], ids=["gzip", "bzip2", "xz"])
def test_compressed_stream_bombs_are_refused(tmp_path, clamd, compress):
    """Past the budget (a setting): pending, not stored; past the zip-bomb ratio: quarantined."""
    lib = make_library(tmp_path, clamd, max_expanded_bytes=4 * 1024 * 1024)
    bomb = streamed_bomb(compress, 8 * 1024 * 1024, b"tail")
    out = lib.ingest(bomb, "logs.gz", "jira")
    assert out.status == "pending" and "expands to more than 4194304 bytes" in out.reason
    assert list(lib.store.list()) == []
    found = problem(bomb, 1 << 30, ratio_floor=1024 * 1024)  # the ratio's floor lowered below 8 MiB
    assert found is not None and not found.pending and "zip bomb" in found.reason


def test_archives_nested_past_the_scanners_recursion_are_refused(tmp_path, clamd):
    deep = nested(20, zipped({"eicar.txt": EICAR}))
    assert clamd.scan(deep).clean  # clamd's MaxRecursion (17) stops short of the EICAR: OK
    lib = make_library(tmp_path, clamd)
    out = lib.ingest(deep, "bundle.zip", "email")
    assert out.status == "quarantined" and "nested more than 8 deep" in out.reason
    ok = lib.ingest(nested(3, zipped({"policy.txt": b"access control policy v3"})), "bundle2.zip", "email")
    assert ok.status == "stored"  # a few levels is fine


def test_encrypted_executable_and_unopenable_archives_are_refused(tmp_path, clamd):
    lib = make_library(tmp_path, clamd)
    enc = lib.ingest(zipped({"payroll.xlsx": b"PK secret" * 10}, encrypted=True), "payroll.zip", "email")
    assert enc.status == "quarantined" and "'payroll.xlsx' in the file is encrypted" in enc.reason
    exe = lib.ingest(zipped({"invoice.pdf": b"MZ\x90\x00" + b"\0" * 300}), "invoice.zip", "email")
    assert exe.status == "quarantined" and "application/x-msdownload" in exe.reason and "'invoice.pdf'" in exe.reason
    elf_in_tgz = lib.ingest(gzip.compress(tarred({"bin/report": b"\x7fELF\x02\x01\x01" + b"\0" * 200})),
                            "report.tgz", "email")
    assert elf_in_tgz.status == "quarantined" and "application/x-executable" in elf_in_tgz.reason
    seven = lib.ingest(b"7z\xbc\xaf\x27\x1c\x00\x04" + b"\0" * 100, "evidence.7z", "email")
    assert seven.status == "quarantined" and "7z archive" in seven.reason and "zip or tar" in seven.reason
    rar = lib.ingest(b"Rar!\x1a\x07\x01\x00" + b"\0" * 100, "evidence.rar", "email")
    assert rar.status == "quarantined" and "RAR archive" in rar.reason
    truncated = zipped({"a.txt": b"access review " * 500}, zipfile.ZIP_STORED)[:2000]
    cut = lib.ingest(truncated, "cut.zip", "email")
    assert cut.status == "quarantined" and "does not open" in cut.reason and "send it again whole" in cut.reason
    many = lib.ingest(zipped({f"f{n}.txt": b"x" for n in range(10_001)}, zipfile.ZIP_STORED), "many.zip", "email")
    assert many.status == "quarantined" and "more than 10000 files" in many.reason
    assert list(lib.store.list()) == []
    assert lib.ledger.rows("alerts") == []  # refused, not infected: no security alert


def test_ordinary_archives_and_office_files_are_stored(tmp_path, clamd):
    lib = make_library(tmp_path, clamd)
    docx = zipped({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document>access review</w:document>",
                   "word/media/image1.png": b"\x89PNG\r\n\x1a\n" + b"\0" * 64})
    tgz = gzip.compress(tarred({"cab/minutes.txt": b"CAB approved CHG1", "cab/plan.pdf": make_pdf(["plan"])}))
    for content, name in ((docx, "review.docx"), (tgz, "cab.tgz"), (gzip.compress(b"log line\n" * 1000), "a.log.gz")):
        assert lib.ingest(content, name, "sharepoint").status == "stored", name


def test_a_20_mb_spreadsheet_export_is_stored_not_taken_for_a_zip_bomb(tmp_path, clamd):
    """Office files are zips of XML compressing 5-10x and more: a 20 MB export expands past the 100 MB
    size limit, which was the expansion budget, so it was quarantined as a zip bomb, for good. The budget
    is now max(10 x the size limit, 1 GiB), and checking holds no member whole in memory."""
    sheet, expanded = spreadsheet_export()
    assert 12_000_000 < len(sheet) < 25_000_000 and expanded > 100 * 1024 * 1024
    lib = make_library(tmp_path, clamd)
    assert lib.max_expanded_bytes == 1 << 30
    assert make_library(tmp_path, clamd, max_bytes=200 << 20).max_expanded_bytes == 2000 << 20
    out = lib.ingest(sheet, "user-access-export.xlsx", "sharepoint")
    assert out.status == "stored", out.reason
    assert lib.store.get(out.sha256) == sheet
    tracemalloc.start()
    try:
        assert problem(sheet, lib.max_expanded_bytes) is None
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * 1024 * 1024, peak  # streamed and counted: not the 108 MiB it expands to


def test_an_archive_over_the_expansion_budget_waits_pending_and_is_stored_once_it_is_raised(tmp_path, clamd):
    """Over PROJECTX_EVIDENCE_MAX_EXPANDED_BYTES is a setting, not a verdict: pending (a watched store
    reads it again, retry_pending finishes it), never settled as quarantined."""
    export = zipped({"xl/worksheets/sheet1.xml": b'<row><c t="s"><v>1</v></c></row>' * 100_000})  # 3.3 MB
    lib = make_library(tmp_path, clamd, max_expanded_bytes=1_000_000)
    out = lib.ingest(export, "export.xlsx", "gdrive", source_ref="file-1@v1")
    assert out.status == "pending" and "expands to more than 1000000 bytes" in out.reason
    assert "PROJECTX_EVIDENCE_MAX_EXPANDED_BYTES" in out.reason and "raise the limit" in out.reason
    assert out.metadata["scan_status"] == "clean"
    assert lib.ledger.last_stored("gdrive", "file-1@v1") is None  # not settled: read again next run
    assert lib.settled_row("gdrive", "file-1@v1", {}) is None
    assert list(lib.store.list()) == [] and not lib.quarantine_dir.exists()
    assert [o.status for o in lib.retry_pending()] == ["pending"]  # still over
    lib.max_expanded_bytes = None  # the default again (1 GiB)
    [done] = lib.retry_pending()
    assert done.status == "stored" and lib.store.get(done.sha256) == export
    assert lib.ledger.last_stored("gdrive", "file-1@v1")["status"] == "stored"
    assert sorted(lib.pending_dir.iterdir()) == []


# -- MIME lies, sizes -------------------------------------------------------------------------------


@pytest.mark.parametrize("content,mime", [
    (b"MZ\x90\x00\x03" + b"\0" * 300, "application/x-msdownload"),
    (b"\x7fELF\x02\x01\x01" + b"\0" * 300, "application/x-executable"),
    (b"\xcf\xfa\xed\xfe\x07\x00\x00\x01" + b"\0" * 300, "application/x-mach-binary"),
], ids=["pe", "elf", "mach-o"])
def test_executables_named_as_documents_are_quarantined(tmp_path, clamd, content, mime):
    lib = make_library(tmp_path, clamd)
    out = lib.ingest(content, "Q3 SOC2 report.pdf", "email")
    assert out.status == "quarantined" and mime in out.reason


def test_size_limit_is_exact_and_zero_bytes_are_evidence(tmp_path, clamd):
    lib = make_library(tmp_path, clamd, max_bytes=1024)
    assert lib.ingest(b"a" * 1024, "at.txt", "slack").status == "stored"
    over = lib.ingest(b"a" * 1025, "over.txt", "slack")
    assert over.status == "quarantined" and "1025 bytes is over the 1024-byte limit" in over.reason
    empty = lib.ingest(b"", "empty.txt", "slack")
    assert empty.status == "stored" and empty.metadata["mime_type"] == "application/x-empty"


# -- a clamd that misbehaves --------------------------------------------------------------------------


class FakeClamd:
    """A Unix-socket server that reads an INSTREAM (or not) and answers what ``behaviour`` says."""

    def __init__(self, path: Path, behaviour: Callable[[socket.socket], None]):
        self.path, self.behaviour = path, behaviour
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(path))
        self.sock.listen(8)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            self.behaviour(conn)

    def close(self) -> None:
        self.stop.set()
        self.sock.close()
        self.thread.join(5)


def read_stream(conn: socket.socket, limit: int | None = None) -> int:
    """Read ``zINSTREAM\\0`` and the chunks up to the zero length (or ``limit`` bytes); the bytes read."""
    buf = b""
    while not buf.endswith(b"\0"):
        buf += conn.recv(1)
    total = 0
    while True:
        head = b""
        while len(head) < 4:
            part = conn.recv(4 - len(head))
            if not part:
                return total
            head += part
        (size,) = struct.unpack("!L", head)
        if size == 0:
            return total
        while size:
            part = conn.recv(min(size, 65536))
            if not part:
                return total
            size -= len(part)
            total += len(part)
            if limit is not None and total > limit:
                return total


@pytest.fixture
def fake_clamd(tmp_path) -> Iterator[Callable[[Callable[[socket.socket], None]], ClamdScanner]]:
    servers: list[FakeClamd] = []

    def start(behaviour: Callable[[socket.socket], None], timeout: float = 3) -> ClamdScanner:
        path = tmp_path / f"fake-{len(servers)}.sock"
        servers.append(FakeClamd(path, behaviour))
        return ClamdScanner(str(path), timeout=timeout)

    yield start
    for server in servers:
        server.close()


def answer(text: bytes, after_reading: bool = True) -> Callable[[socket.socket], None]:
    def behaviour(conn: socket.socket) -> None:
        if after_reading:
            read_stream(conn)
        conn.sendall(text)
    return behaviour


def trickle(conn: socket.socket) -> None:
    read_stream(conn)
    for byte in b"stream: OK":  # one byte every 0.4 s: each read is quick, the answer never comes whole in time
        conn.sendall(bytes([byte]))
        time.sleep(0.4)
    conn.sendall(b"\0")


def size_limit(conn: socket.socket) -> None:
    read_stream(conn, limit=1000)
    conn.sendall(b"INSTREAM size limit exceeded. ERROR\0")
    conn.shutdown(socket.SHUT_RDWR)


@pytest.mark.parametrize("behaviour,expect", [
    (answer(b"stream: OK"), "connection closed after 10 byte(s)"),  # cut before its NUL: not a verdict
    (answer(b""), "closed after 0 byte(s)"),
    (answer(b"HTTP/1.1 200 OK\r\n\r\n\0"), "neither OK nor FOUND"),
    (answer(b"stream: OK" + b" " * 10_000 + b"\0"), "an answer over 4096 bytes"),
    (answer(b"stream: OKAY\0"), "neither OK nor FOUND"),
    (lambda conn: (read_stream(conn), time.sleep(5)), "TimeoutError"),  # hangs after the stream
    (trickle, "gave no verdict (TimeoutError"),
    (size_limit, "StreamMaxLength"),
], ids=["no-nul", "hang-up", "garbage", "endless", "okay", "hang", "trickle", "size-limit"])
def test_a_clamd_that_misbehaves_never_passes_a_file_as_clean(tmp_path, fake_clamd, behaviour, expect):
    lib = make_library(tmp_path, fake_clamd(behaviour, timeout=2))
    started = time.monotonic()
    out = lib.ingest(b"incident report INC9 " * 200, "inc9.txt", "servicenow", source_ref="att-9")
    assert time.monotonic() - started < 6  # bounded by the scanner's timeout, in all
    assert out.status == "pending" and expect in out.reason, out.reason
    assert list(lib.store.list()) == []
    assert (lib.pending_dir / lib._pending_key(out.sha256, "servicenow", "att-9")).read_bytes() == \
        b"incident report INC9 " * 200


def test_an_ok_before_the_file_was_read_is_not_a_verdict(tmp_path, fake_clamd):
    lib = make_library(tmp_path, fake_clamd(answer(b"stream: OK\0", after_reading=False)))
    out = lib.ingest(b"incident report INC9 " * 200_000, "inc9.txt", "servicenow")  # 4 MB: more than buffers hold
    assert out.status == "pending" and "before it had read the whole" in out.reason


def test_a_found_answer_is_infected_whatever_the_signature_looks_like(tmp_path, fake_clamd):
    lib = make_library(tmp_path, fake_clamd(answer(b"stream: Evil\nsig\x1b[31m\u202e FOUND\0".replace(
        b"\\u202e", "\u202e".encode()))))
    out = lib.ingest(b"hello", "a.txt", "slack")
    assert out.status == "quarantined"
    [alert] = lib.ledger.rows("alerts")
    assert alert["kind"] == "security_alert" and "\n" not in alert["message"] and "\x1b" not in alert["message"]
    assert "\u202e" not in alert["message"] and "Evil\\nsig" in alert["message"]


def test_the_real_clamd_stream_limit_leaves_the_file_pending_then_it_is_finished(tmp_path, clamd):
    """A real clamd with a 1 MB StreamMaxLength, against a 2 MB file; then the right clamd."""
    import shutil
    import subprocess

    from tests.evidence.clamav import SIGNATURES

    work = tmp_path / "small-clamd"
    (work / "db").mkdir(parents=True)
    for sig in SIGNATURES.glob("*.?db"):
        shutil.copy(sig, work / "db" / sig.name)
    sock = work / "clamd.sock"
    (work / "clamd.conf").write_text("\n".join([
        f"LocalSocket {sock}", "Foreground yes", f"DatabaseDirectory {work / 'db'}", f"LogFile {work / 'log'}",
        "StreamMaxLength 1M", "MaxThreads 1", "SelfCheck 0", ""]))
    proc = subprocess.Popen([shutil.which("clamd") or "clamd", "--config-file", str(work / "clamd.conf")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        small = ClamdScanner(str(sock), timeout=20)
        deadline = time.monotonic() + 30
        while True:
            try:
                if small.ping():
                    break
            except Exception:
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.2)
        lib = make_library(tmp_path, small)
        payload = b"firewall rule export\n" * 100_000 + EICAR  # 2 MB, EICAR past the 1 MB limit
        out = lib.ingest(payload, "fw.txt", "jira", source_ref="fw-1")
        assert out.status == "pending" and "StreamMaxLength" in out.reason and "size limit" in out.reason
        assert list(lib.store.list()) == []
    finally:
        proc.terminate()
        proc.wait(15)
    lib.scanner = clamd
    [done] = lib.retry_pending()
    assert done.status == "quarantined" and done.reason.startswith("ClamAV found")


# -- names ------------------------------------------------------------------------------------------

HOSTILE_NAMES = ["../../etc/passwd", "/etc/shadow", "C:\\Windows\\system32\\evil.dll", "CON", "nul.txt",
                 "a\x00b.pdf", "line\nFORGED: security_alert cleared", "\u202egnp.exe", "\udcff\udcfe.pdf",
                 "x" * 5000 + ".pdf", "%2e%2e%2fsecret", "  spaces  .pdf", ""]


@pytest.mark.parametrize("store_kind", ["local", "s3"])
def test_hostile_names_are_recorded_escaped_and_never_break_a_writer(tmp_path, clamd, store_kind, request):
    store = None
    if store_kind == "s3":
        request.getfixturevalue("aws")
        store = S3Store.from_env()
    lib = make_library(tmp_path, clamd, store=store)
    outs = [lib.ingest(f"evidence {n}".encode(), name, "email", [f"tag:{name[:20]}"], source_ref=name)
            for n, name in enumerate(HOSTILE_NAMES)]
    assert {o.status for o in outs} == {"stored"}  # the surrogate name raised UnicodeEncodeError before
    rows = lib.ledger.rows("files")
    assert len(rows) == len(HOSTILE_NAMES)
    for row in rows:
        for field in ("filename", "source_ref", "tags"):
            row[field].encode("utf-8")  # no lone surrogates (no UTF-8 writer takes them)
            assert "\x00" not in row[field] and len(row[field]) <= 4096, field
    by_name = {r["filename"]: r for r in rows}
    assert {"a\\x00b.pdf", "\\udcff\\udcfe.pdf", "\u202egnp.exe", "line\nFORGED: security_alert cleared",
            "CON", "../../etc/passwd", ""} <= set(by_name)  # escaped what no writer stores, the rest as named
    assert by_name["../../etc/passwd"]["storage_uri"].endswith(outs[0].sha256)  # the name is never a path
    for n, out in enumerate(outs):
        assert lib.store.get(out.sha256) == f"evidence {n}".encode()
    # a re-run asking by the raw reference finds the escaped one (the ingestion would read it again otherwise)
    assert lib.ledger.last_stored("email", "\udcff\udcfe.pdf")["status"] == "stored"
    assert lib.ledger.last_stored("email", "a\x00b.pdf")["status"] == "stored"
    if store_kind == "local":
        assert sorted(p.name for p in (tmp_path / "library").rglob("*") if p.is_file() and "." not in p.name) == \
            sorted({o.sha256 for o in outs})
    # an alert quotes the name: a newline or an RTL override cannot forge a line or a name in it
    bad = lib.ingest(EICAR, "ok.txt\nsecurity_alert resolved \u202eexe.pdf", "email")
    [alert] = lib.ledger.rows("alerts")
    assert bad.status == "quarantined" and "\n" not in alert["message"] and "\u202e" not in alert["message"]


def test_same_bytes_under_names_that_collide_are_stored_once(tmp_path, clamd):
    lib = make_library(tmp_path, clamd)
    content = make_pdf(["vendor risk assessment"])
    names = ["Résumé.pdf", unicodedata.normalize("NFD", "Résumé.pdf"), "RÉSUMÉ.PDF", "résumé.pdf"]
    outs = [lib.ingest(content, n, "gdrive", source_ref=f"id{n}") for n in names]
    assert {o.status for o in outs} == {"stored"} and len({o.storage_uri for o in outs}) == 1
    assert len(list(lib.store.list())) == 1 and len(lib.ledger.rows("files")) == 4  # each source item recorded
    other = lib.ingest(b"different bytes", names[0], "gdrive", source_ref="id-other")
    assert other.storage_uri != outs[0].storage_uri and len(list(lib.store.list())) == 2


# -- pending files and crashes ------------------------------------------------------------------------


def test_damaged_pending_files_are_reported_not_stored_and_the_rest_finish(tmp_path, clamd):
    down = ClamdScanner(str(tmp_path / "none.sock"), timeout=1)
    lib = make_library(tmp_path, down)
    a = lib.ingest(b"access review Q1", "a.txt", "jira", source_ref="a")
    b = lib.ingest(b"access review Q2", "b.txt", "jira", source_ref="b")
    c = lib.ingest(b"access review Q3", "c.txt", "jira", source_ref="c")
    assert {a.status, b.status, c.status} == {"pending"}
    key_a, key_b = (lib._pending_key(o.sha256, "jira", r) for o, r in ((a, "a"), (b, "b")))
    (lib.pending_dir / key_a).write_bytes(b"access rev")  # torn: other bytes than the sidecar's sha256
    (lib.pending_dir / f"{key_b}.json").write_text("{not json")
    lib.scanner = clamd
    done = lib.retry_pending()
    assert [o.filename for o in done] == ["c.txt"] and done[0].status == "stored"
    assert not lib.store.exists(content_address(b"access rev"))
    errors = [x for x in lib.ledger.rows("alerts") if x["kind"] == "error_event"]
    assert len(errors) == 2 and any(key_a in e["message"] and "hash to" in e["message"] for e in errors)
    assert (lib.damaged_dir / key_a).read_bytes() == b"access rev"  # kept for review, out of the next retries
    assert (lib.damaged_dir / f"{key_b}.json").exists() and sorted(lib.pending_dir.iterdir()) == []
    assert lib.retry_pending() == [] and len(lib.ledger.rows("alerts")) == 2


def test_a_pending_file_finished_by_a_concurrent_retry_is_skipped_not_damaged(tmp_path, clamd, monkeypatch):
    """Another retry finishes a pending file between this one reading its sidecar and its bytes: it is
    gone meanwhile, not damage (no move to evidence-pending-damaged, no error event)."""
    down = ClamdScanner(str(tmp_path / "none.sock"), timeout=1)
    lib = make_library(tmp_path, down)
    a = lib.ingest(b"access review Q1", "a.txt", "jira", source_ref="a")
    lib.ingest(b"access review Q2", "b.txt", "jira", source_ref="b")
    orphan = lib.ingest(b"access review Q3", "c.txt", "jira", source_ref="c")
    key_a, key_c = lib._pending_key(a.sha256, "jira", "a"), lib._pending_key(orphan.sha256, "jira", "c")
    (lib.pending_dir / key_c).unlink()  # a sidecar whose bytes are missing for good: that is damage
    lib.scanner = clamd
    other = make_library(tmp_path, clamd)  # another process: same folders, ledger and store
    real = Path.read_text

    def concurrent(self, *args, **kwargs):
        text = real(self, *args, **kwargs)
        if self.name == f"{key_a}.json" and not other_ran:
            other_ran.append([])
            other_ran[0] += other.retry_pending()  # finishes a (and what is left) before this reads a's bytes
        return text

    other_ran: list[list] = []

    monkeypatch.setattr(Path, "read_text", concurrent)
    done = lib.retry_pending()
    monkeypatch.undo()
    assert other_ran and "a.txt" in [o.filename for o in other_ran[0]]
    assert "a.txt" not in [o.filename for o in done]  # skipped: gone meanwhile
    assert len(list(lib.store.list())) == 2  # a and b, each by whichever retry came first
    assert all(lib.ledger.last_stored("jira", ref)["status"] == "stored" for ref in ("a", "b"))
    damaged = sorted(p.name for p in lib.damaged_dir.iterdir())
    assert damaged == [f"{key_c}.json"]  # only the real damage, reported once
    errors = [x for x in lib.ledger.rows("alerts") if x["kind"] == "error_event"]
    assert len(errors) == 1 and key_c in errors[0]["message"]
    assert sorted(lib.pending_dir.iterdir()) == []


def test_pending_writes_leave_no_partial_files(tmp_path, monkeypatch):
    from resources.evidence import library as library_module

    lib = make_library(tmp_path, None, require_scan=True)
    real = library_module.atomic_write
    calls = []

    def crash_on_sidecar(path, data):
        calls.append(path)
        if path.suffix == ".json" and len(calls) > 2:
            raise OSError(28, "No space left on device")
        real(path, data)

    monkeypatch.setattr(library_module, "atomic_write", crash_on_sidecar)
    lib.ingest(b"v1 of the policy", "policy.txt", "slack", source_ref="p")
    with pytest.raises(OSError):
        lib.ingest(b"v1 of the policy", "policy.txt", "slack", source_ref="p")
    assert not [p for p in lib.pending_dir.iterdir() if p.name.startswith(".part-")]
    [side] = lib.pending_dir.glob("*.json")
    assert content_address(side.with_suffix("").read_bytes()) == json.loads(side.read_text())["sha256"]


class Crash(Exception):
    """The process dying between the parts and CompleteMultipartUpload."""


def test_a_failed_and_a_crashed_multipart_upload_then_a_rerun_store_one_object(aws, clamd, tmp_path):
    """A 9 MiB file goes up in two parts. First every part PUT fails past the retries: the file is
    pending, no object is visible. Then the run crashes after the parts, before the upload completes:
    still no object. The rerun stores exactly one object, and the ledger says pending, then stored."""
    store = S3Store.from_env()
    lib = make_library(tmp_path, clamd, store=store)
    big = make_pdf(["asset inventory"]) + b"%" + b"0" * (9 * 1024 * 1024)
    aws.server.faults.append(AwsFault("s3", 503, "SlowDown", count=40, method="PUT", path=r"/objects/"))
    out = lib.ingest(big, "inventory.pdf", "servicenow", source_ref="inv-1")
    assert out.status == "pending" and "retry later" in out.reason and aws.server.fault_hits
    aws.server.faults.clear()
    assert list(store.list()) == []

    def crash(**_):
        raise Crash("killed")

    store.client.meta.events.register("before-call.s3.CompleteMultipartUpload", crash)
    with pytest.raises(Crash):
        lib.retry_pending()
    assert list(store.list()) == []
    store.client.meta.events.unregister("before-call.s3.CompleteMultipartUpload", crash)

    [again] = lib.retry_pending()
    assert again.status == "stored" and store.get(again.sha256) == big
    assert lib.ingest(big, "inventory.pdf", "servicenow", source_ref="inv-1").storage_uri == again.storage_uri
    keys = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=aws.bucket).get("Contents", [])]
    assert keys == [store._key(again.sha256)]
    assert [r["status"] for r in lib.ledger.rows("files")] == ["pending", "stored", "stored"]
    assert lib.retry_pending() == []


# -- Google Drive: native files, a file changing under the read ----------------------------------------


def _drive_run(wh, gdrive, lib) -> dict[str, tuple]:
    from pipelines.evidence_stores import evidence_stores_source

    wh.pipeline("evidence_stores").run(evidence_stores_source(
        ledger_path=str(lib.ledger.path), drive_folders=[gdrive.inbox_folder],
        drive_credentials_file=str(gdrive.key_file), drive_api_endpoint=gdrive.api_endpoint, library=lib))
    import duckdb

    with duckdb.connect(wh.duckdb_path, read_only=True) as con:
        return {r[0]: r[1:] for r in con.execute("select file_id, status, reason, name, sha256 from "
                                                 "evidence_stores.drive_files").fetchall()}


def test_drive_native_files_are_exported_or_refused_never_a_permission_task(gdrive, clamd, duckdb_warehouse,
                                                                             tmp_path):
    """A Google Doc has no bytes (alt=media is 403 fileNotDownloadable): it was a permission task ("share
    the folder") and pending forever; now it is exported as PDF. A shortcut or a Form has nothing to
    export: recorded quarantined with the reason, not read again."""
    from sandbox.gdrive.store import DriveFile

    store = gdrive.sandbox.store
    apps = "application/vnd.google-apps."

    def add(name: str, mime: str, content: bytes = b"") -> str:
        return store.add(DriveFile(store.new_id(), name, mime, [gdrive.inbox_folder], "auditor@example.com",
                                   content)).id

    pdf = make_pdf(["Access review Q3 approved by the CISO"])
    doc = add("Access review Q3", apps + "document", pdf)  # the emulator serves it as the export
    sheet = add("Asset inventory", apps + "spreadsheet", make_pdf(["asset inventory"]))
    shortcut = add("Link to policy", apps + "shortcut")
    form = add("Vendor questionnaire", apps + "form")
    lib = make_library(tmp_path, clamd)
    rows = _drive_run(duckdb_warehouse, gdrive, lib)
    assert rows[doc][0] == "stored" and rows[doc][3] == content_address(pdf)
    assert rows[sheet][0] == "stored"
    assert lib.ledger.last_stored("gdrive", f"{doc}@{store.files[doc].modified}")["filename"] == \
        "Access review Q3.pdf"
    for native in (shortcut, form):
        assert rows[native][0] == "quarantined" and "put the file itself in the folder" in rows[native][1]
    assert [a for a in lib.ledger.rows("alerts") if a["kind"] == "permission_task"] == []
    gdrive.sandbox.clear_request_log()
    _drive_run(duckdb_warehouse, gdrive, lib)  # nothing pending: nothing read again
    assert not [r for r in gdrive.sandbox.request_log if "alt=media" in r["query"] or "/export" in r["path"]]


def test_drive_file_changed_between_listing_and_download_is_read_again(gdrive, clamd, duckdb_warehouse, tmp_path,
                                                                       monkeypatch):
    """The listing says md5 X; by the download the file is Y. The row said version X with Y's bytes; now it
    stays pending and the next run stores Y under its own version."""
    import pipelines.evidence_stores.drive as drive_ingest
    from sandbox.gdrive.store import DriveFile

    store = gdrive.sandbox.store
    fid = store.add(DriveFile(store.new_id(), "policy.txt", "text/plain", [gdrive.inbox_folder],
                              "auditor@example.com", b"access control policy v1")).id
    real = drive_ingest.DriveIngest._read  # downloads and exports (round 31: was _exec)
    swapped = []

    def swap_before_download(self, request, action, *rest):
        if action == "download" and not swapped:
            store.files[fid].content = b"access control policy v2, edited meanwhile"
            swapped.append(fid)
        return real(self, request, action, *rest)

    monkeypatch.setattr(drive_ingest.DriveIngest, "_read", swap_before_download)
    lib = make_library(tmp_path, clamd)
    first = _drive_run(duckdb_warehouse, gdrive, lib)
    assert first[fid][0] == "pending" and "changed while it was read" in first[fid][1]
    assert list(lib.store.list()) == []
    second = _drive_run(duckdb_warehouse, gdrive, lib)
    assert second[fid][0] == "stored"
    assert second[fid][3] == content_address(b"access control policy v2, edited meanwhile")


# -- SharePoint: an item deleted or replaced between the delta and the download --------------------------


def test_sharepoint_item_deleted_or_replaced_between_delta_and_download(sharepoint_graph, clamd, duckdb_warehouse,
                                                                        tmp_path, monkeypatch):
    import pipelines.evidence_stores.sharepoint as sp_ingest
    from tests.test_evidence_sharepoint_ingest import World, _library, _run, _status

    sharepoint_graph[0].faults.clear()
    w = World(sharepoint_graph)
    gone = w.drop("Audit Inbox", "vendor-soc2.pdf", make_pdf(["SOC 2 report of Acme"]))
    edited = w.drop("Audit Inbox", "cab-minutes.txt", b"CAB approved CHG7")
    store = w.sb.store
    real = sp_ingest.SharePointIngest.run
    done: set[str] = set()

    def meddle(self, make, action, missing_ok=False):
        if action == "download" and not done:  # after the delta, before the first download
            store.delete(store.items[gone])
            store.add(w.drive.id, w.folders["Audit Inbox"], "cab-minutes.txt", b"CAB approved CHG7 and CHG8, v2")
            done.add(action)
        return real(self, make, action, missing_ok)

    monkeypatch.setattr(sp_ingest.SharePointIngest, "run", meddle)
    lib = _library(tmp_path, clamd, w)
    _run(duckdb_warehouse, lib, w)
    rows = _status(duckdb_warehouse)
    assert rows.get(gone, ("deleted", True))[:2] == ("deleted", True)  # no pending row that can never finish
    assert rows[edited][0] == "pending" and "changed while it was read" in rows[edited][2]
    assert [o.metadata.get("filename") for o in lib.store.list()] == []
    _run(duckdb_warehouse, lib, w)
    rows = _status(duckdb_warehouse)
    assert rows[edited][0] == "stored"
    assert [lib.store.get(o.sha256) for o in lib.store.list()] == [b"CAB approved CHG7 and CHG8, v2"]


def test_sharepoint_listed_size_is_not_the_version_a_same_size_edit_is(sharepoint_graph, clamd, duckdb_warehouse,
                                                                         tmp_path, monkeypatch):
    """Graph lists another ``size`` than the bytes for some Office, PDF and OneNote files, intact: that
    left them pending for ever (len(content) != size). The version decides: unchanged (cTag), the bytes
    are stored with their own size; an edit of the same size while it was read is pending, then stored."""
    import pipelines.evidence_stores.sharepoint as sp_ingest
    from tests.test_evidence_sharepoint_ingest import World, _library, _rows, _run, _status

    sharepoint_graph[0].faults.clear()
    w = World(sharepoint_graph)
    store = w.sb.store
    pdf = make_pdf(["SOC 2 bridge letter of Acme"])
    odd = w.drop("Audit Inbox", "bridge-letter.pdf", pdf)
    store.items[odd].listed_size = len(pdf) + 3187  # as Graph lists it
    edited = w.drop("Audit Inbox", "cab-minutes.txt", b"CAB approved CHG7")
    real = sp_ingest.SharePointIngest.run
    done: set[str] = set()

    def meddle(self, make, action, missing_ok=False):
        if action == "download" and not done:  # after the delta: an edit of the same size
            store.add(w.drive.id, w.folders["Audit Inbox"], "cab-minutes.txt", b"CAB approved CHG9")
            done.add(action)
        return real(self, make, action, missing_ok)

    monkeypatch.setattr(sp_ingest.SharePointIngest, "run", meddle)
    lib = _library(tmp_path, clamd, w)
    _run(duckdb_warehouse, lib, w)
    rows = _status(duckdb_warehouse)
    assert rows[odd][0] == "stored", rows[odd]
    [(size, sha)] = _rows(duckdb_warehouse, f"select size_bytes, sha256 from evidence_stores.sharepoint_files "
                                            f"where file_id = '{odd}'")
    assert size == len(pdf) and sha == content_address(pdf)  # the size stored, not the one listed
    assert rows[edited][0] == "pending" and "changed while it was read" in rows[edited][2]
    assert "cTag" in rows[edited][2]
    assert [o.sha256 for o in lib.store.list()] == [content_address(pdf)]
    _run(duckdb_warehouse, lib, w)
    rows = _status(duckdb_warehouse)
    assert rows[edited][0] == "stored" and rows[odd][0] == "stored"
    assert sorted(lib.store.get(o.sha256) for o in lib.store.list()) == sorted([pdf, b"CAB approved CHG9"])


# -- S3: keys that URL decoding mangles, an object replaced between listing and download ----------------


def test_s3_keys_with_plus_percent_and_spaces_and_an_object_replaced_mid_run(aws, clamd, duckdb_warehouse, tmp_path,
                                                                              monkeypatch):
    import duckdb

    import pipelines.evidence_stores.s3 as s3_ingest
    from pipelines.evidence_stores import evidence_stores_source

    s3 = boto3.client("s3")
    keys = ["inbox/a+b.txt", "inbox/100% done.txt", "inbox/%2e%2e%2fup.txt", "inbox/sp ace/x .txt",
            "inbox/q?x=1&y=2#frag.txt", "inbox/replaced.txt"]
    for n, key in enumerate(keys):
        s3.put_object(Bucket=aws.bucket, Key=key, Body=f"evidence {n} for {key}".encode())
    real = s3_ingest.S3Ingest.listing

    def listing_then_replace(self, bucket, prefix):
        out = real(self, bucket, prefix)
        if not getattr(listing_then_replace, "done", False):
            s3.put_object(Bucket=aws.bucket, Key="inbox/replaced.txt", Body=b"v2 after the listing")
            listing_then_replace.done = True
        return out

    monkeypatch.setattr(s3_ingest.S3Ingest, "listing", listing_then_replace)
    lib = make_library(tmp_path, clamd, store=S3Store.from_env())

    def run() -> dict[str, tuple]:
        duckdb_warehouse.pipeline("evidence_stores").run(evidence_stores_source(
            ledger_path=str(lib.ledger.path), library=lib, s3_prefixes=[(aws.bucket, "inbox/")]))
        with duckdb.connect(duckdb_warehouse.duckdb_path, read_only=True) as con:
            return {r[0]: r[1:] for r in con.execute("select object_key, status, reason, sha256 from "
                                                     "evidence_stores.s3_files").fetchall()}

    rows = run()
    assert set(rows) == set(keys)
    for n, key in enumerate(keys[:-1]):
        assert rows[key][0] == "stored" and rows[key][2] == content_address(f"evidence {n} for {key}".encode()), key
    assert rows["inbox/replaced.txt"][0] == "pending" and "changed while it was read" in rows["inbox/replaced.txt"][1]
    rows = run()
    assert rows["inbox/replaced.txt"][0] == "stored"
    assert rows["inbox/replaced.txt"][2] == content_address(b"v2 after the listing")


def test_objects_listed_over_the_size_limit_are_not_downloaded_and_come_in_once_it_is_raised(
        aws, gdrive, clamd, duckdb_warehouse, tmp_path):
    """An S3 object or Drive file over PROJECTX_EVIDENCE_MAX_BYTES was read into memory whole (any size: a
    5 GB object, all of it) before the library refused it; now it is not downloaded, it waits pending
    with the reason, and comes in once the limit is raised."""
    import duckdb

    from pipelines.evidence_stores import evidence_stores_source
    from sandbox.gdrive.store import DriveFile

    s3 = boto3.client("s3")
    s3.put_object(Bucket=aws.bucket, Key="inbox/big.log", Body=b"l" * 5000)
    s3.put_object(Bucket=aws.bucket, Key="inbox/small.txt", Body=b"s" * 100)
    store = gdrive.sandbox.store
    big_file = store.add(DriveFile(store.new_id(), "big.log", "text/plain", [gdrive.inbox_folder],
                                   "auditor@example.com", b"d" * 5000)).id
    lib = make_library(tmp_path, clamd, max_bytes=4096)

    def run() -> dict[str, tuple]:
        pipeline = duckdb_warehouse.pipeline("evidence_stores")
        pipeline.run(evidence_stores_source(
            ledger_path=str(lib.ledger.path), library=lib, s3_prefixes=[(aws.bucket, "inbox/")],
            drive_folders=[gdrive.inbox_folder], drive_credentials_file=str(gdrive.key_file),
            drive_api_endpoint=gdrive.api_endpoint))
        with duckdb.connect(duckdb_warehouse.duckdb_path, read_only=True) as con:
            rows = con.execute("select object_key, status, reason from evidence_stores.s3_files").fetchall()
            rows += con.execute("select file_id, status, reason from evidence_stores.drive_files").fetchall()
        return {r[0]: r[1:] for r in rows}

    gdrive.sandbox.clear_request_log()
    rows = run()
    for key in ("inbox/big.log", big_file):
        assert rows[key][0] == "pending" and "5000 bytes is over the 4096-byte limit" in rows[key][1], key
        assert "not downloaded" in rows[key][1]
    assert rows["inbox/small.txt"][0] == "stored"
    assert not [r for r in gdrive.sandbox.request_log if "alt=media" in r["query"]]
    assert lib.ledger.rows("files")[-1]["filename"] == "small.txt" and len(lib.ledger.rows("files")) == 1
    lib.max_bytes = lib.max_expanded_bytes = 10_000
    rows = run()
    assert rows["inbox/big.log"][0] == "stored" and rows[big_file][0] == "stored"
