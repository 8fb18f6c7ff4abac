"""Round 7: pysnc 1.2.1 (unchanged) and plain requests against the TLS ServiceNow sandbox, real HTTP."""

from __future__ import annotations

import pysnc
import pytest
import requests

AUTH = ("integration.user", "sandbox-password")
CLIENT = {"client_id": "sandbox-client", "client_secret": "sandbox-secret"}
PASSWORD = {**CLIENT, "grant_type": "password", "username": AUTH[0], "password": AUTH[1]}


@pytest.fixture
def tls(pysnc_client):
    sb, _ = pysnc_client(60)
    return sb


def _bearer(sb, token: str) -> int:
    return requests.get(f"{sb.url}/api/now/table/incident", params={"sysparm_limit": "1"}, timeout=10,
                        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"}).status_code


def test_password_grant_reuses_the_live_token_refresh_keeps_its_token_and_revocation(tls):
    token_url = f"{tls.url}/oauth_token.do"
    first = requests.post(token_url, data=PASSWORD, timeout=10).json()
    again = requests.post(token_url, data=PASSWORD, timeout=10).json()
    assert again["access_token"] == first["access_token"] and again["expires_in"] == 1800  # documented reuse
    refreshed = requests.post(token_url, data={**CLIENT, "grant_type": "refresh_token",
                                               "refresh_token": first["refresh_token"]}, timeout=10).json()
    assert refreshed["refresh_token"] == first["refresh_token"] and refreshed["access_token"] != first["access_token"]

    flow = pysnc.ServiceNowPasswordGrantFlow(AUTH[0], AUTH[1], CLIENT["client_id"], CLIENT["client_secret"])
    client = pysnc.ServiceNowClient(tls.url, flow, verify=tls.ca_bundle)
    assert client.session.token["access_token"] == first["access_token"]
    assert client.GlideRecord("incident").get(tls.records("incident")[0]["sys_id"])

    # oauth_revoke_token.do?token=... needs no authentication and marks that one token expired
    answer = requests.get(f"{tls.url}/oauth_revoke_token.do", params={"token": first["access_token"]}, timeout=10)
    assert answer.status_code == 200
    assert _bearer(tls, first["access_token"]) == 401 and _bearer(tls, refreshed["access_token"]) == 200
    gr = client.GlideRecord("incident")
    with pytest.raises(pysnc.exceptions.AuthenticationException):
        gr.query()
    assert requests.post(f"{tls.url}/oauth_revoke_token.do", data={"token": first["refresh_token"]},
                         timeout=10).status_code == 200
    assert requests.post(token_url, data={**CLIENT, "grant_type": "refresh_token",
                                          "refresh_token": first["refresh_token"]}, timeout=10).status_code == 401
    fresh = requests.post(token_url, data=PASSWORD, timeout=10).json()  # a revoked token is not reused
    assert fresh["access_token"] != first["access_token"] and _bearer(tls, fresh["access_token"]) == 200


def _numbers(client, build) -> list[str]:
    gr = client.GlideRecord("incident", batch_size=40)
    build(gr)
    gr.query()
    return sorted(r.number.get_value() for r in gr)


def test_is_not_and_is_not_one_of_skip_empty_fields_like_the_instance(tls):
    client = pysnc.ServiceNowClient(tls.url, AUTH, verify=tls.ca_bundle)
    rows = tls.records("incident")
    someone = next(r["assigned_to"] for r in rows if r["assigned_to"])
    assert any(r["assigned_to"] == "" for r in rows)  # the case KB0715430 is about

    def expect(keep) -> list[str]:
        return sorted(r["number"] for r in rows if keep(r))

    others = expect(lambda r: r["assigned_to"] not in ("", someone))
    assert _numbers(client, lambda g: g.add_query("assigned_to", "!=", someone)) == others
    assert _numbers(client, lambda g: g.add_query("assigned_to", "NOT IN", f"{someone},{'0' * 32}")) == others
    # what a caller adds to get the empty ones too
    assert _numbers(client, lambda g: g.add_query("assigned_to", "!=", someone).add_or_condition(
        "assigned_to", "", "ISEMPTY")) == expect(lambda r: r["assigned_to"] != someone)
    both = lambda r: r["closed_by"] != "" and r["assigned_to"] != ""  # noqa: E731
    assert _numbers(client, lambda g: g.add_encoded_query("closed_byNSAMEASassigned_to")) == expect(
        lambda r: both(r) and r["closed_by"] != r["assigned_to"])
    assert _numbers(client, lambda g: g.add_encoded_query("closed_bySAMEASassigned_to")) == expect(
        lambda r: both(r) and r["closed_by"] == r["assigned_to"])
    assert expect(lambda r: r["closed_by"] == r["assigned_to"] == "")  # both empty: not "the same"


def test_before_and_after_never_match_an_empty_date(tls):
    client = pysnc.ServiceNowClient(tls.url, AUTH, verify=tls.ca_bundle)
    rows = tls.records("incident")
    closed = sorted(r["closed_at"] for r in rows if r["closed_at"])
    middle = closed[len(closed) // 2]
    assert closed and any(r["closed_at"] == "" for r in rows)

    def expect(keep) -> list[str]:
        return sorted(r["number"] for r in rows if r["closed_at"] and keep(r["closed_at"]))

    assert _numbers(client, lambda g: g.add_query("closed_at", "<", middle)) == expect(lambda v: v < middle)
    assert _numbers(client, lambda g: g.add_query("closed_at", "<=", middle)) == expect(lambda v: v <= middle)
    assert _numbers(client, lambda g: g.add_query("closed_at", ">", middle)) == expect(lambda v: v > middle)
    assert _numbers(client, lambda g: g.add_encoded_query("closed_atRELATIVELT@day@ago@0")) == expect(
        lambda v: True)  # every close is in the past; open incidents are not "before now"
    assert _numbers(client, lambda g: g.add_encoded_query("closed_at<javascript:gs.endOfToday()")) == expect(
        lambda v: True)


def test_companies_locations_and_departments_are_tables_references_can_point_at(tls):
    client = pysnc.ServiceNowClient(tls.url, AUTH, verify=tls.ca_bundle)
    for table, label in (("core_company", "Company"), ("cmn_location", "Location"), ("cmn_department", "Department")):
        gr = client.GlideRecord(table)
        gr.query()
        assert len(gr) >= 5 and all(r.sys_class_name.get_display_value() == label for r in gr)
    makers = client.GlideRecord("core_company")
    makers.add_query("manufacturer", "true")
    makers.order_by("name")
    makers.query()
    names = [r.name.get_value() for r in makers]
    assert names == sorted(names) and "Dell Inc." in names
    german = client.GlideRecord("cmn_location")
    german.add_query("country", "Germany")
    german.add_query("company.primary", "true")  # dot-walk into core_company
    german.query()
    assert len(german) == 2 and {r.get_display_value("company") for r in german} == {"Project X Corp"}

    vendor = client.GlideRecord("core_company")
    vendor.initialize()
    vendor.name = "Acme Hosting"
    vendor.vendor = True
    vendor_id = str(vendor.insert())
    assert tls.get("core_company", vendor_id)["vendor"] == "true"
    incident = client.GlideRecord("incident")
    assert incident.get(tls.records("incident")[0]["sys_id"])
    incident.company = vendor_id
    incident.update()
    assert incident.get_display_value("company") == "Acme Hosting"
    by_company = client.GlideRecord("incident")
    by_company.add_query("company.name", "Acme Hosting")
    by_company.query()
    assert [r.sys_id.get_value() for r in by_company] == [tls.records("incident")[0]["sys_id"]]
