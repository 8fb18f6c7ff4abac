"""Round 32: ServiceNow headers that lie: ``Link: rel="next"`` (the strict page reader the reverse sync's look-ups
and prefetch use, :meth:`pipelines.servicenow.helpers.ServiceNowClient.iter_pages`).

- a next link naming another origin (a proxy naming the instance's internal host, or a forged header) was
  followed with our bearer token: that host received it. Now its path and query are read from
  ``SERVICENOW_BASE_URL`` (a warning says so once), and the other host gets no request;
- a next link back to a page already read, or links that go on while the pages hold only records already read
  (a proxy dropping ``sysparm_offset``), were followed for ever: now a :class:`VendorError` names the fault
  after a few pages;
- a ``Date`` header with an offset (HTTP dates are GMT) had its offset dropped from the read's "as of" time.
"""

from __future__ import annotations

import itertools
import logging
import re
from urllib.parse import urlsplit

import pytest

from pipelines.common.http import RetryPolicy, VendorError
from pipelines.servicenow.helpers import ServiceNowClient

FAST = RetryPolicy(backoff_base_seconds=0.01, backoff_max_seconds=0.05, max_attempts=3)
LIST = "/api/now/table/incident"


def _client(sb) -> ServiceNowClient:
    creds = sb.credentials
    return ServiceNowClient(sb.url, creds["client_id"], creds["client_secret"], creds["username"], creds["password"],
                            verify=sb.ca_bundle or True, policy=FAST)


def _relink(sb, change) -> None:
    """Rewrite the incident list's ``Link`` header: ``change(next_url, request) -> str | None``."""
    served = itertools.count()

    def rewrite(req, resp):
        if req.path != LIST or resp.status != 200 or next(served) > 60:  # past 60: a test, not a hang
            return resp
        links = resp.header("Link") or ""
        found = re.search(r'<([^>]*)>;rel="next"', links)
        if found:
            other = change(found.group(1), req)
            links = links.replace(f"<{found.group(1)}>;rel=\"next\"", f"<{other}>;rel=\"next\"") if other else links
            resp.headers = [(k, links if k == "Link" else v) for k, v in resp.headers]
        return resp
    sb.rewrite_responses(rewrite)


def _read(client) -> list[str]:
    try:
        return [r["sys_id"] for page in client.iter_pages("incident", "ORDERBYsys_id", page_size=7) for r in page]
    finally:
        client.close()


def test_a_next_link_to_another_origin_is_read_from_the_base_url_and_gets_no_token(make_servicenow_sandbox,
                                                                                   caplog):
    sb, elsewhere = make_servicenow_sandbox(size=30), make_servicenow_sandbox(size=5)
    theirs = urlsplit(elsewhere.url)
    _relink(sb, lambda url, req: urlsplit(url)._replace(scheme=theirs.scheme, netloc=theirs.netloc).geturl())
    elsewhere.clear_request_log()
    with caplog.at_level(logging.WARNING, logger="pipelines.servicenow.helpers"):
        ids = _read(_client(sb))
    assert sorted(ids) == sorted(r["sys_id"] for r in sb.records("incident")), "every record once"
    assert elsewhere.request_log == [], "the other origin was sent a request (with our bearer token)"
    warned = [r.getMessage() for r in caplog.records if "another origin" in r.getMessage()]
    assert len(warned) == 1 and theirs.netloc.split(":")[0] in warned[0], warned


def test_a_next_link_back_to_a_page_already_read_stops_with_a_clear_error(make_servicenow_sandbox):
    sb = make_servicenow_sandbox(size=30)
    first: dict[str, str] = {}
    _relink(sb, lambda url, req: first.setdefault("next", url))  # every page links to the second page
    with pytest.raises(VendorError, match=r"rel=\"next\" to a page this read already had.*sysparm_offset"):
        _read(_client(sb))
    assert sum(1 for r in sb.request_log if r["path"] == LIST) <= 4


def test_next_links_over_pages_of_records_already_read_stop_with_a_clear_error(make_servicenow_sandbox):
    sb = make_servicenow_sandbox(size=30)

    count = itertools.count()

    def drop_offset(url, req):  # a new link each time, but the proxy serves offset 0
        return re.sub(r"sysparm_offset=-?[0-9]+", f"x_page={next(count)}", url)
    _relink(sb, drop_offset)
    with pytest.raises(VendorError, match="pages in a row holding only records already read"):
        _read(_client(sb))
    assert sum(1 for r in sb.request_log if r["path"] == LIST) <= 6


def test_a_date_header_with_an_offset_is_read_as_utc():
    """HTTP dates are GMT; a proxy's ``Date`` with an offset (``18:00:00 +0200``) had its offset dropped: the read's
    "as of" two hours ahead, which lets the cursor pass rows changed while it paged. A date past year 9999 in UTC
    is no date (it raised OverflowError once converted). Checked on the client: the sandbox sends a good one."""
    from datetime import datetime
    from types import SimpleNamespace

    from pipelines.servicenow.helpers import vendor_clock

    assert vendor_clock("Mon, 07 Dec 2026 18:00:00 +0200") == datetime(2026, 12, 7, 16, 0)
    assert vendor_clock("Mon, 07 Dec 2026 11:00:00 -0500") == datetime(2026, 12, 7, 16, 0)
    assert vendor_clock("Mon, 07 Dec 2026 16:00:00 GMT") == datetime(2026, 12, 7, 16, 0)
    assert vendor_clock("Fri, 31 Dec 9999 23:00:00 -0500") is None
    assert vendor_clock("0") is None

    client = ServiceNowClient.__new__(ServiceNowClient)
    client.server_time = None
    for value in ("Mon, 07 Dec 2026 18:30:00 +0200", "Mon, 07 Dec 2026 16:45:00 GMT"):
        answer = SimpleNamespace(headers={"Date": value, "X-Total-Count": "1"}, status_code=200)
        client.session = SimpleNamespace(request_json=lambda *a, answer=answer, **k: ({"result": []}, answer))
        assert client._page("incident", {}) == ([], 1)
    assert client.server_time == datetime(2026, 12, 7, 16, 30), "the earliest clock, in UTC"
