"""Round 30: hostile ServiceNow data that tests/test_ingestion_hostile*.py and round 17 / 27 do not cover.

Covered there: a lone surrogate, bytes that are not UTF-8 and NUL in an incident's text (sandbox fault
``hostile_text``), 6 MB of text, one sys_id twice in a page with clean copies. Here:

- one sys_id in two tables (a CMDB CI and an incident: an import or a clone can give both one id; the sandbox
  refused it until round 30): each table keeps its row, and deleting one deletes only that one;
- one sys_id twice in one page where one copy is clean and the other carries a lone surrogate as a JSON escape
  (``"\\ud800"``): never dropped in silence, the hostile copy is quarantined with a reason naming the field;
- a 1 MB string ending in a lone surrogate escape, and a NUL escape (``"\\u0000"``), in the remediation table:
  quarantined under its own entity, with the field and character, the rest of the page loads.
"""

from __future__ import annotations

import json

from pipelines.servicenow import servicenow_source
from sandbox.servicenow.schema import REMEDIATION_TABLE
from tests.test_ingestion_hostile_more import FAST, _rows

INCIDENTS = "/api/now/table/incident"


def _sync(settings, sb, tables) -> None:
    creds = sb.credentials
    source = servicenow_source(base_url=sb.url, client_id=creds["client_id"], client_secret=creds["client_secret"],
                               username=creds["username"], password=creds["password"], tables=list(tables),
                               attachments=False, policy=FAST, page_size=10)
    settings.pipeline("servicenow").run(source, loader_file_format="parquet")


def _rewrite(sb, path: str, change) -> None:
    """Rewrite the JSON text of ``path``'s list answers: ``change(text) -> text`` (escapes stay escapes)."""
    def rewrite(req, resp):
        if req.path != path or req.method != "GET" or resp.status != 200:
            return resp
        resp.body = change(resp.body.decode()).encode()
        return resp
    sb.rewrite_responses(rewrite)


def _quarantine(settings, entity: str) -> dict[str, str]:
    return dict(_rows(settings, "select record_id, reason from servicenow.quarantine "
                                f"where entity = '{entity}'"))


def test_one_sys_id_in_two_tables_keeps_both_rows_and_a_delete_of_one_leaves_the_other(
        make_servicenow_sandbox, duckdb_warehouse):
    sb = make_servicenow_sandbox(size=20)
    incident = sb.records("incident")[3]
    shared = incident["sys_id"]
    ci = sb.insert("cmdb_ci", {"sys_id": shared, "name": "r30 twin of an incident"})
    assert ci["sys_id"] == shared
    _sync(duckdb_warehouse, sb, ["incident", "cmdb_ci"])
    [(short,)] = _rows(duckdb_warehouse,
                       f"select short_description from servicenow.incidents where sys_id = '{shared}'")
    [(name,)] = _rows(duckdb_warehouse, f"select name from servicenow.cmdb_cis where sys_id = '{shared}'")
    assert (short, name) == (incident["short_description"], "r30 twin of an incident")

    sb.delete("incident", shared)
    _sync(duckdb_warehouse, sb, ["incident", "cmdb_ci"])
    gone = _rows(duckdb_warehouse, f"select entity from servicenow.deletions where record_id = '{shared}'")
    assert {g[0] for g in gone} == {"incidents"}, gone
    assert _rows(duckdb_warehouse, f"select count(*) from servicenow.cmdb_cis where sys_id = '{shared}'") == [(1,)]
    assert _quarantine(duckdb_warehouse, "incidents") == {} and _quarantine(duckdb_warehouse, "cmdb_cis") == {}


def test_a_sys_id_twice_in_a_page_with_one_hostile_copy_is_quarantined_not_dropped(make_servicenow_sandbox,
                                                                                    duckdb_warehouse):
    sb = make_servicenow_sandbox(size=20)
    victim = min(sb.records("incident"), key=lambda r: (r["sys_updated_on"], r["sys_id"]))

    def twice(text: str) -> str:
        body = json.loads(text)
        rows = body["result"]
        at = next((n for n, r in enumerate(rows) if r.get("sys_id") == victim["sys_id"]), None)
        if at is None:
            return text
        rows.insert(at + 1, {**rows[at], "short_description": "HOSTILE"})
        return json.dumps(body).replace('"HOSTILE"', '"bad \\ud800 copy"')
    _rewrite(sb, INCIDENTS, twice)
    _sync(duckdb_warehouse, sb, ["incident"])
    reasons = _quarantine(duckdb_warehouse, "incidents")
    assert victim["sys_id"] in reasons and "short_description" in reasons[victim["sys_id"]], reasons
    assert "surrogate" in reasons[victim["sys_id"]]
    rows = _rows(duckdb_warehouse, "select sys_id from servicenow.incidents")
    assert len(rows) == len({r[0] for r in rows}), "a sys_id twice"

    sb.rewrite_responses(None)  # served cleanly again: it loads as the vendor has it
    _sync(duckdb_warehouse, sb, ["incident"])
    [(short,)] = _rows(duckdb_warehouse, "select short_description from servicenow.incidents "
                                         f"where sys_id = '{victim['sys_id']}'")
    assert short == victim["short_description"]
    assert {r[0] for r in _rows(duckdb_warehouse, "select sys_id from servicenow.incidents")} == {
        r["sys_id"] for r in sb.records("incident")}


def test_a_megabyte_string_ending_in_a_lone_surrogate_and_a_nul_escape_are_quarantined_by_field(
        make_servicenow_sandbox, duckdb_warehouse):
    sb = make_servicenow_sandbox(size=10)
    made = [sb.insert(REMEDIATION_TABLE, {"short_description": f"r30 {n}", "description": f"MARK{n}"})
            for n in range(4)]

    def hostile(text: str) -> str:
        return (text.replace('"MARK0"', '"' + "y" * 1_000_000 + '\\ud800"')
                .replace('"MARK1"', '"nul \\u0000 here"')
                .replace('"MARK2"', '"' + "z" * 1_000_000 + '"'))
    _rewrite(sb, f"/api/now/table/{REMEDIATION_TABLE}", hostile)
    _sync(duckdb_warehouse, sb, [REMEDIATION_TABLE])
    reasons = _quarantine(duckdb_warehouse, "remediation_tasks")
    assert set(reasons) == {made[0]["sys_id"], made[1]["sys_id"]}, reasons
    assert reasons[made[0]["sys_id"]].startswith("invalid text: description: lone UTF-16 surrogate U+D800 at "
                                                 "character 1000000")
    assert "description: NUL character" in reasons[made[1]["sys_id"]]
    stored = dict(_rows(duckdb_warehouse, "select sys_id, description from servicenow.remediation_tasks"))
    assert stored[made[2]["sys_id"]] == "z" * 1_000_000 and stored[made[3]["sys_id"]] == "MARK3"
    assert made[0]["sys_id"] not in stored and made[1]["sys_id"] not in stored
