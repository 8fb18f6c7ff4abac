"""Round 20: hostile text on ServiceNow attachments (NUL, lone surrogates in file names and content types)
never crashes the run nor loses the other rows: each such attachment is stored with its text normalised or
quarantined with a reason. And the crash ledger counts a crash against the table's and the attachments'
in-flight notes alike (files beside each other), and a good run removes both."""

from __future__ import annotations

import json

from tests.conftest import sandbox_env
from tests.ingestion_harness import SN_INCIDENTS, assert_parity, sql
from tests.test_ingestion_round20_poison_children import _ok, _run, _sn_quarantine

HOSTILE = {"file_name": ["nul\x00name.txt", "lone\ud800surrogate.pdf"], "content_type": ["text/plain\x00x", "\udfff"]}


def test_hostile_attachment_text_is_normalised_or_quarantined_and_the_rest_loads(
        make_servicenow_sandbox, monkeypatch, duckdb_warehouse):
    sb = make_servicenow_sandbox(size=60)
    sandbox_env(monkeypatch, sb)
    files = sorted(r["sys_id"] for r in sb.records("sys_attachment"))
    hostile = files[:4]
    for sys_id, (field, value) in zip(hostile, [(f, v) for f, vs in HOSTILE.items() for v in vs], strict=True):
        sb.update("sys_attachment", sys_id, {field: value})
    _ok(_run("servicenow"))
    rows = {r[0]: r[1:] for r in sql(duckdb_warehouse, "select sys_id, file_name, content_type, content_status "
                                     "from servicenow.attachments")}
    held = _sn_quarantine(duckdb_warehouse, "attachments")
    assert set(rows) | set(held) == set(files) and not set(rows) & set(held)
    assert set(files[4:]) <= set(rows), "the ordinary attachments all loaded"
    assert {rows[f][2] for f in files[4:]} == {"stored"}
    for sys_id in hostile:
        if sys_id in held:
            assert held[sys_id], "quarantined with a reason"
        else:
            text = "".join(v or "" for v in rows[sys_id][:2])
            assert "\x00" not in text and not any(0xD800 <= ord(c) <= 0xDFFF for c in text)
    assert_parity(sb, duckdb_warehouse, SN_INCIDENTS)
    _ok(_run("servicenow"))  # and again: nothing loops


def test_a_crash_counts_against_every_in_flight_note_and_a_good_run_removes_them(tmp_path):
    from pipelines.common import poison

    table, files = tmp_path / "p.inflight", tmp_path / "p.attachments.inflight"
    other = tmp_path / "p_other.attachments.inflight"  # another pipeline's note: not this one's
    other.write_text(json.dumps({"resource": "attachments", "ids": ["z"]}))

    def crash(table_ids: list[str] | None, file_ids: list[str] | None) -> dict:
        if table_ids is not None:
            table.write_text(json.dumps({"resource": "incidents", "ids": table_ids}))
        if file_ids is not None:
            files.write_text(json.dumps({"resource": "attachments", "ids": file_ids}))
        poison.count_crash(tmp_path, "p", "servicenow")
        assert not table.exists() and not files.exists()
        return json.loads((tmp_path / "p.crashes").read_text())

    assert crash(["i1"], ["a", "b"]) == {"incidents": {"i1": 1}, "attachments": {"a": 1, "b": 1}}
    assert crash(None, ["a", "c"]) == {"attachments": {"a": 2, "c": 1}}  # in flight on every crash: "a" only
    assert crash(["i1"], ["a"]) == {"incidents": {"i1": 1}, "attachments": {"a": 3}}
    files.write_text(json.dumps({"resource": "attachments", "ids": ["a"]}))
    poison.settle(tmp_path, "p")
    assert not files.exists() and not (tmp_path / "p.crashes").exists()
    assert other.exists()
