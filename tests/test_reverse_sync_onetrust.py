"""OneTrust attestations against the OneTrust sandbox over HTTP: idempotent by externalId, evidence files."""

from __future__ import annotations

import hashlib

import pytest

from tests.conftest import onetrust_env
from tests.reverse_sync_helpers import attestation_rows, query, run, write_outbound, writes


@pytest.fixture
def onetrust(make_onetrust_sandbox, duckdb_warehouse, monkeypatch, tmp_path):
    sb = make_onetrust_sandbox(size=20)
    onetrust_env(monkeypatch, sb)
    monkeypatch.setenv("PROJECTX_EVIDENCE_DIR", str(tmp_path / "evidence"))
    return sb


def ours(sb):
    return {a["externalId"]: a for a in sb.attestations() if (a.get("source") == "Project X")}


def test_attestations_land_once_per_period_and_updates_reuse_the_external_id(onetrust, duckdb_warehouse, tmp_path):
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    (evidence / "cab-minutes.pdf").write_bytes(b"%PDF-1.4 minutes of the change advisory board")
    rows = attestation_rows(6, evidence="CAB minutes <cab-minutes.pdf> | Ticket <https://x.example/CHG1>")
    write_outbound(duckdb_warehouse, "onetrust", rows)
    report = run("onetrust")
    assert report.created == 6 and report.dead_lettered == 0
    stored = ours(onetrust)
    assert set(stored) == {r["attestation_id"] for r in rows}
    first = stored["att-0000"]
    assert first["result"] == "INEFFECTIVE" and first["periodStart"] == "2026-01-01T00:00:00Z"
    minutes = hashlib.sha256((evidence / "cab-minutes.pdf").read_bytes()).hexdigest()
    # the stored file by its title and sha256 (no path of the worker); a web link keeps its url
    assert first["evidence"] == [{"name": "CAB minutes", "sha256": minutes},
                                 {"name": "Ticket", "url": "https://x.example/CHG1"}]
    impls = {i["externalId"]: i for i in onetrust.control_implementations()}
    assert set(impls) == {"projectx:SN-CHG-01", "projectx:OT-PIA-01", "projectx:SN-INC-01"}
    assert impls["projectx:SN-CHG-01"]["controlIdentifier"] == "ISO-A.8.32", "linked to the library control"
    assert impls["projectx:SN-INC-01"]["controlIdentifier"] is None, "A.5.26 is not in this tenant's library"
    assert first["controlImplementationId"] == impls["projectx:SN-CHG-01"]["id"]
    attached = onetrust.attachments[first["id"]]
    assert [a["sha256"] for a in attached] == [hashlib.sha256((evidence / "cab-minutes.pdf").read_bytes()).hexdigest()]

    onetrust.clear_request_log()
    for n in range(10):
        assert run("onetrust", run_id=f"rerun-{n}").writes == 0
    assert writes(onetrust) == []

    # the remediation was closed at the vendor: the running month's result changes, same attestation
    rows[0] = {**rows[0], "onetrust_result": "PARTIALLY_EFFECTIVE", "summary": rows[0]["summary"] + " remediated"}
    write_outbound(duckdb_warehouse, "onetrust", rows)
    again = run("onetrust")
    assert again.updated == 1 and again.created == 0
    updated = ours(onetrust)["att-0000"]
    assert updated["id"] == first["id"] and updated["version"] == 2 and updated["result"] == "PARTIALLY_EFFECTIVE"
    assert len(onetrust.attachments[first["id"]]) == 1, "an evidence file is attached once"
    ops = query(duckdb_warehouse, "select operation, status from audit.events where system = 'onetrust' "
                                  "order by occurred_at")
    assert ("create_implementation", "201") in ops and ("attach_evidence", "201") in ops and ("update", "200") in ops


def test_a_lost_link_is_adopted_by_external_id(onetrust, duckdb_warehouse):
    import duckdb

    write_outbound(duckdb_warehouse, "onetrust", attestation_rows(4))
    run("onetrust")
    with duckdb.connect(duckdb_warehouse.duckdb_path) as con:
        con.execute("delete from reverse_sync.external_links")
    report = run("onetrust")
    assert report.adopted == 4 and report.created == 0 and report.writes == 0
    assert len(ours(onetrust)) == 4
