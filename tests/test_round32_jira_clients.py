"""Round 32: the Jira emulator swept again with the vendors' clients unchanged (pycontribs `jira`,
atlassian-python-api's `Jira(cloud=True)`), about 450 calls and 150 hostile inputs; these are the gaps found.

- JQL text clauses (`~`, `!~` on summary, description, environment, comment, text) took an empty or blank
  query and a query Lucene cannot parse (a bare `AND`/`OR`/`NOT`) and matched everything; Jira refuses both
  (FreeTextFieldValidator's messages).
- `now("-30d")` (CQL's habit) was taken; Jira says the function takes no argument. An unknown function's
  name came back lower-cased; Jira quotes it as typed.
- User lookups ignored GDPR strict mode: `GET /user?username=` was a 404 reading "...permissions: None",
  `/user/search?username=` and `/user/assignable/search?username=` searched by it. Cloud refuses them with 400.
  `/user/search` without any of `query`, `accountId`, `property` answered `[]`, with both `query` and
  `accountId` searched by both, and ignored `property`; the spec says 400, 400 and a property search.
"""

from __future__ import annotations

import pytest
from jira.exceptions import JIRAError
from requests import HTTPError

from tests.sandbox.jira.helpers import checked, client_fixtures

sb, s, pyc, atl = client_fixtures(size=40)


def _jql(sb, s, jql: str):
    return s.get(f"{sb.url}/rest/api/3/search/jql", params={"jql": jql, "fields": "summary"})


def _refused(response, message: str) -> None:
    assert response.status_code == 400, (response.status_code, response.text[:300])
    assert response.json() == {"errorMessages": [message], "errors": {}}


@pytest.mark.parametrize("field", ["summary", "description", "environment", "comment", "text"])
@pytest.mark.parametrize("op", ["~", "!~"])
@pytest.mark.parametrize("operand", ['""', '" "', '"\\t"'])
def test_an_empty_or_blank_text_query_is_refused(sb, s, field, op, operand):
    _refused(_jql(sb, s, f"project = SEC AND {field} {op} {operand}"),
             f"The field '{field}' does not support searching for an empty string.")


@pytest.mark.parametrize("text", ["AND", "OR", "NOT", "&&", "a AND", "OR b", "a AND OR b"])
def test_a_text_query_lucene_cannot_parse_is_refused(sb, s, text):
    _refused(_jql(sb, s, f'text ~ "{text}"'), f"Unable to parse the text '{text}' for field 'text'.")


def test_text_queries_that_parse_still_search(sb, s, pyc):
    made = pyc.create_issue(project="SEC", summary="round32 AND-gate ☃ 𝄞 naïve", issuetype={"name": "Task"})
    for jql in ['summary ~ "\\"AND\\""', 'summary ~ "naïve"', 'summary ~ "☃"', 'summary ~ "round32 AND naïve"',
                'summary ~ "round32 OR nothingatall"', 'summary ~ "round32 -nothingatall"']:
        r = checked(sb, _jql(sb, s, jql))
        assert made.id in {i["id"] for i in r.json()["issues"]}, jql
    with pytest.raises(JIRAError) as refused:  # pycontribs surfaces Jira's message
        pyc.enhanced_search_issues('summary ~ ""')
    assert refused.value.status_code == 400
    assert "does not support searching for an empty string" in refused.value.text


def test_jql_functions_are_named_as_typed_and_now_takes_no_argument(sb, s):
    _refused(_jql(sb, s, "issue in bogusFunctionName()"), "Unable to find JQL function 'bogusFunctionName()'.")
    _refused(_jql(sb, s, 'created > now("-30d")'), "Function 'now' expected '0' arguments but received '1'.")
    assert checked(sb, _jql(sb, s, "project = SEC AND created > -30d AND created < now()")).status_code == 200


def test_get_user_refuses_the_pre_gdpr_parameters(sb, s, atl, pyc):
    me = pyc.myself()["accountId"]
    api = f"{sb.url}/rest/api/3/user"
    for name in ("username", "key"):
        _refused(s.get(api, params={name: "admin"}),
                 f"The query parameter '{name}' is not supported in GDPR strict mode.")
    _refused(s.get(api, params={"accountId": me, "username": "admin"}),
             "'accountId' must be the only user identifying query parameter in GDPR strict mode.")
    missing = s.get(api)
    assert missing.status_code == 404 and "None" not in missing.text
    assert set(missing.json()) == {"errorMessages", "errors"}
    with pytest.raises(HTTPError) as refused:
        atl.user(username="admin")
    assert "GDPR strict mode" in str(refused.value)
    assert checked(sb, s.get(api, params={"accountId": me})).json()["accountId"] == me == pyc.user(me).accountId


def test_user_search_follows_the_spec_on_its_parameters(sb, s, pyc):
    api, me = f"{sb.url}/rest/api/3/user/search", pyc.myself()["accountId"]
    assert s.get(api).status_code == 400  # none of query, accountId, property
    _refused(s.get(api, params={"username": "sandbox"}),
             "The query parameter 'username' is not supported in GDPR strict mode.")
    _refused(s.get(api, params={"query": "sandbox", "accountId": me}),
             "The query parameters 'query' and 'accountId' can not be used together.")
    with pytest.raises(JIRAError) as refused:  # pycontribs' Server-style `user=` sends username=
        pyc.search_users(user="sandbox")
    assert refused.value.status_code == 400 and "GDPR strict mode" in refused.value.text
    assert me in {u.accountId for u in pyc.search_users(query="sandbox")}
    assert [u["accountId"] for u in checked(sb, s.get(api, params={"accountId": me})).json()] == [me]


def test_user_search_by_property(sb, s, pyc):
    api, me = f"{sb.url}/rest/api/3", pyc.myself()["accountId"]
    r = s.put(f"{api}/user/properties/grc", params={"accountId": me}, json={"team": {"name": "audit"}, "level": 2})
    assert r.status_code in (200, 201), r.text
    found = checked(sb, s.get(f"{api}/user/search", params={"property": "grc.team.name=audit"})).json()
    assert [u["accountId"] for u in found] == [me]
    assert [u["accountId"] for u in s.get(f"{api}/user/search", params={"property": "grc.level=2"}).json()] == [me]
    assert s.get(f"{api}/user/search", params={"property": "grc.team.name=other"}).json() == []
    both = s.get(f"{api}/user/search", params={"property": "grc.level=2", "query": "nobody-matches-this"}).json()
    assert both == []
    for bad in ("grc", "=audit", ""):
        assert s.get(f"{api}/user/search", params={"property": bad}).status_code == 400, bad


def test_assignable_search_refuses_username_and_query_with_account(sb, s, pyc):
    api, me = f"{sb.url}/rest/api/3/user/assignable/search", pyc.myself()["accountId"]
    _refused(s.get(api, params={"project": "SEC", "username": "sandbox"}),
             "The query parameter 'username' is not supported in GDPR strict mode.")
    _refused(s.get(api, params={"project": "SEC", "query": "sandbox", "accountId": me}),
             "The query parameters 'query' and 'accountId' can not be used together.")
    with pytest.raises(JIRAError) as refused:
        pyc.search_assignable_users_for_issues(username="sandbox", project="SEC")
    assert refused.value.status_code == 400
    assert me in {u.accountId for u in pyc.search_assignable_users_for_issues(query="sandbox", project="SEC")}
    listed = checked(sb, s.get(api, params={"project": "SEC", "accountId": me})).json()
    assert [u["accountId"] for u in listed] == [me]
