"""Round 23 review of the Jira sandbox: ids read from requests. ``str.isdigit`` holds for "²" (``int()`` refuses it)
and ``int()`` refuses a string of over 4300 digits, so such an id in a JSON body (POST /bulk/issues/watch and the
other bulk reads) or in a path was HTTP 500; now only ASCII digits of a Java long's size are an id (else a key, or
no such thing): Jira's clean 400 / 404, or a bulk read that leaves it out."""

from __future__ import annotations

import pytest

WEIRD = ["²", "9" * 5000, "١٢", "SEC-²"]


@pytest.fixture
def sb(make_jira_sandbox):
    return make_jira_sandbox(size=30)


def test_bulk_watch_refuses_odd_ids_with_400(sb, s):
    url = f"{sb.url}/rest/api/3/bulk/issues/watch"
    for ref in [*WEIRD, True, {"a": 1}, 1.5]:
        r = s.post(url, json={"selectedIssueIdsOrKeys": [ref]})
        assert (r.status_code, r.json()) == (400, {"errors": [{"message": "Some of the issues in the "
                                                                        "issueIdsOrKeys are not valid"}]}), ref
    issue = sb.store.resolve("SEC-1")
    assert s.post(url, json={"selectedIssueIdsOrKeys": [str(issue.id)]}).status_code == 201
    assert sb.store.resolve("²") is None and sb.store.resolve("9" * 5000) is None
    assert sb.store.resolve(f" {issue.id} ") is issue and sb.store.resolve("sec-1") is issue


def test_other_json_bodies_and_paths_with_odd_ids_are_clean_4xx(sb, s):
    api = f"{sb.url}/rest/api/3"
    for ref in WEIRD:
        posted = [
            s.post(f"{api}/issue/bulkfetch", json={"issueIdsOrKeys": [ref]}),
            s.post(f"{api}/issueLink", json={"type": {"name": "Blocks"}, "inwardIssue": {"id": ref},
                                             "outwardIssue": {"key": "SEC-1"}}),
            s.post(f"{api}/issue/SEC-1/changelog/list", json={"changelogIds": [ref]}),
            s.post(f"{api}/comment/list", json={"ids": [ref]}),
            s.post(f"{api}/worklog/list", json={"ids": [ref]}),
            s.put(f"{api}/issue/SEC-1", json={"fields": {"parent": {"id": ref}}}),
        ]
        for r in posted:  # 400 for a link or parent; the bulk reads leave out what they do not find (200)
            assert r.status_code < 500, (r.request.method, r.request.url[:120], r.status_code, r.text[:200])
        read = [
            s.get(f"{api}/issue/{ref}"),
            s.get(f"{api}/issueLink/{ref}"),
            s.get(f"{api}/attachment/{ref}"),
            s.get(f"{api}/version/{ref}"),
            s.get(f"{api}/filter/{ref}"),
            s.get(f"{sb.url}/rest/agile/1.0/board/{ref}"),
        ]
        for r in read:  # 404; a filter not found is 400, as Jira answers it
            assert r.status_code in (400, 404), (r.request.url[:120], r.status_code, r.text[:200])
    found = s.post(f"{api}/issue/bulkfetch", json={"issueIdsOrKeys": ["²", "SEC-1"]}).json()
    assert [i["key"] for i in found["issues"]] == ["SEC-1"]


@pytest.mark.parametrize("jql", [
    'created > "-' + "9" * 5000 + 'd"',            # int() refused 4300+ digits: HTTP 500
    "created > " + "9" * 5000,                      # the same as epoch milliseconds
    "created < startOfMonth(" + "9" * 5000 + ")",
    "created < startOfYear(999999)",                # past year 9999: datetime refused it, HTTP 500
    "created < endOfMonth(-999999)",
])
def test_date_operands_out_of_any_range_are_a_jql_400(sb, s, jql):
    r = s.post(f"{sb.url}/rest/api/3/search/jql", json={"jql": jql, "maxResults": 1})
    assert r.status_code == 400, (jql[:60], r.status_code, r.text[:200])
    assert r.json()["errorMessages"], r.text[:200]


def test_dates_in_range_still_search(sb, s):
    for jql in ["created > -15m", "created < startOfYear(-1)", "created > '2020-01-01'", "created > 1577836800000"]:
        r = s.post(f"{sb.url}/rest/api/3/search/jql", json={"jql": jql, "maxResults": 1})
        assert r.status_code == 200, (jql, r.text[:200])


def test_odd_durations_are_no_duration():
    from sandbox.jira.timefmt import parse_duration

    assert [parse_duration(x) for x in ("9" * 5000, "²", "1" * 13 + "h", "1w 2d", "90")] == [None, None, None,
                                                                                          201600, 5400]


def test_start_and_end_of_day_take_offsets_with_units(sb, s):
    """startOfDay/endOfDay take the same offsets as the other period functions ("-1", "+2d", "-1w"); one
    that is no offset is a 400 (it read as 0 before)."""
    def count(jql):
        r = s.post(f"{sb.url}/rest/api/3/search/jql", json={"jql": jql, "maxResults": 100, "fields": ["created"]})
        assert r.status_code == 200, (jql, r.text[:200])
        return len(r.json()["issues"])
    assert count("created < endOfDay()") == count("created < startOfDay(+1)") == count("created < startOfDay(1d)")
    assert count("created < startOfDay(-1w)") == count("created < startOfDay(-7d)")
    r = s.post(f"{sb.url}/rest/api/3/search/jql", json={"jql": "created < startOfDay(abc)"})
    assert r.status_code == 400
