"""Round 29: the OneTrust emulator and date-times that are valid ISO-8601 but odd — a year before 1000, an
offset, 1 to 9 fractional digits, ``Z`` against ``+00:00`` (raw HTTP, as a caller of the documented API).

- A date written back (a risk's ``deadline``, a contract's ``expirationDate``) in year 999 was served as
  ``999-06-01T00:00:00.000Z`` (``strftime("%Y")`` drops leading zeros): no ISO-8601 text, and it sorted after
  2026. One before 1970 with a fraction below the millisecond was served a millisecond late.
- Sorting on a date field compared the stored text: attestations keep ``attestedOn`` as written, so
  ``…T05:30:00+05:30`` (midnight UTC) sorted after ``…T01:00:00Z``, and ``…00Z`` after ``…00.5Z``; risks stamped
  by hand (tests do) the same. A sort on a date orders the instants, as the database behind Spring does.
"""

from __future__ import annotations

import pytest

from tests.sandbox.onetrust.helpers import bearer_session

RISKS = "/api/risk/v2/risks"
# the same instants in the order they happened, each written in another form
IN_ORDER = ["0001-01-01T00:00:00.123456789Z", "0999-06-01T00:00:00Z", "1969-12-31T23:59:59.9999Z",
            "2025-12-31T22:59:59-01:00", "2026-01-01T05:30:00.1+05:30", "2026-01-01T00:00:00.5+00:00",
            "2026-01-01T00:00:00.600Z", "2026-01-01T01:00:00Z"]


@pytest.mark.parametrize(("sent", "served"), [
    ("0999-06-01T00:00:00Z", "0999-06-01T00:00:00.000Z"),
    ("0001-01-01T00:00:00.123456789Z", "0001-01-01T00:00:00.123Z"),
    ("1960-01-01T00:00:00.0005Z", "1960-01-01T00:00:00.000Z"),
    ("1969-12-31T23:59:59.9999Z", "1969-12-31T23:59:59.999Z"),
    ("2026-01-01T05:30:00.123456+05:30", "2026-01-01T00:00:00.123Z"),
    ("2026-01-01T00:00:00+00:00", "2026-01-01T00:00:00.000Z"),
    (-1, "1969-12-31T23:59:59.999Z"),
    (1767225600001, "2026-01-01T00:00:00.001Z"),
])
def test_a_risk_deadline_is_served_back_as_the_same_instant_in_one_iso_form(sent, served, onetrust_sandbox):
    sb = onetrust_sandbox
    rid = sb.risks()[0]["id"]
    with bearer_session(sb) as s:
        put = s.put(sb.url + f"{RISKS}/{rid}", json={"deadline": sent}, timeout=10)
        assert put.status_code == 200, put.text
        assert put.json()["deadline"] == served
        assert s.get(sb.url + f"{RISKS}/{rid}", timeout=10).json()["deadline"] == served


@pytest.mark.parametrize("sent", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", 10**20])
def test_a_date_no_utc_clock_holds_is_refused_not_stored(sent, onetrust_sandbox):
    sb = onetrust_sandbox
    rid = sb.risks()[0]["id"]
    with bearer_session(sb) as s:
        put = s.put(sb.url + f"{RISKS}/{rid}", json={"deadline": sent}, timeout=10)
    assert put.status_code == 400, put.text


def test_contracts_sort_by_expiration_instant(onetrust_sandbox):
    sb = onetrust_sandbox
    vendor = sb.vendors()[0]["id"]
    with bearer_session(sb) as s:
        for n, when in enumerate(reversed(IN_ORDER)):
            made = s.post(sb.url + "/api/vendor/v1/contracts/add", timeout=10,
                          json={"name": f"c{n}", "vendorId": vendor, "expirationDate": when})
            assert made.status_code == 201, made.text
        for direction in ("asc", "desc"):
            page = s.post(sb.url + f"/api/vendor/v1/contracts/vendors/{vendor}/contracts", timeout=10,
                          params={"sort": f"expirationDate,{direction}", "size": 50}, json={}).json()
            served = [c["expirationDate"] for c in page["content"]]
            assert served == sorted(served) if direction == "asc" else sorted(served, reverse=True)
            assert [c["name"] for c in page["content"]] == (
                [f"c{len(IN_ORDER) - 1 - n}" for n in range(len(IN_ORDER))][:: 1 if direction == "asc" else -1])


def test_attestations_sort_by_the_instant_attested_not_its_text(onetrust_sandbox):
    sb = onetrust_sandbox
    control = sb.controls()[0]["id"]
    path = sb.attestation_path
    with bearer_session(sb) as s:
        for n, when in enumerate(reversed(IN_ORDER)):
            made = s.post(sb.url + path, timeout=10, json={"controlId": control, "result": "EFFECTIVE",
                                                           "externalId": f"r29-{n}", "attestedOn": when})
            assert made.status_code in (200, 201), made.text
            assert made.json()["attestedOn"] == when  # kept as written (the product compares instants)
        for direction in ("asc", "desc"):
            page = s.get(sb.url + path, timeout=10, params={"sort": f"attestedOn,{direction}", "size": 2000}).json()
            mine = [a["attestedOn"] for a in page["content"] if str(a.get("externalId")).startswith("r29-")]
            assert mine == (IN_ORDER if direction == "asc" else IN_ORDER[::-1])


def test_the_risk_grid_orders_and_filters_odd_stamps_by_instant(onetrust_sandbox):
    sb = onetrust_sandbox
    t = sb.store.tables["risks"]
    with sb.store.lock:  # stamps a tenant could hold, written by hand as a test would
        for i, when in enumerate(IN_ORDER):
            t.replace(i, {**t.row(i), "lastModifiedUTCDateTime": when})
        ids = [t.row(i)["id"] for i in range(len(IN_ORDER))]
        others = len(t.rows) - len(t.removed) - len(IN_ORDER)
    with bearer_session(sb) as s:
        before_1970 = {"predicates": [{"field": "lastModifiedUTCDateTime", "operator": "LESS_THAN",
                                       "value": "1970-01-01T00:00:00.000Z"}]}
        page = s.post(sb.url + f"{RISKS}/pages", timeout=10, json=before_1970,
                      params={"sort": "lastModifiedDate,asc", "size": 100}).json()
        assert [r["id"] for r in page["content"]] == ids[:3]
        since = {"predicates": [{"field": "lastModifiedUTCDateTime", "operator": "GREATER_THAN_EQUAL_TO",
                                 "value": "0999-06-01T00:00:00.000Z"}]}
        page = s.post(sb.url + f"{RISKS}/pages", timeout=10, json=since,
                      params={"sort": "lastModifiedDate,asc", "size": 100}).json()
        assert [r["id"] for r in page["content"] if r["id"] in ids] == ids[1:]  # seeded ones fall in between
        assert page["totalElements"] == len(IN_ORDER) - 1 + others
