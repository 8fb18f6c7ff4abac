"""The ``Date`` header is the emulator's own clock, as a real vendor's is the clock of its records.

ServiceNow's incremental cursor stops at the earliest ``Date`` of a read (its "as of"), so a sandbox
whose clock a test moved forward must answer that clock, not the wall clock: otherwise the cursor
lags every record written after the move and each sync re-reads them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import requests

from sandbox.jira import JiraSandbox
from sandbox.slack.app import SlackSandbox
from tests.sandbox.conftest import AUTH


def _date(response: requests.Response) -> datetime:
    return parsedate_to_datetime(response.headers["Date"])


def test_servicenow_answers_on_its_clock_after_a_test_moves_it(make_servicenow_sandbox):
    sb = make_servicenow_sandbox()
    sb.clock.advance(timedelta(days=3).total_seconds())
    record = sb.insert("incident", {"short_description": "written after the clock moved"})
    r = requests.get(f"{sb.url}/api/now/table/incident", auth=AUTH, timeout=10,
                     params={"sysparm_query": f"sys_id={record['sys_id']}", "sysparm_fields": "sys_updated_on"})
    assert r.status_code == 200
    served = _date(r)
    updated = datetime.strptime(r.json()["result"][0]["sys_updated_on"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    assert abs((served - sb.clock.now()).total_seconds()) < 2
    assert served - datetime.now(UTC) > timedelta(days=2, hours=23)  # not the wall clock
    assert timedelta(0) <= served - updated < timedelta(seconds=2)  # the record is not "after" the server's now
    # Errors carry it too (the header is the server's, whatever the answer).
    assert abs((_date(requests.get(f"{sb.url}/api/now/table/no_such_table", auth=AUTH, timeout=10))
                - sb.clock.now()).total_seconds()) < 2


def test_jira_date_header_matches_its_server_info():
    with JiraSandbox(port=0, size=20) as sb:
        sb.advance_clock(timedelta(days=10).total_seconds())
        r = requests.get(f"{sb.url}/rest/api/3/serverInfo", timeout=10)
        server_time = datetime.strptime(r.json()["serverTime"], "%Y-%m-%dT%H:%M:%S.%f%z")
        assert abs((_date(r) - server_time).total_seconds()) < 2
        assert _date(r) - datetime.now(UTC) > timedelta(days=9)


def test_an_emulator_without_a_clock_answers_on_the_wall_clock():
    with SlackSandbox(port=0) as sb:
        r = requests.post(f"{sb.url}/api/api.test", timeout=10)
        assert abs((_date(r) - datetime.now(UTC)).total_seconds()) < 3
