"""Round 29: the encoded-query string operators MATCH_RGX ("matches regex") and MATCH_PAT ("matches pattern"),
which the sandbox used to ignore (every row matched). Both test the whole value with case ignored
(`sandbox/servicenow/regex_match.py`); a regex runs without backtracking, so a hostile one cannot stall the
emulator. Through pysnc's GlideRecord unchanged, and raw requests for the Table, Aggregate and Batch APIs."""

from __future__ import annotations

import base64
import json
import re
import time

import pytest

SIZE = 60


def _numbers(gr) -> set[str]:
    gr.query()
    return {r.number.get_value() for r in gr}


def _expected(sb, test) -> set[str]:
    return {r["number"] for r in sb.records("incident") if r["short_description"] and test(r["short_description"])}


def test_match_rgx_matches_the_whole_value_case_ignored(env):
    sb, client, _ = env
    gr = client.GlideRecord("incident")
    gr.add_query("short_description", "MATCH_RGX", ".*MAIL.*")
    got = _numbers(gr)
    want = _expected(sb, lambda v: re.fullmatch(r".*mail.*", v, re.I | re.S) is not None)
    assert got == want and 0 < len(got) < SIZE
    # anchored: the bare word matches no short description that says more than it
    gr = client.GlideRecord("incident")
    gr.add_query("short_description", "MATCH_RGX", "mail")
    assert _numbers(gr) == set()


def test_match_rgx_classes_repeats_and_or_condition(env):
    sb, client, _ = env
    gr = client.GlideRecord("incident")
    cond = gr.add_query("number", "MATCH_RGX", r"INC00100[0-1]\d")
    cond.add_or_condition("number", "MATCH_RGX", "inc0010059")
    want = {r["number"] for r in sb.records("incident") if re.fullmatch(r"INC00100[01]\d|INC0010059", r["number"])}
    assert _numbers(gr) == want and len(want) == 20  # INC0010001 to INC0010019, and INC0010059


def test_match_rgx_negative_lookahead_as_does_not_match(env):
    """The idiom a "does not match regex" is written with (ServiceNow's code-snippets): ^(?!.*x).*$, its
    caret doubled in an encoded query (a single one separates conditions)."""
    sb, client, _ = env
    gr = client.GlideRecord("incident")
    gr.add_encoded_query(r"short_descriptionMATCH_RGX^^(?!.*(mail|vpn)).*$")
    want = _expected(sb, lambda v: not re.search("mail|vpn", v, re.I))
    assert _numbers(gr) == want and 0 < len(want) < SIZE


def test_match_pat_wildcards(env):
    sb, client, _ = env
    gr = client.GlideRecord("incident")
    gr.add_encoded_query("numberMATCH_PATinc001001?^ORnumberMATCH_PAT*0042")
    assert _numbers(gr) == {f"INC00100{n:02d}" for n in range(10, 20)} | {"INC0010042"}
    gr = client.GlideRecord("incident")
    gr.add_encoded_query("short_descriptionMATCH_PAT*.*")  # a dot is itself, not "any character"
    assert _numbers(gr) == _expected(sb, lambda v: "." in v)


def test_empty_value_and_invalid_regex_match_nothing(env):
    _sb, client, _ = env
    inc = client.GlideRecord("incident")
    inc.initialize()
    inc.short_description = "r29 regex probe"
    sys_id = inc.insert()
    gr = client.GlideRecord("incident")
    gr.add_query("sys_id", sys_id)
    gr.add_query("close_notes", "MATCH_RGX", ".*")  # empty (NULL) close notes [unc]
    assert _numbers(gr) == set()
    gr = client.GlideRecord("incident")
    gr.add_query("short_description", "MATCH_RGX", "[unclosed")  # Java refuses it: matches nothing [unc]
    assert _numbers(gr) == set()
    gr = client.GlideRecord("incident")
    gr.add_query("short_description", "MATCH_RGX", "R29 REGEX.*")
    assert {r.sys_id.get_value() for r in (gr.query() or gr)} == {sys_id}


def test_hostile_regex_answers_fast(env):
    """(a+)+$ and (.*a){25} take exponential / huge time in a backtracking engine on a long run of a's; an empty
    group repeated four billion times must not loop four billion times."""
    sb, _client, session = env
    sb.insert("incident", {"short_description": "a" * 150, "description": "a" * 3900 + "!"})
    for pattern in (r"(a+)+$", r"(.*a){25}", r"(a|aa)+b", r"(?:){4000000000}a", r"a{4000000000}"):
        started = time.monotonic()
        r = session.get(f"{sb.url}/api/now/table/incident",
                        params={"sysparm_query": f"descriptionMATCH_RGX{pattern}", "sysparm_fields": "number"})
        assert time.monotonic() - started < 5
        assert r.status_code in (200, 400), r.text[:200]
        if r.status_code == 200:
            assert r.json()["result"] == []


def test_regex_the_sandbox_cannot_evaluate_is_a_400(env):
    sb, _client, session = env
    for pattern in (r"(a)\1", r"(?<=a)b", "x" * 1001):
        r = session.get(f"{sb.url}/api/now/table/incident", params={"sysparm_query": f"numberMATCH_RGX{pattern}"})
        assert r.status_code == 400 and "MATCH_RGX" in r.json()["error"]["detail"]


def test_aggregate_and_batch_apis_filter_alike(env):
    sb, _client, session = env
    query = "numberMATCH_RGXINC001000[0-9]"
    stats = session.get(f"{sb.url}/api/now/stats/incident", params={"sysparm_count": "true", "sysparm_query": query})
    want = {r["number"] for r in sb.records("incident") if re.fullmatch(r"INC001000[0-9]", r["number"])}
    assert stats.status_code == 200 and stats.json()["result"]["stats"]["count"] == str(len(want)) == "9"
    body = {"batch_request_id": "r29", "rest_requests": [{
        "id": "1", "method": "GET", "url": f"/api/now/table/incident?sysparm_fields=number&sysparm_query={query}",
        "headers": [{"name": "Accept", "value": "application/json"}]}]}
    r = session.post(f"{sb.url}/api/now/v1/batch", json=body)
    served = r.json()["serviced_requests"][0]
    rows = json.loads(base64.b64decode(served["body"]))["result"]
    assert served["status_code"] == 200 and {x["number"] for x in rows} == want


@pytest.mark.parametrize("op", ["MATCH_RGX", "MATCH_PAT"])
def test_operator_in_a_join_condition(env, op):
    """Inside JOIN the operator filters the joined table too (users whose name matches, with an incident)."""
    sb, _client, session = env
    value = "[a-m].*" if op == "MATCH_RGX" else "C*"
    join = "JOINsys_user.sys_id=incident.caller_id!numberMATCH_RGXINC00100[0-2]."
    r = session.get(f"{sb.url}/api/now/table/sys_user",
                    params={"sysparm_query": f"{join}^user_name{op}{value}", "sysparm_fields": "user_name"})
    callers = {i["caller_id"] for i in sb.records("incident") if re.fullmatch("INC00100[0-2].", i["number"])}
    name = re.compile("[a-m].*" if op == "MATCH_RGX" else "c.*", re.I)
    want = {u["user_name"] for u in sb.records("sys_user") if u["sys_id"] in callers and name.fullmatch(u["user_name"])}
    assert r.status_code == 200 and {u["user_name"] for u in r.json()["result"]} == want
    assert 0 < len(want) < len(callers)
