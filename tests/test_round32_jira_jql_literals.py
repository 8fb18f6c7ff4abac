"""Round 32: JQL literals the emulator read wrongly, checked against Jira's own JQL literal tests
(TestSystemFieldLiterals: operands per system field and the error each bad one gives).

- `due`/`duedate` compared its operand as text: `due < now()`, `due < -2d`, `due <= endOfWeek()` found nothing
  or everything (an overdue search found no overdue issue), and `due < 'dd'` or `due = '2026-02-30'` were taken.
  Now a due date is the start of its day in the searcher's zone, compared with the operand's instant.
- `summary ~ EMPTY` (also description, environment) matched every issue; it is `is EMPTY`. `text ~ EMPTY` and
  `comment ~ EMPTY` are refused. `summary ~ "BAD +"` is a text Lucene cannot parse.
- Errors now in Jira's words: an unquoted id that names nothing ("A value with ID '666' ..."), votes, durations
  and work ratio.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.sandbox.jira.helpers import checked, client_fixtures

sb, s, pyc, atl = client_fixtures(size=20)


@pytest.fixture(scope="module")
def dues(sb, s):
    """Issues in a project of their own (R32D), due -40, -3, -1, 0, +1, +2, +5 and +40 days from the searcher's
    today (in the account's zone), and one without a due date: {offset: key}."""
    admin = s.get(f"{sb.url}/rest/api/3/myself").json()["accountId"]
    r = s.post(f"{sb.url}/rest/api/3/project", json={"key": "RDUE", "name": "Due dates", "projectTypeKey": "software",
                                                      "leadAccountId": admin})
    assert r.status_code == 201, r.text
    # the searcher's day (the account's zone, America/New_York by default), not UTC's: from midnight UTC to the
    # zone's midnight the two differ, and every relative due-date case failed in that hour band
    today = datetime.fromtimestamp(sb.store.now_ms() / 1000, ZoneInfo(sb.user_time_zone)).date()
    made = {}
    for offset in (-40, -3, -1, 0, 1, 2, 5, 40, None):
        fields = {"project": {"key": "RDUE"}, "issuetype": {"name": "Task"}, "summary": f"due {offset}"}
        if offset is not None:
            fields["duedate"] = (today + timedelta(days=offset)).isoformat()
        r = s.post(f"{sb.url}/rest/api/3/issue", json={"fields": fields})
        assert r.status_code == 201, r.text
        made[offset] = r.json()["key"]
    return today, made


def _found(sb, s, jql: str) -> set[str]:
    r = checked(sb, s.get(f"{sb.url}/rest/api/3/search/jql", params={"jql": jql, "fields": "duedate",
                                                                     "maxResults": 100}))
    assert r.status_code == 200, r.text
    return {i["key"] for i in r.json()["issues"]}


def _refused(sb, s, jql: str, message: str) -> None:
    r = s.get(f"{sb.url}/rest/api/3/search/jql", params={"jql": jql})
    assert r.status_code == 400, (jql, r.status_code, r.text[:200])
    assert r.json() == {"errorMessages": [message], "errors": {}}, jql


@pytest.mark.parametrize(("clause", "offsets"), [
    ("due < now()", {-40, -3, -1, 0}),  # due today counts: its day started before now
    ("duedate < startOfDay()", {-40, -3, -1}),
    ("due < -2d", {-40, -3}),
    ("due <= 2d", {-40, -3, -1, 0, 1, 2}),
    ("due >= 1d", {2, 5, 40}),
    ("due > \"-1w\" AND due < 3d", {-3, -1, 0, 1, 2}),
    ("due is EMPTY", {None}),
    ("due = EMPTY", {None}),
    ("due is not EMPTY", {-40, -3, -1, 0, 1, 2, 5, 40}),
])
def test_due_dates_compare_as_days_against_instants(sb, s, dues, clause, offsets):
    _, made = dues
    assert _found(sb, s, f"project = RDUE AND {clause}") == {made[o] for o in offsets}


def test_due_dates_by_literal_and_list(sb, s, dues):
    today, made = dues
    day = (today + timedelta(days=5)).isoformat()
    assert _found(sb, s, f"project = RDUE AND due = '{day}'") == {made[5]}
    assert _found(sb, s, f"project = RDUE AND due = '{day.replace('-', '/')}'") == {made[5]}
    assert _found(sb, s, f"project = RDUE AND due in ('{day}', '{today.isoformat()}')") == {made[5], made[0]}
    assert _found(sb, s, f"project = RDUE AND due in ('{day}', EMPTY)") == {made[5], made[None]}
    every_dated = {k for o, k in made.items() if o is not None}
    assert _found(sb, s, f"project = RDUE AND due != '{day}'") == every_dated - {made[5]}
    assert _found(sb, s, f"project = RDUE AND due not in ('{day}')") == every_dated - {made[5]}


@pytest.mark.parametrize("operand", ["'dd'", "'2026-02-30'", "'14/May/09'", "''"])
def test_a_due_date_that_is_no_date_is_refused(sb, s, operand):
    text = operand.strip("'")
    _refused(sb, s, f"due < {operand}", f"Date value '{text}' for field 'due' is invalid. Valid formats include: "
                                        "'YYYY/MM/DD', 'YYYY-MM-DD', or a period format e.g. '-5d', '4w 2d'.")


def test_text_fields_compared_with_empty(sb, s):
    admin = s.get(f"{sb.url}/rest/api/3/myself").json()["accountId"]
    s.post(f"{sb.url}/rest/api/3/project", json={"key": "RTXT", "name": "Texts", "projectTypeKey": "software",
                                                  "leadAccountId": admin})
    bare = s.post(f"{sb.url}/rest/api/2/issue", json={"fields": {"project": {"key": "RTXT"},
                                                                 "issuetype": {"name": "Task"}, "summary": "bare"}})
    full = s.post(f"{sb.url}/rest/api/2/issue", json={"fields": {
        "project": {"key": "RTXT"}, "issuetype": {"name": "Task"}, "summary": "full", "description": "has text",
        "environment": "prod"}})
    bare_key, full_key = bare.json()["key"], full.json()["key"]
    for field in ("description", "environment"):
        assert _found(sb, s, f"project = RTXT AND {field} ~ EMPTY") == {bare_key}
        assert _found(sb, s, f"project = RTXT AND {field} !~ EMPTY") == {full_key}
    assert _found(sb, s, "project = RTXT AND summary ~ EMPTY") == set()
    for field in ("text", "comment"):
        _refused(sb, s, f"{field} ~ EMPTY", f"The field '{field}' does not support searching for EMPTY values.")
    for text in ("BAD +", "BAD -"):
        _refused(sb, s, f"summary ~ '{text}'", f"Unable to parse the text '{text}' for field 'summary'.")
    assert _found(sb, s, "project = RTXT AND summary ~ 'full -bare'") == {full_key}


@pytest.mark.parametrize(("jql", "message"), [
    ("type = 666", "A value with ID '666' does not exist for the field 'type'."),
    ("project = 99999", "A value with ID '99999' does not exist for the field 'project'."),
    ("priority in (1, 666)", "A value with ID '666' does not exist for the field 'priority'."),
    ("status = 666", "A value with ID '666' does not exist for the field 'status'."),
    ("resolution = 666", "A value with ID '666' does not exist for the field 'resolution'."),
    ("type = '666'", "The value '666' does not exist for the field 'type'."),  # quoted: a name
    ("type = 'Bad String'", "The value 'Bad String' does not exist for the field 'type'."),
    ("votes = -3", "Value '-3' is invalid for the 'votes' field. Votes must be a positive whole number."),
    ("votes > 'x'", "Value 'x' is invalid for the 'votes' field. Votes must be a positive whole number."),
    ("timespent > hh", "The value 'hh' for field 'timespent' is invalid. Please specify a positive duration "
                       "format; for example: '1h 30m', '2d'."),
    ("originalEstimate = '-240'", "The value '-240' for field 'originalEstimate' is invalid. Please specify a "
                                  "positive duration format; for example: '1h 30m', '2d'."),
    ("workratio > '33.3'", "The value '33.3' for field 'workratio' is invalid - please specify an integer."),
])
def test_jql_literal_errors_in_jiras_words(sb, s, jql, message):
    _refused(sb, s, jql, message)


def test_ids_and_names_that_exist_still_search(sb, s):
    for jql in ("project = 10000", "project = '10000'", "issuetype = 10002", "priority in (1, 'High')",
                "votes >= 0", "timespent > 1h", "originalEstimate = '1h 30m'", "workratio > 0"):
        assert s.get(f"{sb.url}/rest/api/3/search/jql", params={"jql": jql}).status_code == 200, jql


TYPES = "com.atlassian.jira.plugin.system.customfieldtypes:"


def test_custom_number_and_date_fields_take_ranges_and_text_fields_text_queries(sb, s):
    api = f"{sb.url}/rest/api/3"
    made = {}
    for name, kind in (("R32 Score", "float"), ("R32 Review", "datepicker"), ("R32 Audited", "datetime"),
                       ("R32 Note", "textfield")):
        r = s.post(f"{api}/field", json={"name": name, "type": TYPES + kind})
        assert r.status_code == 201, r.text
        made[kind] = r.json()["id"]
    admin = s.get(f"{api}/myself").json()["accountId"]
    s.post(f"{api}/project", json={"key": "RCUS", "name": "Custom ranges", "projectTypeKey": "software",
                                   "leadAccountId": admin})
    today = datetime.fromtimestamp(sb.store.now_ms() / 1000, UTC)
    keys = {}
    for n, (score, days, note) in enumerate([(1.5, -10, "alpha beta"), (7, 3, "gamma"), (None, None, None)]):
        fields = {"project": {"key": "RCUS"}, "issuetype": {"name": "Task"}, "summary": f"c{n}"}
        if score is not None:
            when = today + timedelta(days=days)
            fields.update({made["float"]: score, made["datepicker"]: when.date().isoformat(),
                           made["datetime"]: when.strftime("%Y-%m-%dT%H:%M:%S.000+0000"), made["textfield"]: note})
        r = s.post(f"{api}/issue", json={"fields": fields})
        assert r.status_code == 201, r.text
        keys[n] = r.json()["key"]
    num = {k: v.split("_")[1] for k, v in made.items()}
    cases = {
        f"cf[{num['float']}] > 2": {1}, f"cf[{num['float']}] <= 1.5": {0}, "'R32 Score' >= 1": {0, 1},
        f"cf[{num['datepicker']}] < now()": {0}, f"cf[{num['datepicker']}] >= startOfDay()": {1},
        "'R32 Review' > -1w": {1}, f"cf[{num['datetime']}] < -1d": {0}, f"cf[{num['datetime']}] > now()": {1},
        f"cf[{num['textfield']}] ~ beta": {0}, f"cf[{num['textfield']}] ~ 'alpha -beta'": set(),
        f"cf[{num['textfield']}] ~ EMPTY": {2}, f"cf[{num['textfield']}] !~ gamma": {0},
    }
    for clause, want in cases.items():
        assert _found(sb, s, f"project = RCUS AND {clause}") == {keys[n] for n in want}, clause
    _refused(sb, s, f"cf[{num['float']}] > high",
             f"The value 'high' for field 'cf[{num['float']}]' is invalid - please specify a number.")
    _refused(sb, s, f"cf[{num['datepicker']}] < 'dd'", f"Date value 'dd' for field 'cf[{num['datepicker']}]' is "
             "invalid. Valid formats include: 'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', "
             "or a period format e.g. '-5d', '4w 2d'.")
    _refused(sb, s, f"cf[{num['textfield']}] ~ ''",
             f"The field 'cf[{num['textfield']}]' does not support searching for an empty string.")
    _refused(sb, s, f"cf[{num['textfield']}] > 'a'",
             f"The operator '>' is not supported by the 'cf[{num['textfield']}]' field.")


def test_empty_in_a_list_and_equals_empty(sb, s):
    """`assignee in (currentUser(), EMPTY)` (mine or unassigned) was 400 "The value 'EMPTY' does not exist", and
    `assignee = EMPTY` found nothing although `assignee is EMPTY` found the unassigned issues."""
    api = f"{sb.url}/rest/api/3"
    me = s.get(f"{api}/myself").json()["accountId"]
    s.post(f"{api}/project", json={"key": "REMP", "name": "Empties", "projectTypeKey": "software",
                                   "leadAccountId": me})
    keys = {}
    for name, extra in (("mine", {"assignee": {"accountId": me}, "labels": ["x"]}), ("nobody", {}),
                        ("other", {"assignee": None, "labels": ["y"], "priority": {"name": "High"}})):
        r = s.post(f"{api}/issue", json={"fields": {"project": {"key": "REMP"}, "issuetype": {"name": "Task"},
                                                    "summary": name, **extra}})
        assert r.status_code == 201, r.text
        keys[name] = r.json()["key"]
    cases = {
        "assignee in (currentUser(), EMPTY)": {"mine", "nobody", "other"},
        "assignee = EMPTY": {"nobody", "other"}, "assignee in (EMPTY)": {"nobody", "other"},
        "assignee not in (currentUser(), EMPTY)": set(), "assignee != EMPTY": {"mine"},
        "labels in (x, EMPTY)": {"mine", "nobody"}, "labels not in (x, EMPTY)": {"other"},
        "priority in (High, null)": {"other"}, "fixVersion in (EMPTY)": {"mine", "nobody", "other"},
        "assignee was in (EMPTY)": {"nobody", "other"},
    }
    for clause, want in cases.items():
        assert _found(sb, s, f"project = REMP AND {clause}") == {keys[n] for n in want}, clause
    parsed = s.post(f"{api}/jql/parse", params={"validation": "strict"},
                    json={"queries": ["assignee in (EMPTY, currentUser())"]}).json()["queries"][0]
    assert parsed["structure"]["where"]["operand"]["values"][0] == {"keyword": "empty"}
