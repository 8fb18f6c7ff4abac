"""Round 32: JQL the emulator refused although Jira Cloud takes it: the `issueLinkType` field ("Field
'issueLinkType' does not exist") and the version functions `latestReleasedVersion(project)` and
`earliestUnreleasedVersion(project)` ("Function ... is not supported")."""

from __future__ import annotations

import pytest
from jira.exceptions import JIRAError

from tests.sandbox.jira.helpers import checked, client_fixtures

sb, s, pyc, atl = client_fixtures(size=20)


@pytest.fixture(scope="module")
def project(s, sb, pyc):
    me = pyc.myself()["accountId"]
    r = s.post(f"{sb.url}/rest/api/3/project", json={"key": "RFUN", "name": "Functions",
                                                      "projectTypeKey": "software", "leadAccountId": me})
    assert r.status_code == 201, r.text
    return "RFUN"


def _keys(pyc, jql: str) -> set[str]:
    return {i.key for i in pyc.enhanced_search_issues(jql, maxResults=0)}


def test_issue_link_type(sb, s, pyc, project):
    types = {t.name: t for t in pyc.issue_link_types()}
    blocks = types["Blocks"]
    made = [pyc.create_issue(project=project, summary=f"l{n}", issuetype={"name": "Task"}).key for n in range(4)]
    pyc.create_issue_link("Blocks", made[0], made[1])  # made[0] blocks made[1]
    pyc.create_issue_link("Relates", made[2], made[0])
    in_project = f"project = {project} AND "
    outward, inward = blocks.raw["outward"], blocks.raw["inward"]
    assert _keys(pyc, in_project + f"issueLinkType = '{outward}'") == {made[0]}
    assert _keys(pyc, in_project + f"issueLinkType = '{inward}'") == {made[1]}
    assert _keys(pyc, in_project + f"issueLinkType in ('{inward}', '{outward}')") == {made[0], made[1]}
    assert _keys(pyc, in_project + f"issueLinkType != '{outward}'") == {made[1], made[2]}
    assert _keys(pyc, in_project + f"issueLinkType not in ('{outward}', '{inward}')") == {made[2]}
    r = checked(sb, s.get(f"{sb.url}/rest/api/3/search/jql",
                          params={"jql": in_project + f"issueLinkType = '{outward}'"}))
    assert r.status_code == 200
    with pytest.raises(JIRAError) as refused:
        pyc.enhanced_search_issues("issueLinkType = nope")
    assert refused.value.response.json()["errorMessages"] == [
        "The value 'nope' does not exist for the field 'issueLinkType'."]
    with pytest.raises(JIRAError):
        pyc.enhanced_search_issues("issueLinkType > blocks")


def test_latest_released_and_earliest_unreleased_versions(pyc, project):
    v = {name: pyc.create_version(name, project) for name in ("1.0", "1.1", "2.0", "2.1", "3.0")}
    for name in ("1.0", "1.1"):
        v[name].update(released=True)
    v["2.0"].update(archived=True)
    issues = {name: pyc.create_issue(project=project, summary=f"in {name}", issuetype={"name": "Task"},
                                     fixVersions=[{"name": name}]).key for name in v}
    assert _keys(pyc, f"fixVersion = latestReleasedVersion({project})") == {issues["1.1"]}
    assert _keys(pyc, f"fixVersion = earliestUnreleasedVersion({project})") == {issues["2.1"]}  # 2.0: archived
    assert _keys(pyc, f"project = {project} AND fixVersion != earliestUnreleasedVersion({project})") == {
        issues[n] for n in ("1.0", "1.1", "2.0", "3.0")}
    pyc.move_version(v["3.0"].id, position="First")  # the project's order decides, not the names
    v["3.0"].update(released=True)
    assert _keys(pyc, f"fixVersion = latestReleasedVersion({project})") == {issues["1.1"]}
    with pytest.raises(JIRAError) as refused:
        pyc.enhanced_search_issues("fixVersion = latestReleasedVersion(NOPE)")
    assert refused.value.status_code == 400
    with pytest.raises(JIRAError):
        pyc.enhanced_search_issues("fixVersion = earliestUnreleasedVersion()")
