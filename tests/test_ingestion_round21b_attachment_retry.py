"""Round 21b: the attachments' read by id and their listing floor stay bounded.

- Hundreds of quarantined attachments (a phishing wave) are read again by id in chunks: one ``sys_idIN``
  query with every id outgrew the URL limit (~8 KB: 414/400) and failed the resource on every run.
- A record rejected without a usable sys_id pins the listing's start to its update time (it cannot be read
  by id), but only until it was re-read and rejected unchanged ``UNKEYED_REREADS`` times, or while it is no
  older than the cursor's start by more than ``UNKEYED_MAX_AGE``: it was quarantined once already.

Each sync is a real subprocess over HTTP against the sandbox; the hostile records are made by rewriting the
sandbox's listing responses (the sandbox itself refuses them).
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime, timedelta
from urllib.parse import parse_qs

from tests.conftest import sandbox_env
from tests.ingestion_harness import sql
from tests.test_ingestion_round20_poison_children import _ok, _run

LISTING = "/api/now/attachment"
URL_LIMIT = 8 * 1024


def _query(raw_query: str) -> str:
    return parse_qs(raw_query).get("sysparm_query", [""])[0]


def _listings(sb) -> list[dict]:
    return [r for r in sb.request_log if r["path"] == LISTING]


def _quarantine(settings, where: str, *args) -> list[tuple]:
    return sql(settings, "select record_id, record from servicenow.quarantine where entity = 'attachments' "
               f"and {where}", *args)


def test_hundreds_of_quarantined_attachments_are_read_again_by_id_in_chunks_under_the_url_limit(
        make_servicenow_sandbox, monkeypatch, duckdb_warehouse):
    sb = make_servicenow_sandbox(size=60)
    sandbox_env(monkeypatch, sb)
    template = sb.records("sys_attachment")[0]
    wave = [hashlib.md5(f"phish{i}".encode()).hexdigest() for i in range(320)]
    hostile = [{**template, "sys_id": k, "file_name": f"invoice\x00{i}.pdf.exe"} for i, k in enumerate(wave)]
    inject = {"on": True}

    def phishing(req, resp):  # the wave, in the time listing of the first run only
        if req.path != LISTING or resp.status != 200 or not inject["on"] or "sys_idIN" in _query(req.raw_query):
            return resp
        if parse_qs(req.raw_query).get("sysparm_offset", ["0"])[0] != "0":
            return resp
        body = json.loads(resp.body)
        body["result"] = body["result"] + hostile
        resp.body = json.dumps(body).encode()
        return resp

    sb.rewrite_responses(phishing)
    _ok(_run("servicenow"))
    held = {r[0] for r in _quarantine(duckdb_warehouse, "record_id is not null")}
    assert set(wave) <= held, f"{len(set(wave) - held)} of the wave not quarantined"

    inject["on"] = False
    sb.clear_request_log()
    _ok(_run("servicenow"))  # every one of the 320 is due: read by id
    by_id = [r for r in _listings(sb) if "sys_idIN" in _query(r["query"])]
    asked = [k for r in by_id for k in _query(r["query"]).split("^")[0].removeprefix("sys_idIN").split(",")]
    assert set(wave) <= set(asked), "every due id is read again"
    assert len(by_id) >= 3, f"320 ids in {len(by_id)} queries"
    longest = max(len(r["path"]) + 1 + len(r["query"]) for r in sb.request_log)
    assert longest < URL_LIMIT, f"a request of {longest} characters"
    assert all(r["status"] == 200 for r in _listings(sb))

    sb.clear_request_log()
    _ok(_run("servicenow"))  # the vendor did not return them: gone, nothing more to read by id
    assert not [r for r in _listings(sb) if "sys_idIN" in _query(r["query"])]
    assert len(_quarantine(duckdb_warehouse, "record_id is not null")) == len(held), "no second row"


def test_an_attachment_rejected_without_a_sys_id_holds_the_listing_floor_three_rereads_at_most(
        make_servicenow_sandbox, monkeypatch, duckdb_warehouse):
    from pipelines.servicenow.attachment_ledger import UNKEYED_REREADS

    sb = make_servicenow_sandbox(size=60)
    sandbox_env(monkeypatch, sb)
    records = sb.records("sys_attachment")
    newest = max(r["sys_updated_on"] for r in records)
    # older than the cursor's overlap (300 s), younger than a day before it: only the re-read count bounds it
    stamp = (datetime.strptime(newest, "%Y-%m-%d %H:%M:%S") - timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S")
    unkeyed = {**records[0], "sys_id": "", "file_name": "no\x00id.txt", "sys_updated_on": stamp}

    def listed_from(req) -> str:
        found = re.search(r"sys_updated_on>=([^^]+)", _query(req.raw_query))
        return found.group(1) if found else ""

    def without_id(req, resp):  # listed whenever the time listing reaches back to its stamp
        if req.path != LISTING or resp.status != 200 or "sys_idIN" in _query(req.raw_query):
            return resp
        if parse_qs(req.raw_query).get("sysparm_offset", ["0"])[0] != "0" or listed_from(req) > stamp:
            return resp
        body = json.loads(resp.body)
        body["result"] = body["result"] + [unkeyed]
        resp.body = json.dumps(body).encode()
        return resp

    sb.rewrite_responses(without_id)
    starts = []
    for _ in range(UNKEYED_REREADS + 3):
        sb.clear_request_log()
        _ok(_run("servicenow"))
        [first] = {_query(r["query"]) for r in _listings(sb) if "sys_idIN" not in _query(r["query"])}
        starts.append(re.search(r"sys_updated_on>=([^^]+)", first).group(1))
    assert starts[0] < stamp, "the first run lists everything"
    assert starts[1:1 + UNKEYED_REREADS] == [stamp] * UNKEYED_REREADS, starts
    assert all(s > stamp for s in starts[1 + UNKEYED_REREADS:]), f"the floor is released: {starts}"
    rows = _quarantine(duckdb_warehouse, "coalesce(record_id, '') = ''")
    assert len([r for r in rows if json.loads(r[1]).get("sys_updated_on") == stamp]) == 1, \
        f"quarantined once: {rows}"

    sb.clear_request_log()  # a warm run after the release downloads nothing
    _ok(_run("servicenow"))
    assert not [r for r in sb.request_log if r["path"].endswith("/file")]


def test_an_unkeyed_stamp_older_than_the_cursor_start_by_more_than_a_day_does_not_hold_the_floor():
    from pipelines.common.requeue import UNKEYED_KEY
    from pipelines.servicenow.attachment_ledger import REREADS_KEY, Ledger, id_chunks

    state = {UNKEYED_KEY: {"old": "2026-01-01 00:00:00", "recent": "2026-03-01 10:00:00",
                           "worn": "2026-03-01 09:00:00"}, REREADS_KEY: {"worn": 3, "recent": 2}}
    memory = Ledger(state, "run")
    assert memory.floor("2026-03-01 12:00:00") == "2026-03-01 10:00:00"
    assert memory.floor("2026-01-01 12:00:00") == "2026-01-01 00:00:00"
    assert Ledger(None, "run").floor("2026-03-01 12:00:00") is None
    ids = [f"{i:032x}" for i in range(250)] + ["x" * 64] * 100
    chunks = id_chunks(ids)
    assert [k for c in chunks for k in c] == ids
    assert all(len(c) <= 100 and len(",".join(c)) <= 3500 for c in chunks)
