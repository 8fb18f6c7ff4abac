"""Ingestion from SharePoint evidence folders (the Graph + Entra ID emulator, msgraph-sdk unchanged,
real clamd), incremental by Graph's drive-item delta: files dropped in a watched folder (or its
subfolders) become evidence through the library; EICAR is quarantined; a re-run reads only the delta
and stores nothing twice; a replaced file is read again, a deleted one captured by the ``deleted``
facet; faults (5xx retried, access denied a task, throttling beyond retries pending, quota a
pause, an expired delta token a resync) lose nothing."""

from __future__ import annotations

import re
import unicodedata
import uuid

import duckdb
import pytest

from pipelines.evidence_stores import evidence_stores_source
from resources.evidence.base import StoreError
from resources.evidence.sharepoint import SharePointStore
from resources.evidence.sharepoint_graph import SharePointSettings
from sandbox.core.faults import hostile_marker
from sandbox.sharepoint.fixtures import COLUMNS
from tests.evidence.clamav import EICAR
from tests.evidence.files import make_pdf, make_png
from tests.evidence.library import make_library
from tests.test_evidence_drive_ingest import _build, _servicenow

FOLDERS = ["Audit Inbox", "Controls/CAB"]


@pytest.fixture(scope="module")
def graph(sharepoint_graph):
    """One emulator (TLS) and app registration per module (conftest); each test gets its own library."""
    return sharepoint_graph


class World:
    def __init__(self, graph):
        self.sb, tenant, client, cert, password, site = graph
        self.app = f"{tenant}/{client}"
        self.drive = self.sb.store.drive(site, f"Evidence-{uuid.uuid4().hex[:6]}", grants={self.app: "write"},
                                         columns=COLUMNS)
        self.settings = SharePointSettings(tenant, client, cert, password, site, self.drive.id,
                                           authority=self.sb.url, graph_url=self.sb.graph_url)
        self.folders = {p: self.mkdir(p) for p in (*FOLDERS, "Elsewhere")}

    def mkdir(self, path: str) -> str:
        parent = self.drive.root_id
        for part in path.split("/"):
            found = self.sb.store.child(parent, part)
            parent = found.id if found is not None else self.sb.store.add(self.drive.id, parent, part, None).id
        return parent

    def drop(self, folder: str, name: str, content: bytes) -> str:
        parent = self.folders.get(folder) or self.mkdir(folder)
        return self.sb.store.add(self.drive.id, parent, name, content).id

    def downloads(self) -> list[str]:
        return [r["path"].split("/")[-2] for r in self.sb.request_log
                if r["method"] == "GET" and r["path"].endswith("/content") and "/items/" in r["path"]]


@pytest.fixture
def world(graph):
    graph[0].scripted.clear()
    graph[0].faults.clear()  # the emulator is the module's: start from no faults, whoever ran before
    return World(graph)


def _library(tmp_path, clamd, w: World):
    store = SharePointStore(w.settings)  # the library stores into the same library, folder ProjectX Evidence
    store.calls.backoff = 0.01
    return make_library(tmp_path, clamd, store=store)


def _run(wh, lib, w: World) -> dict[str, int]:
    pipeline = wh.pipeline("evidence_stores")
    pipeline.run(evidence_stores_source(ledger_path=str(lib.ledger.path), library=lib, sharepoint_folders=FOLDERS,
                                        sharepoint_settings=w.settings))
    return dict(pipeline.last_trace.last_normalize_info.row_counts)


def _rows(wh, sql):
    with duckdb.connect(wh.duckdb_path, read_only=True) as con:
        return con.execute(sql).fetchall()


def _status(wh) -> dict[str, tuple]:
    return {r[0]: r[1:] for r in _rows(wh, "select file_id, status, is_deleted, reason, folder_path "
                                           "from evidence_stores.sharepoint_files")}


def test_graph_delta_pages_tokens_and_deleted_facet(world):
    """The emulator's delta as Graph: pages by $top, deltaLink at the end, changes only, deleted facet."""
    from resources.evidence.sharepoint_graph import GraphCalls, graph_client

    client, _ = graph_client(world.settings)
    calls = GraphCalls(world.settings)
    delta = client.drives.by_drive_id(world.drive.id).items.by_drive_item_id("root").delta
    ids = [world.drop("Audit Inbox", f"f{n}.txt", b"x" * n) for n in range(5)]
    from msgraph.generated.drives.item.items.item.delta.delta_request_builder import DeltaRequestBuilder

    config = DeltaRequestBuilder.DeltaRequestBuilderGetRequestConfiguration(
        query_parameters=DeltaRequestBuilder.DeltaRequestBuilderGetQueryParameters(top=3))
    pages, page = [], calls.run(lambda: delta.get(request_configuration=config), "delta")
    while True:
        pages.append(page)
        if page.odata_delta_link:
            break
        assert page.odata_next_link and "$top=3" in page.odata_next_link
        page = calls.run(lambda link=page.odata_next_link: delta.with_url(link).get(), "delta")
    seen = [i.id for p in pages for i in p.value]
    assert len(pages) == 4 and len(seen) == len(set(seen)) == 1 + 4 + 5  # root, 4 folders, 5 files
    assert set(ids) <= set(seen) and pages[0].value[0].root is not None
    assert all(i.parent_reference.path is None for p in pages for i in p.value if i.parent_reference)
    link = pages[-1].odata_delta_link
    assert calls.run(lambda: delta.with_url(link).get(), "delta").value == []  # nothing changed

    world.sb.store.add(world.drive.id, world.folders["Audit Inbox"], "f1.txt", b"changed")
    world.sb.store.delete(world.sb.store.items[ids[2]])
    changes = calls.run(lambda: delta.with_url(link).get(), "delta")
    by_id = {i.id: i for i in changes.value}
    assert set(by_id) == {ids[1], ids[2]} and by_id[ids[2]].deleted.state == "deleted"
    assert by_id[ids[1]].deleted is None and by_id[ids[1]].size == len(b"changed")
    assert changes.odata_delta_link != link
    # a token the service never issued: 410 resyncRequired, as Graph answers an expired one
    bad = link.replace("token=s", "token=s9999")
    with pytest.raises(StoreError, match="410 resyncRequired"):
        calls.run(lambda: delta.with_url(bad).get(), "delta")
    calls.close()


def test_sharepoint_folder_ingestion(world, clamd, duckdb_warehouse, tmp_path, make_servicenow_sandbox):
    wh, w = duckdb_warehouse, world
    lib = _library(tmp_path, clamd, w)
    pdf = w.drop("Audit Inbox", "CAB minutes.pdf", make_pdf(["Change advisory board approval of CHG0042", "p2"]))
    eicar = w.drop("Audit Inbox", "totally-safe.pdf", EICAR)
    png = w.drop("Controls/CAB/2026", "screenshot.png", make_png(320, 200))  # a subfolder of a watched one
    w.drop("Elsewhere", "not-watched.txt", b"asset inventory extract")
    w.sb.clear_request_log()
    _run(wh, lib, w)

    rows = _status(wh)
    assert {k: v[:2] for k, v in rows.items()} == {pdf: ("stored", False), eicar: ("quarantined", False),
                                                   png: ("stored", False)}
    assert rows[png][3] == "Controls/CAB/2026"
    assert _rows(wh, "select kind, source from evidence_stores.library_alerts") == [("security_alert", "sharepoint")]
    assert {o.metadata["filename"] for o in lib.store.list()} == {"CAB minutes.pdf", "screenshot.png"}
    assert _rows(wh, "select page_count, evidence_class, control_ids from evidence_stores.library_files "
                     "where filename = 'CAB minutes.pdf'") == [(2, "change_approval", "SN-CHG-01")]
    assert sorted(w.downloads()) == sorted([pdf, eicar, png])

    # re-run: only the delta is read (the library's own uploads are outside the watched folders)
    ledger_rows = len(lib.ledger.rows("files"))
    w.sb.clear_request_log()
    counts = _run(wh, lib, w)
    assert w.downloads() == [] and len(lib.ledger.rows("files")) == ledger_rows and "sharepoint_files" not in counts
    deltas = [r for r in w.sb.request_log if "/delta" in r["path"]]
    assert len(deltas) == 1 and "token=" in deltas[0]["query"]
    assert len(list(lib.store.list())) == 2

    # a new file, one replaced in place, one deleted (the deleted facet)
    new = w.drop("Audit Inbox", "incident post-mortem.txt", b"Incident post-mortem for INC0099: root cause analysis")
    assert w.drop("Controls/CAB/2026", "screenshot.png", make_png(640, 400)) == png
    w.sb.store.delete(w.sb.store.items[pdf])
    w.sb.clear_request_log()
    _run(wh, lib, w)
    assert sorted(w.downloads()) == sorted([new, png])
    rows = _status(wh)
    assert rows[new][:2] == ("stored", False) and rows[pdf][:2] == ("deleted", True)
    assert rows[png][:2] == ("stored", False) and rows[eicar][:2] == ("quarantined", False)
    assert _rows(wh, f"select l.image_width from evidence_stores.sharepoint_files s join "
                     f"evidence_stores.library_files l on s.sha256 = l.sha256 where s.file_id = '{png}'") == [(640,)]

    _servicenow(wh, make_servicenow_sandbox)  # the evidence marts stand on its core tables
    _build(wh, tmp_path, "+evidence_links", "+evidence_files")
    evidence = {r[0]: r[1:] for r in _rows(wh, "select evidence_id, is_deleted, storage_uri, record_id from "
                                               "marts.evidence where source_system = 'sharepoint'")}
    assert set(evidence) == {f"sharepoint-file-{i}" for i in (pdf, png, new)}  # never the EICAR file
    assert evidence[f"sharepoint-file-{pdf}"][0] is True and evidence[f"sharepoint-file-{new}"][0] is False
    assert evidence[f"sharepoint-file-{new}"][1].startswith(f"sharepoint://{w.drive.id}/")
    assert evidence[f"sharepoint-file-{png}"][2] == "Controls/CAB/2026"
    links = _rows(wh, "select l.evidence_id, l.control_id from marts.evidence_links l join marts.evidence e "
                      "on l.evidence_id = e.evidence_id where e.source_system = 'sharepoint'")
    assert sorted(links) == [(f"sharepoint-file-{new}", "SN-INC-01"), (f"sharepoint-file-{new}", "SN-INC-02")]
    eicar_sha = _rows(wh, "select sha256 from evidence_stores.library_files where status = 'quarantined'")[0][0]
    assert _rows(wh, f"select count(*) from marts.evidence where sha256 = '{eicar_sha}'") == [(0,)]
    assert _rows(wh, f"select count(*) from marts.evidence_files where sha256 = '{eicar_sha}'") == [(0,)]


def test_sharepoint_faults_lose_nothing(world, clamd, duckdb_warehouse, tmp_path):
    wh, w = duckdb_warehouse, world
    lib = _library(tmp_path, clamd, w)
    sb = w.sb
    files = [w.drop("Audit Inbox", f"evidence-{n}.txt", f"asset inventory extract {n}".encode()) for n in range(3)]

    # 5xx on a download: retried, stored
    sb.fail_next(503, count=2, method="GET", path=rf"{files[0]}/content$", retry_after=0)
    sb.clear_request_log()
    _run(wh, lib, w)
    assert w.downloads().count(files[0]) == 3
    assert {v[0] for v in _status(wh).values()} == {"stored"}

    # the app loses its grant: a task naming the folders and the app; nothing is taken as deleted
    sb.store.drives[w.drive.id].grants.pop(w.app)
    _run(wh, lib, w)
    sb.store.drives[w.drive.id].grants[w.app] = "write"
    assert {v[:2] for v in _status(wh).values()} == {("stored", False)}
    tasks = _rows(wh, "select message from evidence_stores.library_alerts where kind = 'permission_task'")
    assert len(tasks) == 1 and "Audit Inbox, Controls/CAB" in tasks[0][0] and w.settings.client_id in tasks[0][0]

    # a download denied: pending with the reason (a task); throttled beyond retries: pending (an error event)
    denied = w.drop("Audit Inbox", "denied.txt", b"vendor risk assessment of Acme")
    slow = w.drop("Audit Inbox", "slow.txt", b"privacy impact assessment of the HR portal")
    sb.fail_next(403, count=100, method="GET", path=rf"{denied}/content$")
    sb.fail_next(429, count=4, method="GET", path=rf"{slow}/content$", retry_after=0)
    _run(wh, lib, w)
    rows = _status(wh)
    assert rows[denied][0] == "pending" and "read access" in rows[denied][2]
    assert rows[slow][0] == "pending" and "429" in rows[slow][2]
    kinds = [k for (k,) in _rows(wh, "select kind from evidence_stores.library_alerts order by seq")]
    assert kinds == ["permission_task", "permission_task", "error_event"]
    sb.scripted.clear()
    sb.clear_request_log()
    _run(wh, lib, w)  # nothing changed in the delta, but both were pending: read again, stored
    assert sorted(w.downloads()) == sorted([denied, slow])
    assert {v[0] for v in _status(wh).values()} == {"stored"}

    # the library's quota: ingestion from SharePoint pauses, later files wait as pending (not read)
    late = [w.drop("Controls/CAB", f"late-{n}.txt", f"incident report {n}".encode()) for n in range(2)]
    sb.store.drives[w.drive.id].quota_bytes = sb.store.used_bytes(w.drive.id)
    sb.clear_request_log()
    _run(wh, lib, w)
    rows = _status(wh)
    assert [rows[f][0] for f in late] == ["pending", "pending"] and all("quota" in rows[f][2] for f in late)
    assert len(w.downloads()) == 1  # the first found the quota; the second was not read while paused
    assert _rows(wh, "select provider from evidence_stores.library_pauses") == [("sharepoint",)]

    # quota raised, resumed; and the delta token expired meanwhile (410): a resync, nothing stored twice
    sb.store.drives[w.drive.id].quota_bytes = 1024**3
    lib.ledger.resume("sharepoint")
    sb.fail_next(410, count=1, method="GET", path=r"/delta")
    sb.clear_request_log()
    _run(wh, lib, w)
    assert sb.scripted[-1]["count"] == 0  # the stored deltaLink was refused
    assert [("token=" in r["query"], r["status"]) for r in sb.request_log if "/delta" in r["path"]] == [
        (True, 410), (False, 200)]  # then enumerated again from the start
    rows = _status(wh)
    assert {v[0] for v in rows.values()} == {"stored"} and set(rows) == {*files, denied, slow, *late}
    assert len(list(lib.store.list())) == 7
    stored = [r for r in lib.ledger.rows("files") if r["status"] == "stored"]
    assert len(stored) == len({r["source_ref"] for r in stored}) == 7  # each version stored once
    assert _rows(wh, "select count(*) from evidence_stores.library_pauses") == [(0,)]


def _sp_state(wh) -> dict:
    return wh.pipeline("evidence_stores").state["sources"]["evidence_stores"].get("resources", {}).get(
        "sharepoint_files", {})


SMALL_STATE = {"delta_link", "folders", "watched"}  # no per-file entries


def test_sharepoint_state_keeps_no_files(world, clamd, duckdb_warehouse, tmp_path):
    """What each file last was comes from sharepoint_files, not dlt state; a re-run still downloads nothing."""
    wh, w = duckdb_warehouse, world
    lib = make_library(tmp_path, clamd)
    for n in range(4):
        w.drop("Audit Inbox", f"evidence-{n}.txt", f"asset inventory extract {n}".encode())
    _run(wh, lib, w)
    assert set(_sp_state(wh)) == SMALL_STATE
    w.sb.clear_request_log()
    counts = _run(wh, lib, w)
    assert w.downloads() == [] and "sharepoint_files" not in counts
    assert set(_sp_state(wh)) == SMALL_STATE


def test_sharepoint_old_state_is_migrated(world, clamd, duckdb_warehouse, tmp_path):
    """State from the version that kept ``known``/``retry`` is used once (united with the table) and removed."""
    from pipelines.evidence_stores.sharepoint import KEPT

    wh, w = duckdb_warehouse, world
    lib = make_library(tmp_path, clamd)
    files = [w.drop("Audit Inbox", f"evidence-{n}.txt", f"asset inventory extract {n}".encode()) for n in range(3)]
    _run(wh, lib, w)
    rows = _rows(wh, f"select file_id, {', '.join(KEPT)} from evidence_stores.sharepoint_files")
    known = {r[0]: dict(zip(KEPT, r[1:], strict=True)) for r in rows}
    ghost = "01GHOST" + uuid.uuid4().hex[:10].upper()  # known to the old state only, and gone from the library
    known[ghost] = {**known[files[0]], "name": "ghost.txt"}
    pipeline = wh.pipeline("evidence_stores")
    with pipeline.managed_state() as state:  # what the old version left: both pending
        state["sources"]["evidence_stores"]["resources"]["sharepoint_files"].update(known=known,
                                                                                    retry=[files[1], ghost])

    w.sb.clear_request_log()
    counts = _run(wh, lib, w)
    assert w.downloads() == []  # the pending one's version is already in the library
    assert counts["sharepoint_files"] == 2  # the old retry entry read again, the vanished one captured as deleted
    assert dict(_rows(wh, "select file_id, status from evidence_stores.sharepoint_files")) == {
        **dict.fromkeys(files, "stored"), ghost: "deleted"}
    assert set(_sp_state(wh)) == SMALL_STATE
    w.sb.clear_request_log()
    counts = _run(wh, lib, w)
    assert w.downloads() == [] and "sharepoint_files" not in counts


def _forget_delta_link(wh) -> None:
    """What a run killed while loading can leave: sharepoint_files merged, its state (the deltaLink) not saved
    (the same as a state reset): the next run enumerates the library again."""
    wh.pipeline("evidence_stores").drop()  # the local working folder (recovery discards it after a kill)
    with duckdb.connect(wh.duckdb_path) as con:
        con.execute("delete from evidence_stores._dlt_pipeline_state")


def test_sharepoint_enumeration_captures_what_the_table_holds_and_the_library_lost(world, clamd, duckdb_warehouse,
                                                                                   tmp_path):
    """Rows without a committed deltaLink (a run killed in its load, a reset state) or a deltaLink Graph no
    longer takes (410): the next run enumerates the library, which carries no deleted facets; a file it no
    longer holds is captured as deleted instead of staying present forever."""
    wh, w = duckdb_warehouse, world
    lib = make_library(tmp_path, clamd)
    kept, gone, later = (w.drop("Audit Inbox", f"evidence-{n}.txt", f"asset inventory extract {n}".encode())
                         for n in range(3))
    _run(wh, lib, w)
    _forget_delta_link(wh)
    w.sb.store.delete(w.sb.store.items[gone])
    w.sb.clear_request_log()
    _run(wh, lib, w)
    assert {k: v[:2] for k, v in _status(wh).items()} == {
        kept: ("stored", False), gone: ("deleted", True), later: ("stored", False)}
    assert w.downloads() == []  # the others' versions are in the library already
    w.sb.store.delete(w.sb.store.items[later])
    w.sb.fail_next(410, count=1, method="GET", path=r"/delta")  # the deltaLink expired meanwhile: a resync
    _run(wh, lib, w)
    assert {k: v[:2] for k, v in _status(wh).items()} == {
        kept: ("stored", False), gone: ("deleted", True), later: ("deleted", True)}


def _sharepoint_env(monkeypatch, w: World, clamd) -> None:
    """The CLI's and the Dagster asset's variables for the watched folders (the library stores locally)."""
    s = w.settings
    for name, value in {"PROJECTX_EVIDENCE_STORE": "local", "PROJECTX_CLAMD_ADDRESS": clamd.address,
                        "SHAREPOINT_INGEST_FOLDERS": ",".join(FOLDERS), "TENANT_ID": s.tenant_id,
                        "CLIENT_ID": s.client_id, "CERT_PATH": s.cert_path, "SHAREPOINT_CERT_PASSWORD": s.cert_password,
                        "SHAREPOINT_SITE_ID": s.site_id, "SHAREPOINT_LIBRARY_ID": s.library_id,
                        "SHAREPOINT_AUTHORITY_HOST": s.authority, "SHAREPOINT_GRAPH_URL": s.graph_url}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("EVIDENCE_S3_INGEST_PREFIXES", raising=False)
    monkeypatch.delenv("EVIDENCE_GOOGLE_DRIVE_INGEST_FOLDER_IDS", raising=False)


@pytest.mark.slow
@pytest.mark.parametrize("via", ["cli", "dagster"])
def test_ten_random_kills_then_one_sync_end_in_exact_parity(via, world, clamd, duckdb_warehouse, monkeypatch):
    """The SharePoint evidence sync killed ten times at random moments of dlt's steps (CLI and Dagster asset)
    while files are added, replaced and deleted between kills; one sync then ends with sharepoint_files
    equal to the watched folders (one row per item id, its latest eTag and cTag, every deleted file that
    had a row marked deleted) and every version stored once by the library."""
    import tests.ingestion_harness as harness

    w, wh = world, duckdb_warehouse
    _sharepoint_env(monkeypatch, w, clamd)
    folders = ["Audit Inbox", "Controls/CAB", "Controls/CAB/2026"]
    reports = [(folders[i % 3], f"report-{i:02d}.txt") for i in range(30)]
    ids = [w.drop(folder, name, f"Control evidence report {i}".encode()) for i, (folder, name) in enumerate(reports)]
    w.drop("Elsewhere", "not-watched.txt", b"asset inventory extract")
    gone: set[str] = set()

    def change(n: int) -> None:  # one new, one replaced, one deleted file after every kill
        w.drop(folders[n % 3], f"new-{n:02d}.txt", f"Evidence added after kill {n}".encode())
        w.drop(*reports[n], f"Control evidence report {n}, revised".encode())
        gone.add(ids[29 - n])
        w.sb.store.delete(w.sb.store.items[ids[29 - n]])

    struck = harness.kill_loop("evidence_stores", via, w.sb, wh, kills=10, seed=16, on_kill=change)
    harness.sync("evidence_stores", via)
    store, watched = w.sb.store, {w.folders[f] for f in FOLDERS}
    with store.lock:
        listed = {i.id: (f'"{{{i.id}}},{i.version}"', f'"c:{{{i.id}}},{i.version}"') for i in store.items.values()
                  if i.drive_id == w.drive.id and i.content is not None and watched & set(store.ancestors(i))}
    rows = _rows(wh, "select file_id, etag, ctag, status, is_deleted, source_ref from evidence_stores.sharepoint_files")
    assert len(rows) == len({r[0] for r in rows}), "one row per item id"
    live = {r[0]: (r[1], r[2]) for r in rows if not r[4]}
    assert live == listed, f"kills struck {struck}"
    assert {r[3] for r in rows if not r[4]} == {"stored"}
    # a file gone before any run committed it was never known: no row; one known is captured deleted
    assert {r[0] for r in rows if r[4]} <= gone
    assert _rows(wh, "select source_ref, count(*) from evidence_stores.library_files where source = 'sharepoint' "
                     "group by 1 having count(*) > 1") == [], "a version stored twice"
    stored = {r for (r,) in _rows(wh, "select source_ref from evidence_stores.library_files "
                                      "where source = 'sharepoint' and status = 'stored'")}
    assert {r[5] for r in rows if not r[4]} <= stored, "a listed version the library does not hold"


def _hostile_names() -> dict[str, str]:
    """SharePoint file names that break naive code; ``hostile_marker`` ones reach the client as the raw bytes
    of HOSTILE_TEXT while the sandbox's ``hostile_text`` fault is on. Not here: ``../`` (SharePoint refuses
    / and \\ in names), 1,000+ characters (SharePoint caps the whole path at 400), a declared type (Graph's
    file.mimeType is SharePoint's, from the extension, and not read)."""
    return {
        "control": "ctl\x01\x07\x1b[31mred\x7f\t.txt",
        "nul": "nul\x00byte.txt",
        "lone_surrogate": "truncated emoji \ud83d.txt",
        "not_utf8": f"bad {hostile_marker('byte')} name.txt",
        "rtl": "invoice\u202etxt.exe",
        "long": "L" * 360 + ".txt",
        "nfc": unicodedata.normalize("NFC", "café.txt"),
        "nfd": unicodedata.normalize("NFD", "café.txt"),
        "emoji": "📎 evidence 🎉.txt",
    }


def test_sharepoint_hostile_names_are_stored_once(world, clamd, duckdb_warehouse, tmp_path):
    """File (and subfolder) names with control characters, NUL, a lone surrogate, bytes that are not UTF-8 (in
    the JSON Graph serves), an RTL override, a long name, NFC and NFD twins and emoji, read by the first
    enumeration and by the delta after it: the syncs do not fail, every file ends stored under its own row
    (text no warehouse stores recorded escaped, with the reason), the library holds content-addressed files
    only, and the next sync reads nothing."""
    wh, w = duckdb_warehouse, world
    lib = _library(tmp_path, clamd, w)
    w.sb.faults.set(hostile_text=1)
    odd_folder = f"Audit Inbox/sub {hostile_marker('byte')} \ud83d"
    files: dict[str, str] = {}

    def drop(label: str, folder: str, name: str) -> None:
        files[label] = w.drop(folder, name, f"Control evidence ({label})".encode())

    for kind, name in _hostile_names().items():
        drop(f"listed {kind}", "Audit Inbox", name)
    _run(wh, lib, w)  # the first enumeration
    for kind, name in _hostile_names().items():
        drop(f"changed {kind}", "Controls/CAB", name)
        drop(f"changed {kind} in odd folder", odd_folder, name)
    _run(wh, lib, w)  # the delta

    rows = {r[0]: r[1:] for r in _rows(wh, "select file_id, status, is_deleted, name, folder_path, reason "
                                           "from evidence_stores.sharepoint_files")}
    assert set(rows) == set(files.values()) and {v[:2] for v in rows.values()} == {("stored", False)}
    named = {label: rows[item] for label, item in files.items()}
    for when in ("listed", "changed"):
        assert named[f"{when} nul"][2] == "nul\\x00byte.txt" and "NUL" in named[f"{when} nul"][4]
        assert named[f"{when} lone_surrogate"][2] == "truncated emoji \\ud83d.txt"
        assert named[f"{when} not_utf8"][2] == "bad \\udcff name.txt" and "byte 0xFF" in named[f"{when} not_utf8"][4]
        assert named[f"{when} rtl"][2] == "invoice\u202etxt.exe" and named[f"{when} rtl"][4] is None
        assert named[f"{when} nfc"][2] != named[f"{when} nfd"][2]
    assert {v[3] for k, v in named.items() if k.endswith("in odd folder")} == {"Audit Inbox/sub \\udcff \\ud83d"}
    library = [i for i in w.sb.store.items.values() if i.drive_id == w.drive.id and i.content is not None
               and i.parent_id == lib.store.folder_id]
    assert len(library) == len(files) and all(re.fullmatch(r"[0-9a-f]{64}", i.name) for i in library)
    ledger = lib.ledger.rows("files")
    assert len(ledger) == len({r["source_ref"] for r in ledger}) == len(files)

    w.sb.clear_request_log()
    counts = _run(wh, lib, w)
    assert w.downloads() == [] and "sharepoint_files" not in counts and len(lib.ledger.rows("files")) == len(files)
