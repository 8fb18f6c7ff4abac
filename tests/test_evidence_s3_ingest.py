"""Ingestion from S3 evidence prefixes (moto's server through STS AssumeRole, real clamd): objects
dropped under a watched prefix become evidence through the library; EICAR is quarantined; a re-run
downloads and stores nothing twice; a changed object is read again, a deleted key is captured; faults
(5xx retried, AccessDenied a task, SlowDown beyond retries pending, quota a pause) lose nothing."""

from __future__ import annotations

import json
import re
import unicodedata
import uuid
from pathlib import Path

import boto3
import duckdb
import pytest
from dlt.common.versioned_state import decompress_state

import pipelines.evidence_stores.s3 as s3_ingest
from pipelines.evidence_stores import evidence_stores_source
from pipelines.evidence_stores.s3 import parse_prefixes
from resources.evidence.base import StoreError
from resources.evidence.s3 import S3Store
from resources.evidence.s3_auth import RoleSettings
from sandbox.aws import AwsFault
from tests.evidence.aws import EXTERNAL_ID, point_at
from tests.evidence.clamav import EICAR
from tests.evidence.files import make_pdf, make_png
from tests.evidence.library import make_library
from tests.test_evidence_drive_ingest import _build, _servicenow


@pytest.fixture(scope="module")
def s3env(moto_server):
    """The spec's AWS variables, a role that needs the external id; one per module (fresh buckets per test)."""
    with pytest.MonkeyPatch.context() as mp:
        point_at(moto_server, mp)
        trust = {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"sts:ExternalId": EXTERNAL_ID}}}]}
        role = boto3.client("iam").create_role(RoleName=f"ProjectXIngestRole-{uuid.uuid4().hex[:8]}",
                                               AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        mp.setenv("AWS_ROLE_ARN", role)
        mp.setenv("AWS_EXTERNAL_ID", EXTERNAL_ID)
        yield mp, moto_server, role


@pytest.fixture
def bucket(s3env, monkeypatch):
    name = f"evidence-{uuid.uuid4().hex[:10]}"
    s3env[1].faults.clear()  # the server is the session's: start from no faults, whoever ran before
    boto3.client("s3").create_bucket(Bucket=name)
    monkeypatch.setenv("EVIDENCE_S3_BUCKET", name)
    yield name
    s3env[1].faults.clear()


@pytest.fixture
def gets(monkeypatch):
    """Every GetObject the ingestion sends (the keys), through the client it builds."""
    calls: list[str] = []
    real = s3_ingest.s3_client

    def counting(role=None):
        client = real(role)
        client.meta.events.register("before-parameter-build.s3.GetObject",
                                    lambda params, **_: calls.append(params["Key"]))
        return client

    monkeypatch.setattr(s3_ingest, "s3_client", counting)
    return calls


def _drop(bucket: str, key: str, content: bytes) -> str:
    boto3.client("s3").put_object(Bucket=bucket, Key=key, Body=content)
    return f"s3://{bucket}/{key}"


def _run(wh, lib, prefixes, bucket: str | None = None) -> dict[str, int]:
    pipeline = wh.pipeline("evidence_stores")
    pipeline.run(evidence_stores_source(ledger_path=str(lib.ledger.path), library=lib,
                                        s3_prefixes=parse_prefixes(prefixes, bucket or lib.store.bucket)))
    return dict(pipeline.last_trace.last_normalize_info.row_counts)


def _rows(wh, sql):
    with duckdb.connect(wh.duckdb_path, read_only=True) as con:
        return con.execute(sql).fetchall()


def _status(wh) -> dict[str, tuple]:
    return {r[0]: r[1:] for r in _rows(wh, "select file_id, status, is_deleted, reason from evidence_stores.s3_files")}


def _library(tmp_path, clamd, bucket):
    return make_library(tmp_path, clamd, store=S3Store(bucket, role=RoleSettings.from_env()))


def test_prefixes_parse():
    assert parse_prefixes("inbox/, s3://other/audit/2026/,s3://bare", "main") == [
        ("main", "inbox/"), ("other", "audit/2026/"), ("bare", "")]
    with pytest.raises(StoreError, match="EVIDENCE_S3_BUCKET"):
        parse_prefixes("inbox/", None)


def test_s3_prefix_ingestion(bucket, clamd, duckdb_warehouse, tmp_path, gets, make_servicenow_sandbox):
    wh = duckdb_warehouse
    lib = _library(tmp_path, clamd, bucket)  # stores into the same bucket, under objects/
    other = f"audit-{uuid.uuid4().hex[:8]}"
    boto3.client("s3").create_bucket(Bucket=other)
    pdf = _drop(bucket, "inbox/CAB minutes.pdf", make_pdf(["Change advisory board approval of CHG0042", "p2"]))
    eicar = _drop(bucket, "inbox/totally-safe.pdf", EICAR)
    png = _drop(other, "screens/2026/screenshot.png", make_png(320, 200))
    _drop(bucket, "elsewhere/not-watched.txt", b"asset inventory extract")
    prefixes = f"inbox/,s3://{other}/screens/"
    _run(wh, lib, prefixes)

    assert {k: v[:2] for k, v in _status(wh).items()} == {
        pdf: ("stored", False), eicar: ("quarantined", False), png: ("stored", False)}
    assert _rows(wh, "select kind, source from evidence_stores.library_alerts") == [("security_alert", "s3")]
    assert {o.metadata["filename"] for o in lib.store.list()} == {"CAB minutes.pdf", "screenshot.png"}
    assert _rows(wh, "select page_count, evidence_class, control_ids from evidence_stores.library_files "
                     "where filename = 'CAB minutes.pdf'") == [(2, "change_approval", "SN-CHG-01")]
    assert sorted(gets) == sorted(["inbox/CAB minutes.pdf", "inbox/totally-safe.pdf", "screens/2026/screenshot.png"])

    # re-run: nothing changed, nothing downloaded, nothing stored twice, no row
    ledger_rows, gets[:] = len(lib.ledger.rows("files")), []
    counts = _run(wh, lib, prefixes)
    assert gets == [] and len(lib.ledger.rows("files")) == ledger_rows and "s3_files" not in counts
    assert len(list(lib.store.list())) == 2

    # a new object, one changed in place, one deleted
    new = _drop(bucket, "inbox/incident post-mortem.txt", b"Incident post-mortem for INC0099: root cause analysis")
    _drop(other, "screens/2026/screenshot.png", make_png(640, 400))
    boto3.client("s3").delete_object(Bucket=bucket, Key="inbox/CAB minutes.pdf")
    _run(wh, lib, prefixes)
    assert sorted(gets) == sorted(["inbox/incident post-mortem.txt", "screens/2026/screenshot.png"])
    rows = _status(wh)
    assert rows[new][:2] == ("stored", False) and rows[pdf][:2] == ("deleted", True)
    assert rows[png][:2] == ("stored", False) and rows[eicar][:2] == ("quarantined", False)
    assert _rows(wh, f"select l.image_width from evidence_stores.s3_files s join evidence_stores.library_files l "
                     f"on s.sha256 = l.sha256 where s.file_id = '{png}'") == [(640,)]
    assert _rows(wh, f"select sha256 is not null from evidence_stores.s3_files where file_id = '{pdf}'") == [(True,)]

    _servicenow(wh, make_servicenow_sandbox)  # the evidence marts stand on its core tables
    _build(wh, tmp_path, "+evidence_links", "+evidence_files")
    evidence = {r[0]: r[1:] for r in _rows(wh, "select evidence_id, is_deleted, storage_uri, title from "
                                               "marts.evidence where source_system = 's3'")}
    assert set(evidence) == {f"s3-file-{i}" for i in (pdf, png, new)}  # never the EICAR file
    assert evidence[f"s3-file-{pdf}"][0] is True and evidence[f"s3-file-{new}"][0] is False
    assert evidence[f"s3-file-{new}"][1].startswith(f"s3://{bucket}/objects/")
    assert evidence[f"s3-file-{png}"][2] == "screenshot.png"
    links = _rows(wh, "select l.evidence_id, l.control_id from marts.evidence_links l join marts.evidence e "
                      "on l.evidence_id = e.evidence_id where e.source_system = 's3'")
    assert sorted(links) == [(f"s3-file-{new}", "SN-INC-01"), (f"s3-file-{new}", "SN-INC-02")]
    eicar_sha = _rows(wh, "select sha256 from evidence_stores.library_files where status = 'quarantined'")[0][0]
    assert _rows(wh, f"select count(*) from marts.evidence where sha256 = '{eicar_sha}'") == [(0,)]
    assert _rows(wh, f"select count(*) from marts.evidence_files where sha256 = '{eicar_sha}'") == [(0,)]


def test_s3_faults_lose_nothing(bucket, s3env, clamd, duckdb_warehouse, tmp_path, gets):
    wh, server, role = duckdb_warehouse, s3env[1], s3env[2]
    lib = _library(tmp_path, clamd, bucket)
    files = [_drop(bucket, f"inbox/evidence-{n}.txt", f"asset inventory extract {n}".encode()) for n in range(3)]

    # 5xx on a download: retried by botocore, stored
    before = server.fault_hits
    server.faults.append(AwsFault("s3", 503, "ServiceUnavailable", count=2, method="GET", path=r"evidence-0\.txt$"))
    _run(wh, lib, "inbox/")
    assert server.fault_hits - before == 2
    assert {v[0] for v in _status(wh).values()} == {"stored"}

    # the role loses the listing: a task naming the bucket, prefix and role; nothing is taken as deleted
    server.faults.append(AwsFault("s3", 403, "AccessDenied", count=100, method="GET", path=rf"^/{bucket}/?$"))
    _run(wh, lib, "inbox/")
    assert {v[:2] for v in _status(wh).values()} == {("stored", False)}
    tasks = _rows(wh, "select message from evidence_stores.library_alerts where kind = 'permission_task'")
    assert len(tasks) == 1 and f"s3://{bucket}/inbox/" in tasks[0][0] and role in tasks[0][0]
    server.faults.clear()

    # downloads denied: pending with the reason (a task); throttled beyond retries: pending (an error event)
    denied = _drop(bucket, "inbox/denied.txt", b"vendor risk assessment of Acme")
    slow = _drop(bucket, "inbox/slow.txt", b"privacy impact assessment of the HR portal")
    server.faults += [AwsFault("s3", 403, "AccessDenied", count=100, method="GET", path=r"denied\.txt$"),
                      AwsFault("s3", 503, "SlowDown", count=4, method="GET", path=r"slow\.txt$")]
    _run(wh, lib, "inbox/")
    rows = _status(wh)
    assert rows[denied][0] == "pending" and "grant the role" in rows[denied][2]
    assert rows[slow][0] == "pending" and "SlowDown" in rows[slow][2]
    kinds = [k for (k,) in _rows(wh, "select kind from evidence_stores.library_alerts order by seq")]
    assert kinds == ["permission_task", "permission_task", "error_event"]
    server.faults.clear()
    gets[:] = []
    _run(wh, lib, "inbox/")  # both read again (unchanged ETags, but pending): stored
    assert sorted(gets) == ["inbox/denied.txt", "inbox/slow.txt"]
    assert {v[0] for v in _status(wh).values()} == {"stored"}

    # the store's quota: ingestion from S3 pauses, new objects wait as pending (not downloaded)
    late = [_drop(bucket, f"inbox/late-{n}.txt", f"incident report {n}".encode()) for n in range(2)]
    server.faults.append(AwsFault("s3", 507, "QuotaExceeded", count=100, method="PUT", path="/objects/"))
    gets[:] = []
    _run(wh, lib, "inbox/")
    rows = _status(wh)
    assert [rows[f][0] for f in late] == ["pending", "pending"] and all("quota" in rows[f][2] for f in late)
    assert len(gets) == 1  # the first found the quota; the second was not read while paused
    assert _rows(wh, "select provider from evidence_stores.library_pauses") == [("s3",)]
    server.faults.clear()
    lib.ledger.resume("s3")
    _run(wh, lib, "inbox/")
    rows = _status(wh)
    assert {v[0] for v in rows.values()} == {"stored"} and set(rows) == {*files, denied, slow, *late}
    assert len(list(lib.store.list())) == 7
    assert _rows(wh, "select count(*) from evidence_stores.library_pauses") == [(0,)]


def test_asset_ingests_s3_prefixes_when_configured(bucket, clamd, duckdb_warehouse, monkeypatch):
    from dagster import materialize

    from assets.evidence import evidence_stores_ingest
    from resources.warehouse import WarehouseResource

    monkeypatch.setenv("PROJECTX_EVIDENCE_STORE", "local")
    monkeypatch.setenv("PROJECTX_CLAMD_ADDRESS", clamd.address)
    monkeypatch.delenv("EVIDENCE_GOOGLE_DRIVE_INGEST_FOLDER_IDS", raising=False)
    monkeypatch.delenv("SHAREPOINT_INGEST_FOLDERS", raising=False)
    monkeypatch.setenv("EVIDENCE_S3_INGEST_PREFIXES", "inbox/")
    doc = _drop(bucket, "inbox/vendor.txt", b"Vendor risk assessment of Acme Corp")
    result = materialize([evidence_stores_ingest], resources={"warehouse": WarehouseResource.from_env()})
    assert result.success
    counts = {e.asset_key.path[-1]: e.materialization.metadata.get("row_count")
              for e in result.get_asset_materialization_events()}
    # unconfigured providers get Dagster's implicit (empty) materialization, without a row count
    assert counts["s3_files"].value == 1 and counts["sharepoint_files"] is None and counts["drive_files"] is None
    assert _rows(duckdb_warehouse, "select file_id, status from evidence_stores.s3_files") == [(doc, "stored")]
    assert _rows(duckdb_warehouse, "select evidence_class, source from evidence_stores.library_files") == [
        ("vendor_assessment", "s3")]


def test_s3_quota_at_the_source_pauses_ingestion(bucket, s3env, clamd, duckdb_warehouse, tmp_path, gets):
    wh, server = duckdb_warehouse, s3env[1]
    lib = make_library(tmp_path, clamd)  # a local library: the quota is S3's, read side
    first = _drop(bucket, "inbox/first.txt", b"asset inventory extract")
    _run(wh, lib, "inbox/", bucket)
    server.faults.append(AwsFault("s3", 507, "QuotaExceeded", count=1, method="GET", path=rf"^/{bucket}/?$"))
    _run(wh, lib, "inbox/", bucket)  # the listing answers with a quota error: paused, nothing taken as deleted
    assert _rows(wh, "select provider from evidence_stores.library_pauses") == [("s3",)]
    assert [k for (k,) in _rows(wh, "select kind from evidence_stores.library_alerts")] == ["quota_pause"]
    assert _status(wh)[first][:2] == ("stored", False)
    later = _drop(bucket, "inbox/later.txt", b"incident report INC0100")
    gets[:] = []
    _run(wh, lib, "inbox/", bucket)  # listed while paused: recorded pending, not read
    assert gets == [] and _status(wh)[later][0] == "pending" and "paused" in _status(wh)[later][2]
    lib.ledger.resume("s3")
    _run(wh, lib, "inbox/", bucket)
    assert gets == ["inbox/later.txt"] and {v[0] for v in _status(wh).values()} == {"stored"}


def test_s3_whole_evidence_bucket_does_not_feed_the_library_back(bucket, clamd, duckdb_warehouse, tmp_path):
    wh = duckdb_warehouse
    lib = _library(tmp_path, clamd, bucket)
    doc = _drop(bucket, "inbox/a.txt", b"asset inventory extract")
    _run(wh, lib, f"s3://{bucket}/")
    _run(wh, lib, f"s3://{bucket}/")
    assert len(list(lib.store.list())) == 1  # stored under objects/, which is not ingested again
    assert set(_status(wh)) == {doc} and len(lib.ledger.rows("files")) == 1


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def warehouse(request, duckdb_warehouse, tmp_path):
    """The embedded DuckDB warehouse, or a fresh PostgreSQL database (dropped afterwards)."""
    if request.param == "duckdb":
        yield duckdb_warehouse
        return
    from tests.conftest import fresh_postgres

    with fresh_postgres(tmp_path / "pgdata", prefix="evstate") as settings:
        yield settings


def _query(wh, sql: str) -> list[tuple]:
    """Rows of ``sql`` (``{}`` = the dataset) on either warehouse, through the pipeline's own client."""
    with wh.pipeline("evidence_stores").sql_client() as client:
        return [tuple(r) for r in client.execute_sql(sql.format(client.fully_qualified_dataset_name()))]


def _s3_state(wh) -> dict:
    return wh.pipeline("evidence_stores").state["sources"]["evidence_stores"].get("resources", {}).get("s3_files", {})


def _saved_state(wh) -> str:
    """The state row dlt saved with the last load (the whole state, compressed)."""
    return _query(wh, "select state from {}._dlt_pipeline_state order by created_at desc, version desc limit 1")[0][0]


def test_s3_state_does_not_grow_with_the_bucket(bucket, clamd, warehouse, tmp_path, gets):
    """What each object last was comes from s3_files, not dlt state: 50 objects save no more state than 5,
    and a second run still downloads nothing."""
    wh = warehouse
    lib = make_library(tmp_path, clamd)
    for n in range(5):
        _drop(bucket, f"inbox/small-{n}.txt", f"asset inventory extract {n}".encode())
    _run(wh, lib, "inbox/", bucket)
    small = len(_saved_state(wh))
    files = [_drop(bucket, f"inbox/more-{n}.txt", f"incident report {n}".encode()) for n in range(45)]
    _run(wh, lib, "inbox/", bucket)
    large = len(_saved_state(wh))
    assert len(gets) == 50 and _s3_state(wh) == {}  # no per-file entries (nor anything else) kept in state
    assert abs(large - small) < 100, (small, large)  # the old per-file map added ~100 bytes per object

    gets[:] = []
    counts = _run(wh, lib, "inbox/", bucket)
    assert gets == [] and "s3_files" not in counts  # unchanged: not downloaded, no row
    boto3.client("s3").delete_object(Bucket=bucket, Key="inbox/more-0.txt")
    _drop(bucket, "inbox/more-1.txt", b"incident report, revised")
    _run(wh, lib, "inbox/", bucket)
    assert gets == ["inbox/more-1.txt"]
    rows = dict(_query(wh, "select file_id, status from {}.s3_files where is_deleted"))
    assert rows == {files[0]: "deleted"}
    assert _query(wh, "select count(*) from {}.s3_files where status = 'stored'") == [(49,)]


def test_s3_old_state_is_migrated(bucket, clamd, warehouse, tmp_path, gets):
    """State from the version that kept ``known``/``retry`` is used once (united with the table) and removed."""
    wh = warehouse
    lib = make_library(tmp_path, clamd)
    kept = [_drop(bucket, f"inbox/evidence-{n}.txt", f"asset inventory extract {n}".encode()) for n in range(3)]
    _run(wh, lib, "inbox/", bucket)
    columns = ", ".join(s3_ingest.KEPT)
    rows = _query(wh, f"select file_id, {columns} from {{}}.s3_files")
    known = {r[0]: dict(zip(s3_ingest.KEPT, r[1:], strict=True)) for r in rows}
    gone = f"s3://{bucket}/inbox/gone.txt"  # known only to the old state (and no longer in the bucket)
    known[gone] = {**known[kept[0]], "object_key": "inbox/gone.txt", "name": "gone.txt"}
    pipeline = wh.pipeline("evidence_stores")
    with pipeline.managed_state() as state:  # what the old version left
        state["sources"]["evidence_stores"].setdefault("resources", {})["s3_files"] = {
            "known": known, "retry": [kept[1]]}
    assert set(_s3_state(wh)) == {"known", "retry"}

    gets[:] = []
    counts = _run(wh, lib, "inbox/", bucket)
    assert gets == []  # nothing read again: the library already holds the pending one's version
    assert counts["s3_files"] == 2  # the old retry entry read again, the old known entry captured as deleted
    assert dict(_query(wh, "select file_id, status from {}.s3_files")) == {
        **dict.fromkeys(kept, "stored"), gone: "deleted"}
    assert _s3_state(wh) == {}  # and the old keys left the state, also the one saved in the warehouse
    saved = decompress_state(_saved_state(wh))["sources"]["evidence_stores"]["resources"]
    assert saved.get("s3_files", {}) == {}
    counts = _run(wh, lib, "inbox/", bucket)
    assert gets == [] and "s3_files" not in counts


class _Started:
    """kill_loop's view of a vendor: moto keeps no request log, so any instant after start will do."""

    request_log = (True,)

    def clear_request_log(self) -> None:
        pass


@pytest.mark.slow
@pytest.mark.parametrize("via", ["cli", "dagster"])
def test_ten_random_kills_then_one_sync_end_in_exact_parity(via, bucket, clamd, duckdb_warehouse, monkeypatch):
    """The evidence-store sync killed ten times at random moments of dlt's steps, through the CLI and
    the Dagster asset, while objects are added, changed and deleted between kills; one sync then ends
    with s3_files equal to the bucket (one row per key, the listed ETag, deletes captured) and every
    version stored once by the library."""
    import tests.ingestion_harness as harness

    monkeypatch.setenv("PROJECTX_EVIDENCE_STORE", "local")
    monkeypatch.setenv("PROJECTX_CLAMD_ADDRESS", clamd.address)
    monkeypatch.delenv("EVIDENCE_GOOGLE_DRIVE_INGEST_FOLDER_IDS", raising=False)
    monkeypatch.delenv("SHAREPOINT_INGEST_FOLDERS", raising=False)
    monkeypatch.setenv("EVIDENCE_S3_INGEST_PREFIXES", "inbox/")
    s3 = boto3.client("s3")
    for i in range(30):
        _drop(bucket, f"inbox/report-{i:02d}.txt", f"Control evidence report {i}".encode())

    def change(n: int) -> None:  # one new, one rewritten, one deleted object after every kill
        _drop(bucket, f"inbox/new-{n:02d}.txt", f"Evidence added after kill {n}".encode())
        _drop(bucket, f"inbox/report-{n:02d}.txt", f"Control evidence report {n}, revised".encode())
        s3.delete_object(Bucket=bucket, Key=f"inbox/report-{29 - n:02d}.txt")

    struck = harness.kill_loop("evidence_stores", via, _Started(), duckdb_warehouse, kills=10, seed=16,
                               on_kill=change)
    harness.sync("evidence_stores", via)
    listed = {f"s3://{bucket}/{o['Key']}": o["ETag"].strip('"')
              for o in s3.list_objects_v2(Bucket=bucket, Prefix="inbox/")["Contents"]}
    rows = _rows(duckdb_warehouse, "select file_id, etag, status, is_deleted, sha256 from evidence_stores.s3_files")
    assert len(rows) == len({r[0] for r in rows}), "one row per key"
    live = {r[0]: r[1] for r in rows if not r[3]}
    assert live == listed, f"kills struck {struck}"
    assert {r[2] for r in rows if not r[3]} == {"stored"}
    # a key deleted before any run committed it was never known: no row; one known is captured deleted
    assert {r[0] for r in rows if r[3]} <= {f"s3://{bucket}/inbox/report-{29 - n:02d}.txt" for n in range(10)}
    stored = _rows(duckdb_warehouse, "select source_ref, count(*) from evidence_stores.library_files "
                                     "where source = 's3' group by 1 having count(*) > 1")
    assert stored == [], "a version stored twice"


def _hostile_keys(escape: str) -> dict[str, str]:
    """Object keys S3 accepts (any UTF-8 up to 1,024 bytes) that break naive code. Not here: lone surrogates
    and bytes that are not UTF-8 (S3 keys are UTF-8: the SDK cannot even send them), a newline (S3 takes it,
    moto's server answers 404)."""
    return {
        "control": "inbox/ctl\x01\x07\x1b[31mred\x7f\t\r.txt",
        "nul": "inbox/nul\x00byte.txt",
        "rtl": "inbox/invoice\u202etxt.exe",
        "long": "inbox/" + "L" * 1000 + ".txt",
        "long_cjk": "inbox/" + "証" * 330 + ".txt",  # 1,000 bytes of UTF-8: 3 KB once quoted as S3 metadata
        "traversal": f"inbox/../../../../../../../../tmp/{escape}/pwned.txt",
        "nfc": "inbox/" + unicodedata.normalize("NFC", "café.txt"),
        "nfd": "inbox/" + unicodedata.normalize("NFD", "café.txt"),
        "emoji": "inbox/📎 evidence 🎉.txt",
    }


def test_s3_hostile_keys_are_stored_once_and_never_escape_the_library(bucket, clamd, duckdb_warehouse, tmp_path, gets):
    """Keys with control characters, NUL, an RTL override, 1,000+ characters, ``../``, NFC and NFD twins and
    emoji, and a declared Content-Type that is not UTF-8: the sync does not fail, every object ends stored
    under its own row (a NUL, which no warehouse stores in text, recorded escaped, with the reason), nothing
    is written outside the library, and the next sync reads nothing again."""
    wh, escape = duckdb_warehouse, f"evcrash-{uuid.uuid4().hex[:8]}"
    lib = _library(tmp_path, clamd, bucket)
    keys = _hostile_keys(escape)
    s3 = boto3.client("s3")
    for kind, key in keys.items():
        s3.put_object(Bucket=bucket, Key=key, Body=f"Control evidence ({kind})".encode())
    s3.put_object(Bucket=bucket, Key="inbox/declared-type.txt", Body=b"Control evidence (declared type)",
                  ContentType="text/plain; charset=\xff\xfe")  # sent as those two bytes (latin-1)
    declared = f"s3://{bucket}/inbox/declared-type.txt"
    _run(wh, lib, "inbox/")

    rows = {r[0]: r[1:] for r in _rows(wh, "select file_id, status, is_deleted, reason, object_key, name "
                                           "from evidence_stores.s3_files")}
    expected = {f"s3://{bucket}/{key}".replace("\x00", "\\x00") for key in keys.values()} | {declared}
    assert set(rows) == expected, "one row per key, NFC and NFD twins apart"
    assert {v[:2] for v in rows.values()} == {("stored", False)}
    nul = rows[f"s3://{bucket}/inbox/nul\\x00byte.txt"]
    assert nul[3:] == ("inbox/nul\\x00byte.txt", "nul\\x00byte.txt") and "NUL character" in nul[2]
    assert rows[f"s3://{bucket}/{keys['rtl']}"][4] == "invoice\u202etxt.exe"  # storable: kept as it is
    assert all(v[2] is None for k, v in rows.items() if "\\x00" not in k)
    assert sorted(gets) == sorted([*keys.values(), "inbox/declared-type.txt"])
    # the library wrote content-addressed objects only, and nothing left the temp folders
    library = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]} - {*keys.values(),
                                                                                   "inbox/declared-type.txt"}
    assert len(library) == len(keys) + 1 and all(re.fullmatch(r"objects/[0-9a-f]{2}/[0-9a-f]{64}", k) for k in library)
    assert not Path(f"/tmp/{escape}").exists() and not [p for p in tmp_path.rglob("*") if escape in p.name]
    ledger = lib.ledger.rows("files")
    assert len(ledger) == len({r["source_ref"] for r in ledger}) == len(keys) + 1
    assert {r["filename"] for r in ledger} >= {"invoice\u202etxt.exe", "nul\\x00byte.txt", "📎 evidence 🎉.txt"}

    gets[:] = []
    counts = _run(wh, lib, "inbox/")  # nothing changed: nothing read, no row, nothing stored again
    assert gets == [] and "s3_files" not in counts and len(lib.ledger.rows("files")) == len(ledger)
