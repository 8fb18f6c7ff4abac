"""Round 31 review of the OneTrust re-read by id (sandbox over HTTP -> dlt -> DuckDB):

- a 404 on a read by id is only a hint (the vendors' by-id path is [unc]): a vendor listable but not fetchable by
  id was dropped from the ledger and quarantined again by the next full pass (a duplicate quarantine row);
- a 403 on one key aborted the whole resource, every run, before the listing was read;
- a risk delta is filtered on the server: the end-of-run "not listed, so gone" rule dropped every due key the read
  by id did not cover (more due keys than the limit, an answer that is no record) until the next full pass; over
  the limit the first keys are now read, rotating run after run;
- a by-id answer of another shape (id, name and stamp only) was merged, nulling the vendor's organization; and a
  by-id answer won the tie over the listed copy at the same instant.
"""

from __future__ import annotations

import json

from pipelines.onetrust import reread as RR
from sandbox.core.http import Response
from tests.test_ingestion_hostile_more import RISKS_LIST, VENDORS_LIST, _ot_rewrite, _ot_sync, _rows

VENDOR_BY_ID = VENDORS_LIST + "/"
RISK_BY_ID = "/api/risk/v2/risks/"


def _by_id(sb, prefix: str, answer) -> None:
    """Every GET by id under ``prefix`` answered by ``answer(rid, resp)``."""
    def rewrite(req, resp):
        if req.method == "GET" and req.path.startswith(prefix) and req.path.count("/") == prefix.count("/"):
            return answer(req.path.rsplit("/", 1)[-1], resp)
        return resp
    sb.rewrite_responses(rewrite)


def _status(code: int):
    return lambda rid, resp: Response(code, b'{"message":"refused"}', "application/json", [])


def _broken_vendor(sb, targets: set[str], fault: dict) -> None:
    """The listing serves ``targets`` with an organization of the wrong shape while ``fault["on"]``."""
    def change(req, body):
        for r in body["data"]:
            if fault["on"] and r["id"] in targets:
                r["organization"] = "Acme"
    _ot_rewrite(sb, VENDORS_LIST, change)


def _held(settings, rid: str) -> int:
    return _rows(settings, f"select count(*) from onetrust.quarantine where record_id = '{rid}'")[0][0]


def test_a_vendor_listable_but_not_readable_by_id_is_not_dropped_nor_quarantined_twice(make_onetrust_sandbox,
                                                                                       duckdb_warehouse):
    sb = make_onetrust_sandbox(size=40)
    target = sb.vendors()[5]["id"]
    _broken_vendor(sb, {target}, {"on": True})
    _by_id(sb, VENDOR_BY_ID, _status(404))  # the path answers 404 for every id [unc]
    _ot_sync(duckdb_warehouse, sb)  # full pass: quarantined
    assert _held(duckdb_warehouse, target) == 1
    _ot_sync(duckdb_warehouse, sb, reconcile=False)  # by id: 404, a hint only; the listing still shows it
    _ot_sync(duckdb_warehouse, sb)  # the next full pass finds the same record: the ledger still has it
    assert _held(duckdb_warehouse, target) == 1, "quarantined once, not again after a 404 by id"


def test_a_refused_read_by_id_falls_back_to_the_listing(make_onetrust_sandbox, duckdb_warehouse):
    sb = make_onetrust_sandbox(size=40)
    target = sb.vendors()[7]["id"]
    fault = {"on": True}
    _broken_vendor(sb, {target}, fault)
    _ot_sync(duckdb_warehouse, sb)
    fault["on"] = False
    _by_id(sb, VENDOR_BY_ID, _status(403))  # e.g. a token without the scope for the read by id
    _ot_sync(duckdb_warehouse, sb, reconcile=False)  # was: VendorError, every run, before the listing
    stored = _rows(duckdb_warehouse, f"select organization_name from onetrust.vendors where vendor_id = '{target}'")
    assert stored and stored[0][0], stored


def _broken_risks(sb, n: int) -> tuple[list[str], dict]:
    targets = [r["id"] for r in sorted(sb.risks(), key=lambda r: r["lastModifiedUTCDateTime"])[:n]]
    fault = {"on": True}

    def change(req, body):
        for r in body["content"]:
            if fault["on"] and r["id"] in targets:
                r["riskScore"] = "high"
    _ot_rewrite(sb, RISKS_LIST, change)
    return targets, fault


def _loaded(settings, ids: list[str]) -> int:
    inside = ", ".join(f"'{i}'" for i in ids)
    return _rows(settings, f"select count(*) from onetrust.risks where risk_id in ({inside})")[0][0]


def test_risk_keys_over_the_limit_are_read_by_id_in_turn_not_dropped(make_onetrust_sandbox, duckdb_warehouse,
                                                                     monkeypatch):
    sb = make_onetrust_sandbox(size=40)
    targets, fault = _broken_risks(sb, 3)
    _ot_sync(duckdb_warehouse, sb, entities=("risks",))
    assert _loaded(duckdb_warehouse, targets) == 0
    fault["on"] = False
    monkeypatch.setattr(RR, "REREAD_LIMIT", 2)
    counts = []
    for _ in range(2):
        _ot_sync(duckdb_warehouse, sb, entities=("risks",), reconcile=False)
        counts.append(_loaded(duckdb_warehouse, targets))
    assert counts == [2, 3], "two by id on the first delta, the third on the next (was: none, all dropped)"


def test_a_risk_whose_answer_by_id_is_no_record_stays_due(make_onetrust_sandbox, duckdb_warehouse):
    sb = make_onetrust_sandbox(size=40)
    targets, fault = _broken_risks(sb, 1)
    _ot_sync(duckdb_warehouse, sb, entities=("risks",))
    fault["on"] = False
    odd = {"on": True}
    _by_id(sb, RISK_BY_ID, lambda rid, resp: Response(200, b'{"data": "maintenance"}', "application/json", [])
           if odd["on"] else resp)
    _ot_sync(duckdb_warehouse, sb, entities=("risks",), reconcile=False)  # not read: the filtered listing lacks it
    assert _loaded(duckdb_warehouse, targets) == 0
    odd["on"] = False
    _ot_sync(duckdb_warehouse, sb, entities=("risks",), reconcile=False)
    assert _loaded(duckdb_warehouse, targets) == 1, "still due, read by id on the next delta (was: dropped)"


def _vendor_stored(settings, rid: str) -> tuple:
    (row,) = _rows(settings, f"select name, organization_name, owner_name, tier from onetrust.vendors "
                             f"where vendor_id = '{rid}'")
    return row


def _expected(sb, rid: str) -> tuple:
    (v,) = [v for v in sb.vendors() if v["id"] == rid]
    return v["name"], v["organization"]["value"], v["owner"]["value"], v["tier"]["value"]


def test_a_by_id_answer_of_another_shape_is_not_merged(make_onetrust_sandbox, duckdb_warehouse):
    sb = make_onetrust_sandbox(size=120)
    target = min(sb.vendors(), key=lambda v: v["lastUpdatedDate"])["id"]  # on the last page of newest-first
    fault = {"on": True}
    _broken_vendor(sb, {target}, fault)
    _ot_sync(duckdb_warehouse, sb)
    fault["on"] = False

    def slim(rid, resp):  # a summary view: id, name and stamps only
        record = json.loads(resp.body)["data"]
        keep = ("id", "name", "createdDate", "lastUpdatedDate")
        return Response(200, json.dumps({"data": {k: record[k] for k in keep}}).encode(), "application/json", [])
    _by_id(sb, VENDOR_BY_ID, slim)
    _ot_sync(duckdb_warehouse, sb, reconcile=False)
    assert _vendor_stored(duckdb_warehouse, target) == _expected(sb, target)


def test_the_listed_copy_wins_over_the_by_id_answer_at_the_same_instant(make_onetrust_sandbox, duckdb_warehouse):
    sb = make_onetrust_sandbox(size=40)
    target = max(sb.vendors(), key=lambda v: v["lastUpdatedDate"])["id"]  # page 0 of newest-first
    fault = {"on": True}
    _broken_vendor(sb, {target}, fault)
    _ot_sync(duckdb_warehouse, sb)
    fault["on"] = False

    def other_view(rid, resp):
        body = json.loads(resp.body)
        body["data"]["name"] = "by-id view"
        return Response(200, json.dumps(body).encode(), "application/json", [])
    _by_id(sb, VENDOR_BY_ID, other_view)
    _ot_sync(duckdb_warehouse, sb, reconcile=False)
    assert _vendor_stored(duckdb_warehouse, target) == _expected(sb, target)


def test_row_keys_are_every_key_the_row_builders_read():
    from pipelines.onetrust import rows as R

    class Reads(dict):
        def __init__(self):
            super().__init__(id="0b5c8f8e-1111-4222-8333-944455550000")
            self.read = set()

        def get(self, key, default=None):
            self.read.add(key)
            return super().get(key, default)

        def __getitem__(self, key):
            self.read.add(key)
            return super().__getitem__(key)

    for resource, build in (("risks", R.risk_row), ("vendors", R.vendor_row)):
        record = Reads()
        build(record)
        assert record.read == set(R.ROW_KEYS[resource]), resource
