"""Ingestion from a Google Drive evidence folder (emulator, real clamd): files people drop become
evidence through the library; EICAR is quarantined; re-runs store nothing twice; new, trashed and
deleted files arrive by the change feed; faults leave every file stored, quarantined or pending
with its reason, and a quota error pauses the provider."""

from __future__ import annotations

import hashlib
import unicodedata
import uuid
from pathlib import Path

import duckdb
import pytest

from pipelines.evidence_stores import evidence_stores_source
from resources.evidence.gdrive import DriveStore
from sandbox.core.faults import hostile_marker
from sandbox.gdrive.store import FOLDER, DriveFile, now_rfc3339
from tests.dbt_helpers import dbt
from tests.evidence.clamav import EICAR
from tests.evidence.files import make_pdf, make_png
from tests.evidence.library import make_library


def _drop(gdrive, name: str, content: bytes, mime: str = "application/octet-stream") -> str:
    store = gdrive.sandbox.store
    return store.add(DriveFile(store.new_id(), name, mime, [gdrive.inbox_folder], "auditor@example.com",
                               content)).id


def _run(wh, gdrive, lib) -> dict[str, int]:
    pipeline = wh.pipeline("evidence_stores")
    pipeline.run(evidence_stores_source(ledger_path=str(lib.ledger.path), drive_folders=[gdrive.inbox_folder],
                                        drive_credentials_file=str(gdrive.key_file),
                                        drive_api_endpoint=gdrive.api_endpoint, library=lib))
    return dict(pipeline.last_trace.last_normalize_info.row_counts)


def _rows(wh, sql):
    with duckdb.connect(wh.duckdb_path, read_only=True) as con:
        return con.execute(sql).fetchall()


def _drive(gdrive) -> DriveStore:
    return DriveStore(gdrive.evidence_folder, str(gdrive.key_file), gdrive.api_endpoint)


@pytest.mark.slow
def test_drive_folder_ingestion(gdrive, clamd, duckdb_warehouse, tmp_path, make_servicenow_sandbox):
    lib = make_library(tmp_path, clamd, store=_drive(gdrive))  # the library itself stores into Drive
    pdf = _drop(gdrive, "CAB minutes.pdf", make_pdf(["Change advisory board approval of CHG0042", "p2"]))
    eicar = _drop(gdrive, "totally-safe.pdf", EICAR, "application/pdf")
    png = _drop(gdrive, "screenshot.png", make_png(320, 200), "image/png")
    _run(duckdb_warehouse, gdrive, lib)

    status = dict(_rows(duckdb_warehouse, "select file_id, status from evidence_stores.drive_files"))
    assert status == {pdf: "stored", eicar: "quarantined", png: "stored"}
    assert _rows(duckdb_warehouse, "select kind, source from evidence_stores.library_alerts") == [
        ("security_alert", "gdrive")]
    stored = {o.metadata["filename"] for o in lib.store.list()}
    assert stored == {"CAB minutes.pdf", "screenshot.png"}  # EICAR never reached the store
    pages = _rows(duckdb_warehouse, "select page_count, evidence_class, control_ids from evidence_stores.library_files"
                                    " where filename = 'CAB minutes.pdf'")
    assert pages == [(2, "change_approval", "SN-CHG-01")]

    # re-run: nothing changed, nothing downloaded, nothing stored twice
    ledger_rows = len(lib.ledger.rows("files"))
    gdrive.sandbox.clear_request_log()
    _run(duckdb_warehouse, gdrive, lib)
    assert len(lib.ledger.rows("files")) == ledger_rows
    assert not [r for r in gdrive.sandbox.request_log if "alt=media" in r["query"] or (r["method"] == "POST"
                and r["path"].startswith("/upload"))]
    assert len(list(lib.store.list())) == 2

    # the change feed: a new file, one trashed, one deleted for good
    new = _drop(gdrive, "incident post-mortem.txt", b"Incident post-mortem for INC0099: root cause analysis")
    gdrive.sandbox.store.files[png].trashed = True
    gdrive.sandbox.store.record(png)
    gdrive.sandbox.store.delete(pdf)
    mailed = lib.ingest(b"Privacy impact assessment of the HR portal, approved", "pia.txt", "slack",
                        ["channel:grc"], "F0123PIA")  # a Slack upload handed straight to the library
    _run(duckdb_warehouse, gdrive, lib)
    rows = {r[0]: r[1:] for r in _rows(duckdb_warehouse, "select file_id, status, is_deleted from "
                                                         "evidence_stores.drive_files")}
    assert rows[new] == ("stored", False) and rows[png][1] is True and rows[pdf] == ("deleted", True)
    assert rows[eicar] == ("quarantined", False)

    _servicenow(duckdb_warehouse, make_servicenow_sandbox)  # the evidence marts stand on its core tables
    _build(duckdb_warehouse, tmp_path, "+evidence_links", "+evidence_files")
    evidence = {r[0]: r[1:] for r in _rows(duckdb_warehouse, "select evidence_id, is_deleted, storage_uri from "
                                                             "marts.evidence where source_system = 'gdrive'")}
    assert set(evidence) == {f"gdrive-file-{i}" for i in (pdf, png, new)}  # never the EICAR file
    assert evidence[f"gdrive-file-{new}"][0] is False and evidence[f"gdrive-file-{pdf}"][0] is True
    assert evidence[f"gdrive-file-{new}"][1].startswith(f"gdrive://{gdrive.evidence_folder}/")
    links = _rows(duckdb_warehouse, "select l.evidence_id, l.control_id, f.evidence_class from marts.evidence_links l "
                                    "join marts.evidence e on l.evidence_id = e.evidence_id "
                                    "join marts.evidence_files f on e.sha256 = f.sha256 "
                                    "where e.source_system = 'gdrive'")
    assert sorted(links) == [(f"gdrive-file-{new}", "SN-INC-01", "incident_report"),
                             (f"gdrive-file-{new}", "SN-INC-02", "incident_report")]
    assert _rows(duckdb_warehouse, "select e.evidence_id, e.storage_uri, l.control_id from marts.evidence e "
                                   "join marts.evidence_links l on e.evidence_id = l.evidence_id "
                                   "where e.source_system = 'slack'") == [
        ("slack-file-F0123PIA", mailed.storage_uri, "OT-PIA-01")]


def _servicenow(wh, make_servicenow_sandbox) -> None:
    from pipelines.servicenow import servicenow_source

    sn = make_servicenow_sandbox(size=20)
    c = sn.credentials
    wh.pipeline("servicenow").run(servicenow_source(
        base_url=sn.url, client_id=c["client_id"], client_secret=c["client_secret"], username=c["username"],
        password=c["password"], verify=sn.ca_bundle or True), loader_file_format="parquet")


def _build(wh, tmp_path, *select: str) -> None:
    # Jira and OneTrust are not synced here: leave out their strict source tests
    result = dbt(wh, tmp_path / "target", "build", "--select", *select, "control_catalog",
                 "--exclude", "source:jira", "source:onetrust",
                 "--indirect-selection", "cautious")
    assert result.returncode == 0, result.stdout[-4000:]


@pytest.mark.slow
def test_drive_faults_lose_nothing(gdrive, clamd, duckdb_warehouse, tmp_path, make_servicenow_sandbox):
    lib = make_library(tmp_path, clamd, store=_drive(gdrive))
    files = {_drop(gdrive, f"evidence-{n}.txt", f"asset inventory extract {n}".encode()) for n in range(3)}
    # downloads fail (5xx after the client's retries, then a permission error on one); not the folder's own
    # files.get: a first run that cannot tell which change log the folder is in fails whole (nothing to follow)
    gdrive.sandbox.faults.set(rate_5xx=1.0, methods=["GET"],
                              paths=[rf"/drive/v3/files/(?!{gdrive.inbox_folder}$)[^/]+$"])
    _run(duckdb_warehouse, gdrive, lib)
    rows = _rows(duckdb_warehouse, "select file_id, status, reason from evidence_stores.drive_files")
    assert {r[0] for r in rows} == files and {r[1] for r in rows} == {"pending"} and all(r[2] for r in rows)
    assert {k for (k,) in _rows(duckdb_warehouse, "select kind from evidence_stores.library_alerts")} == {"error_event"}

    # then the account loses access to the folder (its own files.get too: followed by the log it was in, with
    # the same task): a task to share it, the files still pending
    gdrive.sandbox.faults.replace(rate_403=1.0, methods=["GET"], paths=[r"/drive/v3/files/[^/]+$"])
    _run(duckdb_warehouse, gdrive, lib)
    assert {s for (s,) in _rows(duckdb_warehouse, "select status from evidence_stores.drive_files")} == {"pending"}
    reasons = {r for (r,) in _rows(duckdb_warehouse, "select reason from evidence_stores.drive_files")}
    assert all(f"share folder {gdrive.inbox_folder}" in r for r in reasons)

    gdrive.sandbox.faults.clear()
    gdrive.sandbox.store.quota_bytes = gdrive.sandbox.store.used_bytes(gdrive.client_email) + 30
    _run(duckdb_warehouse, gdrive, lib)  # the first fits, the quota stops the second: provider paused
    statuses = sorted(s for (s,) in _rows(duckdb_warehouse, "select status from evidence_stores.drive_files"))
    assert statuses == ["pending", "pending", "stored"]
    assert _rows(duckdb_warehouse, "select provider from evidence_stores.library_pauses") == [("gdrive",)]
    reasons = [r for (r,) in _rows(duckdb_warehouse, "select reason from evidence_stores.drive_files "
                                                     "where status = 'pending'")]
    assert all("quota" in r for r in reasons)
    _servicenow(duckdb_warehouse, make_servicenow_sandbox)  # tasks stand on its core tables
    _build(duckdb_warehouse, tmp_path, "+integration_health", "+tasks")
    health = _rows(duckdb_warehouse, "select status_light, paused_reason from marts.integration_health "
                                     "where connector = 'evidence_store:gdrive'")
    assert health[0][0] == "red" and "quota" in health[0][1]
    tasks = _rows(duckdb_warehouse, "select task_type, source_system, title, queue from marts.tasks "
                                    "where task_type = 'evidence_access'")
    assert len(tasks) == 1 and f"share folder {gdrive.inbox_folder} with" in tasks[0][2]  # one per problem

    gdrive.sandbox.store.quota_bytes = 10 * 1024**3
    lib.ledger.resume("gdrive")
    _run(duckdb_warehouse, gdrive, lib)
    assert {s for (s,) in _rows(duckdb_warehouse, "select status from evidence_stores.drive_files")} == {"stored"}
    assert len(list(lib.store.list())) == 3
    assert _rows(duckdb_warehouse, "select count(*) from evidence_stores.library_pauses") == [(0,)]


def _drive_state(wh) -> dict:
    return wh.pipeline("evidence_stores").state["sources"]["evidence_stores"].get("resources", {}).get(
        "drive_files", {})


def _downloads(gdrive) -> list[dict]:
    return [r for r in gdrive.sandbox.request_log if "alt=media" in r["query"]]


STATE = {"page_tokens", "folder_logs"}  # a page token per change log, and which log each folder is in


def _listings(gdrive) -> list[dict]:
    return [r for r in gdrive.sandbox.request_log if r["method"] == "GET" and r["path"] == "/drive/v3/files"]


def test_drive_state_keeps_only_the_page_token(gdrive, clamd, duckdb_warehouse, tmp_path):
    """What each file last was comes from drive_files, not dlt state, which keeps only page tokens (one per
    change log: here the account's own) and each folder's log; a re-run still downloads nothing."""
    lib = make_library(tmp_path, clamd)
    for n in range(4):
        _drop(gdrive, f"evidence-{n}.txt", f"asset inventory extract {n}".encode())
    _run(duckdb_warehouse, gdrive, lib)
    state = _drive_state(duckdb_warehouse)
    assert set(state) == STATE and set(state["page_tokens"]) == {"user"}
    assert state["folder_logs"] == {gdrive.inbox_folder: "user"}
    gdrive.sandbox.clear_request_log()
    counts = _run(duckdb_warehouse, gdrive, lib)
    assert _downloads(gdrive) == [] and "drive_files" not in counts and _listings(gdrive) == []
    assert set(_drive_state(duckdb_warehouse)) == STATE


def test_drive_old_state_is_migrated(gdrive, clamd, duckdb_warehouse, tmp_path):
    """State from the version that kept ``known``/``retry`` is used once (united with the table) and removed;
    the single ``page_token`` of earlier versions becomes the account's log's: followed, not read whole."""
    from pipelines.evidence_stores.drive import KEPT

    wh = duckdb_warehouse
    lib = make_library(tmp_path, clamd)
    files = [_drop(gdrive, f"evidence-{n}.txt", f"asset inventory extract {n}".encode()) for n in range(3)]
    _run(wh, gdrive, lib)
    rows = _rows(wh, f"select file_id, {', '.join(KEPT)} from evidence_stores.drive_files")
    known = {r[0]: dict(zip(KEPT, r[1:], strict=True)) for r in rows}
    ghost = gdrive.sandbox.store.new_id()  # known only to the old state; Drive now reports it removed
    known[ghost] = {**known[files[0]], "name": "ghost.txt"}
    pipeline = wh.pipeline("evidence_stores")
    with pipeline.managed_state() as state:  # what the old version left
        drive_state = state["sources"]["evidence_stores"]["resources"]["drive_files"]
        token = drive_state.pop("page_tokens")["user"]
        drive_state.pop("folder_logs")
        drive_state.update(known=known, retry=[files[1]], page_token=token)
    gdrive.sandbox.store.record(ghost, removed=True)

    gdrive.sandbox.clear_request_log()
    counts = _run(wh, gdrive, lib)
    assert _downloads(gdrive) == []  # the pending one's version is already in the library
    assert counts["drive_files"] == 2  # the old retry entry read again, the old known entry captured as deleted
    assert dict(_rows(wh, "select file_id, status from evidence_stores.drive_files")) == {
        **dict.fromkeys(files, "stored"), ghost: "deleted"}
    assert _rows(wh, f"select name, sha256 is not null from evidence_stores.drive_files where file_id = '{ghost}'") \
        == [("ghost.txt", True)]
    assert _listings(gdrive) == []  # the old token was followed: no folder read whole
    assert set(_drive_state(wh)) == STATE and set(_drive_state(wh)["page_tokens"]) == {"user"}
    counts = _run(wh, gdrive, lib)
    assert _downloads(gdrive) == [] and "drive_files" not in counts


def _forget_page_token(wh) -> None:
    """What a run killed while loading can leave: drive_files merged, its state (the page token) not saved
    (the same as a state reset): the next run starts from no token."""
    pipeline = wh.pipeline("evidence_stores")
    pipeline.drop()  # the local working folder (recovery discards it after a kill)
    with duckdb.connect(wh.duckdb_path) as con:
        con.execute("delete from evidence_stores._dlt_pipeline_state")


def test_drive_whole_listing_captures_what_the_table_holds_and_the_folder_lost(gdrive, clamd, duckdb_warehouse,
                                                                               tmp_path):
    """Rows without a committed page token (a run killed in its load, a reset state): the next run reads the
    folder whole, and a file it no longer lists, trashed or deleted meanwhile, is captured as deleted
    instead of staying present forever (no change for it will come again)."""
    wh, lib = duckdb_warehouse, make_library(tmp_path, clamd)
    kept, trashed, deleted = (_drop(gdrive, f"evidence-{n}.txt", f"asset inventory extract {n}".encode())
                              for n in range(3))
    _run(wh, gdrive, lib)
    _forget_page_token(wh)
    _trash(gdrive, trashed)
    gdrive.sandbox.store.delete(deleted)
    gdrive.sandbox.clear_request_log()
    _run(wh, gdrive, lib)
    rows = {r[0]: r[1:] for r in _rows(wh, "select file_id, status, is_deleted, sha256 is not null "
                                           "from evidence_stores.drive_files")}
    assert rows == {kept: ("stored", False, True), trashed: ("deleted", True, True),
                    deleted: ("deleted", True, True)}
    assert _downloads(gdrive) == []  # the kept file's version is in the library already
    counts = _run(wh, gdrive, lib)  # and from the new page token on: nothing
    assert "drive_files" not in counts


def _rewrite(gdrive, file_id: str, content: bytes) -> None:
    """A new version of a file in place (as a client's files.update with media does): new md5, modifiedTime."""
    store = gdrive.sandbox.store
    with store.lock:
        f = store.files[file_id]
        f.content, f.modified = content, now_rfc3339()
        store.record(file_id)


def _trash(gdrive, file_id: str) -> None:
    store = gdrive.sandbox.store
    with store.lock:
        f = store.files[file_id]
        f.trashed, f.modified = True, now_rfc3339()
        store.record(file_id)


def _drive_env(monkeypatch, gdrive, clamd) -> None:
    """The CLI's and the Dagster asset's variables for the inbox folder (the library stores locally)."""
    monkeypatch.setenv("PROJECTX_EVIDENCE_STORE", "local")
    monkeypatch.setenv("PROJECTX_CLAMD_ADDRESS", clamd.address)
    monkeypatch.setenv("EVIDENCE_GOOGLE_DRIVE_INGEST_FOLDER_IDS", gdrive.inbox_folder)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(gdrive.key_file))
    monkeypatch.setenv("EVIDENCE_GOOGLE_DRIVE_API_ENDPOINT", gdrive.api_endpoint)
    monkeypatch.delenv("EVIDENCE_S3_INGEST_PREFIXES", raising=False)
    monkeypatch.delenv("SHAREPOINT_INGEST_FOLDERS", raising=False)


@pytest.mark.slow
@pytest.mark.parametrize(("via", "where"), [("cli", "my_drive"), ("dagster", "my_drive"), ("cli", "shared_drive")])
def test_ten_random_kills_then_one_sync_end_in_exact_parity(via, where, gdrive, clamd, duckdb_warehouse, monkeypatch):
    """The Drive evidence sync killed ten times at random moments of dlt's steps (CLI and Dagster asset)
    while files are added, rewritten, trashed and deleted for good between kills; one sync then ends with
    drive_files equal to the folder (one row per file id, its latest md5 and modifiedTime, every trashed or
    deleted file that had a row marked deleted) and every version stored once by the library. In a shared
    drive the changes arrive by that drive's own change log, whose token is what a kill may leave behind."""
    import tests.ingestion_harness as harness

    if where == "shared_drive":
        gdrive.inbox_folder = _shared_inbox(gdrive)[1]
    _drive_env(monkeypatch, gdrive, clamd)
    store, wh = gdrive.sandbox.store, duckdb_warehouse
    reports = [_drop(gdrive, f"report-{i:02d}.txt", f"Control evidence report {i}".encode()) for i in range(30)]
    gone: set[str] = set()

    def change(n: int) -> None:  # one new, one rewritten, one trashed or deleted for good after every kill
        _drop(gdrive, f"new-{n:02d}.txt", f"Evidence added after kill {n}".encode())
        _rewrite(gdrive, reports[n], f"Control evidence report {n}, revised".encode())
        victim = reports[29 - n]
        gone.add(victim)
        _trash(gdrive, victim) if n % 2 == 0 else store.delete(victim)

    struck = harness.kill_loop("evidence_stores", via, gdrive.sandbox, wh, kills=10, seed=16, on_kill=change)
    harness.sync("evidence_stores", via)
    with store.lock:
        listed = {f.id: (hashlib.md5(f.content).hexdigest(), f.modified) for f in store.files.values()
                  if gdrive.inbox_folder in f.parents and not f.trashed and f.mime_type != FOLDER}
    rows = _rows(wh, "select file_id, md5, modified_time, status, is_deleted, source_ref from "
                     "evidence_stores.drive_files")
    assert len(rows) == len({r[0] for r in rows}), "one row per file id"
    live = {r[0]: (r[1], r[2]) for r in rows if not r[4]}
    assert live == listed, f"kills struck {struck}"
    assert {r[3] for r in rows if not r[4]} == {"stored"}
    # a file gone before any run committed it was never known: no row; one known is captured deleted
    assert {r[0] for r in rows if r[4]} <= gone
    assert _rows(wh, "select source_ref, count(*) from evidence_stores.library_files where source = 'gdrive' "
                     "group by 1 having count(*) > 1") == [], "a version stored twice"
    stored = {r for (r,) in _rows(wh, "select source_ref from evidence_stores.library_files "
                                      "where source = 'gdrive' and status = 'stored'")}
    assert {r[5] for r in rows if not r[4]} <= stored, "a listed version the library does not hold"


def _hostile_names(escape: str) -> dict[str, str]:
    """Drive file names (any text) that break naive code; ``hostile_marker`` ones reach the client as the raw
    bytes or escapes of HOSTILE_TEXT while the sandbox's ``hostile_text`` fault is on."""
    return {
        "control": "ctl\x01\x07\x1b[31mred\x7f\t\r\n.txt",
        "nul": "nul\x00byte.txt",
        "lone_surrogate": "truncated emoji \ud83d.txt",
        "not_utf8": f"bad {hostile_marker('byte')} name.txt",
        "cut_utf8": f"cut {hostile_marker('truncated')}.txt",
        "rtl": "invoice\u202etxt.exe",
        "long": "L" * 1200 + ".txt",
        "traversal": f"../../../../../../../../tmp/{escape}/pwned.txt",
        "nfc": unicodedata.normalize("NFC", "café.txt"),
        "nfd": unicodedata.normalize("NFD", "café.txt"),
        "emoji": "📎 evidence 🎉.txt",
        "mime_not_utf8": "declared type.txt",
    }


def _drop_hostile(gdrive, escape: str, round_: int) -> dict[str, str]:
    out = {}
    for kind, name in _hostile_names(escape).items():
        mime = f"text/plain; x={hostile_marker('byte')}" if kind == "mime_not_utf8" else "text/plain"
        out[kind] = _drop(gdrive, name, f"Control evidence ({kind}, round {round_})".encode(), mime)
    return out


def test_drive_hostile_names_are_stored_once_and_never_escape_the_library(gdrive, clamd, duckdb_warehouse, tmp_path):
    """File names with control characters, NUL, a lone surrogate, bytes that are not UTF-8 (in the JSON
    Drive serves), an RTL override, 1,200 characters, ``../``, NFC and NFD twins and emoji, and a declared
    mimeType that is not UTF-8, read by the folder listing (first run) and the change feed (second): the
    syncs do not fail, every file ends stored under its own row (text no warehouse stores recorded
    escaped, with the reason), nothing is written outside the library, and the next sync reads nothing."""
    wh, escape = duckdb_warehouse, f"evcrash-{uuid.uuid4().hex[:8]}"
    lib = make_library(tmp_path, clamd, store=_drive(gdrive))
    gdrive.sandbox.faults.set(hostile_text=1)
    files = {f"listed {k}": v for k, v in _drop_hostile(gdrive, escape, 1).items()}
    _run(duckdb_warehouse, gdrive, lib)
    files.update({f"changed {k}": v for k, v in _drop_hostile(gdrive, escape, 2).items()})
    _run(duckdb_warehouse, gdrive, lib)

    rows = {r[0]: r[1:] for r in _rows(wh, "select file_id, status, is_deleted, name, drive_mime_type, reason "
                                           "from evidence_stores.drive_files")}
    assert set(rows) == set(files.values()) and {v[:2] for v in rows.values()} == {("stored", False)}
    for when in ("listed", "changed"):
        row = {k.split(" ", 1)[1]: rows[v] for k, v in files.items() if k.startswith(when)}
        assert row["nul"][2] == "nul\\x00byte.txt" and "NUL" in row["nul"][4]
        assert row["lone_surrogate"][2] == "truncated emoji \\ud83d.txt" and "U+D83D" in row["lone_surrogate"][4]
        assert row["not_utf8"][2] == "bad \\udcff name.txt" and "byte 0xFF" in row["not_utf8"][4]
        assert row["cut_utf8"][2] == "cut \\udcf0\\udc9f\\udc98.txt"
        assert row["mime_not_utf8"][3] == "text/plain; x=\\udcff" and "mimeType" in row["mime_not_utf8"][4]
        assert row["rtl"][2] == "invoice\u202etxt.exe" and row["control"][2].startswith("ctl\x01")
        assert row["long"][2] == "L" * 1200 + ".txt" and row["emoji"][4] is None
        assert row["nfc"][2] != row["nfd"][2]
    # the library wrote content-addressed files only, and nothing left the temp folders
    assert {f.name for f in gdrive.sandbox.store.files.values() if gdrive.evidence_folder in f.parents} == {
        o.sha256 for o in lib.store.list()} and len(list(lib.store.list())) == len(files)
    assert not Path(f"/tmp/{escape}").exists() and not [p for p in tmp_path.rglob("*") if escape in p.name]
    ledger = lib.ledger.rows("files")
    assert len(ledger) == len({r["source_ref"] for r in ledger}) == len(files)

    gdrive.sandbox.clear_request_log()
    counts = _run(wh, gdrive, lib)
    assert _downloads(gdrive) == [] and "drive_files" not in counts and len(lib.ledger.rows("files")) == len(files)


def test_files_moved_out_of_the_watched_folders_are_deleted_and_back_in_are_new(gdrive, clamd, duckdb_warehouse,
                                                                              tmp_path):
    """Moving a file to a folder nobody watches takes it out of the evidence, as a delete: into a folder
    the app can still read (the change feed brings it with its new parents) or one it cannot (Drive
    reports it removed: loss of access). Moving it back brings it in again, without a new download
    of bytes the library already holds."""
    from sandbox.gdrive.fixtures import SERVICE_ACCOUNT

    lib = make_library(tmp_path, clamd)
    kept = _drop(gdrive, "kept.txt", b"Access review sign-off, Q3")
    readable = _drop(gdrive, "moved.txt", b"Firewall rule review, Q3")
    private = _drop(gdrive, "private.txt", b"Vendor contract renewal memo")
    _run(duckdb_warehouse, gdrive, lib)
    store = gdrive.sandbox.store
    shared = store.folder("Team archive", "auditor@example.com", readers={SERVICE_ACCOUNT}).id
    personal = store.folder("Personal drafts", "auditor@example.com").id

    def move(file_id: str, parent: str) -> None:
        store.files[file_id].parents = [parent]
        store.record(file_id)

    def status() -> dict:
        return {r[0]: r[1:] for r in _rows(duckdb_warehouse, "select file_id, status, is_deleted, sha256 from "
                                                             "evidence_stores.drive_files")}

    before = status()
    move(readable, shared)
    move(private, personal)
    _run(duckdb_warehouse, gdrive, lib)
    after = status()
    for moved in (readable, private):  # the row still says which bytes went away
        assert after[moved] == ("deleted", True, before[moved][2]), moved
    assert after[kept] == before[kept]
    move(readable, gdrive.inbox_folder)
    move(private, gdrive.inbox_folder)
    gdrive.sandbox.clear_request_log()
    _run(duckdb_warehouse, gdrive, lib)
    assert status() == before
    assert _downloads(gdrive) == []


def _file_states(wh) -> dict:
    """file id -> (status, is_deleted), as drive_files holds them now."""
    return {r[0]: r[1:] for r in _rows(wh, "select file_id, status, is_deleted from evidence_stores.drive_files")}


def _shared_inbox(gdrive, name: str = "Audit 2026") -> tuple[str, str]:
    """A shared drive the service account is a member of, with an inbox folder: (drive id, folder id)."""
    from sandbox.gdrive.drives import add_shared_drive

    store = gdrive.sandbox.store
    drive = add_shared_drive(store, name, "auditor@example.com", members={gdrive.client_email: "reader"})
    return drive.id, store.add(DriveFile(store.new_id(), "Evidence inbox", FOLDER, [drive.id],
                                         "auditor@example.com")).id


def _put(gdrive, folder: str, name: str, content: bytes) -> str:
    store = gdrive.sandbox.store
    return store.add(DriveFile(store.new_id(), name, "text/plain", [folder], "auditor@example.com", content)).id


def _run_folders(wh, gdrive, lib, folders: list[str]) -> dict[str, int]:
    pipeline = wh.pipeline("evidence_stores")
    pipeline.run(evidence_stores_source(ledger_path=str(lib.ledger.path), drive_folders=folders,
                                        drive_credentials_file=str(gdrive.key_file),
                                        drive_api_endpoint=gdrive.api_endpoint, library=lib))
    return dict(pipeline.last_trace.last_normalize_info.row_counts)


def test_an_evidence_folder_in_a_shared_drive_is_read_and_followed_like_any_other(gdrive, clamd, duckdb_warehouse,
                                                                                     tmp_path):
    """Teams keep evidence in shared drives (and service accounts created since April 2025 can only write
    there): without supportsAllDrives / includeItemsFromAllDrives Drive hides their files (404, or missing
    from listings). And each shared drive has its own change log: what colleagues add, trash or delete there
    is never in the account's own, so the folder's drive log (changes.list with driveId) is followed."""
    wh, store = duckdb_warehouse, gdrive.sandbox.store
    drive, folder = _shared_inbox(gdrive)
    first = _put(gdrive, folder, "access review.txt", b"quarterly access review of the ERP: 14 users removed")
    lib = make_library(tmp_path, clamd)

    _run_folders(wh, gdrive, lib, [folder])
    assert set(_drive_state(wh)["page_tokens"]) == {drive}
    second = _put(gdrive, folder, "firewall rules.txt", b"firewall rule review: 3 stale rules closed")
    _run_folders(wh, gdrive, lib, [folder])  # the change feed
    assert _file_states(wh) == {first: ("stored", False), second: ("stored", False)}
    assert {o.metadata["filename"] for o in lib.store.list()} == {"access review.txt", "firewall rules.txt"}

    _trash(gdrive, first)
    _run_folders(wh, gdrive, lib, [folder])
    assert _file_states(wh) == {first: ("deleted", True), second: ("stored", False)}
    store.delete(second)
    _run_folders(wh, gdrive, lib, [folder])
    assert _file_states(wh) == {first: ("deleted", True), second: ("deleted", True)}
    gdrive.sandbox.clear_request_log()
    assert "drive_files" not in _run_folders(wh, gdrive, lib, [folder]) and _downloads(gdrive) == []
    logs = {tuple(sorted(k for k in ("driveId", "pageToken") if f"{k}=" in r["query"]))
            for r in gdrive.sandbox.request_log if r["path"].endswith("/changes")}
    assert logs == {("driveId", "pageToken")}  # only the drive's log: the folder needs no other


def test_a_my_drive_folder_and_a_shared_drive_folder_are_followed_together(gdrive, clamd, duckdb_warehouse,
                                                                          tmp_path):
    """Both change logs are read each run, each from its own token; a file moved from one folder to the
    other (out of the drive's log, into the user's) ends present, in its new folder."""
    wh = duckdb_warehouse
    drive, shared = _shared_inbox(gdrive)
    mine = gdrive.inbox_folder
    a = _put(gdrive, mine, "a.txt", b"access review sign-off, Q3")
    b = _put(gdrive, shared, "b.txt", b"backup restore test, Q3")
    lib = make_library(tmp_path, clamd)
    folders = [mine, shared]

    def rows() -> dict:
        return {r[0]: r[1:] for r in _rows(wh, "select file_id, folder_id, status, is_deleted "
                                               "from evidence_stores.drive_files")}

    _run_folders(wh, gdrive, lib, folders)
    assert set(_drive_state(wh)["page_tokens"]) == {"user", drive}
    c = _put(gdrive, mine, "c.txt", b"change approval for CHG0042")
    d = _put(gdrive, shared, "d.txt", b"data retention review")
    _trash(gdrive, a)
    _run_folders(wh, gdrive, lib, folders)
    assert rows() == {a: (mine, "deleted", True), b: (shared, "stored", False), c: (mine, "stored", False),
                      d: (shared, "stored", False)}
    store = gdrive.sandbox.store
    with store.lock:
        store.files[b].parents = [mine]
        store.record(b)
        store.files[c].parents = [shared]
        store.record(c)
    gdrive.sandbox.clear_request_log()
    _run_folders(wh, gdrive, lib, folders)
    assert rows() == {a: (mine, "deleted", True), b: (mine, "stored", False), c: (shared, "stored", False),
                      d: (shared, "stored", False)}
    assert _downloads(gdrive) == []  # moved, not changed: the library holds their bytes


def test_a_shared_drive_lost_or_a_folder_moved_between_drives_is_alerted_never_missed(gdrive, clamd,
                                                                                       duckdb_warehouse, tmp_path):
    """The account taken off the shared drive: its log cannot be read (404), which is a task each run, the
    log's token kept, so what changed meanwhile arrives once access is back. The folder moved out of the
    shared drive into My Drive: an error event, the folder read whole where it is now and followed there."""
    wh, store = duckdb_warehouse, gdrive.sandbox.store
    drive, folder = _shared_inbox(gdrive)
    a = _put(gdrive, folder, "a.txt", b"access review sign-off, Q3")
    lib = make_library(tmp_path, clamd)

    def alerts() -> list[tuple[str, str]]:
        return [(r["kind"], r["message"]) for r in lib.ledger.rows("alerts")]

    _run_folders(wh, gdrive, lib, [folder])
    role = store.drives[drive].members.pop(gdrive.client_email)
    b = _put(gdrive, folder, "b.txt", b"backup restore test, Q3")
    _run_folders(wh, gdrive, lib, [folder])
    assert _file_states(wh) == {a: ("stored", False)}  # nothing taken as deleted, nothing silently skipped:
    assert [k for k, m in alerts() if folder in m] == ["permission_task"]  # one task for the folder and its log
    store.drives[drive].members[gdrive.client_email] = role
    _run_folders(wh, gdrive, lib, [folder])
    assert _file_states(wh) == {a: ("stored", False), b: ("stored", False)}
    assert set(_drive_state(wh)["page_tokens"]) == {drive}

    archive = store.folder("Archive", "auditor@example.com", readers={gdrive.client_email}).id
    with store.lock:
        store.files[folder].parents = [archive]
        store.record(folder)
    gdrive.sandbox.clear_request_log()
    _run_folders(wh, gdrive, lib, [folder])
    assert [m for k, m in alerts() if k == "error_event" and f"folder {folder} moved from shared drive {drive} "
            "to My Drive" in m]
    assert _file_states(wh) == {a: ("stored", False), b: ("stored", False)} and _downloads(gdrive) == []
    assert _drive_state(wh)["folder_logs"] == {folder: "user"} and set(_drive_state(wh)["page_tokens"]) == {"user"}
    c = _put(gdrive, folder, "c.txt", b"change approval for CHG0042")
    _trash(gdrive, a)
    _run_folders(wh, gdrive, lib, [folder])
    assert _file_states(wh) == {a: ("deleted", True), b: ("stored", False), c: ("stored", False)}


def test_a_shared_drive_joined_between_runs_is_a_drive_change_not_a_crash(gdrive, clamd, duckdb_warehouse, tmp_path):
    """The account's own change log also lists changes of the shared drives themselves (changeType drive:
    the account added to one, a drive renamed or deleted), which carry no fileId. The feed skips them and
    still follows the files: before, the first such entry stopped the run with KeyError 'fileId'."""
    wh, mine = duckdb_warehouse, gdrive.inbox_folder
    lib = make_library(tmp_path, clamd)
    first = _put(gdrive, mine, "a.txt", b"access review sign-off, Q3")
    _run_folders(wh, gdrive, lib, [mine])
    _shared_inbox(gdrive, "Audit 2027")  # the account joins a drive it does not follow: a drive change
    second = _put(gdrive, mine, "b.txt", b"backup restore test, Q3")
    _run_folders(wh, gdrive, lib, [mine])
    assert _file_states(wh) == {first: ("stored", False), second: ("stored", False)}
