"""Seeded data: deterministic, realistic, referentially consistent, with the hazards we test for."""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime, timedelta

from sandbox.servicenow.data import generate
from sandbox.servicenow.schema import SCHEMAS

DT = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\Z")


def test_deterministic_per_seed():
    a, b, c = generate(42, 300), generate(42, 300), generate(43, 300)
    assert a.rows == b.rows and a.files == b.files
    assert a.rows["incident"] != c.rows["incident"]


def test_sizes_scale_from_incident_count():
    ds = generate(1, 4000)
    counts = {k: len(v) for k, v in ds.rows.items()}
    assert counts["incident"] == 4000 and counts["change_request"] == 800 and counts["cmdb_ci"] == 1000
    # 200 seeded users, admin, the demo Finance head, problem.admin and ten demo admins (`well_known`), the
    # integration user
    assert counts["sys_user"] == 214 and counts["sc_task"] == counts["sc_request"] == 400


def test_values_are_strings_ids_and_datetimes_well_formed(servicenow_sandbox):
    for table in ("incident", "change_request", "cmdb_ci", "sys_user", "sys_user_group", "sc_task"):
        for rec in servicenow_sandbox.records(table):
            assert all(isinstance(v, str) for v in rec.values())
            assert re.fullmatch(r"[0-9a-f]{32}", rec["sys_id"])
            for f in SCHEMAS[table].fields:
                if f.kind == "datetime" and rec[f.name]:
                    assert DT.match(rec[f.name]), (table, f.name, rec[f.name])
            assert rec["sys_updated_on"] >= rec["sys_created_on"]


def test_references_resolve(servicenow_sandbox):
    sb = servicenow_sandbox
    ids = {t: {r["sys_id"] for r in sb.records(t)} for t in ("sys_user", "sys_user_group", "cmdb_ci",
                                                              "change_request", "incident", "sc_request")}
    for table in ("incident", "change_request", "cmdb_ci", "sc_task"):
        for f in SCHEMAS[table].fields:
            if f.kind == "reference" and f.ref in ids and f.name != "sys_domain":  # "global" domain
                dangling = [r[f.name] for r in sb.records(table) if r[f.name] and r[f.name] not in ids[f.ref]]
                assert not dangling, (table, f.name)
    rfc = SCHEMAS["incident"].names.index("rfc")
    assert any(r[rfc] for r in generate(42, 2000).rows["incident"])  # rfc -> change_request is used


def test_control_failures_are_present(servicenow_sandbox):
    sb = servicenow_sandbox
    cis = sb.records("cmdb_ci")
    assert 0 < sum(c["owned_by"] == "" for c in cis) < len(cis) / 3
    big = generate(42, 3000).rows["incident"]
    names = SCHEMAS["incident"].names
    recs = [dict(zip(names, r, strict=True)) for r in big]
    p1 = [r for r in recs if r["priority"] == "1" and r["resolved_at"]]

    def hours(r):
        fmt = "%Y-%m-%d %H:%M:%S"
        return (datetime.strptime(r["resolved_at"], fmt) - datetime.strptime(r["opened_at"], fmt)) / timedelta(hours=1)

    breaches = [r for r in p1 if hours(r) > 4]
    assert breaches and len(breaches) < len(p1)
    assert all(r["made_sla"] == "false" for r in breaches)
    assert any(r["priority"] == "1" and r["assigned_to"] == "" for r in recs)
    states = Counter(r["state"] for r in recs)
    assert set(states) == {"1", "2", "3", "6", "7", "8"}
    changes = generate(42, 3000).rows["change_request"]
    cnames = SCHEMAS["change_request"].names
    implemented = [dict(zip(cnames, r, strict=True)) for r in changes]
    implemented = [c for c in implemented if c["state"] in ("-1", "0", "3")]
    assert any(c["approval"] != "approved" for c in implemented)


def test_timestamps_before_anchor_within_180_days(servicenow_sandbox):
    for rec in servicenow_sandbox.records("incident"):
        assert "2026-05-04 00:00:00" <= rec["opened_at"] < "2026-11-01 00:00:00"
        assert rec["sys_updated_on"] < "2026-11-01 00:00:00"
