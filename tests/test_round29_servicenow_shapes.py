"""Round 29, ServiceNow sync: answers in the Table API's other documented shapes, fields an ACL hides,
and ServiceNow's error object sent with status 200.

- A proxy or gateway in front of the instance drops ``sysparm_display_value=false`` and
  ``sysparm_exclude_reference_link=true`` (the instance's defaults then apply, or ``all``): references come
  as ``{"link", "value"}``, every field as ``{"display_value", "value"}``. Before, every record with a
  non-empty reference was quarantined ("expected a string, got dict"): the sync succeeded and loaded
  nothing. The raw ``value`` is now taken; it is UTC whatever the integration user's time zone (the
  display value is local time in the same format: taking it would shift every stamp by hours).
- A field hidden from the integration user comes as ``""``, as ``null`` or not at all: the record loads
  (NULL for a missing key); a hidden ``sys_updated_on`` quarantines it naming the field, and it loads once
  the field can be read again (re-read by id, not by the cursor).
- ``{"error": {...}, "status": "failure"}`` with status 200 is asked again; if it stays, the error names
  ServiceNow's message, not only the keys.

The sandbox serves every answer (its own rendering of the ``all`` shape, through a rewriter that asks it
again as a parameter-dropping proxy would); the product's source runs in process over HTTP.
"""

from __future__ import annotations

import json

import pytest
import requests

from sandbox.core.http import Response
from tests.test_ingestion_hostile_more import LIST, _lists, _quarantine, _rows, _stored, _sync, _vendor, on_list

REFERENCES = ("caller_id", "assigned_to", "opened_by", "assignment_group", "cmdb_ci", "company")


def _as_proxy_without(sb, *dropped: str, extra: dict[str, str] | None = None):
    """Rewrite the incident lists with the sandbox's own answer to the same request less ``dropped``
    parameters (plus ``extra``): what a proxy that strips them makes the instance send."""
    def rewrite(req, resp):
        if req.path != LIST or req.method != "GET" or resp.status != 200 or req.header("X-Proxied"):
            return resp
        params = [(k, v) for k, v in req.query_pairs if k not in dropped] + list((extra or {}).items())
        again = requests.get(sb.url + req.path, params=params, verify=sb.ca_bundle or True, timeout=30,
                             headers={"Authorization": req.header("Authorization"), "X-Proxied": "1"})
        return Response(again.status_code, again.content,
                        headers=[(k, v) for k, v in again.headers.items() if k in ("X-Total-Count", "Date")])
    sb.rewrite_responses(rewrite)


def test_reference_links_left_in_by_a_proxy_load_as_the_sys_ids(make_servicenow_sandbox, duckdb_warehouse):
    sb = make_servicenow_sandbox(size=40)
    _as_proxy_without(sb, "sysparm_exclude_reference_link")
    _sync(duckdb_warehouse, sb)
    served = _lists(sb)
    assert served, "the sync read the incident list"
    assert _quarantine(duckdb_warehouse) == []
    assert _stored(duckdb_warehouse) == _vendor(sb)
    vendor = {r["sys_id"]: tuple(r[f] for f in REFERENCES) for r in sb.records("incident")}
    assert any(any(refs) for refs in vendor.values()), "the seeded incidents carry references"
    stored = _rows(duckdb_warehouse, f"select sys_id, {', '.join(REFERENCES)} from servicenow.incidents")
    assert {r[0]: tuple(v or "" for v in r[1:]) for r in stored} == vendor


def test_display_value_all_answers_load_the_raw_utc_values_whatever_the_users_time_zone(
        make_servicenow_sandbox, duckdb_warehouse):
    sb = make_servicenow_sandbox(size=40)
    me = next(u for u in sb.records("sys_user") if u["user_name"] == sb.credentials["username"])
    sb.update("sys_user", me["sys_id"], {"time_zone": "Asia/Kolkata"})  # UTC+05:30: display times differ
    _as_proxy_without(sb, "sysparm_display_value", "sysparm_exclude_reference_link",
                      extra={"sysparm_display_value": "all"})
    _sync(duckdb_warehouse, sb)
    assert _quarantine(duckdb_warehouse) == []
    assert _stored(duckdb_warehouse) == _vendor(sb)  # sys_updated_on in UTC, as the instance stores it
    fields = ("opened_at", "state", "priority", "assigned_to", "active")
    vendor = {r["sys_id"]: tuple(r[f] for f in fields) for r in sb.records("incident")}
    stored = _rows(duckdb_warehouse, f"select sys_id, {', '.join(fields)} from servicenow.incidents")
    assert {r[0]: tuple(v or "" for v in r[1:]) for r in stored} == vendor

    # The same answer with display values only has no raw value to take: quarantined, not loaded as text.
    sb.rewrite_responses(None)
    _as_proxy_without(sb, "sysparm_display_value", extra={"sysparm_display_value": "true"})
    touched = sb.touch("incident", 3)
    _sync(duckdb_warehouse, sb)
    reasons = dict(_quarantine(duckdb_warehouse))  # the overlap's re-read records too: none looks unchanged
    assert set(touched) <= set(reasons), reasons
    assert all("got dict" in r or "str_matches" in r for r in reasons.values()), reasons
    assert all(_stored(duckdb_warehouse)[k] < _vendor(sb)[k] for k in touched), "the raw rows stay as they were"
    sb.rewrite_responses(None)  # the proxy is fixed: the quarantined records are read again by id
    _sync(duckdb_warehouse, sb)
    assert _stored(duckdb_warehouse) == _vendor(sb)


def test_fields_an_acl_hides_load_and_a_hidden_update_stamp_is_quarantined_then_read_again(
        make_servicenow_sandbox, duckdb_warehouse):
    sb = make_servicenow_sandbox(size=30)
    ids = sorted(_vendor(sb))
    absent, null, empty, stampless = ids[2], ids[9], ids[15], ids[22]

    def hide(req, resp, body):
        for r in body["result"]:
            if r["sys_id"] == absent:
                del r["assigned_to"], r["sys_mod_count"]
            elif r["sys_id"] == null:
                r["assigned_to"] = r["priority"] = None
            elif r["sys_id"] == empty:
                r["assigned_to"] = r["priority"] = ""
            elif r["sys_id"] == stampless:
                del r["sys_updated_on"]
    on_list(sb, hide)
    _sync(duckdb_warehouse, sb)
    vendor = _vendor(sb)
    assert _stored(duckdb_warehouse) == {k: v for k, v in vendor.items() if k != stampless}
    got = {r[0]: r[1:] for r in _rows(duckdb_warehouse, "select sys_id, assigned_to, priority, sys_mod_count "
                                                        "from servicenow.incidents")}
    assert got[absent][0] is None and got[absent][2] is None
    assert got[null][:2] == (None, None) and got[empty][:2] == ("", "")
    [(key, reason)] = _quarantine(duckdb_warehouse)
    assert key == stampless and reason.startswith("sys_updated_on"), reason

    sb.rewrite_responses(None)  # the ACL is lifted; nothing changed at the vendor, no stamp moved
    _sync(duckdb_warehouse, sb)
    assert _stored(duckdb_warehouse) == vendor
    assert len(_quarantine(duckdb_warehouse)) == 1, "quarantined once"


@pytest.mark.parametrize("times", [1, 99])
def test_an_error_object_sent_with_200_is_asked_again_then_named(times, make_servicenow_sandbox, duckdb_warehouse):
    sb = make_servicenow_sandbox(size=30)
    served = {"n": 0}
    error = {"error": {"message": "Transaction cancelled: maximum execution time exceeded",
                       "detail": "Check logs for error trace or enable glide.rest.debug property"},
             "status": "failure"}

    def cancel(req, resp, body):
        served["n"] += 1
        if 2 <= served["n"] < 2 + times:
            return Response(200, json.dumps(error).encode())
    on_list(sb, cancel)
    if times == 1:
        _sync(duckdb_warehouse, sb)
        assert _stored(duckdb_warehouse) == _vendor(sb)
        return
    with pytest.raises(Exception, match=r"answered 200 with keys \['error', 'status'\].* on all 3 attempts it "
                                        r"said: Transaction cancelled: maximum execution time exceeded \(Check logs"):
        _sync(duckdb_warehouse, sb)
    assert _stored(duckdb_warehouse) == {}


def test_hostile_text_inside_a_reference_object_quarantines_its_record(make_servicenow_sandbox, duckdb_warehouse):
    """The strict parser refuses a page with a NUL; its records are then checked whole. A reference object
    read as its value must stay such a record (it did not: the NUL reached the warehouse's loader)."""
    sb = make_servicenow_sandbox(size=20)
    victim = sorted(_vendor(sb))[4]

    def links(req, resp, body):
        for r in body["result"]:
            value = "bad\x00id" if r["sys_id"] == victim else r["assigned_to"]
            r["assigned_to"] = {"link": f"{sb.url}/api/now/table/sys_user/x", "value": value}
    on_list(sb, links)
    _sync(duckdb_warehouse, sb)
    [(key, reason)] = _quarantine(duckdb_warehouse)
    assert key == victim and "assigned_to" in reason and "NUL" in reason, reason
    assert _stored(duckdb_warehouse) == {k: v for k, v in _vendor(sb).items() if k != victim}
