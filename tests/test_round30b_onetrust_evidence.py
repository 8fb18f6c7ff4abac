"""Round 30b: the OneTrust attestation's evidence as data, not text split back.

- The outbound mart joined evidence as ``title <uri> | title <uri>`` and the push split it back: a title (a
  vendor file name) holding `` | ``, `` <`` or ``>`` named the wrong file and sent broken names. The mart now has
  ``evidence_json`` ({evidence_id, title, storage_uri, sha256}), built alike on DuckDB and PostgreSQL.
- Attestations sent OneTrust the worker's ``file://`` paths; they now carry title, evidence id and sha256.
- Evidence files were read whole into memory, of any size: they are streamed, and one above
  ``ONETRUST_ATTACHMENT_MAX_MB`` is refused with its reason (plan, dead letter), never read.
"""

from __future__ import annotations

import hashlib
import json
from email import policy
from email.parser import BytesParser

import duckdb
import psycopg2
import pytest

from assets.reverse_sync.onetrust_evidence import EvidenceColumnMissing, StreamedUpload, row_items
from tests.conftest import fresh_postgres, onetrust_env
from tests.dbt_helpers import dbt
from tests.reverse_sync_helpers import attestation_rows, query, run, write_outbound

HOSTILE = ["minutes | final <v2>.pdf", "a <b> c > d", 'quote " and back\\slash', "line\nbreak\ttab",
           "\u202egnp.exe ' or 1=1; --"]
PARENTS = [
    "create schema if not exists marts",
    "create table marts.control_attestations (attestation_id varchar, control_id varchar, control_name varchar, "
    "soc2 varchar, iso27001 varchar, owner varchar, period_start timestamp, period_end timestamp, "
    "is_period_closed boolean, attestation_status varchar, objects_in_scope integer, objects_failing integer, "
    "remediations_closed integer, evidence_items integer)",
    "insert into marts.control_attestations values ('att-x', 'SN-CHG-01', 'Changes approved', 'CC8.1', 'A.8.32', "
    "'dpo@example.com', timestamp '2026-03-01 00:00:00', timestamp '2026-04-01 00:00:00', true, 'exceptions', "
    "3, 1, 0, 5)",
    "create table marts.tasks (task_type varchar, control_id varchar, status varchar)",
    "create table marts.evidence_links (control_id varchar, evidence_id varchar)",
    "create table marts.evidence (evidence_id varchar, title varchar, storage_uri varchar, sha256 varchar, "
    "created_at timestamp)",
]


def _parents(execute, uris: list[str | None]) -> None:
    for sql in PARENTS:
        execute(sql)
    for n, (title, uri) in enumerate(zip(HOSTILE, uris, strict=True)):
        sha = _lit(f"{n:064x}" if n % 2 else None)
        execute(f"insert into marts.evidence_links values ('SN-CHG-01', 'ev-{n}')")
        execute(f"insert into marts.evidence values ('ev-{n}', {_lit(title)}, {_lit(uri)}, {sha}, "
                f"timestamp '2026-03-0{n + 1} 10:00:00')")


def _lit(value: str | None) -> str:
    return "null" if value is None else "'" + value.replace("'", "''") + "'"


def _built(ok) -> None:
    assert ok.returncode == 0, ok.stdout[-4000:] + ok.stderr[-2000:]


@pytest.fixture
def onetrust(make_onetrust_sandbox, duckdb_warehouse, monkeypatch, tmp_path):
    sb = make_onetrust_sandbox(size=20)
    onetrust_env(monkeypatch, sb)
    store = tmp_path / "store"
    store.mkdir()
    monkeypatch.setenv("PROJECTX_EVIDENCE_DIR", str(store))
    return sb


def test_hostile_titles_reach_onetrust_whole_from_the_duckdb_mart(onetrust, duckdb_warehouse, tmp_path):
    store = tmp_path / "store"
    files = []
    for n in range(len(HOSTILE)):
        (store / f"obj-{n}.bin").write_bytes(f"evidence {n}".encode())
        files.append((store / f"obj-{n}.bin").as_uri())
    files[4] = "https://sharepoint.example/sites/grc/evidence%204"  # a web link stays a link
    with duckdb.connect(duckdb_warehouse.duckdb_path) as con:
        _parents(con.execute, files)
    _built(dbt(duckdb_warehouse, tmp_path / "target", "build", "-s", "onetrust_control_attestations"))
    rows = query(duckdb_warehouse, "select evidence_json, evidence_refs from outbound.onetrust_control_attestations")
    items = json.loads(rows[0][0])
    assert sorted(i["title"] for i in items) == sorted(HOSTILE), items
    assert {i["evidence_id"]: i["storage_uri"] for i in items} == {f"ev-{n}": u for n, u in enumerate(files)}

    report = run("onetrust")
    assert (report.created, report.dead_lettered) == (1, 0), report.failures
    (attestation,) = [a for a in onetrust.attestations() if a.get("externalId") == "att-x"]
    sent = {e["evidenceId"]: e for e in attestation["evidence"]}
    assert {k: e["name"] for k, e in sent.items()} == {f"ev-{n}": t for n, t in enumerate(HOSTILE)}
    for n in range(4):  # the mart's sha256 when it has one, else the stored file's
        want = f"{n:064x}" if n % 2 else hashlib.sha256(f"evidence {n}".encode()).hexdigest()
        assert sent[f"ev-{n}"]["sha256"] == want and "url" not in sent[f"ev-{n}"]
    assert sent["ev-4"]["url"] == files[4]
    assert "file:" not in json.dumps(attestation) and str(store) not in json.dumps(attestation)
    assert len(onetrust.attachments[attestation["id"]]) == 4, "every stored file attached, hostile title or not"
    assert run("onetrust", run_id="again").writes == 0, "what OneTrust holds reads back as what was sent"


def test_the_mart_builds_the_same_evidence_json_on_postgres(tmp_path):
    uris = ["file:///data/Project%20X/a.bin", None, "s3://bucket/b", "file:///c", "https://x.example/d"]
    with fresh_postgres(tmp_path / "data") as settings:
        c = settings.pg_credentials()
        con = psycopg2.connect(host=c["host"], port=c["port"], user=c["username"], dbname=c["database"])
        con.autocommit = True
        try:
            with con.cursor() as cur:
                _parents(cur.execute, uris)
            _built(dbt(settings, tmp_path / "target", "build", "-s", "onetrust_control_attestations"))
            with con.cursor() as cur:
                cur.execute("select evidence_json from outbound.onetrust_control_attestations")
                (raw,) = cur.fetchone()
        finally:
            con.close()
    items = json.loads(raw)
    assert {i["evidence_id"]: (i["title"], i["storage_uri"], i["sha256"]) for i in items} == {
        f"ev-{n}": (t, u, f"{n:064x}" if n % 2 else None) for n, (t, u) in enumerate(zip(HOSTILE, uris, strict=True))}


def test_a_warehouse_built_before_evidence_json_still_pushes_and_none_at_all_names_dbt_build():
    legacy = row_items({"evidence_refs": "Minutes <file:///s/m.pdf> | Link <https://x.example/l>"})
    assert [(i["title"], i["storage_uri"]) for i in legacy] == [("Minutes", "file:///s/m.pdf"),
                                                                 ("Link", "https://x.example/l")]
    assert row_items({"evidence_json": None, "evidence_refs": "ignored <x>"}) == []
    with pytest.raises(EvidenceColumnMissing, match="dbt build"):
        row_items({"attestation_id": "a"})
    with pytest.raises(ValueError, match="dbt build"):
        row_items({"evidence_json": '{"not": "an array"}'})


def test_a_file_over_the_limit_is_refused_with_its_reason_and_the_others_attached(onetrust, duckdb_warehouse,
                                                                                  tmp_path, monkeypatch):
    store = tmp_path / "store"
    (store / "small.pdf").write_bytes(b"%PDF small")
    (store / "huge.mov").write_bytes(b"x" * 5000)
    monkeypatch.setenv("ONETRUST_ATTACHMENT_MAX_MB", "0.001")  # 1,000 bytes
    refs = f"Small <{(store / 'small.pdf').as_uri()}> | Huge <{(store / 'huge.mov').as_uri()}>"
    write_outbound(duckdb_warehouse, "onetrust", attestation_rows(1, evidence=refs))
    planned = run("onetrust", run_id="dry", dry_run=True)
    afters = [p["after"] for p in planned.plan if p["operation"] == "attach_evidence"]
    reason = "huge.mov is 0.0 MB (5,000 bytes), over the OneTrust attachment limit of 0.001 MB (ONETRUST_ATTACHMENT"
    assert "small.pdf" in afters and any(reason in str(a) for a in afters), afters
    report = run("onetrust")
    assert (report.created, report.dead_lettered) == (0, 1), report.failures
    dead = dict(query(duckdb_warehouse, "select internal_id, error from reverse_sync.dead_letters "
                                        "where vendor = 'onetrust'"))
    assert "huge.mov" in dead["att-0000"] and "ONETRUST_ATTACHMENT_MAX_MB" in dead["att-0000"]
    (attestation,) = [a for a in onetrust.attestations() if a.get("externalId") == "att-0000"]
    assert [a["fileName"] for a in onetrust.attachments[attestation["id"]]] == ["small.pdf"]
    monkeypatch.setenv("ONETRUST_ATTACHMENT_MAX_MB", "1")  # raised: the next run attaches it and is clean
    again = run("onetrust", run_id="raised")
    assert again.dead_lettered == 0, again.failures
    assert sorted(a["fileName"] for a in onetrust.attachments[attestation["id"]]) == ["huge.mov", "small.pdf"]


def test_a_streamed_upload_is_whole_on_every_send(tmp_path):
    path = tmp_path / 'odd "name".bin'
    data = bytes(range(256)) * 1000
    path.write_bytes(data)
    body = StreamedUpload(path)
    for _ in range(2):  # a send after a retry starts from the first byte again
        size = len(body)
        sent = b"".join(iter(lambda: body.read(777), b""))
        assert len(sent) == size
        message = BytesParser(policy=policy.default).parsebytes(
            f"Content-Type: {body.content_type}\r\n\r\n".encode() + sent)
        (part,) = list(message.iter_parts())
        assert part.get_param("name", header="content-disposition") == "file"
        assert part.get_content() == data
    body.close()


def test_a_bad_limit_setting_is_named(monkeypatch):
    from assets.reverse_sync.onetrust_evidence import max_attachment_bytes

    monkeypatch.delenv("ONETRUST_ATTACHMENT_MAX_MB", raising=False)
    assert max_attachment_bytes() == 100_000_000  # the default [unc]: OneTrust states no limit
    monkeypatch.setenv("ONETRUST_ATTACHMENT_MAX_MB", "lots")
    with pytest.raises(ValueError, match="ONETRUST_ATTACHMENT_MAX_MB"):
        max_attachment_bytes()
    for bad in ("0", "inf", "nan", "-5", "1e7"):  # inf had raised OverflowError, which named nothing
        monkeypatch.setenv("ONETRUST_ATTACHMENT_MAX_MB", bad)
        with pytest.raises(ValueError, match="ONETRUST_ATTACHMENT_MAX_MB"):
            max_attachment_bytes()


def test_an_attestation_sent_before_with_worker_paths_is_rewritten_without_them(onetrust, duckdb_warehouse, tmp_path):
    store = tmp_path / "store"
    (store / "m.pdf").write_bytes(b"%PDF minutes")
    uri = (store / "m.pdf").as_uri()
    write_outbound(duckdb_warehouse, "onetrust", attestation_rows(1, evidence=f"Minutes <{uri}>"))
    assert run("onetrust").created == 1
    table = onetrust.store.tables["attestations"]
    with onetrust.store.lock:  # as the push before this round sent it: the worker's path
        (rec,) = [table.row(i) for i in range(len(table.rows)) if i not in table.removed
                  and table.row(i).get("externalId") == "att-0000"]
        rec["evidence"] = [{"name": "Minutes", "url": uri}]
    with duckdb.connect(duckdb_warehouse.duckdb_path) as con:  # and its payload hashed as that push did
        con.execute("update reverse_sync.external_links set payload_hash = 'before round 30b' "
                    "where vendor = 'onetrust'")
    report = run("onetrust", run_id="rewrite")
    assert (report.updated, report.dead_lettered) == (1, 0), report.failures
    (fixed,) = [a for a in onetrust.attestations() if a.get("externalId") == "att-0000"]
    sha = hashlib.sha256(b"%PDF minutes").hexdigest()
    assert fixed["evidence"] == [{"name": "Minutes", "sha256": sha}]
    assert run("onetrust", run_id="settled").writes == 0
