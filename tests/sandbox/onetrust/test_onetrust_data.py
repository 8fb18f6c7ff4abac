"""OneTrust sandbox seed data: determinism, planted truths and scale."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import requests

from sandbox.onetrust import OneTrustSandbox
from sandbox.onetrust.fixtures import onetrust_token


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_same_seed_same_data_other_seed_other_ids():
    a, b, c = OneTrustSandbox(seed=7, size=50), OneTrustSandbox(seed=7, size=50), OneTrustSandbox(seed=8, size=50)
    assert a.assessments() == b.assessments() and a.risks() == b.risks() and a.vendors() == b.vendors()
    assert {v["id"] for v in a.vendors()}.isdisjoint({v["id"] for v in c.vendors()})
    bigger = OneTrustSandbox(seed=7, size=500)
    assert [v["id"] for v in bigger.vendors()[:50]] == [v["id"] for v in a.vendors()]


def test_planted_truths_for_marts():
    sb = OneTrustSandbox(seed=42, size=400)
    cutoff = datetime(2026, 11, 1, tzinfo=UTC) - timedelta(days=365)
    assessments, vendors = sb.assessments(), sb.vendors()
    assert sum(_ts(a["createDt"]) < cutoff for a in assessments) > 50
    high_not_approved = [a for a in assessments if a["_templateType"] == "PIA"
                         and a["_riskLevel"] in ("High", "Very High") and a["resultName"] != "Approved"]
    assert len(high_not_approved) >= 5
    assert {a["status"] for a in assessments} == {"Not Started", "In Progress", "Under Review", "Completed"}
    recent = {a["primaryInventoryDetails"]["primaryInventoryId"] for a in assessments
              if a["_templateType"] == "VENDOR" and _ts(a["createDt"]) >= cutoff}
    high = [v for v in vendors if v["criticality"]["value"] in ("Critical", "High")]
    stale_high = [v for v in high if v["id"] not in recent]
    assert stale_high and all(v["_staleness"] != "never" or v["id"] not in recent for v in high)
    assert not {v["id"] for v in vendors if v["_staleness"] in ("never", "stale")} & recent
    assert {v["tier"]["value"] for v in vendors} == {"Tier 1", "Tier 2", "Tier 3", "Tier 4"}
    risks = sb.risks()
    assert {r["level"] for r in risks} == {"Low", "Medium", "High", "Very High"}
    assert all(r["riskOwnersName"] and r["categories"] for r in risks)


def test_100k_records_start_and_page_quickly(make_onetrust_sandbox):
    started = time.monotonic()
    sb = make_onetrust_sandbox(size=100_000)
    h = {"Authorization": f"Bearer {onetrust_token(sb)}"}
    first = requests.get(sb.url + "/api/inventory/v2/inventories/vendors", headers=h, timeout=30).json()
    page = requests.get(sb.url + "/api/assessment/v2/assessments", headers=h, params={"page": 40}, timeout=30)
    assert first["meta"]["page"]["totalElements"] == 100_000 and page.status_code == 200
    assert time.monotonic() - started < 10
