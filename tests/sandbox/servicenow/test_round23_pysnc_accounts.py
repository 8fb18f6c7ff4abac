"""Round 23, pysnc 1.2.1 unchanged against the TLS sandbox: `field=NULL` queries (what pysnc's
add_query(field, 'NULL') and GlideRecord scripts send) and logins whose account is locked out or inactive."""

from __future__ import annotations

import pysnc
import pytest
import requests
from pysnc.exceptions import AuthenticationException

from tests.sandbox.servicenow.helpers import query_ids

SIZE = 60
CLIENT = {"client_id": "sandbox-client", "client_secret": "sandbox-secret"}


def test_null_value_means_empty_and_not_null_means_filled(env):
    sb, client, session = env
    rows = sb.records("incident")
    empty = sorted(r["sys_id"] for r in rows if not r["assigned_to"])
    filled = sorted(r["sys_id"] for r in rows if r["assigned_to"])
    assert empty and filled

    gr = client.GlideRecord("incident", batch_size=5)
    gr.add_query("assigned_to", "NULL")  # pysnc: assigned_to=NULL
    gr.query()
    assert sorted(r.sys_id.get_value() for r in gr) == empty

    gr = client.GlideRecord("incident", batch_size=25)
    gr.add_query("assigned_to", "!=", "NULL")
    gr.query()
    assert len(gr) == len(filled) and sorted(r.sys_id.get_value() for r in gr) == filled

    url = f"{sb.url}/api/now/table/incident"
    first = rows[0]
    either = query_ids(session, url, f"assigned_to=NULL^ORnumber={first['number']}")
    assert sorted(either) == sorted({*empty, first["sys_id"]})
    # the NULL spelling is the operator's; lower-case text stays a literal value
    assert query_ids(session, url, "assigned_to=null") == []


def _login(sb, name: str) -> tuple[str, tuple[str, str]]:
    user = sb.add_user(name, "Secret-12", roles=("itil",))
    return user["sys_id"], (name, "Secret-12")


def _status(sb, auth=None, bearer: str = "") -> int:
    headers = {"Accept": "application/json", **({"Authorization": f"Bearer {bearer}"} if bearer else {})}
    return requests.get(f"{sb.url}/api/now/table/incident", params={"sysparm_limit": "1"}, verify=sb.ca_bundle,
                        headers=headers, auth=auth, timeout=10).status_code


@pytest.mark.parametrize("barring", [{"locked_out": "true"}, {"active": "false"}])
def test_a_locked_out_or_inactive_account_cannot_sign_in_any_way(env, barring):
    sb, client, _ = env
    sys_id, creds = _login(sb, f"r23.{next(iter(barring))}")
    basic = pysnc.ServiceNowClient(sb.url, creds, verify=sb.ca_bundle)
    assert basic.GlideRecord("incident").get(sb.records("incident")[0]["sys_id"])  # signs in before
    token = requests.post(f"{sb.url}/oauth_token.do", verify=sb.ca_bundle, timeout=10,
                          data={**CLIENT, "grant_type": "password", "username": creds[0], "password": creds[1]}).json()
    with requests.Session() as cookie:
        cookie.verify, cookie.headers["Accept"] = sb.ca_bundle, "application/json"
        assert cookie.get(f"{sb.url}/api/now/table/incident", params={"sysparm_limit": "1"}, auth=creds).ok
        assert cookie.get(f"{sb.url}/api/now/table/incident", params={"sysparm_limit": "1"}).ok  # the session

        barred = client.GlideRecord("sys_user")  # an admin-side change through the Table API
        assert barred.get(sys_id)
        for field, value in barring.items():
            barred.set_value(field, value)
        barred.update()

        with pytest.raises(AuthenticationException):
            pysnc.ServiceNowClient(sb.url, creds, verify=sb.ca_bundle).GlideRecord("incident").query()
        assert _status(sb, auth=creds) == 401
        assert _status(sb, bearer=token["access_token"]) == 401
        assert cookie.get(f"{sb.url}/api/now/table/incident", params={"sysparm_limit": "1"}).status_code == 401
    grant = requests.post(f"{sb.url}/oauth_token.do", verify=sb.ca_bundle, timeout=10,
                          data={**CLIENT, "grant_type": "password", "username": creds[0], "password": creds[1]})
    assert grant.status_code == 401 and grant.json()["error_description"] == "access_denied"
    refresh = requests.post(f"{sb.url}/oauth_token.do", verify=sb.ca_bundle, timeout=10,
                            data={**CLIENT, "grant_type": "refresh_token", "refresh_token": token["refresh_token"]})
    assert refresh.status_code == 401 and refresh.json()["error"] == "server_error"
    with pytest.raises(Exception, match="access_denied"):
        pysnc.ServiceNowClient(sb.url, pysnc.ServiceNowPasswordGrantFlow(creds[0], creds[1], **CLIENT),
                               verify=sb.ca_bundle)

    sb.update("sys_user", sys_id, {"locked_out": "false", "active": "true"})  # unlocked: signs in again
    assert _status(sb, auth=creds) == 200 and _status(sb, bearer=token["access_token"]) == 200
    assert requests.post(f"{sb.url}/oauth_token.do", verify=sb.ca_bundle, timeout=10, data={
        **CLIENT, "grant_type": "refresh_token", "refresh_token": token["refresh_token"]}).status_code == 200
    assert pysnc.ServiceNowClient(sb.url, creds, verify=sb.ca_bundle).GlideRecord("incident").get(
        sb.records("incident")[0]["sys_id"])


def test_a_deleted_account_cannot_sign_in_and_the_integration_user_always_can(env):
    sb, client, _ = env
    sys_id, creds = _login(sb, "r23.leaver")
    assert _status(sb, auth=creds) == 200
    sb.delete("sys_user", sys_id)
    assert _status(sb, auth=creds) == 401

    me = next(u for u in sb.records("sys_user") if u["user_name"] == "integration.user")
    sb.update("sys_user", me["sys_id"], {"active": "false"})  # the configured API account is exempt
    gr = client.GlideRecord("incident")
    gr.query()
    assert len(gr) == SIZE
